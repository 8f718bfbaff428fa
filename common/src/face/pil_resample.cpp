// The two PIL resampling operations the FFHQ reference relies on, reimplemented so the aligned
// crops match the reference pixel for pixel (PIL 9.x semantics: Resample.c for resize, the generic
// transform with the bilinear filter for QUAD).
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>

#include "pil_resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace micromotion {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // PIL's fixed-point precision for 8-bit images

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double lanczos3(double x) { return (x >= -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

// Per output sample: first input index, number of taps, and integer weights.
struct Taps {
  int ksize = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;  // out_size * ksize
};

Taps lanczos_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 3.0 * filterscale;
  Taps t;
  t.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size) * t.ksize, 0);
  std::vector<double> w(t.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // PIL truncates (not floors) here; center - support + 0.5 may be negative and is then clamped.
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = lanczos3((x + xmin - center + 0.5) * ss);
      total += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double k = total != 0.0 ? w[x] / total : w[x];
      const double f = k * (1 << kPrecisionBits);
      t.weights[static_cast<size_t>(xx) * t.ksize + x] =
          static_cast<std::int32_t>(k < 0 ? -0.5 + f : 0.5 + f);
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

std::uint8_t clip8(std::int64_t v) {
  if (v >= (std::int64_t{1} << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(v >> kPrecisionBits);
}

// Output columns [x0, x1) of the horizontal pass, for every input row.
ImageRGB8 resize_horizontal(const ImageView& in, int out_w, int x0, int x1) {
  const Taps t = lanczos_taps(in.width, out_w);
  ImageRGB8 out(x1 - x0, in.height);
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* src = in.row(y);
    std::uint8_t* dst = out.row(y);
    for (int xx = x0; xx < x1; ++xx) {
      const std::int32_t* k = &t.weights[static_cast<size_t>(xx) * t.ksize];
      for (int c = 0; c < 3; ++c) {
        // PIL accumulates in a 32-bit int; the sums stay in range for normalised weights.
        std::int64_t ss = std::int64_t{1} << (kPrecisionBits - 1);
        for (int x = 0; x < t.count[xx]; ++x) ss += src[3 * (x + t.first[xx]) + c] * std::int64_t{k[x]};
        dst[3 * (xx - x0) + c] = clip8(ss);
      }
    }
  }
  return out;
}

// Output rows [y0, y1) of the vertical pass; `in` holds input rows from `in_first` on.
ImageRGB8 resize_vertical(const ImageView& in, int in_height, int in_first, int out_h, int y0, int y1) {
  const Taps t = lanczos_taps(in_height, out_h);
  ImageRGB8 out(in.width, y1 - y0);
  for (int yy = y0; yy < y1; ++yy) {
    const std::int32_t* k = &t.weights[static_cast<size_t>(yy) * t.ksize];
    std::uint8_t* dst = out.row(yy - y0);
    for (int x = 0; x < in.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        std::int64_t ss = std::int64_t{1} << (kPrecisionBits - 1);
        for (int y = 0; y < t.count[yy]; ++y) {
          ss += in.row(y + t.first[yy] - in_first)[3 * x + c] * std::int64_t{k[y]};
        }
        dst[3 * x + c] = clip8(ss);
      }
    }
  }
  return out;
}

}  // namespace

ImageRGB8 pil_resize_lanczos(const ImageView& image, int width, int height) {
  return detail::pil_resize_lanczos_region(image, width, height, 0, 0, width, height);
}

namespace detail {

ImageRGB8 pil_resize_lanczos_region(const ImageView& image, int width, int height, int x0, int y0, int x1, int y1) {
  if (image.empty() || width <= 0 || height <= 0 || x0 < 0 || y0 < 0 || x1 > width || y1 > height || x0 >= x1 ||
      y0 >= y1) {
    throw Error("pil_resize_lanczos: cannot resize a " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " image to " + std::to_string(width) + "x" +
                std::to_string(height) + " (region " + std::to_string(x0) + "," + std::to_string(y0) + "-" +
                std::to_string(x1) + "," + std::to_string(y1) + ")");
  }
  // Like PIL: horizontal pass first (when the width changes), then vertical, 8-bit in between.
  // Each output pixel depends only on its own taps, so computing just the region (and just the input
  // rows its vertical taps read) gives exactly the pixels of the full resize.
  const bool horizontal = width != image.width, vertical = height != image.height;
  int first = 0, last = image.height;
  if (vertical) {
    const Taps t = lanczos_taps(image.height, height);
    first = t.first[y0];
    last = 0;
    for (int y = y0; y < y1; ++y) last = std::max(last, t.first[y] + t.count[y]);
  } else {
    first = y0;
    last = y1;
  }
  const ImageView rows = crop_view(image, 0, first, image.width, last - first);
  ImageRGB8 h = horizontal ? resize_horizontal(rows, width, x0, x1)
                           : ImageRGB8::copy_of(crop_view(rows, x0, 0, x1 - x0, rows.height));
  if (!vertical) return h;
  return resize_vertical(h.view(), image.height, first, height, y0, y1);
}

}  // namespace detail

ImageRGB8 pil_transform_quad(const ImageView& image, int width, int height, const Quad& corners) {
  if (image.empty() || width <= 0 || height <= 0) {
    throw Error("pil_transform_quad: empty input or output size");
  }
  // The coefficients exactly as PIL's Image.transform derives them for QUAD (same operation order).
  const Point2d nw = corners[0], sw = corners[1], se = corners[2], ne = corners[3];
  const double as = 1.0 / width, at = 1.0 / height;
  const double a0 = nw.x, a1 = (ne.x - nw.x) * as, a2 = (sw.x - nw.x) * at,
               a3 = (se.x - sw.x - ne.x + nw.x) * as * at;
  const double a4 = nw.y, a5 = (ne.y - nw.y) * as, a6 = (sw.y - nw.y) * at,
               a7 = (se.y - sw.y - ne.y + nw.y) * as * at;
  const int iw = image.width, ih = image.height;
  auto floor_int = [](double v) { return v < 0.0 ? static_cast<int>(std::floor(v)) : static_cast<int>(v); };
  auto xclip = [iw](int x) { return x < 0 ? 0 : (x < iw ? x : iw - 1); };
  auto yclip = [ih](int y) { return y < 0 ? 0 : (y < ih ? y : ih - 1); };

  ImageRGB8 out(width, height, 0);
  for (int y = 0; y < height; ++y) {
    std::uint8_t* dst = out.row(y);
    const double yin = y + 0.5;
    for (int x = 0; x < width; ++x) {
      const double xin = x + 0.5;
      double xx = a0 + a1 * xin + a2 * yin + a3 * xin * yin;
      double yy = a4 + a5 * xin + a6 * yin + a7 * xin * yin;
      if (xx < 0.0 || xx >= iw || yy < 0.0 || yy >= ih) continue;  // fill: stays 0
      xx -= 0.5;
      yy -= 0.5;
      const int xi = floor_int(xx), yi = floor_int(yy);
      const double dx = xx - xi, dy = yy - yi;
      const int x0 = 3 * xclip(xi), x1 = 3 * xclip(xi + 1);
      const std::uint8_t* r0 = image.row(yclip(yi));
      const bool has_r1 = yi + 1 >= 0 && yi + 1 < ih;
      const std::uint8_t* r1 = has_r1 ? image.row(yi + 1) : nullptr;
      for (int c = 0; c < 3; ++c) {
        const double v1 = r0[x0 + c] + (r0[x1 + c] - r0[x0 + c]) * dx;
        const double v2 = has_r1 ? r1[x0 + c] + (r1[x1 + c] - r1[x0 + c]) * dx : v1;
        const double v = v1 + (v2 - v1) * dy;
        dst[3 * x + c] = static_cast<std::uint8_t>(v);  // PIL truncates
      }
    }
  }
  return out;
}

}  // namespace micromotion
