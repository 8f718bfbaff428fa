// People, several edits and regions through the engine (DESIGN.md section 9), on the two_johns
// clip: John Salley on the left (x < 380 on every frame), John Savage on the right, absent on
// frames 16-25. The reference photos are other photos of the same men than the clip's.
#include "engine/engine_test_support.h"
#include "face/face_test_support.h"

#include <micromotion/engine.h>
#include <micromotion/face_tracker.h>
#include <micromotion/motion.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace micromotion;

constexpr int kMidline = 380;  // the two faces never cross it

// The index-th photo (sorted by name) of a person in johns/; the clip is made from index 0.
std::string photo(const std::string& person, size_t index) {
  std::vector<std::string> all;
  for (const auto& e : std::filesystem::directory_iterator(facetest::data("johns/" + person)))
    all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  return index < all.size() ? all[index] : std::string();
}

EngineOptions people_options() {
  EngineOptions o;
  o.models_dir = enginetest::test_models().string();
  o.iterations = 2;
  o.dtype = "fp32";
  o.matcher.model_path = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat").string();
  return o;
}

Micromotion motion(const std::string& name) { return find_micromotion(name, enginetest::test_models().string()); }

// Changed pixels (any channel) left and right of the midline.
struct Halves {
  long left = 0, right = 0;
};
Halves changed(const ImageView& a, const ImageView& b) {
  Halves h;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      if (!std::equal(a.pixel(x, y), a.pixel(x, y) + 3, b.pixel(x, y))) (x < kMidline ? h.left : h.right)++;
  return h;
}

// The largest difference of any sample in [x0, x1) between two frames.
int max_diff(const ImageRGB8& a, const ImageRGB8& b, int x0, int x1) {
  int d = 0;
  for (int y = 0; y < a.height(); ++y)
    for (int x = x0; x < x1; ++x)
      for (int k = 0; k < 3; ++k) d = std::max(d, std::abs(int(a.pixel(x, y)[k]) - int(b.pixel(x, y)[k])));
  return d;
}

// One reference photo of one John, one edit for him: only his face changes, on every frame, and
// the report names him on his track only.
void only_the_named_person_changes(const std::string& person, bool left) {
  const auto frames = enginetest::clip_frames("two_johns", 0, 3);
  EngineOptions o = people_options();
  o.people = {{person, {photo(person, 1)}}};
  o.edit_person = {person};
  o.others_edited = false;
  Engine engine(o, {motion("smile")});
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    FrameReport rep;
    const ImageRGB8 out = engine.process(frames[i], {5.0}, &rep);
    const Halves h = changed(out, frames[i]);
    EXPECT_GT(left ? h.left : h.right, 2000) << person << "'s face is not edited";
    EXPECT_EQ(left ? h.right : h.left, 0) << "the other man's half changed";
    ASSERT_EQ(rep.faces_edited, 1);
    EXPECT_EQ(rep.faces[0].person, person);
  }
}

TEST(People, OnlyTheLeftPersonNamedByAnotherPhotoIsEdited) { only_the_named_person_changes("John_Salley", true); }
TEST(People, OnlyTheRightPersonNamedByAnotherPhotoIsEdited) { only_the_named_person_changes("John_Savage", false); }

// Both named, each with his own micromotion: each face is edited, and each half equals the
// engine run that names only that man with his edit (within one level: the two faces share one
// synthesis batch there, which may round differently).
TEST(People, BothNamedWithDifferentMicromotions) {
  const auto frames = enginetest::clip_frames("two_johns", 0, 2);
  auto run = [&](std::vector<PersonReference> people, std::vector<std::string> edit_person, std::vector<Micromotion> m,
                 std::vector<double> s) {
    EngineOptions o = people_options();
    o.people = std::move(people);
    o.edit_person = std::move(edit_person);
    o.others_edited = false;
    Engine engine(o, std::move(m));
    std::vector<ImageRGB8> out;
    for (const auto& f : frames) out.push_back(engine.process(f, s));
    return out;
  };
  const PersonReference salley{"salley", {photo("John_Salley", 2)}};
  const PersonReference savage{"savage", {photo("John_Savage", 2)}};
  const auto both = run({salley, savage}, {"salley", "savage"}, {motion("smile"), motion("aging")}, {5.0, 5.0});
  const auto only_salley = run({salley}, {"salley"}, {motion("smile")}, {5.0});
  const auto only_savage = run({savage}, {"savage"}, {motion("aging")}, {5.0});
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const Halves vs_in = changed(both[i], frames[i]);
    EXPECT_GT(vs_in.left, 2000);
    EXPECT_GT(vs_in.right, 2000);
    EXPECT_LE(max_diff(both[i], only_salley[i], 0, kMidline), 1) << "Salley's face is not his smile alone";
    EXPECT_LE(max_diff(both[i], only_savage[i], kMidline, frames[i].width()), 1) << "Savage's face is not his aging alone";
  }
}

// Savage leaves (frames 16-25) and comes back as a new track: matched again, edited again.
// Detection on every frame, so his first frame back is found.
TEST(People, APersonWhoLeavesAndComesBackGetsTheEditBack) {
  const auto frames = enginetest::clip_frames("two_johns", 15, 13);  // frames 15-27
  EngineOptions o = people_options();
  o.tracker.detect_every = 1;
  o.people = {{"savage", {photo("John_Savage", 1)}}};
  o.edit_person = {"savage"};
  o.others_edited = false;
  Engine engine(o, {motion("smile")});
  int first_track = -1, second_track = -1;
  for (size_t i = 0; i < frames.size(); ++i) {
    const int n = 15 + static_cast<int>(i);
    SCOPED_TRACE("clip frame " + std::to_string(n));
    FrameReport rep;
    const ImageRGB8 out = engine.process(frames[i], {5.0}, &rep);
    const Halves h = changed(out, frames[i]);
    EXPECT_EQ(h.left, 0) << "Salley is nobody here and others are kept";
    const bool present = n < 16 || n > 25;
    if (!present) {
      EXPECT_EQ(h.right, 0);
      EXPECT_EQ(rep.faces_edited, 0);
      continue;
    }
    EXPECT_GT(h.right, 2000) << "Savage is not edited";
    ASSERT_EQ(rep.faces_edited, 1);
    EXPECT_EQ(rep.faces[0].person, "savage");
    (n < 16 ? first_track : second_track) = rep.faces[0].track_id;
  }
  EXPECT_NE(first_track, -1);
  EXPECT_NE(second_track, -1);
  EXPECT_NE(first_track, second_track) << "coming back is a new track, matched again";
}

// Two edits at strengths a and b equal one direction file holding a·d1 + b·d2 at strength 1.
TEST(People, TwoEditsEqualTheirWeightedSumAtStrengthOne) {
  const auto frames = enginetest::clip_frames("two_johns", 0, 2);
  const double a = 4.0, b = -2.5;
  const Micromotion smile = motion("smile"), aging = motion("aging");
  Micromotion sum;
  sum.name = "smile+aging";
  sum.source = "test";
  sum.basis = (smile.direction() * a + aging.direction() * b).unsqueeze(0).contiguous();
  EngineOptions o = people_options();
  Engine two(o, {smile, aging});
  Engine one(o, {sum});
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const ImageRGB8 x = two.process(frames[i], {a, b});
    const ImageRGB8 y = one.process(frames[i], {1.0});
    const Halves vs_in = changed(x, frames[i]);
    EXPECT_GT(vs_in.left + vs_in.right, 4000);
    EXPECT_LE(max_diff(x, y, 0, x.width()), 1) << "the two edits are not their summed direction";
  }
}

// A mouth edit writes only near the mouth: every changed sample lies within the outer lip's box
// grown by the mouth shape's margin (0.28 face units, face_region.cpp) and a pixel of
// resampling, and far fewer change than with the face region.
TEST(People, ARegionEditChangesNothingOutsideItsMask) {
  const auto frames = enginetest::clip_frames("two_johns", 0, 1);
  EngineOptions o = people_options();
  Engine face(o, {motion("smile")});
  o.region = parse_face_regions("mouth");
  Engine mouth(o, {motion("smile")});
  const ImageRGB8 whole = face.process(frames[0], {5.0});
  const ImageRGB8 part = mouth.process(frames[0], {5.0});
  FaceTracker tracker(EngineOptions().tracker);
  std::vector<enginetest::Box> boxes;
  for (const auto& f : tracker.update(frames[0])) {
    const auto& l = f.landmarks;
    auto mean = [&](int a, int b) {
      Point2d m{0, 0};
      for (int k = a; k <= b; ++k) m = m + l[k] * (1.0 / (b - a + 1));
      return m;
    };
    const Point2d eye_l = mean(36, 41), eye_r = mean(42, 47), eyes = (eye_l + eye_r) * 0.5;
    const Point2d mouth_centre = (l[48] + l[54]) * 0.5;
    const double unit = std::max(std::hypot(eye_r.x - eye_l.x, eye_r.y - eye_l.y),
                                 0.9 * std::hypot(mouth_centre.x - eyes.x, mouth_centre.y - eyes.y));
    const double m = 0.28 * unit + 2.0;
    enginetest::Box box{1e9, 1e9, -1e9, -1e9};
    for (int k = 48; k < 60; ++k)
      box = {std::min(box[0], f.landmarks[k].x), std::min(box[1], f.landmarks[k].y), std::max(box[2], f.landmarks[k].x),
             std::max(box[3], f.landmarks[k].y)};
    boxes.push_back({box[0] - m, box[1] - m, box[2] + m, box[3] + m});
  }
  ASSERT_EQ(boxes.size(), 2u);
  const auto c = enginetest::compare(part, frames[0], boxes);
  const auto all = enginetest::compare(whole, frames[0], boxes);
  EXPECT_GT(c.changed, 500) << "the mouth is not edited";
  EXPECT_EQ(c.outside, 0) << "the mouth edit wrote outside the mouth";
  EXPECT_LT(c.changed * 3, all.changed) << "the mouth region is not smaller than the face";
}

}  // namespace
