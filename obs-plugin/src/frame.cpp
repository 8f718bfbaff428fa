#include "frame.hpp"

#include <media-io/video-io.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mmobs {

namespace {

// OBS's formats the engine reads natively, with its name for them (10-bit ones: little-endian,
// I010 in the low bits as yuv420p10le, P010 in the high bits).
struct Native {
  video_format obs;
  mm_pixel_format mm;
};
constexpr Native kNative[] = {
    {VIDEO_FORMAT_I420, MM_PIXEL_YUV420P}, {VIDEO_FORMAT_NV12, MM_PIXEL_NV12},
    {VIDEO_FORMAT_I422, MM_PIXEL_YUV422P}, {VIDEO_FORMAT_I444, MM_PIXEL_YUV444P},
    {VIDEO_FORMAT_YUY2, MM_PIXEL_YUYV422}, {VIDEO_FORMAT_UYVY, MM_PIXEL_UYVY422},
    {VIDEO_FORMAT_YVYU, MM_PIXEL_YVYU422}, {VIDEO_FORMAT_I40A, MM_PIXEL_YUVA420P},
    {VIDEO_FORMAT_I010, MM_PIXEL_YUV420P10}, {VIDEO_FORMAT_P010, MM_PIXEL_P010},
    {VIDEO_FORMAT_I210, MM_PIXEL_YUV422P10}, {VIDEO_FORMAT_RGBA, MM_PIXEL_RGBA},
    {VIDEO_FORMAT_BGRA, MM_PIXEL_BGRA},     {VIDEO_FORMAT_BGRX, MM_PIXEL_BGR0},
    {VIDEO_FORMAT_BGR3, MM_PIXEL_BGR24},    {VIDEO_FORMAT_Y800, MM_PIXEL_GRAY8},
};

const Native* native(int format) {
  for (const Native& n : kNative)
    if (int(n.obs) == format) return &n;
  return nullptr;
}

}  // namespace

bool format_supported(int format) { return native(format) != nullptr; }

const char* format_name(int format) { return get_video_format_name(static_cast<enum video_format>(format)); }

int plane_count(int format) {
  const Native* n = native(format);
  if (!n) return 0;
  int planes = 0;
  while (planes < 4 && mm_plane_rows(n->mm, 1, planes) > 0) ++planes;
  return planes;
}

uint32_t plane_rows(int format, int p, uint32_t height) {
  const Native* n = native(format);
  return n && height > 0 ? uint32_t(mm_plane_rows(n->mm, int(height), p)) : 0;
}

void copy_in(FrameBuf& dst, int format, uint32_t width, uint32_t height, uint8_t* const data[],
             const uint32_t linesize[], bool flip) {
  dst.format = format;
  dst.width = width;
  dst.height = height;
  dst.flip = flip;
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = plane_rows(format, p, height);
    dst.linesize[p] = rows ? linesize[p] : 0;
    dst.plane[p].resize(size_t(rows) * dst.linesize[p]);
    for (uint32_t y = 0; y < rows; ++y)
      std::memcpy(dst.plane[p].data() + size_t(y) * dst.linesize[p],
                  data[p] + size_t(flip ? rows - 1 - y : y) * linesize[p], dst.linesize[p]);
  }
}

void copy_out(const FrameBuf& src, uint8_t* const data[], const uint32_t linesize[]) {
  for (int p = 0; p < 4; ++p) {
    const uint32_t rows = plane_rows(src.format, p, src.height);
    const size_t n = std::min(src.linesize[p], linesize[p]);
    for (uint32_t y = 0; y < rows; ++y)
      std::memcpy(data[p] + size_t(src.flip ? rows - 1 - y : y) * linesize[p],
                  src.plane[p].data() + size_t(y) * src.linesize[p], n);
  }
}

Colour colour_of(const FrameBuf& f) {
  Colour c;
  c.range = f.full_range ? MM_RANGE_FULL : MM_RANGE_LIMITED;
  const struct {
    video_colorspace cs;
    mm_color_matrix mm;
  } standard[] = {{VIDEO_CS_601, MM_MATRIX_BT601}, {VIDEO_CS_709, MM_MATRIX_BT709}, {VIDEO_CS_2100_PQ, MM_MATRIX_BT2020}};
  double best = INFINITY;
  for (const auto& s : standard) {
    float m[16], lo[3], hi[3];
    if (!video_format_get_parameters_for_format(s.cs, f.full_range ? VIDEO_RANGE_FULL : VIDEO_RANGE_PARTIAL,
                                                static_cast<video_format>(f.format), m, lo, hi))
      continue;
    double d = 0;
    for (int i = 0; i < 16; ++i) d = std::max(d, double(std::abs(m[i] - f.color_matrix[i])));
    if (d < best) {
      best = d;
      c.matrix = s.mm;
    }
  }
  c.exact = best < 1e-4;
  return c;
}

mm_frame engine_frame(FrameBuf& f, const Colour& colour) {
  mm_frame m{};
  const Native* n = native(f.format);
  m.format = n ? n->mm : MM_PIXEL_RGB24;
  for (int p = 0; p < 4; ++p) {
    m.data[p] = f.plane[p].empty() ? nullptr : f.plane[p].data();
    m.stride[p] = ptrdiff_t(f.linesize[p]);
  }
  m.width = int(f.width);
  m.height = int(f.height);
  m.matrix = colour.matrix;
  m.range = colour.range;
  m.time = double(f.timestamp) / 1e9;
  m.pts = int64_t(f.timestamp);
  return m;
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
