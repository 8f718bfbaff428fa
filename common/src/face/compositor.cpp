#include <micromotion/compositor.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace micromotion {
namespace {

// Squared distance from p to segment ab.
double segment_distance2(Point2d p, Point2d a, Point2d b) {
  const Point2d ab = b - a, ap = p - a;
  const double len2 = ab.x * ab.x + ab.y * ab.y;
  const double t = len2 > 0 ? std::clamp((ap.x * ab.x + ap.y * ab.y) / len2, 0.0, 1.0) : 0.0;
  const double dx = ap.x - ab.x * t, dy = ap.y - ab.y * t;
  return dx * dx + dy * dy;
}

// Bilinear sample of a single-channel mask; 0 outside (so the mask edge stays exactly 0).
float sample_mask(const FaceMask& m, double x, double y) {
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const double fx = x - x0, fy = y - y0;
  auto at = [&m](int xi, int yi) -> double {
    return (xi < 0 || yi < 0 || xi >= m.size || yi >= m.size) ? 0.0 : m.at(xi, yi);
  };
  const double top = at(x0, y0) + (at(x0 + 1, y0) - at(x0, y0)) * fx;
  const double bot = at(x0, y0 + 1) + (at(x0 + 1, y0 + 1) - at(x0, y0 + 1)) * fx;
  return static_cast<float>(top + (bot - top) * fy);
}

// Bilinear sample of an RGB image with clamped edges.
void sample_rgb(const ImageView& im, double x, double y, double out[3]) {
  x = std::clamp(x, 0.0, static_cast<double>(im.width - 1));
  y = std::clamp(y, 0.0, static_cast<double>(im.height - 1));
  const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
  const int x1 = std::min(x0 + 1, im.width - 1), y1 = std::min(y0 + 1, im.height - 1);
  const double fx = x - x0, fy = y - y0;
  const std::uint8_t *a = im.pixel(x0, y0), *b = im.pixel(x1, y0), *c = im.pixel(x0, y1), *d = im.pixel(x1, y1);
  for (int k = 0; k < 3; ++k) {
    const double top = a[k] + (b[k] - a[k]) * fx;
    const double bot = c[k] + (d[k] - c[k]) * fx;
    out[k] = top + (bot - top) * fy;
  }
}

struct Footprint {
  int x0, y0, x1, y1;  // frame pixels [x0, x1) x [y0, y1) that the aligned square can touch
};

Footprint footprint(int fw, int fh, const Affine2& to_frame, int aligned_size) {
  const double s = aligned_size;
  const auto b = pixel_bounds({to_frame({-0.5, -0.5}), to_frame({s - 0.5, -0.5}), to_frame({-0.5, s - 0.5}),
                               to_frame({s - 0.5, s - 0.5})});
  return {std::max(0, b[0]), std::max(0, b[1]), std::min(fw, b[2] + 1), std::min(fh, b[3] + 1)};
}

void check(const ImageView& frame, const ImageView& gen, const Affine2& to_frame, int aligned_size, const FaceMask& mask) {
  if (frame.empty() || gen.empty()) throw Error("compositor: empty frame or generated image");
  if (gen.width != gen.height) {
    throw Error("compositor: the generated face must be square, got " + std::to_string(gen.width) + "x" +
                std::to_string(gen.height));
  }
  if (aligned_size < 1 || !(std::abs(to_frame.determinant()) > 0)) {
    throw Error("compositor: degenerate alignment transform");
  }
  if (mask.size < 1 || mask.alpha.size() != static_cast<size_t>(mask.size) * mask.size) {
    throw Error("compositor: the face mask is empty or malformed (build it with face_mask)");
  }
}

// A generated image much finer than its footprint in the frame is first reduced (Lanczos), so
// bilinear sampling does not alias. Deterministic: equal inputs give equal outputs (delta mode).
ImageRGB8 fit_resolution(const ImageView& gen, const Affine2& to_frame, int aligned_size) {
  const double frame_px = to_frame.scale() * aligned_size;  // face square side in frame pixels
  if (gen.width <= 2.0 * frame_px) return ImageRGB8();
  const int size = std::max(8, static_cast<int>(std::ceil(frame_px)));
  return pil_resize_lanczos(gen, size, size);
}

template <typename Blend>
void for_each_masked_pixel(int fw, int fh, const Affine2& to_frame, int aligned_size, const FaceMask& mask,
                           const Blend& blend) {
  const Affine2 inv = to_frame.inverse();
  const Footprint fp = footprint(fw, fh, to_frame, aligned_size);
  const double km = static_cast<double>(mask.size) / aligned_size;
  for (int y = fp.y0; y < fp.y1; ++y) {
    for (int x = fp.x0; x < fp.x1; ++x) {
      const Point2d u = inv({static_cast<double>(x), static_cast<double>(y)});
      const float a = sample_mask(mask, (u.x + 0.5) * km - 0.5, (u.y + 0.5) * km - 0.5);
      if (a <= 0.0f) continue;  // never touch pixels outside the mask
      blend(x, y, u, std::min(a, 1.0f));
    }
  }
}

}  // namespace

FaceMask face_mask(const Landmarks& lm, const Affine2& to_frame, int aligned_size, const MaskOptions& options) {
  if (lm.size() != 68) {
    throw Error("face_mask: needs the 68 iBUG landmarks, got " + std::to_string(lm.size()));
  }
  if (aligned_size < 8) throw Error("face_mask: aligned size must be >= 8, got " + std::to_string(aligned_size));
  const Affine2 inv = to_frame.inverse();
  std::vector<Point2d> q(68);
  for (size_t i = 0; i < 68; ++i) q[i] = inv(lm[i]);
  // The face outline: the jaw (0..16), then the brows (26..17) lifted towards the hairline along
  // the chin-to-brow direction, so the forehead is inside the mask.
  Point2d brow{};
  for (int i = 17; i < 27; ++i) brow = brow + q[i] * 0.1;
  const Point2d up = brow - q[8];
  std::vector<Point2d> poly(q.begin(), q.begin() + 17);
  for (int i = 26; i >= 17; --i) poly.push_back(q[i] + up * options.forehead);

  FaceMask m;
  m.size = aligned_size;
  m.alpha.assign(static_cast<size_t>(aligned_size) * aligned_size, 0.0f);
  const double feather = std::max(1.0, options.feather * aligned_size);
  // alpha = smoothstep(min(1, d / feather)) inside the outline (d: distance to the nearest edge),
  // 0 outside. Per row: the even-odd inside test from the edges' crossings of that row (the same
  // expression per edge as a point-in-polygon test, so the same pixels are inside), and the
  // distance only from the edges that can lie within `feather` of the row, squared, with one
  // sqrt where it is below `feather`; deeper inside alpha is exactly 1. Only rows the outline
  // spans are visited. Equal to the direct form (every pixel, every edge, hypot) up to rounding
  // (tests/face/compositor_test.cpp, FaceMask.FastMaskMatchesReference: <= 1e-5).
  const size_t n = poly.size();
  double ymin = poly[0].y, ymax = poly[0].y;
  for (const Point2d& v : poly) ymin = std::min(ymin, v.y), ymax = std::max(ymax, v.y);
  const int y0 = std::max(0, static_cast<int>(std::floor(ymin))), y1 = std::min(aligned_size - 1, static_cast<int>(std::ceil(ymax)));
  const double f2 = feather * feather;
  std::vector<double> cross;
  std::vector<size_t> near;  // edges (j -> i, stored as i) within feather of this row
  for (int y = y0; y <= y1; ++y) {
    const double py = y;
    cross.clear();
    near.clear();
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
      const Point2d a = poly[i], b = poly[j];
      if ((a.y > py) != (b.y > py)) cross.push_back((b.x - a.x) * (py - a.y) / (b.y - a.y) + a.x);
      if (py > std::min(a.y, b.y) - feather && py < std::max(a.y, b.y) + feather) near.push_back(i);
    }
    if (cross.empty()) continue;
    std::sort(cross.begin(), cross.end());
    float* row = &m.alpha[static_cast<size_t>(y) * aligned_size];
    // Inside: an odd number of crossings right of x (px < crossing).
    size_t k = 0;  // crossings <= x
    const int x_first = std::max(0, static_cast<int>(std::floor(cross.front())));
    const int x_last = std::min(aligned_size - 1, static_cast<int>(std::ceil(cross.back())));
    for (int x = x_first; x <= x_last; ++x) {
      const double px = x;
      while (k < cross.size() && cross[k] <= px) ++k;
      if (((cross.size() - k) & 1) == 0) continue;
      double d2 = f2;
      for (size_t i : near) {
        const size_t j = i == 0 ? n - 1 : i - 1;
        const Point2d a = poly[j], b = poly[i];
        if (px <= std::min(a.x, b.x) - feather || px >= std::max(a.x, b.x) + feather) continue;
        d2 = std::min(d2, segment_distance2({px, py}, a, b));
      }
      if (d2 >= f2) {
        row[x] = 1.0f;
        continue;
      }
      const double t = std::sqrt(d2) / feather;
      row[x] = static_cast<float>(t * t * (3.0 - 2.0 * t));  // smoothstep
    }
  }
  return m;
}

void composite(ImageRGB8& frame, const ImageView& generated, const Affine2& to_frame, int aligned_size,
               const FaceMask& mask) {
  check(frame.view(), generated, to_frame, aligned_size, mask);
  const ImageRGB8 reduced = fit_resolution(generated, to_frame, aligned_size);
  const ImageView gen = reduced.empty() ? generated : reduced.view();
  const double kg = static_cast<double>(gen.width) / aligned_size;
  for_each_masked_pixel(frame.width(), frame.height(), to_frame, aligned_size, mask,
                        [&](int x, int y, Point2d u, float a) {
                          double g[3];
                          sample_rgb(gen, (u.x + 0.5) * kg - 0.5, (u.y + 0.5) * kg - 0.5, g);
                          std::uint8_t* p = frame.pixel(x, y);
                          for (int c = 0; c < 3; ++c) {
                            const double v = p[c] + (g[c] - p[c]) * a;
                            p[c] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
                          }
                        });
}

void composite_delta(ImageRGB8& frame, const ImageView& edited, const ImageView& original, const Affine2& to_frame,
                     int aligned_size, const FaceMask& mask) {
  check(frame.view(), edited, to_frame, aligned_size, mask);
  if (edited.width != original.width || edited.height != original.height) {
    throw Error("compositor: delta mode needs the edited and original faces at the same size (" +
                std::to_string(edited.width) + " vs " + std::to_string(original.width) + ")");
  }
  const ImageRGB8 re = fit_resolution(edited, to_frame, aligned_size);
  const ImageRGB8 ro = fit_resolution(original, to_frame, aligned_size);
  const ImageView e = re.empty() ? edited : re.view();
  const ImageView o = ro.empty() ? original : ro.view();
  const double kg = static_cast<double>(e.width) / aligned_size;
  for_each_masked_pixel(frame.width(), frame.height(), to_frame, aligned_size, mask,
                        [&](int x, int y, Point2d u, float a) {
                          double ge[3], go[3];
                          sample_rgb(e, (u.x + 0.5) * kg - 0.5, (u.y + 0.5) * kg - 0.5, ge);
                          sample_rgb(o, (u.x + 0.5) * kg - 0.5, (u.y + 0.5) * kg - 0.5, go);
                          std::uint8_t* p = frame.pixel(x, y);
                          for (int c = 0; c < 3; ++c) {
                            const double v = p[c] + (ge[c] - go[c]) * a;
                            p[c] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
                          }
                        });
}

namespace {

void sample_rgbf(const ImageRGBf& im, double x, double y, double out[3]) {
  x = std::clamp(x, 0.0, static_cast<double>(im.width - 1));
  y = std::clamp(y, 0.0, static_cast<double>(im.height - 1));
  const int x0 = static_cast<int>(x), y0 = static_cast<int>(y);
  const int x1 = std::min(x0 + 1, im.width - 1), y1 = std::min(y0 + 1, im.height - 1);
  const double fx = x - x0, fy = y - y0;
  const float* a = &im.pixels[3 * (static_cast<size_t>(y0) * im.width + x0)];
  const float* b = &im.pixels[3 * (static_cast<size_t>(y0) * im.width + x1)];
  const float* c = &im.pixels[3 * (static_cast<size_t>(y1) * im.width + x0)];
  const float* d = &im.pixels[3 * (static_cast<size_t>(y1) * im.width + x1)];
  for (int k = 0; k < 3; ++k) {
    const double top = a[k] + (b[k] - a[k]) * fx;
    const double bot = c[k] + (d[k] - c[k]) * fx;
    out[k] = top + (bot - top) * fy;
  }
}

// Halves (2x2 means) while the image is more than twice as fine as its footprint.
ImageRGBf fit_resolution(const ImageRGBf& gen, const Affine2& to_frame, int aligned_size) {
  const double frame_px = to_frame.scale() * aligned_size;
  ImageRGBf im = gen;
  while (im.width > 2.0 * frame_px && im.width >= 16 && im.width % 2 == 0) {
    ImageRGBf h;
    h.width = h.height = im.width / 2;
    h.pixels.resize(static_cast<size_t>(h.width) * h.height * 3);
    for (int y = 0; y < h.height; ++y)
      for (int x = 0; x < h.width; ++x)
        for (int k = 0; k < 3; ++k) {
          auto at = [&](int xx, int yy) { return im.pixels[3 * (static_cast<size_t>(yy) * im.width + xx) + k]; };
          h.pixels[3 * (static_cast<size_t>(y) * h.width + x) + k] =
              0.25f * (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1));
        }
    im = std::move(h);
  }
  return im;
}

void check_float(const ImageRGBf& im, const char* what) {
  if (im.width < 1 || im.width != im.height || im.pixels.size() != static_cast<size_t>(im.width) * im.height * 3)
    throw Error(std::string("compositor: the ") + what + " face must be a square float RGB image, got " +
                std::to_string(im.width) + "x" + std::to_string(im.height));
}

}  // namespace

PixelRect face_footprint(int fw, int fh, const Affine2& to_frame, int aligned_size) {
  const Footprint fp = footprint(fw, fh, to_frame, aligned_size);
  return {fp.x0, fp.y0, std::max(0, fp.x1 - fp.x0), std::max(0, fp.y1 - fp.y0)};
}

FrameChange face_change(const PixelRect& r, const std::vector<float>& frame_rgb, const ImageRGBf& edited,
                        const ImageRGBf* original, const Affine2& to_frame, int aligned_size, const FaceMask& mask) {
  check_float(edited, "edited");
  if (original) {
    check_float(*original, "original");
    if (original->width != edited.width)
      throw Error("compositor: delta mode needs the edited and original faces at the same size (" +
                  std::to_string(edited.width) + " vs " + std::to_string(original->width) + ")");
  }
  if (aligned_size < 1 || !(std::abs(to_frame.determinant()) > 0)) throw Error("compositor: degenerate alignment transform");
  if (mask.size < 1 || mask.alpha.size() != static_cast<size_t>(mask.size) * mask.size)
    throw Error("compositor: the face mask is empty or malformed (build it with face_mask)");
  const size_t n = static_cast<size_t>(std::max(0, r.width)) * std::max(0, r.height);
  if (!original && frame_rgb.size() != 3 * n) throw Error("compositor: replace mode needs the frame's RGB under the face");
  FrameChange ch;
  ch.rect = r;
  ch.delta.assign(3 * n, 0.0f);
  ch.covered.assign(n, 0);
  const ImageRGBf e = fit_resolution(edited, to_frame, aligned_size);
  const ImageRGBf o = original ? fit_resolution(*original, to_frame, aligned_size) : ImageRGBf();
  const double kg = static_cast<double>(e.width) / aligned_size;
  const double km = static_cast<double>(mask.size) / aligned_size;
  const Affine2 inv = to_frame.inverse();
  for (int y = r.y; y < r.y + r.height; ++y)
    for (int x = r.x; x < r.x + r.width; ++x) {
      const Point2d u = inv({static_cast<double>(x), static_cast<double>(y)});
      const float a = std::min(1.0f, sample_mask(mask, (u.x + 0.5) * km - 0.5, (u.y + 0.5) * km - 0.5));
      if (a <= 0.0f) continue;
      const size_t i = static_cast<size_t>(y - r.y) * r.width + (x - r.x);
      double ge[3], go[3];
      sample_rgbf(e, (u.x + 0.5) * kg - 0.5, (u.y + 0.5) * kg - 0.5, ge);
      if (original) {
        sample_rgbf(o, (u.x + 0.5) * kg - 0.5, (u.y + 0.5) * kg - 0.5, go);
      } else {
        for (int k = 0; k < 3; ++k) go[k] = frame_rgb[3 * i + k];
      }
      ch.covered[i] = 1;
      for (int k = 0; k < 3; ++k) ch.delta[3 * i + k] = static_cast<float>((ge[k] - go[k]) * a);
    }
  return ch;
}

std::vector<float> alpha_in_frame(int frame_width, int frame_height, const Affine2& to_frame, int aligned_size,
                                  const FaceMask& mask) {
  std::vector<float> out(static_cast<size_t>(frame_width) * frame_height, 0.0f);
  for_each_masked_pixel(frame_width, frame_height, to_frame, aligned_size, mask,
                        [&](int x, int y, Point2d, float a) { out[static_cast<size_t>(y) * frame_width + x] = a; });
  return out;
}

}  // namespace micromotion
