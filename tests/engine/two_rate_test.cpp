// The two-rate engine (DESIGN.md section 8): keyframes every K frames with the edit interpolated
// in between, and live mode, on a moving face with the test models.
#include "engine/engine_test_support.h"

#include <micromotion/engine.h>
#include <micromotion/motion.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace micromotion;

EngineOptions two_rate_options() {
  EngineOptions o;
  o.models_dir = enginetest::test_models().string();
  o.iterations = 2;
  o.dtype = "fp32";
  o.faces = FaceSelection::largest;  // pan_zoom shows a second, partial face
  return o;
}

Micromotion smile() { return find_micromotion("smile", enginetest::test_models().string()); }

// K = 4 on a zooming, panning face: keyframes on frames 0 and 4; every frame edited, only
// inside its own face (the edit is warped to each frame's alignment); frames wait for the next
// keyframe, and flush() releases the last ones.
TEST(TwoRate, KeyframesEveryKEditEveryFrameOnItsOwnFace) {
  const auto frames = enginetest::clip_frames("pan_zoom", 0, 7);
  EngineOptions o = two_rate_options();
  o.keyframe_every = 4;
  Engine engine(o, {smile()});
  std::vector<ImageRGB8> out(frames.begin(), frames.end());
  std::vector<NativeFrame> views;
  for (auto& f : out) views.push_back(native_view(f));
  std::vector<TakenFrame> taken;
  int max_held = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    engine.add(views[i], {5.0}, static_cast<int64_t>(i));
    max_held = std::max(max_held, engine.held());
    while (auto t = engine.take()) taken.push_back(std::move(*t));
  }
  EXPECT_LE(max_held, 5);
  EXPECT_EQ(engine.held(), 2) << "frames 5 and 6 wait for a keyframe that never comes";
  engine.flush();
  while (auto t = engine.take()) taken.push_back(std::move(*t));
  ASSERT_EQ(taken.size(), frames.size());
  for (size_t i = 0; i < taken.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(taken[i].tag, static_cast<int64_t>(i));
    EXPECT_TRUE(taken[i].error.empty()) << taken[i].error;
    ASSERT_EQ(taken[i].report.faces_edited, 1);
    EXPECT_EQ(taken[i].report.faces[0].keyframe, i % 4 == 0);
    const auto c = enginetest::compare(out[i], frames[i], enginetest::face_regions(frames[i]));
    EXPECT_GT(c.changed, 2000);
    EXPECT_EQ(c.outside, 0) << "the edit left the face of this frame";
  }
}

// Live: process() returns at once; once the background networks have a result, every frame
// carries an edit on the face's current position.
TEST(TwoRate, LiveFramesCarryTheNewestEditOnTheCurrentFace) {
  const auto frames = enginetest::clip_frames("pan_zoom", 0, 7);
  EngineOptions o = two_rate_options();
  o.live = true;
  Engine engine(o, {smile()});
  FrameReport rep;
  ImageRGB8 first = engine.process(frames[0], {5.0}, &rep);
  EXPECT_EQ(rep.keyframes, 1) << "the face goes to the networks";
  EXPECT_EQ(rep.faces_edited, 0) << "no edit exists yet: the frame passes through";
  EXPECT_TRUE(first == frames[0]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (engine.live_status().refreshes == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(engine.live_status().refreshes, 1);
  const double network = engine.live_status().network_seconds;
  for (size_t i = 1; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const ImageRGB8 edited = engine.process(frames[i], {5.0}, &rep);
    ASSERT_EQ(rep.faces_edited, 1);
    EXPECT_LT(rep.seconds, network) << "the per-frame path waited for the networks";
    const auto c = enginetest::compare(edited, frames[i], enginetest::face_regions(frames[i]));
    EXPECT_GT(c.changed, 2000);
    EXPECT_EQ(c.outside, 0);
  }
  EXPECT_GT(engine.live_status().refresh_rate, 0.0);
}


// Frames through add()/take() and flush(), in order; the frames are edited in place.
std::vector<TakenFrame> add_take_all(Engine& engine, std::vector<ImageRGB8>& out) {
  std::vector<NativeFrame> views;
  for (auto& f : out) views.push_back(native_view(f));
  std::vector<TakenFrame> taken;
  for (size_t i = 0; i < out.size(); ++i) {
    engine.add(views[i], {5.0}, static_cast<int64_t>(i));
    while (auto t = engine.take()) taken.push_back(std::move(*t));
  }
  engine.flush();
  while (auto t = engine.take()) taken.push_back(std::move(*t));
  return taken;
}

// The gaps clip: a face on frames 0-9, none on 10-19, the face again (moved) on 20-29. With
// K = 4 the returning face is a new track, a keyframe on its first frame back, and every frame
// with a face is edited; the empty ones pass through. Detection on every frame: with
// detect_every N a new face is found at the next full-frame search, up to N - 1 frames later.
TEST(TwoRate, AFaceComingBackIsEditedFromItsFirstFrame) {
  const auto frames = enginetest::clip_frames("gaps", 0, 30);
  EngineOptions o = two_rate_options();
  o.keyframe_every = 4;
  o.tracker.detect_every = 1;
  Engine engine(o, {smile()});
  std::vector<ImageRGB8> out(frames.begin(), frames.end());
  const auto taken = add_take_all(engine, out);
  ASSERT_EQ(taken.size(), frames.size());
  for (size_t i = 0; i < taken.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(taken[i].tag, static_cast<int64_t>(i));
    const bool face = i < 10 || i >= 20;
    if (!face) {
      EXPECT_EQ(taken[i].report.faces_edited, 0);
      EXPECT_TRUE(out[i] == frames[i]);
      continue;
    }
    ASSERT_EQ(taken[i].report.faces_edited, 1);
    EXPECT_EQ(taken[i].report.faces[0].keyframe, i == 20 || (i < 10 ? i % 4 == 0 : (i - 20) % 4 == 0));
    EXPECT_FALSE(out[i] == frames[i]);
  }
  EXPECT_NE(taken[0].report.faces[0].track_id, taken[20].report.faces[0].track_id);
}

// keyframe_every auto (0): a keyframe on a track's first frame, then whenever the aligned face
// has changed past the threshold, never more than kMaxAutoKeyframeGap frames apart; every frame
// edited. (pan_zoom's face becomes a new track at frame 9: a keyframe there too.)
TEST(TwoRate, AutoKeyframesAreAtMostTheirGapApartAndFollowChange) {
  const auto frames = enginetest::clip_frames("pan_zoom", 0, 18);
  auto keyframes_at = [&](double threshold) {
    EngineOptions o = two_rate_options();
    o.keyframe_every = 0;
    o.keyframe_threshold = threshold;
    Engine engine(o, {smile()});
    std::vector<ImageRGB8> out(frames.begin(), frames.end());
    const auto taken = add_take_all(engine, out);
    EXPECT_EQ(taken.size(), frames.size());
    std::vector<int> keys;
    for (size_t i = 0; i < taken.size(); ++i) {
      EXPECT_EQ(taken[i].report.faces_edited, 1) << "frame " << i;
      if (!taken[i].report.faces.empty() && taken[i].report.faces[0].keyframe) keys.push_back(int(i));
    }
    return keys;
  };
  const auto rare = keyframes_at(1.0);  // no change is that large: only tracks and the gap make keyframes
  ASSERT_FALSE(rare.empty());
  EXPECT_EQ(rare[0], 0);
  int gap_forced = 0;
  for (size_t i = 1; i < rare.size(); ++i) {
    EXPECT_LE(rare[i] - rare[i - 1], kMaxAutoKeyframeGap);
    gap_forced += rare[i] - rare[i - 1] == kMaxAutoKeyframeGap;
  }
  EXPECT_GE(gap_forced, 1) << "the gap never forced a keyframe";
  EXPECT_LE(rare.size(), 4u);
  const auto often = keyframes_at(0.001);  // every frame of a panning, zooming face has changed that much
  EXPECT_GE(often.size(), frames.size() - 1) << "a changed face did not make a keyframe";
}

}  // namespace
