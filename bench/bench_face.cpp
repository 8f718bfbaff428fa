// Face front end cost per 1080p frame: detection + 68 landmarks for every face, on every frame
// versus with tracking (window search per face, full detection every N frames).
// Needs the face test data: packaging/fetch-test-data.sh (uses faces/bald_guys.jpg, several faces).
#include <micromotion/compositor.h>
#include <micromotion/face_detector.h>
#include <micromotion/face_identity.h>
#include <micromotion/face_region.h>
#include <micromotion/face_tracker.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/landmarks.h>
#include <micromotion/person_matcher.h>

#include <benchmark/benchmark.h>

#include "test_data_path.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace micromotion;

// A 1920x1080 clip of `n` frames: a window panning 3 px/frame over the group photo (1986x1545),
// so the faces move like a slow camera pan.
const std::vector<ImageRGB8>& clip(int n = 30) {
  static std::vector<ImageRGB8> frames;
  if (!frames.empty()) return frames;
  const std::string path = test_data_path("faces/bald_guys.jpg");
  if (!std::filesystem::exists(path)) return frames;
  const ImageRGB8 photo = load_image(path);
  for (int i = 0; i < n; ++i) {
    const int x0 = std::min(3 * i, photo.width() - 1920), y0 = std::min(200 + i, photo.height() - 1080);
    frames.push_back(ImageRGB8::copy_of(crop_view(photo, x0, y0, 1920, 1080)));
  }
  return frames;
}

// One photo, two faces: 2008_001009 scaled x2.25 (faces ~260 and ~320 px wide) onto a grey
// 1920x1080 canvas, sliding 2 px/frame.
const std::vector<ImageRGB8>& one_face_clip(int n = 30) {
  static std::vector<ImageRGB8> frames;
  if (!frames.empty()) return frames;
  const std::string path = test_data_path("faces/2008_001009.jpg");
  if (!std::filesystem::exists(path)) return frames;
  const ImageRGB8 photo = load_image(path);
  const ImageRGB8 big = pil_resize_lanczos(photo, 810, 1080);
  for (int i = 0; i < n; ++i) {
    ImageRGB8 f(1920, 1080, 100);
    const int x0 = 400 + 2 * i;
    for (int y = 0; y < 1080; ++y) std::copy(big.row(y), big.row(y) + 3 * 810, f.pixel(x0, y));
    frames.push_back(std::move(f));
  }
  return frames;
}

const std::vector<ImageRGB8>& clip_for(int which) { return which == 0 ? clip() : one_face_clip(); }

bool have_data(benchmark::State& state) {
  if (clip().empty() || one_face_clip().empty()) {
    state.SkipWithError("face test data missing: run packaging/fetch-test-data.sh");
    return false;
  }
  return true;
}

// Detection on every frame + landmarks for every face.
void BM_DetectEveryFrame(benchmark::State& state) {
  if (!have_data(state)) return;
  DetectorOptions o;
  o.upsample = 0;
  o.downscale = state.range(0) / 100.0;
  FaceDetector detector(o);
  const LandmarkPredictor predictor;
  const auto& frames = clip_for(static_cast<int>(state.range(1)));
  size_t i = 0, faces = 0;
  for (auto _ : state) {
    const ImageRGB8& f = frames[i++ % frames.size()];
    const auto boxes = detector.detect(f);
    for (const auto& b : boxes) benchmark::DoNotOptimize(predictor.predict(f, b));
    faces += boxes.size();
  }
  state.counters["faces/frame"] = double(faces) / state.iterations();
  state.SetLabel("downscale " + std::to_string(o.downscale).substr(0, 4));
}
// Args: downscale in percent, clip (0: group photo with ~12 faces, 1: two faces).
BENCHMARK(BM_DetectEveryFrame)
    ->Args({100, 0})->Args({50, 0})->Args({100, 1})->Args({50, 1})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// Tracking: window search per face every frame, full-frame detection every `detect_every` frames.
void BM_Tracked(benchmark::State& state) {
  if (!have_data(state)) return;
  TrackerOptions o;
  o.detect_every = static_cast<int>(state.range(0));
  o.detector.downscale = state.range(1) / 100.0;
  o.threads = static_cast<int>(state.range(3));
  FaceTracker tracker(o);
  const auto& frames = clip_for(static_cast<int>(state.range(2)));
  size_t i = 0, faces = 0;
  for (auto _ : state) {
    const auto tracked = tracker.update(frames[i++ % frames.size()]);
    faces += tracked.size();
  }
  state.counters["faces/frame"] = double(faces) / state.iterations();
  state.counters["full_detections"] = tracker.full_detections();
}
// Args: detect_every, downscale in percent, clip (0: ~12 faces, 1: two faces), threads.
BENCHMARK(BM_Tracked)
    ->Args({10, 50, 0, 2})->Args({10, 50, 0, 1})->Args({30, 50, 0, 2})
    ->Args({10, 50, 1, 2})->Args({10, 50, 1, 1})->Args({10, 100, 1, 2})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// The 256 FFHQ crop of one face (what the encoders consume). Arg 0: a face inside the frame;
// 1: a face at the frame's edge, which takes the reference's reflect-pad + blur branch.
void BM_AlignOneFace256(benchmark::State& state) {
  if (!have_data(state)) return;
  DetectorOptions o;
  o.upsample = 0;
  FaceDetector detector(o);
  const LandmarkPredictor predictor;
  const ImageRGB8& f = clip()[0];
  const bool want_padded = state.range(0) == 1;
  Landmarks chosen;
  for (const FaceBox& b : detector.detect(f)) {
    Landmarks lm = predictor.predict(f, b);
    if (ffhq_geometry(ffhq_quad(lm), f.width(), f.height()).padded == want_padded) {
      chosen = std::move(lm);
      break;
    }
  }
  if (chosen.empty()) {
    state.SkipWithError("no suitable face in the benchmark frame");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(ffhq_align(f, chosen, {256, 0, true}));
  state.SetLabel(want_padded ? "edge face (padded)" : "inner face");
}
BENCHMARK(BM_AlignOneFace256)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Identity matching (person_matcher.h) on the two_johns clip (760x400, 40 frames: John_Salley
// throughout, John_Savage in 0-15 and 26-39), references the second photo (by name) of each.
// Per iteration the whole clip goes through the tracker and the matcher as a front end drives
// them; only the matcher's calls are timed. Counters: matcher ms per face per frame (amortised
// over every face-frame of the clip) and embeddings per clip.
const std::vector<ImageRGB8>& two_johns() {
  static std::vector<ImageRGB8> frames;
  if (!frames.empty()) return frames;
  for (int i = 0;; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "clips/two_johns/%04d.png", i);
    const std::string path = test_data_path(name);
    if (!std::filesystem::exists(path)) break;
    frames.push_back(load_image(path));
  }
  return frames;
}

std::string second_photo(const std::string& person) {
  std::vector<std::string> all;
  const std::string dir = test_data_path("johns/" + person);
  if (!std::filesystem::is_directory(dir)) return {};
  for (const auto& e : std::filesystem::directory_iterator(dir)) all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  return all.size() > 1 ? all[1] : std::string();
}

bool have_identity_data(benchmark::State& state) {
  if (two_johns().size() != 40 || second_photo("John_Salley").empty() || second_photo("John_Savage").empty() ||
      !std::filesystem::exists(test_data_path("models/dlib_face_recognition_resnet_model_v1.dat"))) {
    state.SkipWithError("two_johns clip, johns photos or the face recognition model missing: run "
                        "packaging/fetch-test-data.sh");
    return false;
  }
  return true;
}

// Args: detect_every; people (1: Salley only, so Savage's tracks are nobody and are embedded again
// at each full detection: the expensive case; 2: both, every track settled after its votes).
void BM_IdentityMatching(benchmark::State& state) {
  if (!have_identity_data(state)) return;
  const auto& frames = two_johns();
  TrackerOptions to;
  to.detect_every = static_cast<int>(state.range(0));
  FaceTracker tracker(to);
  std::vector<PersonReference> people = {{"salley", {second_photo("John_Salley")}}};
  if (state.range(1) == 2) people.push_back({"savage", {second_photo("John_Savage")}});
  PersonMatcherOptions mo;
  mo.model_path = test_data_path("models/dlib_face_recognition_resnet_model_v1.dat");
  PersonMatcher matcher(people, mo);
  double matcher_s = 0;
  long face_frames = 0, clips = 0;
  const int embeddings_before = matcher.embeddings();
  for (auto _ : state) {
    tracker.reset();
    matcher.reset();
    std::set<int> live;
    for (const ImageRGB8& f : frames) {
      const auto faces = tracker.update(f);
      const auto t0 = std::chrono::steady_clock::now();
      std::set<int> now;
      for (const TrackedFace& t : faces) {
        now.insert(t.id);
        if (t.found) {
          benchmark::DoNotOptimize(matcher.observe(t.id, f, t.landmarks, t.detected));
          ++face_frames;
        }
      }
      for (int id : live)
        if (!now.count(id)) matcher.forget(id);
      live = std::move(now);
      matcher_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    ++clips;
  }
  state.counters["matcher_ms/face/frame"] = face_frames ? 1e3 * matcher_s / face_frames : 0.0;
  state.counters["embeddings/clip"] = clips ? double(matcher.embeddings() - embeddings_before) / clips : 0.0;
  state.counters["face_frames/clip"] = clips ? double(face_frames) / clips : 0.0;
}
BENCHMARK(BM_IdentityMatching)
    ->Args({10, 1})->Args({10, 2})->Args({1, 1})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

// One embedding: the 150² chip and dlib's ResNet on one face of the clip.
void BM_OneEmbedding(benchmark::State& state) {
  if (!have_identity_data(state)) return;
  const ImageRGB8& f = two_johns()[0];
  DetectorOptions o;
  o.upsample = 0;
  FaceDetector detector(o);
  const LandmarkPredictor predictor;
  const auto boxes = detector.detect(f);
  if (boxes.empty()) {
    state.SkipWithError("no face in the first two_johns frame");
    return;
  }
  const Landmarks lm = predictor.predict(f, boxes[0]);
  FaceIdentity identity(test_data_path("models/dlib_face_recognition_resnet_model_v1.dat"));
  for (auto _ : state) benchmark::DoNotOptimize(identity.embed(f, lm));
}
BENCHMARK(BM_OneEmbedding)->Unit(benchmark::kMillisecond)->UseRealTime();

// The per-face, per-frame mask at 256: face_mask (the yardstick) and region masks, which build
// the face mask and then rasterise their parts inside each part's bounding box.
// Arg: regions (1 face = face_mask itself, 8 mouth, 10 eyes+mouth, 62 all five parts).
void BM_Mask256(benchmark::State& state) {
  if (!have_data(state)) return;
  DetectorOptions o;
  o.upsample = 0;
  FaceDetector detector(o);
  const LandmarkPredictor predictor;
  const ImageRGB8& f = one_face_clip()[0];
  const auto boxes = detector.detect(f);
  if (boxes.empty()) {
    state.SkipWithError("no face in the benchmark frame");
    return;
  }
  const Landmarks lm = predictor.predict(f, boxes[0]);
  const Affine2 to_frame = ffhq_align(f, lm, {256, 0, true}).to_frame;
  const auto regions = static_cast<FaceRegions>(state.range(0));
  if (regions == kRegionFace) {
    for (auto _ : state) benchmark::DoNotOptimize(face_mask(lm, to_frame, 256));
  } else {
    for (auto _ : state) benchmark::DoNotOptimize(region_mask(lm, to_frame, 256, regions));
  }
  state.SetLabel(regions == kRegionFace ? "face_mask" : "region_mask " + face_regions_name(regions));
}
BENCHMARK(BM_Mask256)->Arg(1)->Arg(8)->Arg(10)->Arg(62)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
