// Identity embedding with dlib's face recognition ResNet on examples/johns (several photos per
// person), and identity preservation through FFHQ alignment.
#include "face_test_support.h"

#include <micromotion/error.h>
#include <micromotion/face_identity.h>
#include <micromotion/ffhq_align.h>

using namespace micromotion;

namespace {

std::vector<std::string> photos(const std::string& person, size_t n) {
  std::vector<std::string> out;
  const auto dir = facetest::data("johns/" + person);
  if (dir.empty()) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.size() > n) out.resize(n);
  return out;
}

TEST(FaceIdentity, SamePersonCloseOtherPersonFar) {
  const auto model = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat");
  ASSERT_FALSE(model.empty());
  FaceIdentity id(model.string());
  FaceDetector detector;
  const LandmarkPredictor predictor;
  std::vector<std::vector<FaceEmbedding>> people;
  for (const char* person : {"John_Savage", "John_Simm", "John_Salley"}) {
    std::vector<FaceEmbedding> e;
    for (const auto& p : photos(person, 2)) e.push_back(id.embed_largest(load_image(p), detector, predictor));
    ASSERT_EQ(e.size(), 2u) << person;
    people.push_back(e);
  }
  double worst_same = 0, best_other = 1e9;
  for (size_t i = 0; i < people.size(); ++i) {
    worst_same = std::max(worst_same, identity_distance(people[i][0], people[i][1]));
    for (size_t j = i + 1; j < people.size(); ++j)
      for (const auto& a : people[i])
        for (const auto& b : people[j]) best_other = std::min(best_other, identity_distance(a, b));
  }
  std::printf("[identity] johns: largest same-person distance %.3f, smallest other-person distance %.3f\n",
              worst_same, best_other);
  EXPECT_LT(worst_same, kSameIdentityThreshold);
  EXPECT_GT(best_other, kSameIdentityThreshold);
  EXPECT_NEAR(identity_distance(people[0][0], people[0][0]), 0.0, 1e-9);
}

TEST(FaceIdentity, AlignedCropKeepsIdentity) {
  const auto model = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat");
  ASSERT_FALSE(model.empty());
  FaceIdentity id(model.string());
  FaceDetector detector;
  const LandmarkPredictor predictor;
  const auto cases = facetest::align_cases();
  ASSERT_GE(cases.size(), 3u);
  const auto& c = cases[2];
  const ImageRGB8 img = load_image(facetest::data("faces/" + c.image).string());
  const FaceEmbedding original = id.embed(img, c.landmarks);
  const AlignedFace a = ffhq_align(img, c.landmarks, {256, 256, true});
  const FaceEmbedding aligned = id.embed_largest(a.image, detector, predictor);
  const double d = identity_distance(original, aligned);
  std::printf("[identity] %s: original vs its 256 aligned crop %.3f\n", c.image.c_str(), d);
  EXPECT_LT(d, 0.4);
  EXPECT_THROW(id.embed(img, Landmarks(3)), Error);
  EXPECT_THROW(id.embed_largest(ImageRGB8(200, 200, 128), detector, predictor), Error);
  EXPECT_THROW(FaceIdentity("/nonexistent/model.dat"), Error);
}

}  // namespace
