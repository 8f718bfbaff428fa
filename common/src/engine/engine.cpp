// The per-frame engine (see engine.h for the pipeline and its guarantees).
#include <micromotion/encoder.h>
#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/generator.h>
#include <micromotion/landmark_smoother.h>
#include <micromotion/model_paths.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace micromotion {

namespace {

constexpr int kAligned = 256;  // the encoders' input size

std::string encoder_file(const EngineOptions& o) {
  if (o.encoder == "restyle") return find_model_file("restyle_psp_ffhq_encode.pt", o.models_dir);
  if (o.encoder == "e4e") return find_model_file("e4e_ffhq_encode.pt", o.models_dir);
  if (o.encoder == "psp") return find_model_file("psp_ffhq_encode.pt", o.models_dir);
  if (std::filesystem::is_regular_file(o.encoder)) return o.encoder;
  throw Error("encoder '" + o.encoder + "': neither restyle, e4e, psp nor an existing checkpoint file");
}

// Aligned RGB8 face -> [3, 256, 256] float in the encoders' normalisation.
at::Tensor to_encoder_input(const ImageRGB8& face) {
  at::Tensor t = at::from_blob(const_cast<uint8_t*>(face.data()), {face.height(), face.width(), 3}, at::kByte);
  return t.permute({2, 0, 1}).to(at::kFloat).div(127.5).sub(1.0);
}

// Generator output [3, R, R] -> float RGB in [0, 1] with the fixed mapping (x + 1) / 2, clamped
// (never rounded to 8 bits: a 10-bit frame gets 10-bit faces).
ImageRGBf to_image(const at::Tensor& chw) {
  const at::Tensor hwc =
      chw.detach().to(at::kCPU, at::kFloat).add(1.0).mul(0.5).clamp(0, 1).permute({1, 2, 0}).contiguous();
  ImageRGBf img;
  img.width = static_cast<int>(hwc.size(1));
  img.height = static_cast<int>(hwc.size(0));
  img.pixels.resize(static_cast<size_t>(hwc.numel()));
  std::memcpy(img.pixels.data(), hwc.data_ptr<float>(), img.pixels.size() * sizeof(float));
  return img;
}

// a(b(p)).
Affine2 compose(const Affine2& a, const Affine2& b) {
  Affine2 r;
  r.a = a.a * b.a + a.b * b.c;
  r.b = a.a * b.b + a.b * b.d;
  r.c = a.c * b.a + a.d * b.c;
  r.d = a.c * b.b + a.d * b.d;
  r.tx = a.a * b.tx + a.b * b.ty + a.tx;
  r.ty = a.c * b.tx + a.d * b.ty + a.ty;
  return r;
}

// Displayed pixel -> stored pixel of a frame turned clockwise by f.rotation for display.
Affine2 display_to_stored(const NativeFrame& f) {
  const double w1 = f.width - 1, h1 = f.height - 1;
  switch (f.rotation) {
    case 90: return {0, 1, 0, -1, 0, h1};    // x = yd, y = h-1-xd
    case 180: return {-1, 0, w1, 0, -1, h1};
    case 270: return {0, -1, w1, 1, 0, 0};   // x = w-1-yd, y = xd
    default: return {};
  }
}

}  // namespace

EditMode parse_edit_mode(const std::string& text) {
  if (text == "replace") return EditMode::replace;
  if (text == "delta") return EditMode::delta;
  throw Error("mode '" + text + "': expected replace or delta");
}

FaceSelection parse_face_selection(const std::string& text) {
  if (text == "all") return FaceSelection::all;
  if (text == "largest") return FaceSelection::largest;
  throw Error("faces '" + text + "': expected all or largest");
}

EngineOptions::EngineOptions()
    : models_dir(default_text("models_dir")),
      encoder(default_text("encoder")),
      iterations(static_cast<int>(default_number("iterations"))),
      warm_iterations(static_cast<int>(default_number("warm_iterations"))),
      faces(static_cast<FaceSelection>(static_cast<int>(default_number("faces")))),
      mode(static_cast<EditMode>(static_cast<int>(default_number("mode")))),
      device(default_text("device")),
      dtype(default_text("dtype")),
      frame_rate(default_number("frame_rate")),
      smooth_landmarks(default_number("smooth") != 0),
      queue_depth(static_cast<int>(default_number("queue_depth"))),
      keyframe_every(static_cast<int>(default_number("keyframe_every"))),
      keyframe_threshold(default_number("keyframe_threshold")),
      live(default_number("live") != 0),
      reconstruct_at(static_cast<int>(default_number("reconstruct_at"))) {
  tracker.detect_every = static_cast<int>(default_number("detect_every"));
  mask.feather = default_number("feather");
}

void check_engine_options(const EngineOptions& o) {
  check_range("queue_depth", o.queue_depth);
  check_range("iterations", o.iterations);
  check_range("warm_iterations", o.warm_iterations);
  check_range("feather", o.mask.feather);
  check_range("detect_every", o.tracker.detect_every);
  check_range("frame_rate", o.frame_rate);
}


namespace {
OneEuroOptions smoother_options(double frame_rate) { return {frame_rate > 0 ? frame_rate : 25.0, 0.3, 4.0, 1.0}; }
}  // namespace

struct Engine::Impl {
  EngineOptions options;
  std::vector<Micromotion> motions;
  std::vector<at::Tensor> directions;  // on the encoder's device
  Encoder encoder;
  FaceTracker tracker;
  OneEuroSmoother smoother;
  std::map<int, WarmStart> warm;

  // Asynchronous mode.
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::deque<EngineFrame> input, output;
  bool finishing = false, stopping = false;
  int in_flight = 0;  // submitted, not yet received
  std::exception_ptr failure;
  std::thread worker;

  Impl(const EngineOptions& o, std::vector<Micromotion> m, Encoder e)
      : options(o),
        motions(std::move(m)),
        encoder(std::move(e)),
        tracker(o.tracker),
        smoother(smoother_options(o.frame_rate)) {
    if (motions.empty()) throw Error("the engine needs at least one micromotion");
    check_engine_options(o);
    const GeneratorConfig& g = encoder.decoder().config();
    for (const auto& mo : motions) {
      mo.check_fits(g.n_latent(), g.style_dim, "the generator of " + options.encoder + " (" + g.describe() + ")");
      directions.push_back(mo.direction().to(encoder.options().device));
    }
  }

  int pick_resolution(double side_on_screen) const {
    const auto exits = encoder.decoder().exit_resolutions();
    int cap = options.max_resolution > 0 ? options.max_resolution : exits.back();
    int best = 0;
    for (int r : exits) {
      if (r > cap) break;
      best = r;
      if (r >= side_on_screen) break;
    }
    return best;
  }

  ImageRGB8 tracker_scratch;  // the frame as 8-bit RGB, when it is not rgb24

  void process(NativeFrame& native, const std::vector<double>& strengths, FrameReport* report) {
    const auto start = std::chrono::steady_clock::now();
    if (strengths.size() != motions.size())
      throw Error("process: " + std::to_string(strengths.size()) + " strengths for " + std::to_string(motions.size()) +
                  " micromotions");
    c10::NoGradGuard no_grad;
    FrameReport rep;
    const ImageView stored = rgb8_view(native, tracker_scratch);
    ImageRGB8 upright;  // a rotated frame is searched as displayed
    if (native.rotation) upright = turned_rgb8(stored, native.rotation);
    const ImageView frame = native.rotation ? upright.view() : stored;
    const Affine2 to_stored = display_to_stored(native);
    std::vector<TrackedFace> faces = tracker.update(frame);
    // Warm starts of tracks that ended are dropped (ids are never reused).
    std::set<int> live;
    for (const auto& f : faces) live.insert(f.id);
    for (auto it = warm.begin(); it != warm.end();) {
      if (!live.count(it->first)) {
        smoother.forget(it->first);
        it = warm.erase(it);
      } else {
        ++it;
      }
    }
    faces.erase(std::remove_if(faces.begin(), faces.end(), [](const TrackedFace& f) { return !f.found; }), faces.end());
    if (options.faces == FaceSelection::largest && faces.size() > 1) {
      auto big = std::max_element(faces.begin(), faces.end(),
                                  [](const TrackedFace& a, const TrackedFace& b) { return a.box.area() < b.box.area(); });
      faces = {*big};
    }
    rep.faces_found = static_cast<int>(faces.size());
    if (faces.empty()) {
      finish_report(rep, start, report);
      return;
    }

    struct Face {
      int id;
      Landmarks landmarks;
      AlignedFace aligned;
    };
    std::vector<Face> items;
    for (const auto& f : faces) {
      Landmarks lm = options.smooth_landmarks ? smoother.update(f.id, f.landmarks) : f.landmarks;
      AlignedFace a = ffhq_align(frame, lm, AlignOptions{kAligned, 0, true});
      items.push_back({f.id, std::move(lm), std::move(a)});
    }

    // Invert: faces with a warm start and faces without are two batches.
    const c10::Device dev = encoder.options().device;
    std::vector<at::Tensor> latents(items.size());
    for (int warm_pass = 0; warm_pass < 2; ++warm_pass) {
      std::vector<size_t> idx;
      for (size_t i = 0; i < items.size(); ++i)
        if ((warm.count(items[i].id) != 0) == (warm_pass == 1)) idx.push_back(i);
      if (idx.empty()) continue;
      std::vector<at::Tensor> x, wl, wi;
      for (size_t i : idx) {
        x.push_back(to_encoder_input(items[i].aligned.image));
        if (warm_pass) {
          wl.push_back(warm.at(items[i].id).latent);
          wi.push_back(warm.at(items[i].id).image);
        }
      }
      InversionOptions io;
      io.iterations = warm_pass ? options.warm_iterations : options.iterations;
      io.reconstruct = encoder.config().iterative();  // the next frame's warm start needs the image
      std::optional<WarmStart> ws;
      if (warm_pass) ws = WarmStart{at::cat(wl).to(dev), at::cat(wi).to(dev)};
      const Inversion inv = encoder.invert(at::stack(x).to(dev), ws, io);
      for (size_t k = 0; k < idx.size(); ++k) {
        latents[idx[k]] = inv.latent.narrow(0, static_cast<int64_t>(k), 1);
        if (encoder.config().iterative())
          warm[items[idx[k]].id] = WarmStart{latents[idx[k]], inv.image256.narrow(0, static_cast<int64_t>(k), 1)};
      }
    }

    at::Tensor w = at::cat(latents);
    at::Tensor edit = at::zeros_like(w[0]);
    for (size_t i = 0; i < directions.size(); ++i) edit = edit + directions[i] * strengths[i];
    const at::Tensor w_edit = w + edit.unsqueeze(0);

    double side = 0;
    for (const auto& it : items) side = std::max(side, kAligned * it.aligned.to_frame.scale());
    SynthesisOptions so;
    so.stop_at = pick_resolution(side);
    rep.resolution = so.stop_at;
    const bool delta = options.mode == EditMode::delta;
    const int64_t b = w.size(0);
    const at::Tensor images = encoder.decoder().synthesize(delta ? at::cat({w_edit, w}) : w_edit, so);
    for (size_t i = 0; i < items.size(); ++i) {
      const Face& f = items[i];
      const FaceMask mask = face_mask(f.landmarks, f.aligned.to_frame, kAligned, options.mask);
      const ImageRGBf edited = to_image(images[static_cast<int64_t>(i)]);
      const Affine2 to_frame = compose(to_stored, f.aligned.to_frame);  // aligned -> stored pixels
      const PixelRect rect = face_footprint(native.width, native.height, to_frame, kAligned);
      FaceReport fr;
      fr.track_id = f.id;
      fr.resolution = so.stop_at;
      if (!rect.empty()) {
        std::optional<ImageRGBf> original;
        std::vector<float> under;  // replace mode blends with the frame's own colours
        if (delta) {
          original = to_image(images[b + static_cast<int64_t>(i)]);
        } else {
          under = read_rgb(native, rect);
        }
        const FrameChange change =
            face_change(rect, under, edited, original ? &*original : nullptr, to_frame, kAligned, mask);
        fr.box = apply_change(native, change);
      }
      rep.faces.push_back(fr);
      ++rep.faces_edited;
    }
    finish_report(rep, start, report);
  }

  static void finish_report(FrameReport& rep, std::chrono::steady_clock::time_point start, FrameReport* report) {
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (report) *report = rep;
  }

  void run_worker() {
    for (;;) {
      EngineFrame f;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [this] { return stopping || !input.empty() || finishing; });
        if (stopping || (input.empty() && finishing)) return;
        f = std::move(input.front());
        input.pop_front();
        changed.notify_all();
      }
      try {
        process(f.frame.frame(), f.strengths, &f.report);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        failure = std::current_exception();
        changed.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      output.push_back(std::move(f));
      changed.notify_all();
    }
  }
};

Engine::Engine(const EngineOptions& options, std::vector<Micromotion> motions)
    : impl_(std::make_unique<Impl>(
          options, std::move(motions),
          Encoder::load(encoder_file(options), EncoderOptions{parse_device(options.device), parse_dtype(options.dtype)}))) {}

Engine::Engine(const EngineOptions& options, std::vector<Micromotion> motions, Encoder encoder)
    : impl_(std::make_unique<Impl>(options, std::move(motions), std::move(encoder))) {}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void Engine::process(NativeFrame& frame, const std::vector<double>& strengths, FrameReport* report) {
  impl_->process(frame, strengths, report);
}

ImageRGB8 Engine::process(const ImageView& frame, const std::vector<double>& strengths, FrameReport* report) {
  ImageRGB8 out = ImageRGB8::copy_of(frame);
  NativeFrame native = native_view(out);
  impl_->process(native, strengths, report);
  return out;
}

void Engine::reset() {
  if (latency() > 0) throw Error("reset while frames are queued: receive them first");
  impl_->tracker.reset();
  impl_->smoother.reset();
  impl_->warm.clear();
}

void Engine::set_frame_rate(double frame_rate) {
  if (latency() > 0) throw Error("set_frame_rate while frames are queued: receive them first");
  impl_->options.frame_rate = frame_rate;
  impl_->smoother = OneEuroSmoother(smoother_options(frame_rate));
}

void Engine::submit(EngineFrame frame) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  if (impl_->finishing) throw Error("submit after finish: the stream has ended");
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  if (!impl_->worker.joinable()) impl_->worker = std::thread([this] { impl_->run_worker(); });
  impl_->changed.wait(lock, [this] {
    return static_cast<int>(impl_->input.size()) < impl_->options.queue_depth || impl_->failure;
  });
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  impl_->input.push_back(std::move(frame));
  ++impl_->in_flight;
  impl_->changed.notify_all();
}

std::optional<EngineFrame> Engine::receive(bool wait) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  auto ready = [this] {
    return !impl_->output.empty() || impl_->failure || impl_->in_flight == 0;
  };
  if (wait) impl_->changed.wait(lock, ready);
  if (!impl_->output.empty()) {
    EngineFrame f = std::move(impl_->output.front());
    impl_->output.pop_front();
    --impl_->in_flight;
    impl_->changed.notify_all();
    return f;
  }
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  return std::nullopt;
}

void Engine::finish() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->finishing = true;
  impl_->changed.notify_all();
}

int Engine::latency() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->in_flight;
}

const std::vector<Micromotion>& Engine::motions() const { return impl_->motions; }
int Engine::generator_resolution() const { return impl_->encoder.decoder().config().resolution; }

}  // namespace micromotion
