#include "dlib_image.h"

#include <micromotion/error.h>
#include <micromotion/face_identity.h>

#include <dlib/dnn.h>
#include <dlib/image_processing.h>

#include <cmath>
#include <filesystem>

namespace micromotion {
namespace {

// The layer stack of dlib_face_recognition_resnet_model_v1.dat (a ResNet-29 variant; inference
// form with affine layers). The file only loads into exactly this type.
template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename SUBNET>
using res_same = dlib::add_prev1<B<N, BN, 1, dlib::tag1<SUBNET>>>;
template <template <int, template <typename> class, int, typename> class B, int N,
          template <typename> class BN, typename SUBNET>
using res_half = dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<B<N, BN, 2, dlib::tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int S, typename SUBNET>
using conv_pair = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, S, S, SUBNET>>>>>;
template <int N, typename SUBNET> using unit = dlib::relu<res_same<conv_pair, N, dlib::affine, SUBNET>>;
template <int N, typename SUBNET> using unit_down = dlib::relu<res_half<conv_pair, N, dlib::affine, SUBNET>>;
template <typename SUBNET> using stage256a = unit_down<256, SUBNET>;
template <typename SUBNET> using stage256 = unit<256, unit<256, unit_down<256, SUBNET>>>;
template <typename SUBNET> using stage128 = unit<128, unit<128, unit_down<128, SUBNET>>>;
template <typename SUBNET> using stage64 = unit<64, unit<64, unit<64, unit_down<64, SUBNET>>>>;
template <typename SUBNET> using stage32 = unit<32, unit<32, unit<32, SUBNET>>>;
using IdentityNet = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    stage256a<stage256<stage128<stage64<stage32<
    dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2,
    dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

}  // namespace

struct FaceIdentity::Impl {
  IdentityNet net;
};

FaceIdentity::FaceIdentity(const std::string& model_path) : impl_(std::make_unique<Impl>()) {
  if (!std::filesystem::is_regular_file(model_path)) {
    throw Error(model_path + ": face recognition model not found (run packaging/fetch-test-data.sh, or "
                             "download dlib_face_recognition_resnet_model_v1.dat from dlib.net and decompress it)");
  }
  try {
    dlib::deserialize(model_path) >> impl_->net;
  } catch (const std::exception& e) {
    throw Error(model_path + ": not dlib's face recognition ResNet (" + e.what() + ")");
  }
}

FaceIdentity::~FaceIdentity() = default;
FaceIdentity::FaceIdentity(FaceIdentity&&) noexcept = default;
FaceIdentity& FaceIdentity::operator=(FaceIdentity&&) noexcept = default;

FaceEmbedding FaceIdentity::embed(const ImageView& image, const Landmarks& landmarks) {
  if (landmarks.size() != 5 && landmarks.size() != 68) {
    throw Error("face identity: needs 5 or 68 landmarks, got " + std::to_string(landmarks.size()));
  }
  std::vector<dlib::point> parts;
  double l = 1e300, t = 1e300, r = -1e300, b = -1e300;
  for (const Point2d& p : landmarks) {
    parts.emplace_back(std::lround(p.x), std::lround(p.y));
    l = std::min(l, p.x);
    t = std::min(t, p.y);
    r = std::max(r, p.x);
    b = std::max(b, p.y);
  }
  const dlib::full_object_detection shape(
      dlib::rectangle(std::lround(l), std::lround(t), std::lround(r), std::lround(b)), parts);
  // dlib's recipe: a 150x150 chip with 25% padding around the landmark-aligned face.
  dlib::matrix<dlib::rgb_pixel> chip;
  dlib::extract_image_chip(detail::as_dlib(image), dlib::get_face_chip_details(shape, 150, 0.25), chip);
  const dlib::matrix<float, 0, 1> d = impl_->net(chip);
  FaceEmbedding e{};
  for (long i = 0; i < 128 && i < d.size(); ++i) e[static_cast<size_t>(i)] = d(i);
  return e;
}

FaceEmbedding FaceIdentity::embed_largest(const ImageView& image, FaceDetector& detector,
                                          const LandmarkPredictor& predictor) {
  const std::vector<FaceBox> faces = detector.detect(image);
  if (faces.empty()) throw Error("face identity: no face found in the image");
  const FaceBox* largest = &faces[0];
  for (const FaceBox& f : faces) {
    if (f.area() > largest->area()) largest = &f;
  }
  return embed(image, predictor.predict(image, *largest));
}

double identity_distance(const FaceEmbedding& a, const FaceEmbedding& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return std::sqrt(s);
}

}  // namespace micromotion
