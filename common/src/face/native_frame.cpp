// Every conversion between a frame's own samples and RGB (see native_frame.h).
#include <micromotion/error.h>
#include <micromotion/native_frame.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace micromotion {
namespace {

// Where one component's samples are: plane, bytes between horizontally adjacent samples, byte
// offset of the first, and the shift of the value inside a 16-bit container (p010 keeps the
// value in the high bits). step == 0: the format has no such component.
struct Component {
  int plane = 0, step = 0, offset = 0, shift = 0;
};

struct Layout {
  FormatInfo info;
  // RGB formats: R, G, B, A. YUV formats: Y, U, V, A.
  Component c[4];
};

const Layout kLayouts[kPixelFormatCount] = {
    {{"rgb24", true, false, 8, 1, 0, 0}, {{0, 3, 0}, {0, 3, 1}, {0, 3, 2}, {}}},
    {{"rgba", true, true, 8, 1, 0, 0}, {{0, 4, 0}, {0, 4, 1}, {0, 4, 2}, {0, 4, 3}}},
    {{"bgr24", true, false, 8, 1, 0, 0}, {{0, 3, 2}, {0, 3, 1}, {0, 3, 0}, {}}},
    {{"bgra", true, true, 8, 1, 0, 0}, {{0, 4, 2}, {0, 4, 1}, {0, 4, 0}, {0, 4, 3}}},
    {{"argb", true, true, 8, 1, 0, 0}, {{0, 4, 1}, {0, 4, 2}, {0, 4, 3}, {0, 4, 0}}},
    {{"abgr", true, true, 8, 1, 0, 0}, {{0, 4, 3}, {0, 4, 2}, {0, 4, 1}, {0, 4, 0}}},
    {{"rgb0", true, false, 8, 1, 0, 0}, {{0, 4, 0}, {0, 4, 1}, {0, 4, 2}, {}}},
    {{"bgr0", true, false, 8, 1, 0, 0}, {{0, 4, 2}, {0, 4, 1}, {0, 4, 0}, {}}},
    {{"gray", false, false, 8, 1, 0, 0}, {{0, 1, 0}, {}, {}, {}}},
    {{"yuv420p", false, false, 8, 3, 1, 1}, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
    {{"yuv422p", false, false, 8, 3, 1, 0}, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
    {{"yuv444p", false, false, 8, 3, 0, 0}, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {}}},
    {{"yuva420p", false, true, 8, 4, 1, 1}, {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {3, 1, 0}}},
    {{"nv12", false, false, 8, 2, 1, 1}, {{0, 1, 0}, {1, 2, 0}, {1, 2, 1}, {}}},
    {{"nv21", false, false, 8, 2, 1, 1}, {{0, 1, 0}, {1, 2, 1}, {1, 2, 0}, {}}},
    {{"yuv420p10", false, false, 10, 3, 1, 1}, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
    {{"yuv422p10", false, false, 10, 3, 1, 0}, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
    {{"yuv444p10", false, false, 10, 3, 0, 0}, {{0, 2, 0}, {1, 2, 0}, {2, 2, 0}, {}}},
    {{"p010", false, false, 10, 2, 1, 1}, {{0, 2, 0, 6}, {1, 4, 0, 6}, {1, 4, 2, 6}, {}}},
    {{"yuyv422", false, false, 8, 1, 1, 0}, {{0, 2, 0}, {0, 4, 1}, {0, 4, 3}, {}}},
    {{"uyvy422", false, false, 8, 1, 1, 0}, {{0, 2, 1}, {0, 4, 0}, {0, 4, 2}, {}}},
    {{"yvyu422", false, false, 8, 1, 1, 0}, {{0, 2, 0}, {0, 4, 3}, {0, 4, 1}, {}}},
};

const Layout& layout(PixelFormat f) {
  const int i = static_cast<int>(f);
  if (i < 0 || i >= kPixelFormatCount) throw Error("pixel format " + std::to_string(i) + " is not one micromotion knows");
  return kLayouts[i];
}

bool subsampled(const Layout& l, int comp) { return !l.info.rgb && (comp == 1 || comp == 2); }

// Samples of one component: pointer arithmetic and the container.
struct Samples {
  std::uint8_t* base;
  std::ptrdiff_t stride;
  int step, offset, shift, mask;
  bool wide;
  std::uint8_t* at(int x, int y) const { return base + y * stride + static_cast<std::ptrdiff_t>(x) * step + offset; }
  int get(int x, int y) const {
    const std::uint8_t* p = at(x, y);
    return wide ? ((p[0] | (p[1] << 8)) >> shift) & mask : *p;
  }
  void set(int x, int y, int v) const {
    std::uint8_t* p = at(x, y);
    if (!wide) {
      *p = static_cast<std::uint8_t>(v);
      return;
    }
    const int keep = (p[0] | (p[1] << 8)) & ~(mask << shift) & 0xffff;  // bits outside the value stay
    const int word = keep | (v << shift);
    p[0] = static_cast<std::uint8_t>(word & 0xff);
    p[1] = static_cast<std::uint8_t>(word >> 8);
  }
};

Samples samples(const NativeFrame& f, const Layout& l, int comp) {
  const Component& c = l.c[comp];
  return {f.data[c.plane], f.stride[c.plane], c.step, c.offset, c.shift, (1 << l.info.depth) - 1, l.info.depth > 8};
}

// The colour model of a YUV frame: Y' = Kr R + Kg G + Kb B, Pb = (B - Y') / (2 (1 - Kb)),
// Pr = (R - Y') / (2 (1 - Kr)), and the sample value of each: Y = y_off + Y' y_scale,
// C = c_off + P c_scale.
struct Yuv {
  double kr, kg, kb;
  double y_off, y_scale, c_off, c_scale;
};

Yuv yuv_model(ColorMatrix m, ColorRange r, int depth) {
  Yuv v{};
  switch (m) {
    case ColorMatrix::bt709: v.kr = 0.2126, v.kb = 0.0722; break;
    case ColorMatrix::bt2020: v.kr = 0.2627, v.kb = 0.0593; break;
    default: v.kr = 0.299, v.kb = 0.114; break;
  }
  v.kg = 1.0 - v.kr - v.kb;
  const double unit = std::ldexp(1.0, depth - 8);
  if (r == ColorRange::full) {
    v.y_off = 0, v.y_scale = std::ldexp(1.0, depth) - 1;
    v.c_off = std::ldexp(1.0, depth - 1), v.c_scale = std::ldexp(1.0, depth) - 1;
  } else {
    v.y_off = 16 * unit, v.y_scale = 219 * unit, v.c_off = 128 * unit, v.c_scale = 224 * unit;
  }
  return v;
}

int clamp_round(double v, int max) { return static_cast<int>(std::clamp(std::lround(v), 0L, static_cast<long>(max))); }

}  // namespace

const FormatInfo& format_info(PixelFormat format) { return layout(format).info; }

std::optional<PixelFormat> parse_pixel_format(const std::string& name) {
  for (int i = 0; i < kPixelFormatCount; ++i)
    if (name == kLayouts[i].info.name) return static_cast<PixelFormat>(i);
  return std::nullopt;
}

const char* matrix_name(ColorMatrix m) {
  return m == ColorMatrix::bt709 ? "bt709" : m == ColorMatrix::bt2020 ? "bt2020" : "bt601";
}
const char* range_name(ColorRange r) { return r == ColorRange::full ? "full" : "limited"; }

std::size_t plane_row_bytes(PixelFormat format, int width, int plane) {
  const Layout& l = layout(format);
  const int bytes = l.info.depth > 8 ? 2 : 1;
  std::size_t row = 0;
  for (int k = 0; k < 4; ++k) {
    const Component& c = l.c[k];
    if (!c.step || c.plane != plane) continue;
    const int lw = subsampled(l, k) ? l.info.log2_chroma_w : 0;
    const std::size_t n = static_cast<std::size_t>(((width + (1 << lw) - 1) >> lw));
    row = std::max(row, (n - 1) * c.step + c.offset + bytes);
  }
  return row;
}

int plane_rows(PixelFormat format, int height, int plane) {
  const Layout& l = layout(format);
  int rows = 0;
  for (int k = 0; k < 4; ++k) {
    const Component& c = l.c[k];
    if (!c.step || c.plane != plane) continue;
    const int lh = subsampled(l, k) ? l.info.log2_chroma_h : 0;
    rows = std::max(rows, (height + (1 << lh) - 1) >> lh);
  }
  return rows;
}

void check_frame(const NativeFrame& f) {
  const int i = static_cast<int>(f.format);
  if (i < 0 || i >= kPixelFormatCount) throw Error("frame: unknown pixel format " + std::to_string(i));
  const FormatInfo& info = format_info(f.format);
  if (f.width < 1 || f.height < 1)
    throw Error("frame: size " + std::to_string(f.width) + "x" + std::to_string(f.height) + " (" + info.name + ")");
  if (f.rotation != 0 && f.rotation != 90 && f.rotation != 180 && f.rotation != 270)
    throw Error("frame: rotation " + std::to_string(f.rotation) + " (0, 90, 180 or 270 degrees)");
  if (!info.rgb && (static_cast<int>(f.matrix) < 0 || static_cast<int>(f.matrix) > 2 ||
                    static_cast<int>(f.range) < 0 || static_cast<int>(f.range) > 1))
    throw Error(std::string("frame: unknown colour matrix or range (") + info.name + ")");
  for (int p = 0; p < info.planes; ++p) {
    if (!f.data[p]) throw Error(std::string("frame: plane ") + std::to_string(p) + " of " + info.name + " is NULL");
    const std::size_t need = plane_row_bytes(f.format, f.width, p);
    if (f.stride[p] < static_cast<std::ptrdiff_t>(need))
      throw Error(std::string("frame: plane ") + std::to_string(p) + " of a " + std::to_string(f.width) + " pixel wide " +
                  info.name + " frame needs a stride of at least " + std::to_string(need) + " bytes, got " +
                  std::to_string(f.stride[p]));
  }
}

NativeFrame native_view(ImageRGB8& image) {
  NativeFrame f;
  f.data[0] = image.data();
  f.stride[0] = image.stride();
  f.width = image.width();
  f.height = image.height();
  f.format = PixelFormat::rgb24;
  return f;
}

ImageView rgb8_view(const NativeFrame& f, ImageRGB8& scratch) {
  check_frame(f);
  if (f.format == PixelFormat::rgb24) return {f.data[0], f.width, f.height, f.stride[0]};
  if (scratch.width() != f.width || scratch.height() != f.height) scratch = ImageRGB8(f.width, f.height);
  const Layout& l = layout(f.format);
  const int w = f.width;
  std::vector<int> a(static_cast<size_t>(w)), b(a.size()), c(a.size());
  if (l.info.rgb) {
    const Samples s[3] = {samples(f, l, 0), samples(f, l, 1), samples(f, l, 2)};
    for (int y = 0; y < f.height; ++y) {
      std::uint8_t* d = scratch.row(y);
      for (int k = 0; k < 3; ++k) {
        const std::uint8_t* p = s[k].at(0, y);
        for (int x = 0; x < w; ++x) d[3 * x + k] = p[x * s[k].step];
      }
    }
    return scratch.view();
  }
  // Fixed point (16 fractional bits) from the same model read_rgb uses in double precision.
  const Yuv m = yuv_model(f.matrix, f.range, l.info.depth);
  const double k = 255.0 * 65536.0;
  const int cy = static_cast<int>(std::lround(k / m.y_scale));
  const int crv = static_cast<int>(std::lround(k * 2 * (1 - m.kr) / m.c_scale));
  const int cbu = static_cast<int>(std::lround(k * 2 * (1 - m.kb) / m.c_scale));
  const int cgu = static_cast<int>(std::lround(k * 2 * (1 - m.kb) * m.kb / m.kg / m.c_scale));
  const int cgv = static_cast<int>(std::lround(k * 2 * (1 - m.kr) * m.kr / m.kg / m.c_scale));
  const int yo = static_cast<int>(m.y_off), co = static_cast<int>(m.c_off);
  const bool gray = !l.c[1].step;
  const Samples sy = samples(f, l, 0);
  const Samples su = gray ? sy : samples(f, l, 1), sv = gray ? sy : samples(f, l, 2);
  const int lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
  for (int y = 0; y < f.height; ++y) {
    // Gather the row's samples (nearest chroma), then convert in a loop the compiler vectorizes.
    if (!sy.wide && sy.step == 1) {
      const std::uint8_t* p = sy.at(0, y);
      for (int x = 0; x < w; ++x) a[x] = p[x];
    } else {
      for (int x = 0; x < w; ++x) a[x] = sy.get(x, y);
    }
    if (gray) {
      std::fill(b.begin(), b.end(), co);
      std::fill(c.begin(), c.end(), co);
    } else if (!su.wide && su.step == 1 && sv.step == 1) {
      const std::uint8_t* pu = su.at(0, y >> lh);
      const std::uint8_t* pv = sv.at(0, y >> lh);
      for (int x = 0; x < w; ++x) {
        b[x] = pu[x >> lw];
        c[x] = pv[x >> lw];
      }
    } else {
      for (int x = 0; x < w; ++x) {
        b[x] = su.get(x >> lw, y >> lh);
        c[x] = sv.get(x >> lw, y >> lh);
      }
    }
    std::uint8_t* d = scratch.row(y);
    for (int x = 0; x < w; ++x) {
      const int yy = cy * (a[x] - yo) + 32768, u = b[x] - co, v = c[x] - co;
      const int r = (yy + crv * v) >> 16, g = (yy - cgu * u - cgv * v) >> 16, bl = (yy + cbu * u) >> 16;
      d[3 * x] = static_cast<std::uint8_t>(std::clamp(r, 0, 255));
      d[3 * x + 1] = static_cast<std::uint8_t>(std::clamp(g, 0, 255));
      d[3 * x + 2] = static_cast<std::uint8_t>(std::clamp(bl, 0, 255));
    }
  }
  return scratch.view();
}

ImageRGB8 turned_rgb8(const ImageView& src, int degrees) {
  degrees = ((degrees % 360) + 360) % 360;
  const int w = src.width, h = src.height;
  ImageRGB8 dst = degrees == 90 || degrees == 270 ? ImageRGB8(h, w) : ImageRGB8(w, h);
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* s = src.row(y);
    for (int x = 0; x < w; ++x, s += 3) {
      std::uint8_t* d = degrees == 0     ? dst.pixel(x, y)
                        : degrees == 90  ? dst.pixel(h - 1 - y, x)
                        : degrees == 180 ? dst.pixel(w - 1 - x, h - 1 - y)
                                         : dst.pixel(y, w - 1 - x);
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
  return dst;
}

std::vector<float> read_rgb(const NativeFrame& f, const PixelRect& r) {
  check_frame(f);
  if (r.x < 0 || r.y < 0 || r.width < 0 || r.height < 0 || r.x + r.width > f.width || r.y + r.height > f.height)
    throw Error("read_rgb: rectangle outside the frame");
  const Layout& l = layout(f.format);
  std::vector<float> out(static_cast<size_t>(r.width) * r.height * 3);
  float* o = out.data();
  if (l.info.rgb) {
    const Samples s[3] = {samples(f, l, 0), samples(f, l, 1), samples(f, l, 2)};
    const float scale = 1.0f / static_cast<float>((1 << l.info.depth) - 1);
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x)
        for (int k = 0; k < 3; ++k) *o++ = static_cast<float>(s[k].get(x, y)) * scale;
    return out;
  }
  const Yuv m = yuv_model(f.matrix, f.range, l.info.depth);
  const bool gray = !l.c[1].step;
  const Samples sy = samples(f, l, 0);
  const Samples su = gray ? sy : samples(f, l, 1), sv = gray ? sy : samples(f, l, 2);
  const int lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
  for (int y = r.y; y < r.y + r.height; ++y)
    for (int x = r.x; x < r.x + r.width; ++x) {
      const double yp = (sy.get(x, y) - m.y_off) / m.y_scale;
      const double pb = gray ? 0.0 : (su.get(x >> lw, y >> lh) - m.c_off) / m.c_scale;
      const double pr = gray ? 0.0 : (sv.get(x >> lw, y >> lh) - m.c_off) / m.c_scale;
      const double R = yp + 2 * (1 - m.kr) * pr, B = yp + 2 * (1 - m.kb) * pb;
      const double G = (yp - m.kr * R - m.kb * B) / m.kg;
      *o++ = static_cast<float>(R);
      *o++ = static_cast<float>(G);
      *o++ = static_cast<float>(B);
    }
  return out;
}

PixelRect apply_change(NativeFrame& f, const FrameChange& ch) {
  check_frame(f);
  const PixelRect& r = ch.rect;
  if (r.x < 0 || r.y < 0 || r.width < 0 || r.height < 0 || r.x + r.width > f.width || r.y + r.height > f.height)
    throw Error("apply_change: rectangle outside the frame");
  const size_t n = static_cast<size_t>(r.width) * r.height;
  if (ch.delta.size() != 3 * n || ch.covered.size() != n) throw Error("apply_change: change of the wrong size");
  const Layout& l = layout(f.format);
  const int max = (1 << l.info.depth) - 1;
  int bx0 = f.width, by0 = f.height, bx1 = -1, by1 = -1;  // box of written samples, inclusive
  auto grow = [&](int x0, int y0, int x1, int y1) {
    bx0 = std::min(bx0, x0), by0 = std::min(by0, y0), bx1 = std::max(bx1, x1), by1 = std::max(by1, y1);
  };
  auto index = [&](int x, int y) { return static_cast<size_t>(y - r.y) * r.width + (x - r.x); };

  if (l.info.rgb) {
    const Samples s[3] = {samples(f, l, 0), samples(f, l, 1), samples(f, l, 2)};
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x) {
        const size_t i = index(x, y);
        if (!ch.covered[i]) continue;
        bool wrote = false;
        for (int k = 0; k < 3; ++k) {
          const int old = s[k].get(x, y);
          const int v = clamp_round(old + static_cast<double>(ch.delta[3 * i + k]) * max, max);
          if (v != old) s[k].set(x, y, v), wrote = true;
        }
        if (wrote) grow(x, y, x, y);
      }
  } else {
    const Yuv m = yuv_model(f.matrix, f.range, l.info.depth);
    auto luma_of = [&](size_t i) {
      return m.kr * ch.delta[3 * i] + m.kg * ch.delta[3 * i + 1] + m.kb * ch.delta[3 * i + 2];
    };
    const Samples sy = samples(f, l, 0);
    for (int y = r.y; y < r.y + r.height; ++y)
      for (int x = r.x; x < r.x + r.width; ++x) {
        const size_t i = index(x, y);
        if (!ch.covered[i]) continue;
        const int old = sy.get(x, y);
        const int v = clamp_round(old + luma_of(i) * m.y_scale, max);
        if (v != old) sy.set(x, y, v), grow(x, y, x, y);
      }
    if (l.c[1].step) {
      const Samples su = samples(f, l, 1), sv = samples(f, l, 2);
      const int lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
      for (int cy = r.y >> lh; cy <= (r.y + r.height - 1) >> lh; ++cy)
        for (int cx = r.x >> lw; cx <= (r.x + r.width - 1) >> lw; ++cx) {
          // The block of pixels this chroma sample covers, inside the frame.
          const int x0 = cx << lw, y0 = cy << lh;
          const int x1 = std::min(f.width, (cx + 1) << lw), y1 = std::min(f.height, (cy + 1) << lh);
          double db = 0, dr = 0;
          bool any = false;
          for (int y = std::max(y0, r.y); y < std::min(y1, r.y + r.height); ++y)
            for (int x = std::max(x0, r.x); x < std::min(x1, r.x + r.width); ++x) {
              const size_t i = index(x, y);
              if (!ch.covered[i]) continue;
              any = true;
              const double dy = luma_of(i);
              db += (ch.delta[3 * i + 2] - dy) / (2 * (1 - m.kb));
              dr += (ch.delta[3 * i] - dy) / (2 * (1 - m.kr));
            }
          if (!any) continue;
          const double count = static_cast<double>((x1 - x0) * (y1 - y0));
          const int ou = su.get(cx, cy), ov = sv.get(cx, cy);
          const int u = clamp_round(ou + db / count * m.c_scale, max), v = clamp_round(ov + dr / count * m.c_scale, max);
          if (u != ou) su.set(cx, cy, u);
          if (v != ov) sv.set(cx, cy, v);
          if (u != ou || v != ov) grow(x0, y0, x1 - 1, y1 - 1);
        }
    }
  }
  if (bx1 < 0) return {};
  return {bx0, by0, bx1 - bx0 + 1, by1 - by0 + 1};
}

void copy_frame(const NativeFrame& from, NativeFrame& to) {
  check_frame(from);
  check_frame(to);
  if (from.format != to.format || from.width != to.width || from.height != to.height)
    throw Error("copy_frame: frames differ in format or size");
  const FormatInfo& info = format_info(from.format);
  for (int p = 0; p < info.planes; ++p) {
    const size_t row = plane_row_bytes(from.format, from.width, p);
    const int rows = plane_rows(from.format, from.height, p);
    if (from.data[p] == to.data[p] && from.stride[p] == to.stride[p]) continue;
    for (int y = 0; y < rows; ++y) std::memmove(to.data[p] + y * to.stride[p], from.data[p] + y * from.stride[p], row);
  }
}

FrameBuffer FrameBuffer::copy_of(const NativeFrame& f) {
  check_frame(f);
  FrameBuffer b;
  b.frame_ = f;
  const FormatInfo& info = format_info(f.format);
  size_t total = 0;
  for (int p = 0; p < info.planes; ++p) total += plane_row_bytes(f.format, f.width, p) * plane_rows(f.format, f.height, p);
  b.bytes_.resize(total);
  size_t at = 0;
  for (int p = 0; p < 4; ++p) {
    b.frame_.data[p] = nullptr;
    b.frame_.stride[p] = 0;
    if (p >= info.planes) continue;
    b.frame_.data[p] = b.bytes_.data() + at;
    b.frame_.stride[p] = static_cast<std::ptrdiff_t>(plane_row_bytes(f.format, f.width, p));
    at += static_cast<size_t>(b.frame_.stride[p]) * plane_rows(f.format, f.height, p);
  }
  copy_frame(f, b.frame_);
  return b;
}

void FrameBuffer::copy_to(NativeFrame& out) const { copy_frame(frame_, out); }

}  // namespace micromotion
