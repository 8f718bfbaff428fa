#include <micromotion/error.h>
#include <micromotion/landmark_smoother.h>

#include <cmath>
#include <string>

namespace micromotion {
namespace {

double smoothing_factor(double cutoff, double rate) {
  const double tau = 1.0 / (2.0 * M_PI * cutoff);
  return 1.0 / (1.0 + tau * rate);
}

// Twice the RMS distance of the points from their centroid: a face size that works for any
// point set (68 landmarks, a quad) and makes speeds resolution independent.
double spread(const std::vector<Point2d>& pts) {
  Point2d c{};
  for (const Point2d& p : pts) c = c + p * (1.0 / static_cast<double>(pts.size()));
  double s = 0;
  for (const Point2d& p : pts) s += (p.x - c.x) * (p.x - c.x) + (p.y - c.y) * (p.y - c.y);
  return 2.0 * std::sqrt(s / static_cast<double>(pts.size()));
}

}  // namespace

OneEuroSmoother::OneEuroSmoother(const OneEuroOptions& options) : options_(options) {
  if (!(options.rate > 0 && options.min_cutoff > 0 && options.d_cutoff > 0 && options.beta >= 0)) {
    throw Error("one-euro smoother: rate, min_cutoff and d_cutoff must be > 0 and beta >= 0");
  }
}

std::vector<Point2d> OneEuroSmoother::update(int track_id, const std::vector<Point2d>& points) {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end() || it->second.value.size() != points.size() || points.empty()) {
    tracks_[track_id] = State{points, std::vector<Point2d>(points.size())};
    return points;
  }
  State& s = it->second;
  // One cutoff for the whole point set (from its overall speed) rather than per coordinate: every
  // point is then filtered by the same linear filter, so rigid shapes (a square quad) stay rigid.
  const double a_d = smoothing_factor(options_.d_cutoff, options_.rate);
  double speed2 = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const Point2d raw = (points[i] - s.value[i]) * options_.rate;
    s.speed[i] = s.speed[i] + (raw - s.speed[i]) * a_d;
    speed2 += s.speed[i].x * s.speed[i].x + s.speed[i].y * s.speed[i].y;
  }
  const double size = std::max(spread(points), 1e-6);
  const double speed = std::sqrt(speed2 / static_cast<double>(points.size())) / size;
  const double a = smoothing_factor(options_.min_cutoff + options_.beta * speed, options_.rate);
  for (size_t i = 0; i < points.size(); ++i) s.value[i] = s.value[i] + (points[i] - s.value[i]) * a;
  return s.value;
}

void OneEuroSmoother::forget(int track_id) { tracks_.erase(track_id); }
void OneEuroSmoother::reset() { tracks_.clear(); }

std::vector<std::vector<Point2d>> gaussian_smooth(const std::vector<std::vector<Point2d>>& frames,
                                                  double sigma, int radius) {
  if (!(sigma > 0) || radius < 0) {
    throw Error("gaussian_smooth: sigma must be > 0 and radius >= 0 (got " + std::to_string(sigma) + ", " +
                std::to_string(radius) + ")");
  }
  std::vector<std::vector<Point2d>> out(frames.size());
  if (frames.empty()) return out;
  const size_t n = frames[0].size();
  for (const auto& f : frames) {
    if (f.size() != n) throw Error("gaussian_smooth: frames have different numbers of points");
  }
  std::vector<double> w(2 * radius + 1);
  for (int k = -radius; k <= radius; ++k) w[k + radius] = std::exp(-0.5 * k * k / (sigma * sigma));
  const int count = static_cast<int>(frames.size());
  for (int t = 0; t < count; ++t) {
    std::vector<Point2d> acc(n);
    double total = 0;
    for (int k = -radius; k <= radius; ++k) {
      const int s = t + k;
      if (s < 0 || s >= count) continue;  // truncated at the ends, weights renormalised
      total += w[k + radius];
      for (size_t i = 0; i < n; ++i) acc[i] = acc[i] + frames[s][i] * w[k + radius];
    }
    for (Point2d& p : acc) p = p * (1.0 / total);
    out[t] = std::move(acc);
  }
  return out;
}

}  // namespace micromotion
