// micromotion/face_identity.h — identity embedding with dlib's face recognition ResNet
// (dlib_face_recognition_resnet_model_v1.dat; 128-D, same person when distance < 0.6).
//
//   FaceIdentity(model): throws micromotion::Error naming the file if it cannot be read.
//   embed(image, landmarks): requires 5 or 68 landmarks of one face in `image`.
//     ensures: a unit-scale 128-D descriptor of the 150² chip dlib's recipe cuts around them.
//   embed_largest(image, detector, predictor): detects, takes the largest face, embeds it.
//     throws micromotion::Error when there is no face.
//   identity_distance(a, b): Euclidean distance.
#pragma once

#include <micromotion/face_detector.h>
#include <micromotion/image.h>
#include <micromotion/landmarks.h>

#include <array>
#include <memory>
#include <string>

namespace micromotion {

using FaceEmbedding = std::array<float, 128>;

class FaceIdentity {
 public:
  explicit FaceIdentity(const std::string& model_path);
  ~FaceIdentity();
  FaceIdentity(FaceIdentity&&) noexcept;
  FaceIdentity& operator=(FaceIdentity&&) noexcept;

  FaceEmbedding embed(const ImageView& image, const Landmarks& landmarks);
  FaceEmbedding embed_largest(const ImageView& image, FaceDetector& detector,
                              const LandmarkPredictor& predictor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

double identity_distance(const FaceEmbedding& a, const FaceEmbedding& b);

// dlib's decision threshold for "same person".
constexpr double kSameIdentityThreshold = 0.6;

}  // namespace micromotion
