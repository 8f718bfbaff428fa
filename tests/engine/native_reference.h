// An independent description of the engine's pixel formats, for tests: where each component of
// each format is stored (written out here from FFmpeg's format definitions, not from the
// library's tables) and the textbook R'G'B' <-> Y'CbCr conversion in double precision (BT.601,
// BT.709, BT.2020 non-constant luminance; limited range: Y 16-235, C 16-240 at 8 bits, scaled
// by 2^(depth-8); full range: 0 to 2^depth - 1, chroma centred on 2^(depth-1)).
#pragma once

#include <micromotion/micromotion.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace nativeref {

struct Component {
  int plane = -1;  // -1: the format has no such component
  int step = 0;    // bytes between two samples of a row
  int offset = 0;  // bytes before the first
};

// Components in the order R G B A (RGB formats) or Y U V A (the others).
struct Layout {
  mm_pixel_format format;
  bool rgb;
  int depth;     // bits per sample
  int shift;     // p010: the value sits in the high 10 bits of 16
  int sx, sy;    // log2 chroma subsampling
  int planes;
  Component c[4];
  bool alpha() const { return c[3].plane >= 0; }
  int bytes() const { return depth > 8 ? 2 : 1; }
};

inline const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = {
      {MM_PIXEL_RGB24, true, 8, 0, 0, 0, 1, {{0, 3, 0}, {0, 3, 1}, {0, 3, 2}, {}}},
      {MM_PIXEL_RGBA, true, 8, 0, 0, 0, 1, {{0, 4, 0}, {0, 4, 1}, {0, 4, 2}, {0, 4, 3}}},
      {MM_PIXEL_BGR24, true, 8, 0, 0, 0, 1, {{0, 3, 2}, {0, 3, 1}, {0, 3, 0}, {}}},
      {MM_PIXEL_BGRA, true, 8, 0, 0, 0, 1, {{0, 4, 2}, {0, 4, 1}, {0, 4, 0}, {0, 4, 3}}},
      {MM_PIXEL_ARGB, true, 8, 0, 0, 0, 1, {{0, 4, 1}, {0, 4, 2}, {0, 4, 3}, {0, 4, 0}}},
      {MM_PIXEL_ABGR, true, 8, 0, 0, 0, 1, {{0, 4, 3}, {0, 4, 2}, {0, 4, 1}, {0, 4, 0}}},
      {MM_PIXEL_RGB0, true, 8, 0, 0, 0, 1, {{0, 4, 0}, {0, 4, 1}, {0, 4, 2}, {}}},
      {MM_PIXEL_BGR0, true, 8, 0, 0, 0, 1, {{0, 4, 2}, {0, 4, 1}, {0, 4, 0}, {}}},
      {MM_PIXEL_GRAY8, false, 8, 0, 0, 0, 1, {{0, 1, 0}, {}, {}, {}}},
      {MM_PIXEL_YUV420P, false, 8, 0, 1, 1, 3, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
      {MM_PIXEL_YUV422P, false, 8, 0, 1, 0, 3, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
      {MM_PIXEL_YUV444P, false, 8, 0, 0, 0, 3, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
      {MM_PIXEL_YUVA420P, false, 8, 0, 1, 1, 4, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {3, 1, 0}}},
      {MM_PIXEL_NV12, false, 8, 0, 1, 1, 2, {{0, 1, 0}, {1, 2, 0}, {1, 2, 1}, {}}},
      {MM_PIXEL_NV21, false, 8, 0, 1, 1, 2, {{0, 1, 0}, {1, 2, 1}, {1, 2, 0}, {}}},
      {MM_PIXEL_YUV420P10, false, 10, 0, 1, 1, 3, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
      {MM_PIXEL_YUV422P10, false, 10, 0, 1, 0, 3, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
      {MM_PIXEL_YUV444P10, false, 10, 0, 0, 0, 3, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
      {MM_PIXEL_P010, false, 10, 6, 1, 1, 2, {{0, 2, 0}, {1, 4, 0}, {1, 4, 2}, {}}},
      {MM_PIXEL_YUYV422, false, 8, 0, 1, 0, 1, {{0, 2, 0}, {0, 4, 1}, {0, 4, 3}, {}}},
      {MM_PIXEL_UYVY422, false, 8, 0, 1, 0, 1, {{0, 2, 1}, {0, 4, 0}, {0, 4, 2}, {}}},
      {MM_PIXEL_YVYU422, false, 8, 0, 1, 0, 1, {{0, 2, 0}, {0, 4, 3}, {0, 4, 1}, {}}},
  };
  return all;
}

inline const Layout& layout(mm_pixel_format f) {
  for (const Layout& l : layouts())
    if (l.format == f) return l;
  return layouts()[0];
}

// Whether component k is subsampled chroma.
inline bool chroma(const Layout& l, int k) { return !l.rgb && (k == 1 || k == 2); }
inline int comp_width(const Layout& l, int k, int w) { return chroma(l, k) ? (w + (1 << l.sx) - 1) >> l.sx : w; }
inline int comp_height(const Layout& l, int k, int h) { return chroma(l, k) ? (h + (1 << l.sy) - 1) >> l.sy : h; }

inline uint8_t* at(const mm_frame& f, const Layout& l, int k, int x, int y) {
  const Component& c = l.c[k];
  return f.data[c.plane] + f.stride[c.plane] * y + static_cast<ptrdiff_t>(c.step) * x + c.offset;
}
inline int get(const mm_frame& f, const Layout& l, int k, int x, int y) {
  const uint8_t* p = at(f, l, k, x, y);
  return l.depth > 8 ? ((p[0] | p[1] << 8) >> l.shift) : p[0];
}
inline void set(const mm_frame& f, const Layout& l, int k, int x, int y, int v) {
  uint8_t* p = at(f, l, k, x, y);
  if (l.depth > 8) {
    const int word = v << l.shift;
    p[0] = static_cast<uint8_t>(word & 0xff);
    p[1] = static_cast<uint8_t>(word >> 8);
  } else {
    p[0] = static_cast<uint8_t>(v);
  }
}

struct Matrix {
  double kr, kb;
};
inline Matrix matrix(mm_color_matrix m) {
  return m == MM_MATRIX_BT709 ? Matrix{0.2126, 0.0722} : m == MM_MATRIX_BT2020 ? Matrix{0.2627, 0.0593} : Matrix{0.299, 0.114};
}

// R'G'B' in [0, 1] -> Y, Cb, Cr sample values (unrounded, unclamped) at `depth` bits.
inline void rgb_to_yuv(const double rgb[3], mm_color_matrix m, mm_color_range r, int depth, double out[3]) {
  const Matrix k = matrix(m);
  const double y = k.kr * rgb[0] + (1 - k.kr - k.kb) * rgb[1] + k.kb * rgb[2];
  const double pb = (rgb[2] - y) / (2 * (1 - k.kb)), pr = (rgb[0] - y) / (2 * (1 - k.kr));
  const double unit = std::ldexp(1.0, depth - 8);
  if (r == MM_RANGE_FULL) {
    const double top = std::ldexp(1.0, depth) - 1;
    out[0] = y * top, out[1] = std::ldexp(1.0, depth - 1) + pb * top, out[2] = std::ldexp(1.0, depth - 1) + pr * top;
  } else {
    out[0] = unit * (16 + 219 * y), out[1] = unit * (128 + 224 * pb), out[2] = unit * (128 + 224 * pr);
  }
}

// Y, Cb, Cr sample values -> R'G'B' in [0, 1] (unclamped).
inline void yuv_to_rgb(const double yuv[3], mm_color_matrix m, mm_color_range r, int depth, double out[3]) {
  const Matrix k = matrix(m);
  double y, pb, pr;
  const double unit = std::ldexp(1.0, depth - 8);
  if (r == MM_RANGE_FULL) {
    const double top = std::ldexp(1.0, depth) - 1;
    y = yuv[0] / top, pb = (yuv[1] - std::ldexp(1.0, depth - 1)) / top, pr = (yuv[2] - std::ldexp(1.0, depth - 1)) / top;
  } else {
    y = (yuv[0] / unit - 16) / 219, pb = (yuv[1] / unit - 128) / 224, pr = (yuv[2] / unit - 128) / 224;
  }
  out[0] = y + 2 * (1 - k.kr) * pr;
  out[2] = y + 2 * (1 - k.kb) * pb;
  out[1] = (y - k.kr * out[0] - k.kb * out[2]) / (1 - k.kr - k.kb);
}

inline int clamp_round(double v, int depth) {
  return static_cast<int>(std::clamp(std::floor(v + 0.5), 0.0, std::ldexp(1.0, depth) - 1));
}

// A frame of the layout holding an 8-bit RGB picture (w x h, 3 bytes a pixel, rows w * 3 apart):
// RGB as is, luma per pixel, chroma the block's mean, alpha a pattern, gray the luma; every plane
// padded by 16 bytes a row filled with 0x5a. The planes live in `storage`.
inline mm_frame make_frame(const uint8_t* rgb, int w, int h, const Layout& l, mm_color_matrix m, mm_color_range r,
                           std::vector<uint8_t> storage[4]) {
  mm_frame f{};
  f.width = w;
  f.height = h;
  f.format = l.format;
  f.matrix = m;
  f.range = r;
  for (int p = 0; p < l.planes; ++p) {
    const size_t row = mm_plane_row_bytes(l.format, w, p) + 16;
    storage[p].assign(row * static_cast<size_t>(mm_plane_rows(l.format, h, p)), 0x5a);
    f.data[p] = storage[p].data();
    f.stride[p] = static_cast<ptrdiff_t>(row);
  }
  const int top = (1 << l.depth) - 1;
  auto px = [&](int x, int y, double out[3]) {
    const uint8_t* s = rgb + (static_cast<size_t>(y) * w + x) * 3;
    for (int k = 0; k < 3; ++k) out[k] = s[k] / 255.0;
  };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double c[3], yuv[3];
      px(x, y, c);
      if (l.rgb) {
        for (int k = 0; k < 3; ++k) set(f, l, k, x, y, clamp_round(c[k] * top, l.depth));
      } else {
        rgb_to_yuv(c, m, r, l.depth, yuv);
        set(f, l, 0, x, y, clamp_round(yuv[0], l.depth));
      }
      if (l.alpha()) set(f, l, 3, x, y, (x * 7 + y * 3) % (top + 1));
    }
  if (l.rgb || l.c[1].plane < 0) return f;
  for (int cy = 0; cy < comp_height(l, 1, h); ++cy)
    for (int cx = 0; cx < comp_width(l, 1, w); ++cx) {
      double su = 0, sv = 0;
      int n = 0;
      for (int y = cy << l.sy; y < std::min(h, (cy + 1) << l.sy); ++y)
        for (int x = cx << l.sx; x < std::min(w, (cx + 1) << l.sx); ++x, ++n) {
          double c[3], yuv[3];
          px(x, y, c);
          rgb_to_yuv(c, m, r, l.depth, yuv);
          su += yuv[1];
          sv += yuv[2];
        }
      set(f, l, 1, cx, cy, clamp_round(su / n, l.depth));
      set(f, l, 2, cx, cy, clamp_round(sv / n, l.depth));
    }
  return f;
}

}  // namespace nativeref
