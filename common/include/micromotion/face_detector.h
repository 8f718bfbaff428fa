// micromotion/face_detector.h — find faces in an RGB frame (dlib HOG or MMOD CNN).
//
//   FaceDetector(options):
//     requires: options.kind == DetectorKind::mmod implies options.mmod_model names dlib's
//               mmod_human_face_detector.dat; 0 < options.downscale <= 1.
//     throws micromotion::Error naming the model file when it cannot be read, or the bad option.
//   detect(frame):
//     ensures: every returned box is in `frame`'s pixel coordinates (also when detection ran on a
//              downscaled copy), has width >= options.min_face_size, and the list is sorted by
//              decreasing confidence.
//   detect_near(frame, last, margin, face_size): the same, searching only the window `last` grown
//     by `margin` x its size on every side (clipped to the frame), resampled so that a face of the
//     size of `last` becomes about `face_size` pixels wide (at most 2x up); with HOG only the three
//     finest pyramid levels are scanned (faces of roughly 80-115 px after that scaling). This is
//     what makes tracking cheap.
//
// Not thread-safe: dlib's detectors keep scratch state. Use one detector per thread.
#pragma once

#include <micromotion/image.h>

#include <memory>
#include <string>
#include <vector>

namespace micromotion {

struct FaceBox {
  double left = 0, top = 0, right = 0, bottom = 0;  // pixel-centre coordinates, inclusive edges
  double confidence = 0;                            // detector score (HOG or MMOD; not comparable)

  double width() const { return right - left; }
  double height() const { return bottom - top; }
  double area() const { return width() * height(); }
  double center_x() const { return 0.5 * (left + right); }
  double center_y() const { return 0.5 * (top + bottom); }
};

// Intersection over union of two boxes (0 when they do not overlap).
double iou(const FaceBox& a, const FaceBox& b);

enum class DetectorKind { hog, mmod };

struct DetectorOptions {
  DetectorKind kind = DetectorKind::hog;
  std::string mmod_model;     // path to mmod_human_face_detector.dat (kind == mmod)
  double downscale = 1.0;     // detect on the frame scaled by this factor (0 < s <= 1)
  int upsample = 1;           // 2x pyramid-up steps before detection (1: faces from ~40 px, as the
                              // reference align script; 0 is 4x faster and finds faces from ~80 px)
  double min_face_size = 40;  // boxes narrower than this (frame pixels) are dropped
  double threshold = 0.0;     // detector score threshold (HOG: 0 is dlib's default)
};

class FaceDetector {
 public:
  explicit FaceDetector(const DetectorOptions& options = {});
  ~FaceDetector();
  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;

  std::vector<FaceBox> detect(const ImageView& frame);
  std::vector<FaceBox> detect_near(const ImageView& frame, const FaceBox& last, double margin, double face_size);

  const DetectorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace micromotion
