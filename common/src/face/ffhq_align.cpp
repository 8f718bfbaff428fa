// FFHQ alignment (see ffhq_align.h). Every arithmetic step follows the reference's order of
// operations in double precision, and the padding branch its float32 numpy arithmetic, so that
// the quads agree to rounding and the pixels to the resampling tolerance.
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>

#include "pil_resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace micromotion {
namespace {

Point2d mean_of(const Landmarks& lm, int begin, int end) {
  double sx = 0, sy = 0;
  for (int i = begin; i < end; ++i) {
    sx += lm[i].x;
    sy += lm[i].y;
  }
  return {sx / (end - begin), sy / (end - begin)};
}

int rint_int(double v) { return static_cast<int>(std::nearbyint(v)); }  // numpy rint: half to even

// numpy.pad(mode='reflect'): mirror about the edge pixel, which is not repeated.
int reflect_edge_excluded(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// scipy.ndimage mode 'reflect': mirror about the pixel boundary (the edge pixel repeats).
int reflect_edge_included(int i, int n) {
  const int period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

// scipy.ndimage.gaussian_filter1d weights (truncate = 4), centre first then outwards.
std::vector<double> gaussian_kernel(double sigma, int& radius) {
  radius = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> k(2 * radius + 1);
  const double c = -0.5 / (sigma * sigma);
  double total = 0;
  for (int i = -radius; i <= radius; ++i) {
    k[i + radius] = std::exp(c * static_cast<double>(i * i));
    total += k[i + radius];
  }
  for (double& v : k) v /= total;
  return k;
}

// The two separable passes of scipy's gaussian_filter on an h x w x 3 float32 image, in double,
// each sum taking the centre tap first and then the symmetric pairs from the outermost inwards
// (scipy's order for symmetric kernels). Written row-wise so the compiler vectorises them.
void gaussian_pass_y(const std::vector<float>& in, std::vector<float>& out, int w, int h, double sigma) {
  int r = 0;
  const std::vector<double> k = gaussian_kernel(sigma, r);
  const size_t n = static_cast<size_t>(w) * 3;
  out.resize(in.size());
  std::vector<double> acc(n);
  for (int y = 0; y < h; ++y) {
    const float* c = &in[static_cast<size_t>(y) * n];
    for (size_t i = 0; i < n; ++i) acc[i] = c[i] * k[r];
    for (int j = -r; j < 0; ++j) {
      const float* a = &in[static_cast<size_t>(reflect_edge_included(y + j, h)) * n];
      const float* b = &in[static_cast<size_t>(reflect_edge_included(y - j, h)) * n];
      const double kj = k[r + j];
      for (size_t i = 0; i < n; ++i) acc[i] += (static_cast<double>(a[i]) + b[i]) * kj;
    }
    float* o = &out[static_cast<size_t>(y) * n];
    for (size_t i = 0; i < n; ++i) o[i] = static_cast<float>(acc[i]);
  }
}

void gaussian_pass_x(const std::vector<float>& in, std::vector<float>& out, int w, int h, double sigma) {
  int r = 0;
  const std::vector<double> k = gaussian_kernel(sigma, r);
  const size_t n = static_cast<size_t>(w) * 3;
  out.resize(in.size());
  std::vector<double> line(n + 6 * static_cast<size_t>(r)), acc(n);
  for (int y = 0; y < h; ++y) {
    const float* row = &in[static_cast<size_t>(y) * n];
    for (int x = -r; x < w + r; ++x) {
      const float* px = row + 3 * reflect_edge_included(x, w);
      double* l = &line[3 * static_cast<size_t>(x + r)];
      l[0] = px[0];
      l[1] = px[1];
      l[2] = px[2];
    }
    const double* centre = &line[3 * static_cast<size_t>(r)];
    for (size_t i = 0; i < n; ++i) acc[i] = centre[i] * k[r];
    for (int j = -r; j < 0; ++j) {
      const double* a = centre + 3 * j;
      const double* b = centre - 3 * j;
      const double kj = k[r + j];
      for (size_t i = 0; i < n; ++i) acc[i] += (a[i] + b[i]) * kj;
    }
    float* o = &out[static_cast<size_t>(y) * n];
    for (size_t i = 0; i < n; ++i) o[i] = static_cast<float>(acc[i]);
  }
}

// The reference's padding branch: reflect pad, blend towards a blurred copy and the median colour
// with a mask that grows away from the original image, round to uint8.
ImageRGB8 pad_and_blend(const ImageView& img, const std::array<int, 4>& pad, double qsize) {
  const int w = img.width + pad[0] + pad[2];
  const int h = img.height + pad[1] + pad[3];
  std::vector<float> a(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    const int sy = reflect_edge_excluded(y - pad[1], img.height);
    for (int x = 0; x < w; ++x) {
      const int sx = reflect_edge_excluded(x - pad[0], img.width);
      const std::uint8_t* s = img.pixel(sx, sy);
      float* d = &a[(static_cast<size_t>(y) * w + x) * 3];
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    }
  }
  // mask = max(1 - min(x / pad_l, (w-1-x) / pad_r), 1 - min(y / pad_t, (h-1-y) / pad_b)), float32.
  std::vector<float> mask(static_cast<size_t>(w) * h);
  const float pl = static_cast<float>(pad[0]), pt = static_cast<float>(pad[1]),
              pr = static_cast<float>(pad[2]), pb = static_cast<float>(pad[3]);
  for (int y = 0; y < h; ++y) {
    const float my = 1.0f - std::min(static_cast<float>(y) / pt, static_cast<float>(h - 1 - y) / pb);
    for (int x = 0; x < w; ++x) {
      const float mx = 1.0f - std::min(static_cast<float>(x) / pl, static_cast<float>(w - 1 - x) / pr);
      mask[static_cast<size_t>(y) * w + x] = std::max(mx, my);
    }
  }
  const double blur = qsize * 0.02;
  std::vector<float> tmp, blurred;
  gaussian_pass_y(a, tmp, w, h, blur);  // axis 0 first, as scipy does
  gaussian_pass_x(tmp, blurred, w, h, blur);
  for (size_t p = 0; p < mask.size(); ++p) {
    const float m = std::clamp(mask[p] * 3.0f + 1.0f, 0.0f, 1.0f);
    for (int c = 0; c < 3; ++c) {
      float& v = a[p * 3 + c];
      v += (blurred[p * 3 + c] - v) * m;
    }
  }
  // numpy.median per channel: the middle value, or the float32 mean of the two middle values.
  float median[3];
  {
    const size_t n = mask.size();
    std::vector<float> ch(n);
    for (int c = 0; c < 3; ++c) {
      for (size_t p = 0; p < n; ++p) ch[p] = a[p * 3 + c];
      auto mid = ch.begin() + static_cast<std::ptrdiff_t>(n / 2);
      std::nth_element(ch.begin(), mid, ch.end());
      if (n % 2 == 1) {
        median[c] = *mid;
      } else {
        const float upper = *mid;
        const float lower = *std::max_element(ch.begin(), mid);
        median[c] = (lower + upper) / 2.0f;
      }
    }
  }
  ImageRGB8 out(w, h);
  for (size_t p = 0; p < mask.size(); ++p) {
    const float m = std::clamp(mask[p], 0.0f, 1.0f);
    for (int c = 0; c < 3; ++c) {
      float v = a[p * 3 + c];
      v += (median[c] - v) * m;
      const float r = std::nearbyint(v);
      out.data()[p * 3 + c] = static_cast<std::uint8_t>(std::clamp(r, 0.0f, 255.0f));
    }
  }
  return out;
}

void check_options(const AlignOptions& o) {
  if (o.output_size < 1) throw Error("FFHQ alignment: output_size must be >= 1, got " + std::to_string(o.output_size));
  const int t = o.transform_size == 0 ? o.output_size : o.transform_size;
  if (t < o.output_size) {
    throw Error("FFHQ alignment: transform_size (" + std::to_string(t) + ") must be >= output_size (" +
                std::to_string(o.output_size) + ")");
  }
}

}  // namespace

Quad ffhq_quad(const Landmarks& lm) {
  if (lm.size() != 68) {
    throw Error("FFHQ alignment needs the 68 iBUG landmarks, got " + std::to_string(lm.size()) +
                " (use the 68-point shape predictor)");
  }
  const Point2d eye_left = mean_of(lm, 36, 42);
  const Point2d eye_right = mean_of(lm, 42, 48);
  const Point2d eye_avg = (eye_left + eye_right) * 0.5;
  const Point2d eye_to_eye = eye_right - eye_left;
  const Point2d mouth_avg = (lm[48] + lm[54]) * 0.5;
  const Point2d eye_to_mouth = mouth_avg - eye_avg;

  // x: eye-to-eye direction bent by the eye-to-mouth normal; scaled to the larger of the two spans.
  Point2d x{eye_to_eye.x - (-eye_to_mouth.y), eye_to_eye.y - eye_to_mouth.x};
  const double n = std::hypot(x.x, x.y);
  x.x /= n;
  x.y /= n;
  const double s = std::max(std::hypot(eye_to_eye.x, eye_to_eye.y) * 2.0,
                            std::hypot(eye_to_mouth.x, eye_to_mouth.y) * 1.8);
  x.x *= s;
  x.y *= s;
  const Point2d y{-x.y, x.x};
  const Point2d c = eye_avg + eye_to_mouth * 0.1;
  return {(c - x) - y, (c - x) + y, (c + x) + y, (c + x) - y};
}

AlignGeometry ffhq_geometry(const Quad& quad_in, int width, int height, const AlignOptions& options) {
  check_options(options);
  AlignGeometry g;
  g.quad = quad_in;
  Quad quad = quad_in;
  const Point2d xv = quad_in[3] - quad_in[0];  // c+x-y - (c-x-y) = 2x
  double qsize = std::hypot(xv.x * 0.5, xv.y * 0.5) * 2;
  g.qsize = qsize;
  if (!(qsize >= 4.0)) {
    throw Error("FFHQ alignment: the face is too small to align (quad side " + std::to_string(qsize) + " px)");
  }

  g.shrink = static_cast<int>(std::floor(qsize / options.output_size * 0.5));
  int w = width, h = height;
  if (g.shrink > 1) {
    w = rint_int(static_cast<double>(width) / g.shrink);
    h = rint_int(static_cast<double>(height) / g.shrink);
    for (Point2d& p : quad) p = {p.x / g.shrink, p.y / g.shrink};
    qsize /= g.shrink;
  }
  g.shrunk_size = {w, h};

  const int border = std::max(rint_int(qsize * 0.1), 3);
  std::array<int, 4> crop = pixel_bounds(quad);
  crop = {std::max(crop[0] - border, 0), std::max(crop[1] - border, 0), std::min(crop[2] + border, w),
          std::min(crop[3] + border, h)};
  g.crop = crop;
  if (crop[2] - crop[0] < w || crop[3] - crop[1] < h) {
    g.cropped = true;
    for (Point2d& p : quad) p = {p.x - crop[0], p.y - crop[1]};
    w = crop[2] - crop[0];
    h = crop[3] - crop[1];
  }

  std::array<int, 4> pad = pixel_bounds(quad);
  pad = {std::max(-pad[0] + border, 0), std::max(-pad[1] + border, 0), std::max(pad[2] - w + border, 0),
         std::max(pad[3] - h + border, 0)};
  if (options.enable_padding && *std::max_element(pad.begin(), pad.end()) > border - 4) {
    const int least = rint_int(qsize * 0.3);
    for (int& p : pad) p = std::max(p, least);
    g.padded = true;
    for (Point2d& p : quad) p = {p.x + pad[0], p.y + pad[1]};
  }
  g.pad = pad;
  g.quad_final = quad;
  return g;
}

Affine2 ffhq_to_frame(const AlignGeometry& g, int frame_width, int frame_height, const AlignOptions& options) {
  const int out_size = options.output_size;
  // to_frame: output pixel centre (u, v) -> padded image p = nw + (ne-nw)(u+.5)/S + (sw-nw)(v+.5)/S
  // (the QUAD map is affine for the parallelogram quads used here) -> undo pad and crop -> undo the
  // shrink with the true per-axis scale of the resize (centre-aligned, like PIL's resize).
  const Point2d nw = g.quad_final[0], sw = g.quad_final[1], ne = g.quad_final[3];
  const double inv = 1.0 / out_size;
  Affine2 m;
  m.a = (ne.x - nw.x) * inv;
  m.b = (sw.x - nw.x) * inv;
  m.c = (ne.y - nw.y) * inv;
  m.d = (sw.y - nw.y) * inv;
  m.tx = nw.x + 0.5 * (m.a + m.b);
  m.ty = nw.y + 0.5 * (m.c + m.d);
  const double ox = (g.cropped ? g.crop[0] : 0) - (g.padded ? g.pad[0] : 0);
  const double oy = (g.cropped ? g.crop[1] : 0) - (g.padded ? g.pad[1] : 0);
  m.tx += ox;
  m.ty += oy;
  if (g.shrink > 1) {
    const double kx = static_cast<double>(frame_width) / g.shrunk_size[0];
    const double ky = static_cast<double>(frame_height) / g.shrunk_size[1];
    m = Affine2{m.a * kx, m.b * kx, (m.tx + 0.5) * kx - 0.5, m.c * ky, m.d * ky, (m.ty + 0.5) * ky - 0.5};
  }
  return m;
}

AlignedFace ffhq_align(const ImageView& frame, const Quad& quad, const AlignOptions& options) {
  if (frame.empty()) throw Error("FFHQ alignment: empty frame");
  AlignedFace out;
  out.geometry = ffhq_geometry(quad, frame.width, frame.height, options);
  const AlignGeometry& g = out.geometry;
  const int out_size = options.output_size;
  const int tsize = options.transform_size == 0 ? out_size : options.transform_size;

  ImageRGB8 work;
  ImageView cur = frame;
  if (g.shrink > 1) {
    // Only the cropped part of the shrunk image is computed (same pixels as shrinking everything).
    const std::array<int, 4> r = g.cropped ? g.crop : std::array<int, 4>{0, 0, g.shrunk_size[0], g.shrunk_size[1]};
    work = detail::pil_resize_lanczos_region(cur, g.shrunk_size[0], g.shrunk_size[1], r[0], r[1], r[2], r[3]);
    cur = work.view();
  } else if (g.cropped) {
    cur = crop_view(cur, g.crop[0], g.crop[1], g.crop[2] - g.crop[0], g.crop[3] - g.crop[1]);
  }
  ImageRGB8 padded;
  if (g.padded) {
    padded = pad_and_blend(cur, g.pad, g.shrink > 1 ? g.qsize / g.shrink : g.qsize);
    cur = padded.view();
  }
  Quad corners = g.quad_final;
  for (Point2d& p : corners) p = {p.x + 0.5, p.y + 0.5};
  out.image = pil_transform_quad(cur, tsize, tsize, corners);
  if (out_size < tsize) out.image = pil_resize_lanczos(out.image.view(), out_size, out_size);

  out.to_frame = ffhq_to_frame(g, frame.width, frame.height, options);
  return out;
}

AlignedFace ffhq_align(const ImageView& frame, const Landmarks& landmarks, const AlignOptions& options) {
  return ffhq_align(frame, ffhq_quad(landmarks), options);
}

}  // namespace micromotion
