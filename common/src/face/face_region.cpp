// Region masks: parts of the face (eyes, brows, mouth, nose, jaw) as feathered masks in aligned
// coordinates, each clipped to the face mask, so an edit limited to a region leaves the rest of
// the face (and everything outside it) bit-exact.
#include <micromotion/face_region.h>

#include <micromotion/error.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace micromotion {
namespace {

struct PartName {
  FaceRegions bit;
  const char* name;
};
// The canonical order of face_regions_name.
constexpr PartName kParts[] = {{kRegionFace, "face"},   {kRegionEyes, "eyes"}, {kRegionBrows, "brows"},
                               {kRegionMouth, "mouth"}, {kRegionNose, "nose"}, {kRegionJaw, "jaw"}};
constexpr FaceRegions kAllRegions = kRegionFace | kRegionEyes | kRegionBrows | kRegionMouth | kRegionNose | kRegionJaw;

[[noreturn]] void refuse(const std::string& text, const std::string& why) {
  throw Error("region '" + text + "': " + why + " (parts: face, eyes, brows, mouth, nose, jaw; join with +)");
}

using Polygon = std::vector<Point2d>;

// One shape of a part: a closed polygon grown outward by `margin` (aligned pixels), then
// feathered inwards from the grown edge over `feather` pixels.
struct Shape {
  Polygon poly;
  double margin;
};

double cross(Point2d o, Point2d a, Point2d b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

// Convex hull (Andrew's monotone chain), counter-clockwise in the y-down image sense does not
// matter here: only inside/outside and distances are used.
Polygon convex_hull(Polygon p) {
  std::sort(p.begin(), p.end(), [](Point2d a, Point2d b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  if (p.size() < 3) return p;
  Polygon h(2 * p.size());
  size_t k = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    while (k >= 2 && cross(h[k - 2], h[k - 1], p[i]) <= 0) --k;
    h[k++] = p[i];
  }
  for (size_t i = p.size() - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(h[k - 2], h[k - 1], p[i]) <= 0) --k;
    h[k++] = p[i];
  }
  h.resize(k - 1);
  return h;
}

// Rasterises one grown, feathered shape into `out` (per-pixel max), clipped by the face mask:
// only the bounding box of the grown polygon is visited, and only where the face mask is > 0.
void rasterise(const Shape& s, double feather, const FaceMask& face, FaceMask& out) {
  const Polygon& poly = s.poly;
  const size_t n = poly.size();
  if (n < 3) return;
  double x0 = poly[0].x, x1 = x0, y0 = poly[0].y, y1 = y0;
  for (const Point2d& p : poly) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  const int size = face.size;
  const int bx0 = std::max(0, static_cast<int>(std::floor(x0 - s.margin)));
  const int by0 = std::max(0, static_cast<int>(std::floor(y0 - s.margin)));
  const int bx1 = std::min(size - 1, static_cast<int>(std::ceil(x1 + s.margin)));
  const int by1 = std::min(size - 1, static_cast<int>(std::ceil(y1 + s.margin)));
  // Per edge: start, direction and 1 / |direction|², so the distance loop does no division.
  struct Edge {
    Point2d a, ab;
    double inv_len2;
  };
  std::vector<Edge> edges(n);
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const Point2d ab = poly[i] - poly[j];
    const double len2 = ab.x * ab.x + ab.y * ab.y;
    edges[i] = {poly[j], ab, len2 > 0 ? 1.0 / len2 : 0.0};
  }
  const double m2 = s.margin * s.margin;
  for (int y = by0; y <= by1; ++y) {
    const double py = y;
    for (int x = bx0; x <= bx1; ++x) {
      const size_t idx = static_cast<size_t>(y) * size + x;
      const float f = face.alpha[idx];
      if (f <= 0.0f || out.alpha[idx] >= f) continue;  // nothing this shape could add here
      const double px = x;
      bool in = false;
      double d2 = 1e300;
      for (const Edge& e : edges) {
        const Point2d b = e.a + e.ab;
        if ((b.y > py) != (e.a.y > py) && px < (e.a.x - b.x) * (py - b.y) / (e.a.y - b.y) + b.x) in = !in;
        const double apx = px - e.a.x, apy = py - e.a.y;
        const double t = std::clamp((apx * e.ab.x + apy * e.ab.y) * e.inv_len2, 0.0, 1.0);
        const double dx = apx - e.ab.x * t, dy = apy - e.ab.y * t;
        d2 = std::min(d2, dx * dx + dy * dy);
      }
      if (!in && d2 >= m2) continue;  // outside the grown polygon: exactly 0
      const double dist = std::sqrt(d2);
      const double depth = in ? s.margin + dist : s.margin - dist;  // distance inside the grown edge
      const double t = std::min(1.0, depth / feather);
      const float a = std::min(f, static_cast<float>(t * t * (3.0 - 2.0 * t)));  // smoothstep, as face_mask
      out.alpha[idx] = std::max(out.alpha[idx], a);
    }
  }
}

// The shapes of one part, from the 68 landmarks in aligned coordinates. `unit` is the face's size
// (see region_mask) and `up` the chin-to-brow direction, unit length.
//
// Margins, in units of the face size (about 60 aligned pixels at 256, i.e. 0.1 ≈ 6 px). They are
// set for edits that move these features, so the generated face's moved feature stays inside:
//   eyes  0.22: the contour 36-41 / 42-47 only outlines the opening; the upper lid and its crease
//               (an eyes-open/closed edit moves them) lie up to ~0.2 above it, the lower lid and
//               the bags ~0.15 below; 0.22 covers both and stops short of the brows.
//   brows 0.12 around a band 0.1 either side of the brow points (17-21 / 22-26, which trace
//               the brows' upper contour): the brow hair lies ~0.1 below the points, and a raise
//               lifts the brows and wrinkles the skin above by ~0.1.
//   mouth 0.28 around the outer lip (48-59): a smile widens the corners and lifts the cheeks
//               beside them (the nasolabial folds) by ~0.25; it reaches the nostrils' base, not
//               the eyes.
//   nose  0.12 around the hull of the bridge and nostrils (27-35): the wings of the nostrils lie
//               ~0.1 outside points 31 and 35.
//   jaw   0.15 around the lower face: jaw-line points 2-14 closed above through the nose base
//               (35..31), so a jaw/chin edit covers the chin, mouth and lower cheeks; the face mask
//               clips what grows past the jaw line.
std::vector<Shape> part_shapes(FaceRegions part, const std::vector<Point2d>& q, double unit, Point2d up) {
  auto range = [&q](int from, int to) { return Polygon(q.begin() + from, q.begin() + to + 1); };
  std::vector<Shape> shapes;
  switch (part) {
    case kRegionEyes:
      shapes.push_back({range(36, 41), 0.22 * unit});
      shapes.push_back({range(42, 47), 0.22 * unit});
      break;
    case kRegionBrows:
      for (int first : {17, 22}) {
        Polygon band;
        for (int i = first; i <= first + 4; ++i) band.push_back(q[i] - up * (0.1 * unit));
        for (int i = first + 4; i >= first; --i) band.push_back(q[i] + up * (0.1 * unit));
        shapes.push_back({band, 0.12 * unit});
      }
      break;
    case kRegionMouth:
      shapes.push_back({range(48, 59), 0.28 * unit});
      break;
    case kRegionNose:
      shapes.push_back({convex_hull(range(27, 35)), 0.12 * unit});
      break;
    case kRegionJaw: {
      Polygon lower = range(2, 14);
      for (int i = 35; i >= 31; --i) lower.push_back(q[i]);
      shapes.push_back({lower, 0.15 * unit});
      break;
    }
    default:
      break;
  }
  return shapes;
}

Point2d mean_of(const std::vector<Point2d>& q, int from, int to) {
  Point2d s{};
  for (int i = from; i <= to; ++i) s = s + q[i];
  return s * (1.0 / (to - from + 1));
}

}  // namespace

FaceRegions parse_face_regions(const std::string& text) {
  if (text.empty()) refuse(text, "no part named");
  FaceRegions regions = 0;
  size_t start = 0;
  while (true) {
    const size_t plus = text.find('+', start);
    const std::string part = text.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    if (part.empty()) refuse(text, "empty part");
    FaceRegions bit = 0;
    for (const PartName& p : kParts) {
      if (part == p.name) bit = p.bit;
    }
    if (!bit) refuse(text, "unknown part '" + part + "'");
    regions |= bit;
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  return regions;
}

std::string face_regions_name(FaceRegions regions) {
  if (regions == 0 || (regions & ~kAllRegions) != 0) {
    throw Error("face_regions_name: not a set of face regions: " + std::to_string(regions));
  }
  std::string name;
  for (const PartName& p : kParts) {
    if (regions & p.bit) name += (name.empty() ? "" : "+") + std::string(p.name);
  }
  return name;
}

FaceMask region_mask(const Landmarks& lm, const Affine2& to_frame, int aligned_size, FaceRegions regions,
                     const MaskOptions& options) {
  if (regions == 0 || (regions & ~kAllRegions) != 0) {
    throw Error("region_mask: not a set of face regions: " + std::to_string(regions));
  }
  // face_mask checks the landmarks and the size; every part is clipped by it.
  FaceMask face = face_mask(lm, to_frame, aligned_size, options);
  if (regions & kRegionFace) return face;  // each part lies under the face mask: the union is the face

  const Affine2 inv = to_frame.inverse();
  std::vector<Point2d> q(68);
  for (size_t i = 0; i < 68; ++i) q[i] = inv(lm[i]);
  // The face's size: the larger of the eye-to-eye distance and 0.9 x the eye-to-mouth distance
  // (FFHQ's own scale measure, halved), so a turned head (short eye-to-eye) keeps its margins.
  const Point2d eye_l = mean_of(q, 36, 41), eye_r = mean_of(q, 42, 47);
  const Point2d eyes = (eye_l + eye_r) * 0.5, mouth = (q[48] + q[54]) * 0.5;
  const double unit = std::max({distance(eye_l, eye_r), 0.9 * distance(eyes, mouth), 1.0});
  Point2d brow = mean_of(q, 17, 26);
  Point2d up = brow - q[8];
  const double up_len = std::hypot(up.x, up.y);
  up = up_len > 0 ? up * (1.0 / up_len) : Point2d{0.0, -1.0};

  FaceMask out;
  out.size = aligned_size;
  out.alpha.assign(face.alpha.size(), 0.0f);
  const double feather = std::max(1.0, options.feather * aligned_size);
  for (const PartName& p : kParts) {
    if (!(regions & p.bit)) continue;
    for (const Shape& s : part_shapes(p.bit, q, unit, up)) {
      // The part's soft edge is the face's feather, but never wider than 0.6 of its margin: the
      // fade stays inside the margin band, so the part's own landmarks (and ~0.4 of the margin
      // around them) get the full edit whatever the feather setting.
      rasterise(s, std::max(1.0, std::min(feather, 0.6 * s.margin)), face, out);
    }
  }
  return out;
}

}  // namespace micromotion
