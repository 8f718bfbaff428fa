// micromotion/geometry.h — 2-D points, quads and affine maps used by the face layer.
//
// Coordinates are pixel-centre based: pixel (i, j) of an image covers [i-0.5, i+0.5) x [j-0.5, j+0.5)
// and its centre is the point (i, j). This is the convention of dlib's landmarks and of numpy
// arrays (the FFHQ reference), so no half-pixel shifts appear in user code.
#pragma once

#include <array>
#include <cmath>
#include <vector>

namespace micromotion {

struct Point2d {
  double x = 0.0;
  double y = 0.0;
};

inline Point2d operator+(Point2d a, Point2d b) { return {a.x + b.x, a.y + b.y}; }
inline Point2d operator-(Point2d a, Point2d b) { return {a.x - b.x, a.y - b.y}; }
inline Point2d operator*(Point2d a, double s) { return {a.x * s, a.y * s}; }
inline double distance(Point2d a, Point2d b) { return std::hypot(a.x - b.x, a.y - b.y); }

// Four corners of an oriented crop, in the FFHQ order: top-left, bottom-left, bottom-right,
// top-right of the aligned output (the reference's c-x-y, c-x+y, c+x+y, c+x-y).
using Quad = std::array<Point2d, 4>;

// The integer pixel box around a quad: floor of the minimum, ceil of the maximum corner
// ({left, top, right, bottom}; the FFHQ reference's crop and pad bounds).
inline std::array<int, 4> pixel_bounds(const Quad& q) {
  double x0 = q[0].x, y0 = q[0].y, x1 = q[0].x, y1 = q[0].y;
  for (const Point2d& p : q) {
    x0 = std::fmin(x0, p.x);
    y0 = std::fmin(y0, p.y);
    x1 = std::fmax(x1, p.x);
    y1 = std::fmax(y1, p.y);
  }
  return {static_cast<int>(std::floor(x0)), static_cast<int>(std::floor(y0)), static_cast<int>(std::ceil(x1)),
          static_cast<int>(std::ceil(y1))};
}

// p' = [a b; c d] p + [tx; ty].
struct Affine2 {
  double a = 1.0, b = 0.0, tx = 0.0;
  double c = 0.0, d = 1.0, ty = 0.0;

  Point2d operator()(Point2d p) const { return {a * p.x + b * p.y + tx, c * p.x + d * p.y + ty}; }
  double determinant() const { return a * d - b * c; }
  // ensures: inverse()(operator()(p)) == p up to rounding. requires: determinant() != 0.
  Affine2 inverse() const {
    const double det = determinant();
    Affine2 r;
    r.a = d / det;
    r.b = -b / det;
    r.c = -c / det;
    r.d = a / det;
    r.tx = -(r.a * tx + r.b * ty);
    r.ty = -(r.c * tx + r.d * ty);
    return r;
  }
  // Mean scale factor (square root of the area ratio).
  double scale() const { return std::sqrt(std::abs(determinant())); }
};

}  // namespace micromotion
