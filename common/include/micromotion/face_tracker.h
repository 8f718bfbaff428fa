// micromotion/face_tracker.h — every face of a video, with a stable id, at a fraction of the cost
// of detecting on every frame.
//
// Each frame: known tracks are re-found by detecting only in a window around their last box
// (scaled so the face is small: cheap), then the landmark predictor runs on each box. The whole
// frame is searched every `detect_every` frames (new faces) and whenever a track was lost. Full
// detections are matched to tracks by IoU; unmatched ones start new tracks (ids never reused).
// A track not re-found for more than `max_missed` consecutive frames is dropped. Window searches
// and landmarks of different faces run on `threads` threads. With detect_every == 1 there is no
// window search: every box is that frame's full detection, so boxes and landmarks depend on the
// frame alone (a render split into segments finds exactly the faces of a whole render).
//
//   FaceTracker(options): throws micromotion::Error if a model file cannot be read.
//   update(frame): requires frames of one stream in order (sizes may change; a size change
//     triggers a full detection). ensures: one entry per live track, ids ascending; tracks not
//     re-found this frame keep their last box and landmarks with found == false.
#pragma once

#include <micromotion/face_detector.h>
#include <micromotion/image.h>
#include <micromotion/landmarks.h>

#include <memory>
#include <string>
#include <micromotion/settings.h>

#include <vector>

namespace micromotion {

struct TrackerOptions {
  // Full-frame detection settings. No upsampling by default: video faces are usually larger than
  // HOG's 80 px window, and upsampling costs 4x.
  DetectorOptions detector{DetectorKind::hog, {}, 1.0, 0, 40, 0.0};
  std::string landmark_model = default_landmark_model();
  int detect_every = static_cast<int>(default_number("detect_every"));  // full-frame detection period (frames)
  int max_missed = 2;                           // frames a track may go unseen before it is dropped
  double match_iou = 0.3;                       // IoU for a detection to continue a track
  double search_margin = 0.4;                   // search window: box grown by this fraction per side
  double search_face_size = 90;                 // face width (px) the window is scaled to (HOG: 80-115)
  int threads = 2;                              // faces are searched and landmarked in parallel
};

struct TrackedFace {
  int id = 0;
  FaceBox box;
  Landmarks landmarks;
  bool found = false;  // seen in this frame
  // This frame's full-frame detection matched the track or started it (a face the detector
  // found again from scratch, not only followed by the window search; the window search's box,
  // when it found the face too, is the one kept). False on frames without a full detection.
  bool detected = false;
  int age = 0;         // frames since the track started
};

class FaceTracker {
 public:
  explicit FaceTracker(const TrackerOptions& options = {});
  ~FaceTracker();
  FaceTracker(FaceTracker&&) noexcept;
  FaceTracker& operator=(FaceTracker&&) noexcept;

  std::vector<TrackedFace> update(const ImageView& frame);
  void reset();

  // Counters for tests and benchmarks.
  int full_detections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace micromotion
