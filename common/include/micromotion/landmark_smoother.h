// micromotion/landmark_smoother.h — temporal smoothing of per-face point sets (landmarks, quads).
//
// Two filters:
//   OneEuroSmoother (causal, for live video): the one-euro filter of Casiez et al. 2012 per
//     coordinate — a low-pass whose cutoff rises with speed, so a still head is held still and a
//     moving one is followed with little lag. Speeds are measured in face sizes per second
//     (normalised by the points' spread) so one setting works at any resolution.
//     requires: options.rate > 0, min_cutoff > 0, d_cutoff > 0, beta >= 0.
//     update(track_id, points): ensures: the first call for a track returns `points` unchanged;
//       a track with a different number of points restarts. forget(track_id) drops its state.
//   gaussian_smooth (look-ahead, offline): each frame's points become the Gaussian-weighted mean
//     of the frames within `radius` on both sides (weights renormalised at the ends).
//     requires: all frames have the same number of points, sigma > 0, radius >= 0.
//   All throw micromotion::Error on a violated requirement.
#pragma once

#include <micromotion/geometry.h>

#include <map>
#include <vector>

namespace micromotion {

struct OneEuroOptions {
  double rate = 25.0;        // frames per second
  double min_cutoff = 0.3;   // Hz: cutoff when still (lower = steadier, more lag on slow motion)
  double beta = 4.0;         // cutoff increase per (face size / s) of speed
  double d_cutoff = 1.0;     // Hz: cutoff of the speed estimate
};

class OneEuroSmoother {
 public:
  explicit OneEuroSmoother(const OneEuroOptions& options = {});
  std::vector<Point2d> update(int track_id, const std::vector<Point2d>& points);
  void forget(int track_id);
  void reset();

 private:
  struct State {
    std::vector<Point2d> value;
    std::vector<Point2d> speed;
  };
  OneEuroOptions options_;
  std::map<int, State> tracks_;
};

std::vector<std::vector<Point2d>> gaussian_smooth(const std::vector<std::vector<Point2d>>& frames,
                                                  double sigma, int radius);

}  // namespace micromotion
