// The C API: a thin shell over Engine that turns exceptions into error strings.
#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/micromotion.h>
#include <micromotion/native_frame.h>
#include <micromotion/settings.h>
#include <micromotion/strength_expression.h>

#include <cmath>
#include <micromotion/threads.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

struct mm_context {
  std::unique_ptr<micromotion::Engine> engine;
  std::optional<micromotion::StrengthExpression> expression;
  double strength = 5.0;
  mutable std::mutex error_mutex;
  std::string error;
  struct Meta {
    int64_t index;
    double time;
    int64_t pts;
    int width, height;
    mm_pixel_format format;
    double strength;
    bool strength_non_finite;
  };
  std::mutex meta_mutex;
  std::map<int64_t, Meta> pending;  // by submission number
  int64_t submitted = 0;
};

namespace {

std::string message_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const c10::Error& x) {
    return x.what_without_backtrace();
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

// A message into a caller's buffer: truncated to error_size, always NUL-terminated.
void copy_message(const std::string& m, char* error, size_t error_size) {
  if (!error || error_size == 0) return;
  const size_t n = std::min(m.size(), error_size - 1);
  std::memcpy(error, m.data(), n);
  error[n] = '\0';
}

int fail(mm_context* ctx, const std::string& message) {
  std::lock_guard<std::mutex> lock(ctx->error_mutex);
  ctx->error = message;
  return -1;
}

static_assert(static_cast<int>(micromotion::PixelFormat::yvyu422) == MM_PIXEL_YVYU422 &&
                  micromotion::kPixelFormatCount == MM_PIXEL_YVYU422 + 1,
              "mm_pixel_format and micromotion::PixelFormat are one list");

// The C frame as the engine's view; throws micromotion::Error naming what is wrong with it.
micromotion::NativeFrame native_of(const mm_frame* f, const char* what) {
  if (!f) throw micromotion::Error(std::string(what) + ": frame is NULL");
  if (static_cast<int>(f->format) < 0 || static_cast<int>(f->format) >= micromotion::kPixelFormatCount)
    throw micromotion::Error(std::string(what) + ": unknown pixel format " + std::to_string(static_cast<int>(f->format)));
  micromotion::NativeFrame n;
  for (int p = 0; p < 4; ++p) {
    n.data[p] = f->data[p];
    n.stride[p] = f->stride[p];
  }
  n.width = f->width;
  n.height = f->height;
  n.format = static_cast<micromotion::PixelFormat>(f->format);
  n.matrix = static_cast<micromotion::ColorMatrix>(f->matrix);
  n.range = static_cast<micromotion::ColorRange>(f->range);
  try {
    micromotion::check_frame(n);
  } catch (const micromotion::Error& e) {
    throw micromotion::Error(std::string(what) + ": " + e.what());
  }
  return n;
}

// The strength a frame got: the non-finite rule of every front end (strength_expression.h): not
// a finite number means 0, no micromotion for that frame.
struct Strength {
  double value = 0;
  bool non_finite = false;
};

void fill_report(const micromotion::FrameReport& r, const Strength& st, mm_report* out) {
  if (!out) return;
  *out = mm_report{};
  out->strength = st.value;
  out->strength_non_finite = st.non_finite;
  out->faces_found = r.faces_found;
  out->faces_edited = r.faces_edited;
  out->seconds = r.seconds;
  for (const micromotion::FaceReport& f : r.faces) {
    if (out->faces_reported == MM_REPORT_MAX_FACES) break;
    out->faces[out->faces_reported++] = {f.track_id, f.box.x, f.box.y, f.box.width, f.box.height, f.resolution};
  }
}

// The frame's strength: the expression at its t, n and pts (INT64_MIN: unknown, NaN), or the constant.
Strength strength_at(const mm_context* ctx, const mm_frame* f) {
  if (ctx->expression) {
    const double pts = f->pts == INT64_MIN ? std::nan("") : static_cast<double>(f->pts);
    const micromotion::StrengthExpression::Evaluation e = ctx->expression->evaluate(f->time, f->index, pts);
    return {e.value, e.non_finite};
  }
  return std::isfinite(ctx->strength) ? Strength{ctx->strength, false} : Strength{0.0, true};
}

}  // namespace

extern "C" {

int mm_setting_count(void) { return static_cast<int>(micromotion::settings_table().size()); }

const mm_setting_info* mm_setting_info_at(int index) {
  const auto& rows = micromotion::settings_table();
  return index >= 0 && index < static_cast<int>(rows.size()) ? rows[static_cast<size_t>(index)] : nullptr;
}

const mm_setting_info* mm_setting_find(const char* name) { return micromotion::find_setting(name); }

mm_params mm_default_params(void) {
  using micromotion::default_number;
  using micromotion::default_text;
  mm_params p;
  p.anchor = default_text("anchor");
  p.strength = default_number("strength");
  p.strength_expr = nullptr;
  p.models_dir = *default_text("models_dir") ? default_text("models_dir") : nullptr;
  p.encoder = default_text("encoder");
  p.iterations = static_cast<int>(default_number("iterations"));
  p.warm_iterations = static_cast<int>(default_number("warm_iterations"));
  p.faces = static_cast<mm_faces>(static_cast<int>(default_number("faces")));
  p.mode = static_cast<mm_mode>(static_cast<int>(default_number("mode")));
  p.device = default_text("device");
  p.dtype = default_text("dtype");
  p.frame_rate = default_number("frame_rate");
  p.queue_depth = static_cast<int>(default_number("queue_depth"));
  p.feather = default_number("feather");
  p.detect_every = static_cast<int>(default_number("detect_every"));
  p.smooth = static_cast<int>(default_number("smooth"));
  p.threads = static_cast<int>(default_number("threads"));
  p.edits = nullptr;
  p.person = nullptr;
  p.region = nullptr;
  p.others = static_cast<int>(default_number("others"));
  p.identity_threshold = default_number("identity_threshold");
  p.keyframe_every = static_cast<int>(default_number("keyframe_every"));
  p.keyframe_threshold = default_number("keyframe_threshold");
  p.live = static_cast<int>(default_number("live"));
  p.reconstruct_at = static_cast<int>(default_number("reconstruct_at"));
  return p;
}

const char* mm_version(void) { return MICROMOTION_VERSION; }

mm_context* mm_create(const mm_params* params, char* error, size_t error_size) {
  auto report = [&](const std::string& m) { copy_message(m, error, error_size); };
  if (!params) {
    report("mm_create: params is NULL");
    return nullptr;
  }
  try {
    auto ctx = std::make_unique<mm_context>();
    // Every field against the settings table, before the models load, not after.
    micromotion::check_choice("faces", params->faces);
    micromotion::check_choice("mode", params->mode);
    micromotion::check_range("threads", params->threads);
    if (params->dtype) {
      const auto dtypes = micromotion::choices(micromotion::setting("dtype"));
      if (std::find(dtypes.begin(), dtypes.end(), params->dtype) == dtypes.end())
        throw micromotion::Error(std::string("dtype must be one of fp32, bf16 (got '") + params->dtype + "')");
    }
    micromotion::EngineOptions o;
    if (params->models_dir) o.models_dir = params->models_dir;
    if (params->encoder) o.encoder = params->encoder;
    o.iterations = params->iterations;
    o.warm_iterations = params->warm_iterations;
    o.faces = params->faces == MM_FACES_LARGEST ? micromotion::FaceSelection::largest : micromotion::FaceSelection::all;
    o.mode = params->mode == MM_MODE_DELTA ? micromotion::EditMode::delta : micromotion::EditMode::replace;
    if (params->device) o.device = params->device;
    if (params->dtype) o.dtype = params->dtype;
    o.frame_rate = params->frame_rate;
    o.queue_depth = params->queue_depth;
    o.mask.feather = params->feather;
    o.tracker.detect_every = params->detect_every;
    o.smooth_landmarks = params->smooth != 0;
    micromotion::check_engine_options(o);
    micromotion::set_threads(params->threads);
    if (!params->anchor || !*params->anchor) throw micromotion::Error("mm_create: no anchor (micromotion) given");
    if (params->strength_expr && *params->strength_expr) ctx->expression.emplace(params->strength_expr);
    ctx->strength = params->strength;
    ctx->engine = std::make_unique<micromotion::Engine>(
        o, std::vector<micromotion::Micromotion>{micromotion::find_micromotion(params->anchor, o.models_dir)});
    return ctx.release();
  } catch (...) {
    report(message_of(std::current_exception()));
    return nullptr;
  }
}

void mm_destroy(mm_context* ctx) { delete ctx; }

int mm_set_strength(mm_context* ctx, double strength) {
  if (!ctx) return -1;
  ctx->strength = strength;
  ctx->expression.reset();
  return 0;
}

int mm_set_strength_expr(mm_context* ctx, const char* expr) {
  if (!ctx) return -1;
  if (!expr) return fail(ctx, "mm_set_strength_expr: expression is NULL");
  try {
    micromotion::StrengthExpression parsed(expr);  // parsed first: a bad one leaves the old in place
    ctx->expression = std::move(parsed);
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_check_strength_expr(const char* expr, char* error, size_t error_size) {
  try {
    if (!expr) throw micromotion::Error("the strength expression is NULL");
    micromotion::StrengthExpression e(expr);
    copy_message("", error, error_size);
    return 0;
  } catch (...) {
    copy_message(message_of(std::current_exception()), error, error_size);
    return -1;
  }
}

int mm_set_frame_rate(mm_context* ctx, double fps) {
  if (!ctx) return -1;
  try {
    ctx->engine->set_frame_rate(fps);
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_process(mm_context* ctx, const mm_frame* in, mm_frame* out, mm_report* report) {
  if (!ctx) return -1;
  try {
    const micromotion::NativeFrame src = native_of(in, "mm_process: input");
    micromotion::NativeFrame dst = native_of(out, "mm_process: output");
    if (in->width != out->width || in->height != out->height || in->format != out->format)
      return fail(ctx, "mm_process: output frame differs from the input in size or format");
    micromotion::copy_frame(src, dst);  // nothing to do in place
    micromotion::FrameReport rep;
    const Strength st = strength_at(ctx, in);
    ctx->engine->process(dst, {st.value}, &rep);
    fill_report(rep, st, report);
    out->index = in->index;
    out->time = in->time;
    out->pts = in->pts;
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_submit(mm_context* ctx, const mm_frame* in) {
  if (!ctx) return -1;
  try {
    micromotion::EngineFrame f;
    f.frame = micromotion::FrameBuffer::copy_of(native_of(in, "mm_submit"));
    const Strength st = strength_at(ctx, in);
    f.strengths = {st.value};
    {
      std::lock_guard<std::mutex> lock(ctx->meta_mutex);
      f.tag = ctx->submitted++;
      ctx->pending[f.tag] = {in->index, in->time, in->pts, in->width, in->height, in->format, st.value, st.non_finite};
    }
    ctx->engine->submit(std::move(f));
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_receive(mm_context* ctx, mm_frame* out, int wait, mm_report* report) {
  if (!ctx) return -1;
  try {
    std::optional<micromotion::EngineFrame> f = ctx->engine->receive(wait != 0);
    if (!f) return 0;
    mm_context::Meta meta;
    {
      std::lock_guard<std::mutex> lock(ctx->meta_mutex);
      auto it = ctx->pending.find(f->tag);
      meta = it->second;
      ctx->pending.erase(it);
    }
    if (!out || out->width != meta.width || out->height != meta.height || out->format != meta.format)
      return fail(ctx, "mm_receive: output frame differs from the submitted frame in size or format (frame dropped)");
    micromotion::NativeFrame dst = native_of(out, "mm_receive: output");
    f->frame.copy_to(dst);
    fill_report(f->report, {meta.strength, meta.strength_non_finite}, report);
    out->index = meta.index;
    out->time = meta.time;
    out->pts = meta.pts;
    return 1;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_flush(mm_context* ctx) {
  if (!ctx) return -1;
  ctx->engine->finish();
  return 0;
}

int mm_latency(const mm_context* ctx) { return ctx ? ctx->engine->latency() : -1; }

size_t mm_plane_row_bytes(mm_pixel_format format, int width, int plane) {
  if (static_cast<int>(format) < 0 || static_cast<int>(format) >= micromotion::kPixelFormatCount || width < 1 ||
      plane < 0 || plane > 3)
    return 0;
  return micromotion::plane_row_bytes(static_cast<micromotion::PixelFormat>(format), width, plane);
}

int mm_plane_rows(mm_pixel_format format, int height, int plane) {
  if (static_cast<int>(format) < 0 || static_cast<int>(format) >= micromotion::kPixelFormatCount || height < 1 ||
      plane < 0 || plane > 3)
    return 0;
  return micromotion::plane_rows(static_cast<micromotion::PixelFormat>(format), height, plane);
}

const char* mm_pixel_format_name(mm_pixel_format format) {
  if (static_cast<int>(format) < 0 || static_cast<int>(format) >= micromotion::kPixelFormatCount) return nullptr;
  return micromotion::format_info(static_cast<micromotion::PixelFormat>(format)).name;
}

const char* mm_error(const mm_context* ctx) {
  if (!ctx) return "mm_error: context is NULL";
  std::lock_guard<std::mutex> lock(ctx->error_mutex);
  return ctx->error.c_str();
}

}  // extern "C"
