#include "convert.hpp"

#include <media-io/video-io.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mmobs {

namespace {

// Where the Y, U and V samples of pixel (x, y) live: plane, byte step between samples along a
// row, byte offset of the first sample; chroma is subsampled by 2^sx across and 2^sy down.
struct YuvLayout {
  int plane[3];
  int step[3];
  int offset[3];
  int sx, sy;
};

bool yuv_layout(int format, YuvLayout& l) {
  switch (format) {
    case VIDEO_FORMAT_I420: l = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 1, 1}; return true;
    case VIDEO_FORMAT_NV12: l = {{0, 1, 1}, {1, 2, 2}, {0, 0, 1}, 1, 1}; return true;
    case VIDEO_FORMAT_I422: l = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 1, 0}; return true;
    case VIDEO_FORMAT_I444: l = {{0, 1, 2}, {1, 1, 1}, {0, 0, 0}, 0, 0}; return true;
    case VIDEO_FORMAT_YUY2: l = {{0, 0, 0}, {2, 4, 4}, {0, 1, 3}, 1, 0}; return true;  // Y0 U Y1 V
    case VIDEO_FORMAT_UYVY: l = {{0, 0, 0}, {2, 4, 4}, {1, 0, 2}, 1, 0}; return true;  // U Y0 V Y1
    case VIDEO_FORMAT_YVYU: l = {{0, 0, 0}, {2, 4, 4}, {0, 3, 1}, 1, 0}; return true;  // Y0 V Y1 U
    default: return false;
  }
}

// Byte order of the packed RGB formats: offsets of R, G, B (and A, -1 when none), bytes a pixel.
struct RgbLayout {
  int r, g, b, a, bytes;
};

bool rgb_layout(int format, RgbLayout& l) {
  switch (format) {
    case VIDEO_FORMAT_RGBA: l = {0, 1, 2, 3, 4}; return true;
    case VIDEO_FORMAT_BGRA: l = {2, 1, 0, 3, 4}; return true;
    case VIDEO_FORMAT_BGRX: l = {2, 1, 0, -1, 4}; return true;
    case VIDEO_FORMAT_BGR3: l = {2, 1, 0, -1, 3}; return true;
    default: return false;
  }
}

uint8_t clamp_byte(double v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0))); }

// OBS's YUV -> RGB (the conversion shader): yuv in [0, 1], clamped to the frame's range, then
// rgb = M[0..2] . yuv + M[3] per row of color_matrix.
struct YuvToRgb {
  double m[3][4];
  double lo[3], hi[3];
  explicit YuvToRgb(const FrameBuf& f) {
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) m[r][c] = f.color_matrix[4 * r + c];
    for (int k = 0; k < 3; ++k) {
      lo[k] = f.full_range ? 0.0 : f.range_min[k];
      hi[k] = f.full_range ? 1.0 : f.range_max[k];
    }
  }
  void operator()(uint8_t Y, uint8_t U, uint8_t V, uint8_t* rgb) const {
    const double yuv[3] = {std::clamp(Y / 255.0, lo[0], hi[0]), std::clamp(U / 255.0, lo[1], hi[1]),
                           std::clamp(V / 255.0, lo[2], hi[2])};
    for (int r = 0; r < 3; ++r) rgb[r] = clamp_byte(255.0 * (m[r][0] * yuv[0] + m[r][1] * yuv[1] + m[r][2] * yuv[2] + m[r][3]));
  }
};

// The inverse of YuvToRgb's affine map (3x3 inverse, then the offset).
struct RgbToYuv {
  double inv[3][3];
  double off[3];
  explicit RgbToYuv(const FrameBuf& f) {
    double a[3][3];
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) a[r][c] = f.color_matrix[4 * r + c];
      off[r] = f.color_matrix[4 * r + 3];
    }
    const double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                       a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                       a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    const double d = std::abs(det) > 1e-12 ? 1.0 / det : 0.0;
    inv[0][0] = (a[1][1] * a[2][2] - a[1][2] * a[2][1]) * d;
    inv[0][1] = (a[0][2] * a[2][1] - a[0][1] * a[2][2]) * d;
    inv[0][2] = (a[0][1] * a[1][2] - a[0][2] * a[1][1]) * d;
    inv[1][0] = (a[1][2] * a[2][0] - a[1][0] * a[2][2]) * d;
    inv[1][1] = (a[0][0] * a[2][2] - a[0][2] * a[2][0]) * d;
    inv[1][2] = (a[0][2] * a[1][0] - a[0][0] * a[1][2]) * d;
    inv[2][0] = (a[1][0] * a[2][1] - a[1][1] * a[2][0]) * d;
    inv[2][1] = (a[0][1] * a[2][0] - a[0][0] * a[2][1]) * d;
    inv[2][2] = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) * d;
  }
  // rgb bytes -> yuv in [0, 255] (unrounded).
  void operator()(const uint8_t* rgb, double* yuv) const {
    const double v[3] = {rgb[0] / 255.0 - off[0], rgb[1] / 255.0 - off[1], rgb[2] / 255.0 - off[2]};
    for (int r = 0; r < 3; ++r) yuv[r] = 255.0 * (inv[r][0] * v[0] + inv[r][1] * v[1] + inv[r][2] * v[2]);
  }
};

}  // namespace

bool format_supported(int format) {
  YuvLayout y;
  RgbLayout r;
  return yuv_layout(format, y) || rgb_layout(format, r);
}

const char* format_name(int format) { return get_video_format_name(static_cast<enum video_format>(format)); }

int plane_count(int format) {
  switch (format) {
    case VIDEO_FORMAT_I420:
    case VIDEO_FORMAT_I422:
    case VIDEO_FORMAT_I444: return 3;
    case VIDEO_FORMAT_NV12: return 2;
    default: return format_supported(format) ? 1 : 0;
  }
}

uint32_t plane_rows(int format, int p, uint32_t height) {
  if (p >= plane_count(format)) return 0;
  if (p > 0 && (format == VIDEO_FORMAT_I420 || format == VIDEO_FORMAT_NV12)) return (height + 1) / 2;
  return height;
}

void copy_in(FrameBuf& dst, int format, uint32_t width, uint32_t height, uint8_t* const data[],
             const uint32_t linesize[]) {
  dst.format = format;
  dst.width = width;
  dst.height = height;
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = plane_rows(format, p, height);
    dst.linesize[p] = rows ? linesize[p] : 0;
    dst.plane[p].resize(size_t(rows) * dst.linesize[p]);
    if (rows) std::memcpy(dst.plane[p].data(), data[p], dst.plane[p].size());
  }
}

void copy_out(const FrameBuf& src, uint8_t* const data[], const uint32_t linesize[]) {
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = plane_rows(src.format, p, src.height);
    const size_t n = std::min(src.linesize[p], linesize[p]);
    for (uint32_t y = 0; y < rows; ++y)
      std::memcpy(data[p] + size_t(y) * linesize[p], src.plane[p].data() + size_t(y) * src.linesize[p], n);
  }
}

namespace {
// The stored row of picture row y (and back): the same unless the frame is stored bottom-up.
int stored_row(const FrameBuf& f, int y) { return f.flip ? int(f.height) - 1 - y : y; }
}  // namespace

void to_rgba(const FrameBuf& f, std::vector<uint8_t>& rgba) {
  const int w = int(f.width), h = int(f.height);
  rgba.assign(size_t(w) * h * 4, 255);
  RgbLayout rl;
  if (rgb_layout(f.format, rl)) {
    for (int y = 0; y < h; ++y) {
      const uint8_t* s = f.plane[0].data() + size_t(stored_row(f, y)) * f.linesize[0];
      uint8_t* d = rgba.data() + size_t(y) * w * 4;
      for (int x = 0; x < w; ++x, s += rl.bytes, d += 4) {
        d[0] = s[rl.r];
        d[1] = s[rl.g];
        d[2] = s[rl.b];
        if (rl.a >= 0) d[3] = s[rl.a];
      }
    }
    return;
  }
  YuvLayout l;
  if (!yuv_layout(f.format, l)) return;
  const YuvToRgb conv(f);
  for (int y = 0; y < h; ++y) {
    const int sy = stored_row(f, y);
    const uint8_t* row[3];
    for (int k = 0; k < 3; ++k)
      row[k] = f.plane[l.plane[k]].data() + size_t(k == 0 ? sy : (sy >> l.sy)) * f.linesize[l.plane[k]] + l.offset[k];
    uint8_t* d = rgba.data() + size_t(y) * w * 4;
    for (int x = 0; x < w; ++x, d += 4) {
      const int cx = x >> l.sx;
      conv(row[0][x * l.step[0]], row[1][cx * l.step[1]], row[2][cx * l.step[2]], d);
    }
  }
}

long write_back(FrameBuf& f, const std::vector<uint8_t>& original, const std::vector<uint8_t>& edited) {
  const int w = int(f.width), h = int(f.height);
  // x, y below are stored positions; original and edited are upright.
  auto at = [&](int x, int y) { return (size_t(stored_row(f, y)) * w + x) * 4; };
  auto changed = [&](int x, int y) {
    const size_t i = at(x, y);
    return std::memcmp(&original[i], &edited[i], 4) != 0;
  };
  long count = 0;
  RgbLayout rl;
  if (rgb_layout(f.format, rl)) {
    for (int y = 0; y < h; ++y) {
      uint8_t* d = f.plane[0].data() + size_t(y) * f.linesize[0];
      for (int x = 0; x < w; ++x, d += rl.bytes) {
        if (!changed(x, y)) continue;
        const uint8_t* s = &edited[at(x, y)];
        d[rl.r] = s[0];
        d[rl.g] = s[1];
        d[rl.b] = s[2];
        if (rl.a >= 0) d[rl.a] = s[3];
        ++count;
      }
    }
    return count;
  }
  YuvLayout l;
  if (!yuv_layout(f.format, l)) return 0;
  const RgbToYuv conv(f);
  // Luma per changed pixel.
  for (int y = 0; y < h; ++y) {
    uint8_t* row = f.plane[l.plane[0]].data() + size_t(y) * f.linesize[l.plane[0]] + l.offset[0];
    for (int x = 0; x < w; ++x) {
      if (!changed(x, y)) continue;
      double yuv[3];
      conv(&edited[at(x, y)], yuv);
      row[x * l.step[0]] = clamp_byte(yuv[0]);
      ++count;
    }
  }
  if (!count) return 0;
  // Chroma per sample whose block has a changed pixel: the block's mean of the edited pixels.
  const int bw = 1 << l.sx, bh = 1 << l.sy;
  const int cw = (w + bw - 1) / bw, ch = (h + bh - 1) / bh;
  for (int cy = 0; cy < ch; ++cy) {
    uint8_t* urow = f.plane[l.plane[1]].data() + size_t(cy) * f.linesize[l.plane[1]] + l.offset[1];
    uint8_t* vrow = f.plane[l.plane[2]].data() + size_t(cy) * f.linesize[l.plane[2]] + l.offset[2];
    for (int cx = 0; cx < cw; ++cx) {
      bool any = false;
      for (int dy = 0; dy < bh && !any; ++dy)
        for (int dx = 0; dx < bw && !any; ++dx)
          any = cy * bh + dy < h && cx * bw + dx < w && changed(cx * bw + dx, cy * bh + dy);
      if (!any) continue;
      double su = 0, sv = 0;
      int n = 0;
      for (int dy = 0; dy < bh; ++dy) {
        const int y = cy * bh + dy;
        if (y >= h) break;
        for (int dx = 0; dx < bw; ++dx) {
          const int x = cx * bw + dx;
          if (x >= w) break;
          double yuv[3];
          conv(&edited[at(x, y)], yuv);
          su += yuv[1];
          sv += yuv[2];
          ++n;
        }
      }
      urow[cx * l.step[1]] = clamp_byte(su / n);
      vrow[cx * l.step[2]] = clamp_byte(sv / n);
    }
  }
  return count;
}

bool same_picture_kind(const FrameBuf& a, const FrameBuf& b) {
  return a.format == b.format && a.width == b.width && a.height == b.height && a.flip == b.flip &&
         a.full_range == b.full_range && std::equal(a.color_matrix, a.color_matrix + 16, b.color_matrix) &&
         std::equal(a.range_min, a.range_min + 3, b.range_min) && std::equal(a.range_max, a.range_max + 3, b.range_max);
}

bool should_paste(const FrameBuf& live, const FrameBuf* result, uint64_t seq, bool hold_last,
                  uint64_t last_shown_seq) {
  return result && same_picture_kind(live, *result) && (hold_last || seq != last_shown_seq);
}

}  // namespace mmobs
