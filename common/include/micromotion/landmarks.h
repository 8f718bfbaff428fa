// micromotion/landmarks.h — dlib shape predictor (68 points by default) on a face box.
//
//   LandmarkPredictor(path):
//     requires: `path` is a dlib shape predictor file; the default is the 68-point model that
//               Debian's libdlib-data installs (default_landmark_model()).
//     throws micromotion::Error naming the file (and the package that provides it) if unreadable.
//   predict(frame, box):
//     ensures: num_parts() points in frame pixel coordinates, in the iBUG 300-W order
//              (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth) for the 68-point model.
//     Thread-safe (the predictor is read-only after loading).
#pragma once

#include <micromotion/face_detector.h>
#include <micromotion/geometry.h>
#include <micromotion/image.h>

#include <memory>
#include <string>
#include <vector>

namespace micromotion {

using Landmarks = std::vector<Point2d>;

// /usr/share/dlib/shape_predictor_68_face_landmarks.dat, or $MICROMOTION_LANDMARK_MODEL when set.
std::string default_landmark_model();

class LandmarkPredictor {
 public:
  explicit LandmarkPredictor(const std::string& path = default_landmark_model());
  ~LandmarkPredictor();
  LandmarkPredictor(LandmarkPredictor&&) noexcept;
  LandmarkPredictor& operator=(LandmarkPredictor&&) noexcept;

  Landmarks predict(const ImageView& frame, const FaceBox& box) const;
  int num_parts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Mean distance between `predicted` and `truth`, divided by the distance between the two eye
// centres of `truth` (means of points 36-41 and 42-47): the usual normalised landmark error.
// requires: both have 68 points. throws micromotion::Error otherwise.
double normalized_landmark_error(const Landmarks& predicted, const Landmarks& truth);

}  // namespace micromotion
