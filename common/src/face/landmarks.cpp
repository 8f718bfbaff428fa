// 68-point landmarks with dlib's regression-tree cascade. The model file is dlib's own; the
// cascade runs here (on dlib's feature and tree helpers) so the points keep their sub-pixel
// precision — dlib's shape_predictor rounds them to integers, which alone is ±0.5 px of jitter.
#include "dlib_image.h"

#include <micromotion/error.h>
#include <micromotion/landmarks.h>

#include <dlib/image_processing/shape_predictor.h>
#include <dlib/serialize.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace micromotion {

std::string default_landmark_model() {
  const char* env = std::getenv("MICROMOTION_LANDMARK_MODEL");
  if (env && *env) return env;
  return "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
}

struct LandmarkPredictor::Impl {
  dlib::matrix<float, 0, 1> initial_shape;
  std::vector<std::vector<dlib::impl::regression_tree>> forests;
  std::vector<std::vector<unsigned long>> anchor_idx;
  std::vector<std::vector<dlib::vector<float, 2>>> deltas;
};

LandmarkPredictor::LandmarkPredictor(const std::string& path) : impl_(std::make_unique<Impl>()) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(path + ": landmark model not found (install Debian's libdlib-data for the default "
                       "68-point model, or pass the path of a dlib shape_predictor .dat file)");
  }
  std::ifstream in(path, std::ios::binary);
  try {
    // The layout dlib's shape_predictor serialises: version 1, initial shape, forests, anchors, deltas.
    int version = 0;
    dlib::deserialize(version, in);
    if (version != 1) throw dlib::serialization_error("unexpected shape_predictor version " + std::to_string(version));
    dlib::deserialize(impl_->initial_shape, in);
    dlib::deserialize(impl_->forests, in);
    dlib::deserialize(impl_->anchor_idx, in);
    dlib::deserialize(impl_->deltas, in);
  } catch (const std::exception& e) {
    throw Error(path + ": not a dlib shape predictor (" + e.what() +
                "); a .bz2 download must be decompressed first");
  }
  if (impl_->initial_shape.size() < 2 || impl_->forests.size() != impl_->anchor_idx.size() ||
      impl_->forests.size() != impl_->deltas.size()) {
    throw Error(path + ": inconsistent shape predictor (cascade sizes differ)");
  }
}

LandmarkPredictor::~LandmarkPredictor() = default;
LandmarkPredictor::LandmarkPredictor(LandmarkPredictor&&) noexcept = default;
LandmarkPredictor& LandmarkPredictor::operator=(LandmarkPredictor&&) noexcept = default;

int LandmarkPredictor::num_parts() const { return static_cast<int>(impl_->initial_shape.size() / 2); }

Landmarks LandmarkPredictor::predict(const ImageView& frame, const FaceBox& box) const {
  if (frame.empty()) throw Error("landmark prediction: empty frame");
  const dlib::rectangle rect(std::lround(box.left), std::lround(box.top), std::lround(box.right),
                             std::lround(box.bottom));
  const detail::DlibRgbView img = detail::as_dlib(frame);
  dlib::matrix<float, 0, 1> shape = impl_->initial_shape;
  std::vector<float> features;
  for (size_t iter = 0; iter < impl_->forests.size(); ++iter) {
    dlib::impl::extract_feature_pixel_values(img, rect, shape, impl_->initial_shape, impl_->anchor_idx[iter],
                                             impl_->deltas[iter], features);
    unsigned long leaf = 0;
    for (const auto& tree : impl_->forests[iter]) shape += tree(features, leaf);
  }
  const dlib::point_transform_affine to_img = dlib::impl::unnormalizing_tform(rect);
  Landmarks out(static_cast<size_t>(shape.size() / 2));
  for (size_t i = 0; i < out.size(); ++i) {
    const dlib::vector<double, 2> p = to_img(dlib::vector<double, 2>(shape(2 * i), shape(2 * i + 1)));
    out[i] = {p.x(), p.y()};
  }
  return out;
}

double normalized_landmark_error(const Landmarks& predicted, const Landmarks& truth) {
  if (predicted.size() != 68 || truth.size() != 68) {
    throw Error("normalized_landmark_error: needs two sets of 68 points, got " +
                std::to_string(predicted.size()) + " and " + std::to_string(truth.size()));
  }
  Point2d l{}, r{};
  for (int i = 36; i < 42; ++i) l = l + truth[i] * (1.0 / 6);
  for (int i = 42; i < 48; ++i) r = r + truth[i] * (1.0 / 6);
  const double iod = distance(l, r);
  if (!(iod > 0)) throw Error("normalized_landmark_error: the reference eyes coincide");
  double sum = 0;
  for (size_t i = 0; i < 68; ++i) sum += distance(predicted[i], truth[i]);
  return sum / 68.0 / iod;
}

}  // namespace micromotion
