// Detection and 68-point landmarks on dlib's example photos against their XML ground truth.
#include "face_test_support.h"

#include <micromotion/error.h>
#include <micromotion/face_detector.h>
#include <micromotion/landmarks.h>

#include <fstream>

using namespace micromotion;

namespace {

FaceBox box_of(const facetest::XmlFace& f) { return {f.left, f.top, f.right, f.bottom, 0}; }

const FaceBox* best_match(const std::vector<FaceBox>& dets, const FaceBox& truth, double* out_iou) {
  const FaceBox* best = nullptr;
  *out_iou = 0;
  for (const FaceBox& d : dets) {
    const double v = iou(d, truth);
    if (v > *out_iou) {
      *out_iou = v;
      best = &d;
    }
  }
  return best;
}

// Mean landmark error / inter-ocular distance on dlib's testing images: from the ground-truth box
// (the predictor alone) and from our HOG detection (the whole front end).
TEST(FaceLandmarks, AccuracyOnDlibTestingImages) {
  const auto xml = facetest::data("faces/testing_with_face_landmarks.xml");
  ASSERT_FALSE(xml.empty());
  const auto faces = facetest::xml_faces(xml);
  ASSERT_EQ(faces.size(), 5u);
  const LandmarkPredictor predictor;
  ASSERT_EQ(predictor.num_parts(), 68);
  FaceDetector detector;
  double sum_box = 0, sum_det = 0, worst = 0;
  int detected = 0;
  for (const auto& f : faces) {
    const ImageRGB8 img = load_image(facetest::data("faces/" + f.image).string());
    const double e = normalized_landmark_error(predictor.predict(img, box_of(f)), f.parts);
    sum_box += e;
    worst = std::max(worst, e);
    double v = 0;
    const std::vector<FaceBox> dets = detector.detect(img);
    const FaceBox* d = best_match(dets, box_of(f), &v);
    if (d && v > 0.5) {
      ++detected;
      sum_det += normalized_landmark_error(predictor.predict(img, *d), f.parts);
    }
    std::printf("[landmarks] %s: error/IOD %.4f (ground-truth box), detection IoU %.2f\n", f.image.c_str(), e, v);
  }
  const double mean_box = sum_box / faces.size();
  std::printf("[landmarks] mean error/IOD: %.4f with ground-truth boxes (worst %.4f), %.4f with HOG boxes (%d/5 found)\n",
              mean_box, worst, detected ? sum_det / detected : -1.0, detected);
  EXPECT_LT(mean_box, 0.03);
  EXPECT_LT(worst, 0.04);
  EXPECT_GE(detected, 4);
  EXPECT_LT(sum_det / std::max(detected, 1), 0.06);
}

TEST(FaceLandmarks, MissingModelNamesFileAndPackage) {
  try {
    LandmarkPredictor p("/nonexistent/sp.dat");
    FAIL() << "missing model accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/nonexistent/sp.dat"), std::string::npos) << m;
    EXPECT_NE(m.find("libdlib-data"), std::string::npos) << m;
  }
  const auto bogus = facetest::temp_dir("face_bogus") / "bogus.dat";
  { std::ofstream(bogus) << "not a model"; }
  EXPECT_THROW(LandmarkPredictor p(bogus.string()), Error);
}

// The five-point model loads through the same path and gives five points.
TEST(FaceLandmarks, OtherPredictorFilesWork) {
  const auto sp5 = facetest::data("models/shape_predictor_5_face_landmarks.dat");
  ASSERT_FALSE(sp5.empty());
  const LandmarkPredictor p(sp5.string());
  EXPECT_EQ(p.num_parts(), 5);
  const auto faces = facetest::xml_faces(facetest::data("faces/testing_with_face_landmarks.xml"));
  ASSERT_FALSE(faces.empty());
  const ImageRGB8 img = load_image(facetest::data("faces/" + faces[0].image).string());
  const Landmarks lm = p.predict(img, box_of(faces[0]));
  ASSERT_EQ(lm.size(), 5u);
  // dlib's 5-point model: points 0-3 are eye corners; they sit near the 68-point eye corners.
  const double d = std::min(distance(lm[0], faces[0].parts[45]), distance(lm[0], faces[0].parts[36]));
  EXPECT_LT(d, 5.0);
}

TEST(FaceDetect, HogFindsTheAnnotatedFaces) {
  const auto faces = facetest::xml_faces(facetest::data("faces/training_with_face_landmarks.xml"));
  ASSERT_GE(faces.size(), 4u);
  FaceDetector full;
  DetectorOptions half_opts;
  half_opts.downscale = 0.5;
  half_opts.min_face_size = 20;
  FaceDetector half(half_opts);
  int found = 0, found_half = 0;
  for (const auto& f : faces) {
    const ImageRGB8 img = load_image(facetest::data("faces/" + f.image).string());
    double v = 0, vh = 0;
    const auto dets = full.detect(img);
    for (size_t i = 1; i < dets.size(); ++i) EXPECT_GE(dets[i - 1].confidence, dets[i].confidence);
    best_match(dets, box_of(f), &v);
    best_match(half.detect(img), box_of(f), &vh);
    found += v > 0.5;
    found_half += vh > 0.4;
    std::printf("[detect] %s: IoU full %.2f, half-resolution %.2f\n", f.image.c_str(), v, vh);
  }
  EXPECT_EQ(found, int(faces.size()));
  // Half resolution loses faces below the HOG window (80 px) at that scale; the large ones stay.
  EXPECT_GE(found_half, 1);
}

TEST(FaceDetect, MinFaceSizeAndOptions) {
  const ImageRGB8 img = load_image(facetest::data("faces/2008_001009.jpg").string());
  FaceDetector d;
  const auto all = d.detect(img);
  ASSERT_GE(all.size(), 2u) << "2008_001009 shows two faces";
  double widest = 0;
  for (const auto& b : all) widest = std::max(widest, b.width());
  DetectorOptions o;
  o.min_face_size = widest + 1;
  FaceDetector strict(o);
  EXPECT_TRUE(strict.detect(img).empty());
  DetectorOptions bad;
  bad.downscale = 0;
  EXPECT_THROW(FaceDetector x(bad), Error);
  DetectorOptions mmod_missing;
  mmod_missing.kind = DetectorKind::mmod;
  mmod_missing.mmod_model = "/nonexistent/mmod.dat";
  try {
    FaceDetector x(mmod_missing);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fetch-test-data"), std::string::npos) << e.what();
  }
  // The window search finds the same face again around its box.
  const auto near = d.detect_near(img, all[0], 0.6, 100);
  ASSERT_FALSE(near.empty());
  double v = 0;
  best_match(near, all[0], &v);
  EXPECT_GT(v, 0.6);
}

TEST(FaceDetect, MmodCnnFindsFaces) {
  const auto model = facetest::data("models/mmod_human_face_detector.dat");
  ASSERT_FALSE(model.empty());
  DetectorOptions o;
  o.kind = DetectorKind::mmod;
  o.mmod_model = model.string();
  FaceDetector d(o);
  const auto faces = facetest::xml_faces(facetest::data("faces/training_with_face_landmarks.xml"));
  const ImageRGB8 img = load_image(facetest::data("faces/2008_001009.jpg").string());
  const auto dets = d.detect(img);
  EXPECT_GE(dets.size(), 2u);
  for (const auto& f : faces) {
    if (f.image != "2008_001009.jpg") continue;
    double v = 0;
    best_match(dets, box_of(f), &v);
    std::printf("[detect] MMOD on %s: %zu faces, IoU with the annotated face %.2f\n", f.image.c_str(), dets.size(), v);
    EXPECT_GT(v, 0.4);
  }
}

}  // namespace
