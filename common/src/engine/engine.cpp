// The per-frame engine (see engine.h for the pipeline and its guarantees).
#include <micromotion/encoder.h>
#include <micromotion/engine.h>
#include <micromotion/face_region.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/generator.h>
#include <micromotion/landmark_smoother.h>
#include <micromotion/person_matcher.h>
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
#include <memory>
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
  check_range("keyframe_every", o.keyframe_every);
  check_range("keyframe_threshold", o.keyframe_threshold);
  check_range("reconstruct_at", o.reconstruct_at);
  check_range("identity_threshold", o.matcher.threshold);
  if (o.region == 0) throw Error("region: no part of the face given");
  for (const auto& [name, r] : o.person_region) {
    if (r == 0) throw Error("region of '" + name + "': no part of the face given");
    if (std::none_of(o.people.begin(), o.people.end(), [&](const PersonReference& p) { return p.name == name; }))
      throw Error("region of '" + name + "': no person '" + name + "' is defined");
  }
  for (const std::string& name : o.edit_person)
    if (!name.empty() &&
        std::none_of(o.people.begin(), o.people.end(), [&](const PersonReference& p) { return p.name == name; }))
      throw Error("an edit is for '" + name + "', but no person '" + name + "' is defined");
}

namespace {

OneEuroOptions smoother_options(double frame_rate) { return {frame_rate > 0 ? frame_rate : 25.0, 0.3, 4.0, 1.0}; }

// One keyframe's edit of one face, in aligned coordinates at the synthesis resolution.
struct KeyEdit {
  int64_t seq = 0;          // the frame it was made from
  int resolution = 0;
  ImageRGBf edited;         // G(w')
  ImageRGBf original;       // G(w), delta mode only
};
using KeyPtr = std::shared_ptr<const KeyEdit>;

// (1 - l) a + l b, per sample (two keyframes of one size).
ImageRGBf mix(const ImageRGBf& a, const ImageRGBf& b, float l) {
  ImageRGBf r;
  r.width = a.width;
  r.height = a.height;
  r.pixels.resize(a.pixels.size());
  for (size_t i = 0; i < r.pixels.size(); ++i) r.pixels[i] = a.pixels[i] + l * (b.pixels[i] - a.pixels[i]);
  return r;
}

// The aligned face as a small grey thumbnail, sampled straight from the frame through to_frame
// (bilinear, 16 x 16 samples of each 16 x 16 cell's centre): what keyframe_every=auto compares.
constexpr int kThumb = 16;
std::vector<float> thumbnail(const ImageView& frame, const Affine2& to_frame) {
  std::vector<float> t(kThumb * kThumb);
  const double cell = static_cast<double>(kAligned) / kThumb;
  for (int y = 0; y < kThumb; ++y)
    for (int x = 0; x < kThumb; ++x) {
      const Point2d p = to_frame({(x + 0.5) * cell - 0.5, (y + 0.5) * cell - 0.5});
      const double fx = std::clamp(p.x, 0.0, frame.width - 1.0), fy = std::clamp(p.y, 0.0, frame.height - 1.0);
      const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
      const int x1 = std::min(x0 + 1, frame.width - 1), y1 = std::min(y0 + 1, frame.height - 1);
      const double ax = fx - x0, ay = fy - y0;
      auto grey = [&](int xi, int yi) {
        const uint8_t* q = frame.pixel(xi, yi);
        return (0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2]) / 255.0;
      };
      const double top = grey(x0, y0) + (grey(x1, y0) - grey(x0, y0)) * ax;
      const double bot = grey(x0, y1) + (grey(x1, y1) - grey(x0, y1)) * ax;
      t[static_cast<size_t>(y) * kThumb + x] = static_cast<float>(top + (bot - top) * ay);
    }
  return t;
}

double mean_abs_change(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return a.empty() ? 0 : sum / static_cast<double>(a.size());
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  std::vector<Micromotion> motions;
  std::vector<at::Tensor> directions;  // on the encoder's device
  Encoder encoder;
  FaceTracker tracker;
  OneEuroSmoother smoother;
  std::optional<PersonMatcher> matcher;
  std::vector<int> edit_person;        // per edit: its person's index, -1 for everyone
  std::vector<FaceRegions> person_region;  // per person

  // The per-frame path's view of each face track.
  struct Track {
    int64_t last_key = -1;           // seq of its newest keyframe (-1: none yet)
    int key_person = -2;             // the person its newest keyframe was made for
    std::vector<float> key_thumb;    // keyframe_every auto: the aligned face at that keyframe
    KeyPtr newest;                   // offline: the newest keyframe's edit
  };
  std::map<int, Track> tracks;
  std::map<int, WarmStart> warm;     // the keyframe path's; live: owned by the keyframe thread
  int64_t seq = 0;                   // frames analysed

  // A face of a frame waiting for its composite.
  struct PendingFace {
    int id = 0;
    int person = -1;
    Landmarks landmarks;             // smoothed, displayed-frame pixels
    Affine2 to_display;              // aligned pixel -> displayed frame
    KeyPtr before, after;            // the keyframes it lies between (after: none yet)
    bool final = false;              // no later keyframe will come (track ended, or no look-ahead)
    bool keyframe = false;
  };
  struct Pending {
    NativeFrame frame;
    int64_t tag = 0, seq = 0;
    std::vector<PendingFace> faces;
    FrameReport report;
    std::string error;
    std::chrono::steady_clock::time_point start;
  };
  std::deque<Pending> pending;
  bool flushing = false;

  // Live keyframe path.
  struct KeyInput {
    int id = 0;
    ImageRGB8 aligned;
    at::Tensor edit;                 // [n_styles, style_dim]: sum of s_i d_i for this face
    double side = 0;                 // the face's size on screen (pixels)
  };
  struct LiveJob {
    int64_t seq = 0;
    std::vector<KeyInput> faces;
    std::set<int> alive;
    std::chrono::steady_clock::time_point handed;
  };
  mutable std::mutex live_mutex;
  std::condition_variable live_changed;
  std::optional<LiveJob> live_job;
  bool live_busy = false, live_stop = false;
  std::map<int, KeyPtr> live_newest;
  std::exception_ptr live_failure;
  LiveStatus live_stats;
  std::deque<std::chrono::steady_clock::time_point> live_done_times;
  std::thread live_thread;

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
    if (options.edit_person.size() > motions.size())
      throw Error("the engine has " + std::to_string(options.edit_person.size()) + " edit persons for " +
                  std::to_string(motions.size()) + " micromotions");
    const GeneratorConfig& g = encoder.decoder().config();
    for (const auto& mo : motions) {
      mo.check_fits(g.n_latent(), g.style_dim, "the generator of " + options.encoder + " (" + g.describe() + ")");
      directions.push_back(mo.direction().to(encoder.options().device));
    }
    if (options.reconstruct_at > 0) {
      const auto exits = encoder.decoder().exit_resolutions();
      if (std::find(exits.begin(), exits.end(), options.reconstruct_at) == exits.end()) {
        std::string list;
        for (int r : exits) list += (list.empty() ? "" : ", ") + std::to_string(r);
        throw Error("reconstruct_at " + std::to_string(options.reconstruct_at) + ": not a resolution the generator (" +
                    g.describe() + ") has (0 or one of " + list + ")");
      }
    }
    for (size_t i = 0; i < motions.size(); ++i) {
      const std::string name = i < options.edit_person.size() ? options.edit_person[i] : "";
      int index = -1;
      for (size_t k = 0; k < options.people.size(); ++k)
        if (options.people[k].name == name) index = static_cast<int>(k);
      edit_person.push_back(index);
    }
    for (const auto& p : options.people) {
      const auto it = options.person_region.find(p.name);
      person_region.push_back(it != options.person_region.end() ? it->second : options.region);
    }
    if (!options.people.empty()) {
      PersonMatcherOptions mo = options.matcher;
      if (mo.models_dir.empty()) mo.models_dir = options.models_dir;
      if (mo.landmark_model.empty()) mo.landmark_model = options.tracker.landmark_model;
      matcher.emplace(options.people, mo);
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(live_mutex);
      live_stop = true;
    }
    live_changed.notify_all();
    if (live_thread.joinable()) live_thread.join();
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

  // The latent edit of a face of `person` (-1: none) at these strengths; undefined when no edit
  // is for this face (it is left alone).
  at::Tensor face_edit(int person, const std::vector<double>& strengths) const {
    if (person < 0 && !options.people.empty() && !options.others_edited) return {};
    at::Tensor edit;
    for (size_t i = 0; i < directions.size(); ++i) {
      if (edit_person[i] != -1 && edit_person[i] != person) continue;
      const at::Tensor term = directions[i] * strengths[i];
      edit = edit.defined() ? edit + term : at::zeros_like(directions[i]) + term;
    }
    return edit;
  }

  // The keyframe path: invert (faces with a warm start and faces without are two batches),
  // w' = w + edit, synthesize every face in one batch (delta: w' and w), as float images.
  std::vector<KeyPtr> run_keyframes(const std::vector<KeyInput>& in, int64_t at_seq) {
    const c10::Device dev = encoder.options().device;
    std::vector<at::Tensor> latents(in.size());
    for (int warm_pass = 0; warm_pass < 2; ++warm_pass) {
      std::vector<size_t> idx;
      for (size_t i = 0; i < in.size(); ++i)
        if ((warm.count(in[i].id) != 0) == (warm_pass == 1)) idx.push_back(i);
      if (idx.empty()) continue;
      std::vector<at::Tensor> x, wl, wi;
      for (size_t i : idx) {
        x.push_back(to_encoder_input(in[i].aligned));
        if (warm_pass) {
          wl.push_back(warm.at(in[i].id).latent);
          wi.push_back(warm.at(in[i].id).image);
        }
      }
      InversionOptions io;
      io.iterations = warm_pass ? options.warm_iterations : options.iterations;
      io.reconstruct = encoder.config().iterative();  // the next keyframe's warm start needs the image
      io.reconstruct_at = options.reconstruct_at;
      std::optional<WarmStart> ws;
      if (warm_pass) ws = WarmStart{at::cat(wl).to(dev), at::cat(wi).to(dev)};
      const Inversion inv = encoder.invert(at::stack(x).to(dev), ws, io);
      for (size_t k = 0; k < idx.size(); ++k) {
        latents[idx[k]] = inv.latent.narrow(0, static_cast<int64_t>(k), 1);
        if (encoder.config().iterative())
          warm[in[idx[k]].id] = WarmStart{latents[idx[k]], inv.image256.narrow(0, static_cast<int64_t>(k), 1)};
      }
    }
    const at::Tensor w = at::cat(latents);
    std::vector<at::Tensor> edits;
    for (const auto& f : in) edits.push_back(f.edit);
    const at::Tensor w_edit = w + at::stack(edits);
    double side = 0;
    for (const auto& f : in) side = std::max(side, f.side);
    SynthesisOptions so;
    so.stop_at = pick_resolution(side);
    const bool delta = options.mode == EditMode::delta;
    const int64_t b = w.size(0);
    const at::Tensor images = encoder.decoder().synthesize(delta ? at::cat({w_edit, w}) : w_edit, so);
    std::vector<KeyPtr> out;
    for (size_t i = 0; i < in.size(); ++i) {
      auto k = std::make_shared<KeyEdit>();
      k->seq = at_seq;
      k->resolution = so.stop_at;
      k->edited = to_image(images[static_cast<int64_t>(i)]);
      if (delta) k->original = to_image(images[b + static_cast<int64_t>(i)]);
      out.push_back(std::move(k));
    }
    return out;
  }

  ImageRGB8 tracker_scratch;  // the frame as 8-bit RGB, when it is not rgb24

  // A track ended: its per-track state goes (ids are never reused); faces waiting for its next
  // keyframe will not get one.
  void end_track(int id) {
    smoother.forget(id);
    if (matcher) matcher->forget(id);
    tracks.erase(id);
    if (!options.live) warm.erase(id);
    for (Pending& p : pending)
      for (PendingFace& f : p.faces)
        if (f.id == id && !f.after) f.final = true;
  }

  // The per-frame path up to the composite, plus (offline) the keyframe path for the faces that
  // need one. Fills p.faces.
  void analyse(Pending& p, const std::vector<double>& strengths) {
    NativeFrame& native = p.frame;
    const ImageView stored = rgb8_view(native, tracker_scratch);
    ImageRGB8 upright;  // a rotated frame is searched as displayed
    if (native.rotation) upright = turned_rgb8(stored, native.rotation);
    const ImageView frame = native.rotation ? upright.view() : stored;
    std::vector<TrackedFace> faces = tracker.update(frame);
    std::set<int> live_ids;
    for (const auto& f : faces) live_ids.insert(f.id);
    std::vector<int> ended;
    for (const auto& [id, t] : tracks)
      if (!live_ids.count(id)) ended.push_back(id);
    for (int id : ended) end_track(id);
    faces.erase(std::remove_if(faces.begin(), faces.end(), [](const TrackedFace& f) { return !f.found; }), faces.end());
    if (options.faces == FaceSelection::largest && faces.size() > 1) {
      auto big = std::max_element(faces.begin(), faces.end(),
                                  [](const TrackedFace& a, const TrackedFace& b) { return a.box.area() < b.box.area(); });
      faces = {*big};
    }
    p.report.faces_found = static_cast<int>(faces.size());

    std::vector<KeyInput> keys;      // faces whose networks run now
    std::vector<size_t> key_face;    // their index in p.faces
    const bool live_free = options.live && live_idle();
    for (const auto& f : faces) {
      const int person = matcher ? matcher->observe(f.id, frame, f.landmarks, f.detected) : -1;
      at::Tensor edit = face_edit(person, strengths);
      Track& t = tracks[f.id];
      if (!edit.defined()) continue;  // no edit for this face: left as it is
      PendingFace pf;
      pf.id = f.id;
      pf.person = person;
      pf.landmarks = options.smooth_landmarks ? smoother.update(f.id, f.landmarks) : f.landmarks;
      const AlignOptions ao{kAligned, 0, true};
      const Quad quad = ffhq_quad(pf.landmarks);
      const AlignGeometry g = ffhq_geometry(quad, frame.width, frame.height, ao);
      pf.to_display = ffhq_to_frame(g, frame.width, frame.height, ao);
      bool key = false;
      if (options.live) {
        key = live_free;
      } else {
        key = t.last_key < 0 || t.key_person != person;
        if (!key && options.keyframe_every > 0) key = p.seq - t.last_key >= options.keyframe_every;
        std::vector<float> thumb;
        if (!key && options.keyframe_every == 0) {
          thumb = thumbnail(frame, pf.to_display);
          key = p.seq - t.last_key >= kMaxAutoKeyframeGap ||
                mean_abs_change(thumb, t.key_thumb) > options.keyframe_threshold;
        }
        if (key && options.keyframe_every == 0) t.key_thumb = thumb.empty() ? thumbnail(frame, pf.to_display) : thumb;
      }
      if (key) {
        KeyInput in;
        in.id = f.id;
        in.aligned = ffhq_align(frame, quad, ao).image;
        in.edit = std::move(edit);
        in.side = kAligned * pf.to_display.scale();
        keys.push_back(std::move(in));
        key_face.push_back(p.faces.size());
        t.key_person = person;
      }
      pf.keyframe = key;
      pf.before = t.newest;
      p.faces.push_back(std::move(pf));
    }
    p.report.keyframes = static_cast<int>(keys.size());

    if (options.live) {
      std::lock_guard<std::mutex> lock(live_mutex);
      if (!keys.empty()) {
        live_job = LiveJob{p.seq, std::move(keys), live_ids, std::chrono::steady_clock::now()};
        live_busy = true;
        live_changed.notify_all();
      }
      for (auto it = live_newest.begin(); it != live_newest.end();)
        it = live_ids.count(it->first) ? std::next(it) : live_newest.erase(it);
      for (PendingFace& f : p.faces) {
        const auto it = live_newest.find(f.id);
        f.before = it != live_newest.end() ? it->second : nullptr;
        f.final = true;  // live: the newest edit, never a later one
      }
      ensure_live_thread();
      return;
    }
    // A face that stopped getting keyframes while its track lives on (faces=largest picked
    // another) waits no longer than any keyframe gap can be.
    const int64_t gap = (options.keyframe_every > 0 ? options.keyframe_every : kMaxAutoKeyframeGap) +
                        options.tracker.max_missed + 1;
    for (Pending& q : pending)
      if (p.seq - q.seq > gap)
        for (PendingFace& g : q.faces) g.final = true;
    if (keys.empty()) return;
    const std::vector<KeyPtr> made = run_keyframes(keys, p.seq);
    for (size_t k = 0; k < made.size(); ++k) {
      PendingFace& f = p.faces[key_face[k]];
      Track& t = tracks[f.id];
      t.last_key = p.seq;
      t.newest = made[k];
      f.before = made[k];
      f.final = true;  // a keyframe's own edit: nothing to wait for
      // Faces of earlier frames waiting for this track's next keyframe have it now.
      for (Pending& q : pending)
        for (PendingFace& g : q.faces)
          if (g.id == f.id && !g.after && !g.final) g.after = made[k];
    }
    if (!made.empty()) p.report.resolution = made.front()->resolution;
  }

  // The edit of face f warped onto its frame: interpolated between its keyframes when both are
  // known and of one size, else the one before.
  void composite(Pending& p, const PendingFace& f) {
    if (!f.before) return;  // live, before the face's first edit: passes through
    const KeyEdit& k0 = *f.before;
    const ImageRGBf* edited = &k0.edited;
    const ImageRGBf* original = k0.original.pixels.empty() ? nullptr : &k0.original;
    ImageRGBf e_mix, o_mix;
    if (f.after && f.after->resolution == k0.resolution && f.after->seq > k0.seq && p.seq > k0.seq) {
      const float l = static_cast<float>(p.seq - k0.seq) / static_cast<float>(f.after->seq - k0.seq);
      e_mix = mix(k0.edited, f.after->edited, l);
      edited = &e_mix;
      if (original) {
        o_mix = mix(k0.original, f.after->original, l);
        original = &o_mix;
      }
    }
    NativeFrame& native = p.frame;
    const FaceRegions region = f.person >= 0 ? person_region[static_cast<size_t>(f.person)] : options.region;
    const FaceMask mask = region_mask(f.landmarks, f.to_display, kAligned, region, options.mask);
    const Affine2 to_frame = compose(display_to_stored(native), f.to_display);  // aligned -> stored pixels
    const PixelRect rect = face_footprint(native.width, native.height, to_frame, kAligned);
    FaceReport fr;
    fr.track_id = f.id;
    fr.person = f.person >= 0 ? options.people[static_cast<size_t>(f.person)].name : "";
    fr.keyframe = f.keyframe;
    fr.resolution = k0.resolution;
    if (!rect.empty()) {
      std::vector<float> under;  // replace mode blends with the frame's own colours
      if (!original) under = read_rgb(native, rect);
      const FrameChange change = face_change(rect, under, *edited, original, to_frame, kAligned, mask);
      fr.box = apply_change(native, change);
    }
    if (p.report.resolution == 0) p.report.resolution = k0.resolution;
    p.report.faces.push_back(fr);
    ++p.report.faces_edited;
  }

  bool ready(const Pending& p) const {
    if (!p.error.empty() || flushing) return true;
    return std::all_of(p.faces.begin(), p.faces.end(), [](const PendingFace& f) { return f.after || f.final; });
  }

  void add(NativeFrame& native, const std::vector<double>& strengths, int64_t tag) {
    if (strengths.size() != motions.size())
      throw Error("process: " + std::to_string(strengths.size()) + " strengths for " + std::to_string(motions.size()) +
                  " micromotions");
    if (flushing) throw Error("add after flush: the stream has ended");
    rethrow_live_failure();
    Pending p;
    p.frame = native;
    p.tag = tag;
    p.seq = seq++;
    p.start = std::chrono::steady_clock::now();
    c10::NoGradGuard no_grad;
    try {
      analyse(p, strengths);
    } catch (const c10::Error& e) {
      p.error = e.what_without_backtrace();
    } catch (const std::exception& e) {
      p.error = e.what();
    }
    if (!p.error.empty()) p.faces.clear();
    // Without look-ahead nothing waits: a face between keyframes keeps the one before.
    if (options.keyframe_every == 1 || options.live)
      for (PendingFace& f : p.faces) f.final = true;
    pending.push_back(std::move(p));
  }

  std::optional<TakenFrame> take() {
    if (pending.empty() || !ready(pending.front())) return std::nullopt;
    Pending p = std::move(pending.front());
    pending.pop_front();
    TakenFrame out;
    out.tag = p.tag;
    out.error = p.error;
    if (p.error.empty()) {
      try {
        for (const PendingFace& f : p.faces) composite(p, f);
      } catch (const std::exception& e) {
        out.error = e.what();
      }
    }
    p.report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p.start).count();
    out.report = std::move(p.report);
    if (pending.empty()) flushing = false;  // a flushed stream may go on (a front end's new segment)
    return out;
  }

  // The synchronous call: no look-ahead.
  void process(NativeFrame& native, const std::vector<double>& strengths, FrameReport* report) {
    if (!pending.empty()) throw Error("process while frames added are held: take them first");
    add(native, strengths, 0);
    for (PendingFace& f : pending.back().faces) f.final = true;
    std::optional<TakenFrame> t = take();
    if (!t->error.empty()) throw Error(t->error);
    if (report) *report = t->report;
  }

  // Live keyframe thread.
  bool live_idle() {
    std::lock_guard<std::mutex> lock(live_mutex);
    return !live_busy;
  }
  void rethrow_live_failure() {
    std::lock_guard<std::mutex> lock(live_mutex);
    if (live_failure) {
      std::exception_ptr e = live_failure;
      live_failure = nullptr;
      std::rethrow_exception(e);
    }
  }
  void ensure_live_thread() {
    if (!live_thread.joinable()) live_thread = std::thread([this] { run_live(); });
  }
  void run_live() {
    c10::NoGradGuard no_grad;
    for (;;) {
      LiveJob job;
      {
        std::unique_lock<std::mutex> lock(live_mutex);
        live_changed.wait(lock, [this] { return live_stop || live_job; });
        if (live_stop) return;
        job = std::move(*live_job);
        live_job.reset();
      }
      for (auto it = warm.begin(); it != warm.end();)
        it = job.alive.count(it->first) ? std::next(it) : warm.erase(it);
      std::vector<KeyPtr> made;
      std::exception_ptr error;
      try {
        made = run_keyframes(job.faces, job.seq);
      } catch (...) {
        error = std::current_exception();
      }
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lock(live_mutex);
      live_busy = false;
      if (error) {
        live_failure = error;
        continue;
      }
      for (size_t k = 0; k < made.size(); ++k) live_newest[job.faces[k].id] = made[k];
      ++live_stats.refreshes;
      live_stats.network_seconds = std::chrono::duration<double>(now - job.handed).count();
      live_done_times.push_back(now);
      while (live_done_times.size() > 8) live_done_times.pop_front();
      const double span = std::chrono::duration<double>(live_done_times.back() - live_done_times.front()).count();
      live_stats.refresh_rate = span > 0 ? (live_done_times.size() - 1) / span : 0;
    }
  }
  // Waits until the keyframe thread has finished its job (reset, frame rate change).
  void wait_live_idle() {
    std::unique_lock<std::mutex> lock(live_mutex);
    live_changed.wait(lock, [this] { return !live_busy || live_stop; });
  }

  void run_worker() {
    std::map<int64_t, EngineFrame> held;  // by internal number, while add() holds them
    int64_t number = 0;
    auto deliver = [&] {
      while (std::optional<TakenFrame> t = take()) {
        EngineFrame f = std::move(held.at(t->tag));
        held.erase(t->tag);
        if (!t->error.empty()) throw Error(t->error);
        f.report = std::move(t->report);
        std::lock_guard<std::mutex> lock(mutex);
        output.push_back(std::move(f));
        changed.notify_all();
      }
    };
    try {
      for (;;) {
        EngineFrame f;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [this] { return stopping || !input.empty() || finishing; });
          if (stopping) return;
          if (input.empty() && finishing) break;
          f = std::move(input.front());
          input.pop_front();
          changed.notify_all();
        }
        const int64_t n = number++;
        const std::vector<double> strengths = f.strengths;
        auto& kept = held.emplace(n, std::move(f)).first->second;
        add(kept.frame.frame(), strengths, n);
        deliver();
      }
      flush();
      deliver();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      failure = std::current_exception();
      changed.notify_all();
    }
  }

  void flush() {
    flushing = true;
    for (Pending& p : pending)
      for (PendingFace& f : p.faces) f.final = true;
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

void Engine::add(NativeFrame& frame, const std::vector<double>& strengths, int64_t tag) {
  impl_->add(frame, strengths, tag);
}
std::optional<TakenFrame> Engine::take() { return impl_->take(); }
void Engine::flush() { impl_->flush(); }
int Engine::held() const { return static_cast<int>(impl_->pending.size()); }

LiveStatus Engine::live_status() const {
  std::lock_guard<std::mutex> lock(impl_->live_mutex);
  LiveStatus s = impl_->live_stats;
  s.faces_with_edit = static_cast<int>(impl_->live_newest.size());
  return s;
}

void Engine::reset() {
  if (latency() > 0 || held() > 0) throw Error("reset while frames are queued: receive them first");
  impl_->wait_live_idle();
  impl_->tracker.reset();
  impl_->smoother.reset();
  if (impl_->matcher) impl_->matcher->reset();
  impl_->tracks.clear();
  std::lock_guard<std::mutex> lock(impl_->live_mutex);
  impl_->warm.clear();
  impl_->live_newest.clear();
}

void Engine::set_frame_rate(double frame_rate) {
  if (latency() > 0 || held() > 0) throw Error("set_frame_rate while frames are queued: receive them first");
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
