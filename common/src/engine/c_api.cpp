// The C API: a thin shell over Engine that turns exceptions into error strings.
#include <micromotion/edit_list.h>
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
  // One strength per edit: a constant, or an expression evaluated per frame.
  struct EditStrength {
    std::optional<micromotion::StrengthExpression> expression;
    double constant = 5.0;
  };
  std::vector<EditStrength> strengths;
  std::vector<std::string> edit_names;  // "alice/aging", "smile"
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
// The strengths of one frame: one per edit; the report shows the first edit's.
struct Strength {
  std::vector<double> values;
  double value = 0;         // values[0]
  bool non_finite = false;  // any edit's strength was not finite here (it got 0)
};

void copy_person(const std::string& name, char (&out)[32]) {
  const size_t n = std::min(name.size(), sizeof out - 1);
  std::memcpy(out, name.data(), n);
  out[n] = '\0';
}

void fill_report(const micromotion::FrameReport& r, const Strength& st, mm_report* out) {
  if (!out) return;
  *out = mm_report{};
  out->strength = st.value;
  out->strength_non_finite = st.non_finite;
  out->faces_found = r.faces_found;
  out->faces_edited = r.faces_edited;
  out->keyframes = r.keyframes;
  out->seconds = r.seconds;
  for (const micromotion::FaceReport& f : r.faces) {
    if (out->faces_reported == MM_REPORT_MAX_FACES) break;
    mm_face_report& o = out->faces[out->faces_reported++];
    o = {f.track_id, f.box.x, f.box.y, f.box.width, f.box.height, f.resolution, {}, f.keyframe ? 1 : 0};
    copy_person(f.person, o.person);
  }
}

Strength strength_at(const mm_context* ctx, const mm_frame* f) {
  Strength st;
  const double pts = f->pts == INT64_MIN ? std::nan("") : static_cast<double>(f->pts);
  for (const mm_context::EditStrength& e : ctx->strengths) {
    double v = e.constant;
    bool bad = !std::isfinite(v);
    if (e.expression) {
      const micromotion::StrengthExpression::Evaluation x = e.expression->evaluate(f->time, f->index, pts);
      v = x.value;
      bad = x.non_finite;
    } else if (bad) {
      v = 0;
    }
    st.values.push_back(v);
    st.non_finite = st.non_finite || bad;
  }
  st.value = st.values.empty() ? 0 : st.values.front();
  return st;
}

// The edit list of params: the file's, or the one edit (anchor, strength) for everyone, or for
// the one person of params->person; region and others on top.
micromotion::EditList edit_list_of(const mm_params* params) {
  using namespace micromotion;
  EditList list;
  const bool from_file = params->edits && *params->edits;
  const bool has_region = params->region && *params->region && std::strcmp(params->region, "face") != 0;
  if (from_file) {
    if (params->person && *params->person)
      throw Error("mm_create: person and edits both given: name the people in the edit list");
    list = read_edit_list(params->edits);
    if (has_region) {
      if (std::any_of(list.regions.begin(), list.regions.end(), [](const RegionSpec& r) { return r.person.empty(); }))
        throw Error(std::string("mm_create: region '") + params->region + "' and a region for everyone in the edit list " +
                    params->edits + ": give one");
      list.regions.push_back(RegionSpec{"", parse_face_regions(params->region), "region"});
    }
  } else {
    if (!params->anchor || !*params->anchor) throw Error("mm_create: no anchor (micromotion) given");
    if (params->person && *params->person)
      list.people.push_back(PersonReference{
          "person", parse_photo_list(params->person, std::string("person '") + params->person + "'", "PHOTO[,PHOTO...]")});
    // One edit for everyone: with a person named, others (auto) keep their faces.
    list.edits.push_back(EditSpec{"", params->anchor, "", "anchor"});
    if (params->region && *params->region) list.regions.push_back(RegionSpec{"", parse_face_regions(params->region), "region"});
  }
  if (params->others == 1) list.others = Others::keep;
  if (params->others == 2) list.others = Others::edit;
  if (!list.identity_threshold) list.identity_threshold = params->identity_threshold;
  check_edit_list(list);
  return list;
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
{
        std::string list;
        for (const auto& d : dtypes) list += (list.empty() ? "" : ", ") + d;
        throw micromotion::Error("dtype must be one of " + list + " (got '" + params->dtype + "')");
      }
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
    micromotion::check_choice("others", params->others);
    o.keyframe_every = params->keyframe_every;
    o.keyframe_threshold = params->keyframe_threshold;
    o.live = params->live != 0;
    o.reconstruct_at = params->reconstruct_at;
    micromotion::check_range("identity_threshold", params->identity_threshold);
    micromotion::check_engine_options(o);
    micromotion::set_threads(params->threads);
    const micromotion::EditList list = edit_list_of(params);
    micromotion::ResolvedEdits edits = micromotion::resolve_edit_list(list, o);
    const bool from_file = params->edits && *params->edits;
    for (size_t i = 0; i < edits.motions.size(); ++i) {
      mm_context::EditStrength e;
      if (from_file) {
        e.expression.emplace(edits.strengths[i]);
      } else if (params->strength_expr && *params->strength_expr) {
        e.expression.emplace(params->strength_expr);
      } else {
        e.constant = params->strength;
      }
      ctx->strengths.push_back(std::move(e));
      const std::string& who = list.edits[i].person;
      ctx->edit_names.push_back((who.empty() ? "" : who + "/") + list.edits[i].anchor);
    }
    ctx->engine = std::make_unique<micromotion::Engine>(o, std::move(edits.motions));
    return ctx.release();
  } catch (...) {
    report(message_of(std::current_exception()));
    return nullptr;
  }
}

void mm_destroy(mm_context* ctx) { delete ctx; }

int mm_set_strength(mm_context* ctx, double strength) {
  if (!ctx) return -1;
  for (mm_context::EditStrength& e : ctx->strengths) {
    e.constant = strength;
    e.expression.reset();
  }
  return 0;
}

int mm_set_strength_expr(mm_context* ctx, const char* expr) {
  if (!ctx) return -1;
  if (!expr) return fail(ctx, "mm_set_strength_expr: expression is NULL");
  try {
    micromotion::StrengthExpression parsed(expr);  // parsed first: a bad one leaves the old in place
    for (mm_context::EditStrength& e : ctx->strengths) e.expression = parsed;
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_edit_count(const mm_context* ctx) { return ctx ? static_cast<int>(ctx->strengths.size()) : -1; }

const char* mm_edit_name(const mm_context* ctx, int edit) {
  if (!ctx || edit < 0 || edit >= static_cast<int>(ctx->edit_names.size())) return nullptr;
  return ctx->edit_names[static_cast<size_t>(edit)].c_str();
}

int mm_set_edit_strength(mm_context* ctx, int edit, const char* expr) {
  if (!ctx) return -1;
  if (edit < 0 || edit >= static_cast<int>(ctx->strengths.size()))
    return fail(ctx, "mm_set_edit_strength: no edit " + std::to_string(edit) + " (there are " +
                         std::to_string(ctx->strengths.size()) + ")");
  if (!expr) return fail(ctx, "mm_set_edit_strength: expression is NULL");
  try {
    micromotion::StrengthExpression parsed(expr);
    ctx->strengths[static_cast<size_t>(edit)].expression = std::move(parsed);
    return 0;
  } catch (...) {
    return fail(ctx, message_of(std::current_exception()));
  }
}

int mm_live_status(const mm_context* ctx, mm_live_info* out) {
  if (!ctx || !out) return -1;
  const micromotion::LiveStatus s = ctx->engine->live_status();
  out->refreshes = s.refreshes;
  out->network_seconds = s.network_seconds;
  out->refresh_rate = s.refresh_rate;
  out->faces_with_edit = s.faces_with_edit;
  return 0;
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
    ctx->engine->process(dst, st.values, &rep);
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
    f.strengths = st.values;
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
    Strength st;
    st.value = meta.strength;
    st.non_finite = meta.strength_non_finite;
    fill_report(f->report, st, report);
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
