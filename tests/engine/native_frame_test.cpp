// Native frames (micromotion/native_frame.h) against a reference written here from the
// definitions: where each format keeps its samples (FFmpeg's pixel formats), the BT.601, BT.709
// and BT.2020 luma weights and the limited and full ranges, in double precision. Every format is
// checked on seeded random frames of odd width and height with padded rows, through both kernel
// paths (the x86-64-v3 one where the CPU has it, and the portable one that
// MICROMOTION_PORTABLE_KERNELS selects). No models needed.
#include <micromotion/error.h>
#include <micromotion/native_frame.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace mm = micromotion;

namespace {

using mm::ColorMatrix;
using mm::ColorRange;
using mm::PixelFormat;

// ---- The reference: layouts ----

enum class Family { packed_rgb, gray, planar, semi_planar, packed_yuv };

struct RefFormat {
  PixelFormat format;
  const char* name;
  Family family;
  int depth;
  int log2_w, log2_h;  // chroma subsampling
  // packed_rgb: the bytes of a pixel (0: padding); semi_planar: the chroma pair; packed_yuv: the
  // bytes of two pixels.
  const char* order;
  bool high_bits = false;    // p010: the 10 bits at the top of each 16-bit word
  bool alpha_plane = false;  // yuva420p: a fourth plane
};

const RefFormat kFormats[] = {
    {PixelFormat::rgb24, "rgb24", Family::packed_rgb, 8, 0, 0, "RGB"},
    {PixelFormat::rgba, "rgba", Family::packed_rgb, 8, 0, 0, "RGBA"},
    {PixelFormat::bgr24, "bgr24", Family::packed_rgb, 8, 0, 0, "BGR"},
    {PixelFormat::bgra, "bgra", Family::packed_rgb, 8, 0, 0, "BGRA"},
    {PixelFormat::argb, "argb", Family::packed_rgb, 8, 0, 0, "ARGB"},
    {PixelFormat::abgr, "abgr", Family::packed_rgb, 8, 0, 0, "ABGR"},
    {PixelFormat::rgb0, "rgb0", Family::packed_rgb, 8, 0, 0, "RGB0"},
    {PixelFormat::bgr0, "bgr0", Family::packed_rgb, 8, 0, 0, "BGR0"},
    {PixelFormat::gray, "gray", Family::gray, 8, 0, 0, ""},
    {PixelFormat::yuv420p, "yuv420p", Family::planar, 8, 1, 1, ""},
    {PixelFormat::yuv422p, "yuv422p", Family::planar, 8, 1, 0, ""},
    {PixelFormat::yuv444p, "yuv444p", Family::planar, 8, 0, 0, ""},
    {PixelFormat::yuva420p, "yuva420p", Family::planar, 8, 1, 1, "", false, true},
    {PixelFormat::nv12, "nv12", Family::semi_planar, 8, 1, 1, "UV"},
    {PixelFormat::nv21, "nv21", Family::semi_planar, 8, 1, 1, "VU"},
    {PixelFormat::yuv420p10, "yuv420p10", Family::planar, 10, 1, 1, ""},
    {PixelFormat::yuv422p10, "yuv422p10", Family::planar, 10, 1, 0, ""},
    {PixelFormat::yuv444p10, "yuv444p10", Family::planar, 10, 0, 0, ""},
    {PixelFormat::p010, "p010", Family::semi_planar, 10, 1, 1, "UV", true},
    {PixelFormat::yuyv422, "yuyv422", Family::packed_yuv, 8, 1, 0, "YUYV"},
    {PixelFormat::uyvy422, "uyvy422", Family::packed_yuv, 8, 1, 0, "UYVY"},
    {PixelFormat::yvyu422, "yvyu422", Family::packed_yuv, 8, 1, 0, "YVYU"},
};
static_assert(sizeof(kFormats) / sizeof(kFormats[0]) == mm::kPixelFormatCount, "a reference layout per format");

// Components: 0 Y (or R), 1 U (or G), 2 V (or B), 3 alpha.
bool is_rgb(const RefFormat& f) { return f.family == Family::packed_rgb; }
bool has(const RefFormat& f, int c) {
  switch (f.family) {
    case Family::packed_rgb: return c < 3 || std::strchr(f.order, 'A');
    case Family::gray: return c == 0;
    case Family::planar: return c < 3 || f.alpha_plane;
    default: return c < 3;
  }
}
bool is_chroma(const RefFormat& f, int c) { return !is_rgb(f) && (c == 1 || c == 2); }
int bytes_per_sample(const RefFormat& f) { return f.depth > 8 ? 2 : 1; }
int plane_count(const RefFormat& f) {
  switch (f.family) {
    case Family::planar: return f.alpha_plane ? 4 : 3;
    case Family::semi_planar: return 2;
    default: return 1;
  }
}
int index_of(const char* s, char ch, int nth = 0) {
  for (int i = 0; s[i]; ++i)
    if (s[i] == ch && nth-- == 0) return i;
  ADD_FAILURE() << "no " << ch << " in " << s;
  return 0;
}

struct Where {
  int plane;
  size_t at;  // byte offset in the plane
};

// Where sample (sx, sy) of component c lies.
Where where(const RefFormat& f, const std::array<size_t, 4>& stride, int c, int sx, int sy) {
  const size_t b = static_cast<size_t>(bytes_per_sample(f));
  switch (f.family) {
    case Family::packed_rgb: {
      const size_t px = std::strlen(f.order);
      return {0, sy * stride[0] + sx * px + static_cast<size_t>(index_of(f.order, "RGBA"[c]))};
    }
    case Family::gray: return {0, sy * stride[0] + sx};
    case Family::planar: return {c, sy * stride[static_cast<size_t>(c)] + sx * b};
    case Family::semi_planar:
      if (c == 0) return {0, sy * stride[0] + sx * b};
      return {1, sy * stride[1] + sx * 2 * b + static_cast<size_t>(index_of(f.order, c == 1 ? 'U' : 'V')) * b};
    case Family::packed_yuv:
      if (c == 0) return {0, sy * stride[0] + (sx >> 1) * 4 + static_cast<size_t>(index_of(f.order, 'Y', sx & 1))};
      return {0, sy * stride[0] + sx * 4 + static_cast<size_t>(index_of(f.order, c == 1 ? 'U' : 'V'))};
  }
  return {0, 0};
}

// ---- The reference: colour ----

struct Model {
  double kr, kg, kb;
  double y0, ys, c0, cs;  // sample = y0 + ys Y', c0 + cs P
};

Model model(ColorMatrix m, ColorRange r, int depth) {
  Model v{};
  if (m == ColorMatrix::bt601) v.kr = 0.299, v.kb = 0.114;
  if (m == ColorMatrix::bt709) v.kr = 0.2126, v.kb = 0.0722;
  if (m == ColorMatrix::bt2020) v.kr = 0.2627, v.kb = 0.0593;
  v.kg = 1 - v.kr - v.kb;
  const double max = std::pow(2.0, depth) - 1, unit = std::pow(2.0, depth - 8);
  if (r == ColorRange::full) {
    v.y0 = 0, v.ys = max, v.c0 = std::pow(2.0, depth - 1), v.cs = max;
  } else {
    v.y0 = 16 * unit, v.ys = 219 * unit, v.c0 = 128 * unit, v.cs = 224 * unit;
  }
  return v;
}

double round_clamp(double v, double max) { return std::clamp(std::floor(v + 0.5), 0.0, max); }

// ---- A frame in memory: padded rows, canary bytes wherever no sample is ----

constexpr std::uint8_t kCanary = 0xA5;

struct TestFrame {
  const RefFormat* f;
  int width, height;
  ColorMatrix matrix;
  ColorRange range;
  std::array<std::vector<std::uint8_t>, 4> planes;
  std::array<size_t, 4> stride{}, row_bytes{};
  std::array<int, 4> rows{};
  std::array<std::vector<std::uint8_t>, 4> sample_byte;  // 1 where a byte belongs to a sample

  int cols_of(int c) const { return is_chroma(*f, c) ? (width + (1 << f->log2_w) - 1) >> f->log2_w : width; }
  int rows_of(int c) const { return is_chroma(*f, c) ? (height + (1 << f->log2_h) - 1) >> f->log2_h : height; }

  TestFrame(const RefFormat& format, int w, int h, ColorMatrix m, ColorRange r, std::mt19937& rng)
      : f(&format), width(w), height(h), matrix(m), range(r) {
    const int b = bytes_per_sample(*f);
    for (int c = 0; c < 4; ++c) {  // rows and row bytes: the last sample of each row
      if (!has(*f, c)) continue;
      for (int sx = 0; sx < cols_of(c); ++sx) {
        const Where at = where(*f, stride, c, sx, 0);  // strides still 0: offsets in row 0
        row_bytes[at.plane] = std::max(row_bytes[at.plane], at.at + b);
        rows[at.plane] = std::max(rows[at.plane], rows_of(c));
      }
    }
    for (int p = 0; p < plane_count(*f); ++p) {
      stride[p] = row_bytes[p] + 5 + 2 * p;  // padding the library must leave alone
      planes[p].assign(stride[p] * rows[p], kCanary);
      sample_byte[p].assign(planes[p].size(), 0);
    }
    for (int c = 0; c < 4; ++c) {
      if (!has(*f, c)) continue;
      for (int sy = 0; sy < rows_of(c); ++sy)
        for (int sx = 0; sx < cols_of(c); ++sx) {
          const Where at = where(*f, stride, c, sx, sy);
          for (int k = 0; k < b; ++k) sample_byte[at.plane][at.at + k] = 1;
          unsigned raw = rng() & 0xff;
          if (f->depth == 10) raw = f->high_bits ? ((rng() & 1023u) << 6 | (rng() & 63u)) : rng() & 1023u;
          set_raw(at, raw);
        }
    }
  }

  unsigned raw(const Where& at) const {
    const std::uint8_t* p = planes[at.plane].data() + at.at;
    return bytes_per_sample(*f) == 2 ? unsigned(p[0]) | unsigned(p[1]) << 8 : p[0];
  }
  void set_raw(const Where& at, unsigned v) {
    std::uint8_t* p = planes[at.plane].data() + at.at;
    p[0] = static_cast<std::uint8_t>(v);
    if (bytes_per_sample(*f) == 2) p[1] = static_cast<std::uint8_t>(v >> 8);
  }
  int value(int c, int sx, int sy) const {
    const unsigned v = raw(where(*f, stride, c, sx, sy));
    if (f->depth == 8) return static_cast<int>(v);
    return static_cast<int>(f->high_bits ? v >> 6 : v & 1023u);
  }
  double max_value() const { return std::pow(2.0, f->depth) - 1; }

  mm::NativeFrame native() {
    mm::NativeFrame n;
    for (int p = 0; p < plane_count(*f); ++p) {
      n.data[p] = planes[p].data();
      n.stride[p] = static_cast<std::ptrdiff_t>(stride[p]);
    }
    n.width = width, n.height = height, n.format = f->format, n.matrix = matrix, n.range = range;
    return n;
  }

  // The pixel's RGB in units, from its samples (nearest chroma).
  std::array<double, 3> rgb(int x, int y) const {
    if (is_rgb(*f)) return {value(0, x, y) / 255.0, value(1, x, y) / 255.0, value(2, x, y) / 255.0};
    const Model m = model(matrix, range, f->depth);
    const double yp = (value(0, x, y) - m.y0) / m.ys;
    double pb = 0, pr = 0;
    if (has(*f, 1)) {
      pb = (value(1, x >> f->log2_w, y >> f->log2_h) - m.c0) / m.cs;
      pr = (value(2, x >> f->log2_w, y >> f->log2_h) - m.c0) / m.cs;
    }
    const double r = yp + 2 * (1 - m.kr) * pr, b = yp + 2 * (1 - m.kb) * pb;
    return {r, (yp - m.kr * r - m.kb * b) / m.kg, b};
  }
};

// Both kernel paths: the one the CPU picks, and the portable one.
struct KernelPath {
  explicit KernelPath(bool portable) {
    if (portable)
      setenv("MICROMOTION_PORTABLE_KERNELS", "1", 1);
    else
      unsetenv("MICROMOTION_PORTABLE_KERNELS");
  }
  ~KernelPath() { unsetenv("MICROMOTION_PORTABLE_KERNELS"); }
  KernelPath(const KernelPath&) = delete;
  KernelPath& operator=(const KernelPath&) = delete;
};

struct Size {
  int width, height;
};
// Odd sizes: partial chroma blocks at the right and bottom edges; the wide one runs the
// vectorized loops over several blocks and chunks; an even one ends on whole blocks of them.
const Size kSizes[] = {{37, 23}, {1029, 5}, {40, 4}};

using Param = std::tuple<int, ColorMatrix, ColorRange>;

class NativeFrameFormat : public ::testing::TestWithParam<Param> {
 protected:
  const RefFormat& format() const { return kFormats[std::get<0>(GetParam())]; }
  ColorMatrix matrix() const { return std::get<1>(GetParam()); }
  ColorRange range() const { return std::get<2>(GetParam()); }
  std::string what(int width, int height, bool portable) const {
    std::ostringstream s;
    s << format().name << " " << mm::matrix_name(matrix()) << " " << mm::range_name(range()) << " " << width << "x"
      << height << (portable ? " portable" : " native") << " kernels";
    return s.str();
  }
  std::string what(const TestFrame& t, bool portable) const { return what(t.width, t.height, portable); }
};

TEST_P(NativeFrameFormat, LayoutMatchesTheLibrarys) {
  std::mt19937 rng(1);
  TestFrame t(format(), 37, 23, matrix(), range(), rng);
  EXPECT_STREQ(mm::format_info(format().format).name, format().name);
  EXPECT_EQ(mm::format_info(format().format).depth, format().depth);
  EXPECT_EQ(mm::format_info(format().format).planes, plane_count(format()));
  for (int p = 0; p < plane_count(format()); ++p) {
    EXPECT_EQ(mm::plane_row_bytes(format().format, t.width, p), t.row_bytes[p]) << "plane " << p;
    EXPECT_EQ(mm::plane_rows(format().format, t.height, p), t.rows[p]) << "plane " << p;
  }
  EXPECT_EQ(mm::parse_pixel_format(format().name), format().format);
}

// (a) The whole frame as 8-bit RGB: within 1 level of the reference, rounded and clamped.
TEST_P(NativeFrameFormat, Rgb8ViewMatchesReference) {
  for (const bool portable : {false, true})
    for (const Size& size : kSizes) {
      const KernelPath path(portable);
      std::mt19937 rng(11 + size.width);
      TestFrame t(format(), size.width, size.height, matrix(), range(), rng);
      mm::NativeFrame n = t.native();
      const auto bytes_before = t.planes;
      mm::ImageRGB8 scratch;
      const mm::ImageView v = mm::rgb8_view(n, scratch);
      ASSERT_EQ(v.width, t.width);
      ASSERT_EQ(v.height, t.height);
      if (format().format == PixelFormat::rgb24) {
        EXPECT_EQ(v.data, t.planes[0].data()) << "rgb24 is viewed, not copied";
      }
      const int tolerance = is_rgb(format()) ? 0 : 1;
      int bad = 0, off = 0;
      for (int y = 0; y < t.height; ++y)
        for (int x = 0; x < t.width; ++x) {
          const std::array<double, 3> rgb = t.rgb(x, y);
          for (int k = 0; k < 3; ++k) {
            const double want = round_clamp(255 * rgb[k], 255);
            const int got = v.pixel(x, y)[k];
            off += got != want;
            if (std::abs(got - want) > tolerance && bad++ < 5)
              ADD_FAILURE() << what(t, portable) << ": pixel " << x << "," << y << " component " << k << " is " << got
                            << ", the reference " << want;
          }
        }
      EXPECT_EQ(bad, 0) << what(t, portable);
      // A level off only where the value is next to a tie (the library computes in float).
      EXPECT_LE(off, 3 * t.width * t.height / 200 + 2) << what(t, portable) << ": samples a level off";
      EXPECT_EQ(t.planes, bytes_before) << what(t, portable) << ": rgb8_view changed the frame";
    }
}

// (b) A rectangle's RGB at full precision, unclamped: within 1e-4 of the reference.
TEST_P(NativeFrameFormat, ReadRgbMatchesReference) {
  for (const bool portable : {false, true})
    for (const Size& size : kSizes) {
      const KernelPath path(portable);
      std::mt19937 rng(23 + size.width);
      TestFrame t(format(), size.width, size.height, matrix(), range(), rng);
      const mm::NativeFrame n = t.native();
      const mm::PixelRect rects[] = {{3, 1, std::min(17, t.width - 3), std::min(11, t.height - 1)},
                                     {0, 0, t.width, t.height},
                                     {t.width - 6, t.height - 3, 6, 3},
                                     {t.width / 2 | 1, t.height / 2, 1, 1}};
      for (const mm::PixelRect& r : rects) {
        const std::vector<float> got = mm::read_rgb(n, r);
        ASSERT_EQ(got.size(), static_cast<size_t>(r.width) * r.height * 3);
        int bad = 0;
        for (int y = 0; y < r.height; ++y)
          for (int x = 0; x < r.width; ++x) {
            const std::array<double, 3> want = t.rgb(r.x + x, r.y + y);
            for (int k = 0; k < 3; ++k) {
              const float g = got[(static_cast<size_t>(y) * r.width + x) * 3 + k];
              if (!(std::abs(g - want[k]) <= 1e-4) && bad++ < 5)
                ADD_FAILURE() << what(t, portable) << ": rect " << r.x << "," << r.y << " " << r.width << "x"
                              << r.height << " pixel " << r.x + x << "," << r.y + y << " component " << k
                              << " is " << g << ", the reference " << want[k];
            }
          }
        EXPECT_EQ(bad, 0) << what(t, portable);
      }
      EXPECT_TRUE(mm::read_rgb(n, {2, 2, 0, 0}).empty());
    }
}

// (c) A change on random covered pixels of odd rectangles (partial chroma blocks inside the frame
// and at its edges): covered samples become the reference (old + delta, rounded, clamped; a
// chroma sample the mean delta of the pixels of its block inside the frame) within 1 level;
// samples nothing covered, alpha, padding and the bytes between rows stay bit-exact; the box
// returned is the box of the pixels the changed samples cover.
TEST_P(NativeFrameFormat, ApplyChangeMatchesReference) {
  const RefFormat& f = format();
  for (const bool portable : {false, true})
    for (const Size& size : kSizes) {
      const KernelPath path(portable);
      std::mt19937 rng(37 + size.width);
      const int W = size.width, H = size.height;
      const mm::PixelRect rects[] = {{3, 1, std::min(17, W - 3), std::min(11, H - 1)},  // odd start and end
                                     {W - 17, H - std::min(13, H), 17, std::min(13, H)},  // to the frame's corner
                                     {0, 0, W, H},
                                     {W / 2 | 1, H / 2 | 1, 1, 1},
                                     {3, 1, std::min(17, W - 3), std::min(11, H - 1)}};  // colour, no luma
      int changed = 0, off = 0;
      for (const mm::PixelRect& r : rects) {
        const bool no_luma = &r == &rects[4];
        TestFrame t(f, W, H, matrix(), range(), rng);
        const TestFrame old = t;
        mm::FrameChange ch;
        ch.rect = r;
        const size_t n = static_cast<size_t>(r.width) * r.height;
        ch.covered.resize(n);
        ch.delta.resize(3 * n);
        std::uniform_real_distribution<float> small(-0.06f, 0.06f), large(-0.9f, 0.9f);
        for (size_t i = 0; i < n; ++i) {
          ch.covered[i] = (rng() % 4) != 0;
          const bool big = rng() % 10 == 0;  // clamped at 0 or the maximum
          for (int k = 0; k < 3; ++k) ch.delta[3 * i + k] = big ? large(rng) : small(rng);
          if (no_luma) {  // G such that Y' does not change: only chroma does (and R, B for RGB)
            const Model m = model(matrix(), range(), 8);
            ch.delta[3 * i + 1] = static_cast<float>(-(m.kr * ch.delta[3 * i] + m.kb * ch.delta[3 * i + 2]) / m.kg);
          }
          if (!ch.covered[i] && rng() % 2) ch.delta[3 * i] = std::nanf("");  // ignored where not covered
        }
        mm::NativeFrame nf = t.native();
        const mm::PixelRect box = mm::apply_change(nf, ch);
        const std::string w = what(t, portable) + ", rect " + std::to_string(r.x) + "," + std::to_string(r.y) + " " +
                              std::to_string(r.width) + "x" + std::to_string(r.height);

        // Bytes of no sample, and alpha: bit-exact.
        for (int p = 0; p < plane_count(f); ++p)
          for (size_t i = 0; i < t.planes[p].size(); ++i)
            if (!t.sample_byte[p][i] && t.planes[p][i] != old.planes[p][i]) {
              ADD_FAILURE() << w << ": plane " << p << " byte " << i << " (no sample's) changed";
              break;
            }
        for (int y = 0; has(f, 3) && y < H; ++y)
          for (int x = 0; x < W; ++x) ASSERT_EQ(t.value(3, x, y), old.value(3, x, y)) << w << ": alpha changed";

        const Model m = model(matrix(), range(), f.depth);
        const double max = t.max_value();
        auto inside = [&](int x, int y) { return x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height; };
        auto at = [&](int x, int y) { return static_cast<size_t>(y - r.y) * r.width + (x - r.x); };
        int bx0 = W, by0 = H, bx1 = -1, by1 = -1;  // the changed samples' pixels
        int bad = 0;
        for (int c = 0; c < 3; ++c) {
          if (!has(f, c)) continue;
          const bool chroma = is_chroma(f, c);
          const int lw = chroma ? f.log2_w : 0, lh = chroma ? f.log2_h : 0;
          for (int sy = 0; sy < t.rows_of(c); ++sy)
            for (int sx = 0; sx < t.cols_of(c); ++sx) {
              // The pixels of the sample inside the frame, and the change the reference makes.
              const int x0 = sx << lw, y0 = sy << lh;
              const int x1 = std::min(W, (sx + 1) << lw), y1 = std::min(H, (sy + 1) << lh);
              double sum = 0;
              bool any = false;
              for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x) {
                  if (!inside(x, y) || !ch.covered[at(x, y)]) continue;
                  any = true;
                  const float* d = &ch.delta[3 * at(x, y)];
                  if (is_rgb(f)) {
                    sum += 255.0 * d[c];
                  } else {
                    const double dy = m.kr * d[0] + m.kg * d[1] + m.kb * d[2];
                    if (c == 0) sum += m.ys * dy;
                    if (c == 1) sum += m.cs * (d[2] - dy) / (2 * (1 - m.kb));
                    if (c == 2) sum += m.cs * (d[0] - dy) / (2 * (1 - m.kr));
                  }
                }
              const int before = old.value(c, sx, sy), after = t.value(c, sx, sy);
              const double want = any ? round_clamp(before + sum / ((x1 - x0) * (y1 - y0)), max) : before;
              const bool ok = any ? std::abs(after - want) <= 1 : after == before;
              changed += any, off += after != want;
              if (!ok && bad++ < 5)
                ADD_FAILURE() << w << ": component " << c << " sample " << sx << "," << sy << " was " << before
                              << ", is " << after << ", the reference " << want << (any ? "" : " (not covered)");
              const unsigned raw_before = old.raw(where(f, old.stride, c, sx, sy));
              const unsigned raw_after = t.raw(where(f, t.stride, c, sx, sy));
              if (f.high_bits) {
                EXPECT_EQ(raw_after & 63u, raw_before & 63u) << w << ": p010's low bits changed";
              } else if (f.depth == 10) {
                EXPECT_EQ(raw_after >> 10, raw_before >> 10) << w << ": bits above the 10 changed";
              }
              if (after != before)
                bx0 = std::min(bx0, x0), by0 = std::min(by0, y0), bx1 = std::max(bx1, x1 - 1),
                by1 = std::max(by1, y1 - 1);
            }
        }
        EXPECT_EQ(bad, 0) << w;
        if (no_luma && !is_rgb(f)) {
          for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) ASSERT_EQ(t.value(0, x, y), old.value(0, x, y)) << w << ": luma changed";
        }
        if (bx1 < 0) {
          EXPECT_TRUE(box.empty()) << w << ": nothing changed, the box is " << box.x << "," << box.y << " " << box.width
                                   << "x" << box.height;
        } else {
          EXPECT_EQ(box.x, bx0) << w;
          EXPECT_EQ(box.y, by0) << w;
          EXPECT_EQ(box.width, bx1 - bx0 + 1) << w;
          EXPECT_EQ(box.height, by1 - by0 + 1) << w;
        }
      }
      // A level off only where the value is next to a tie (the library computes in float).
      EXPECT_LE(off, changed / 100 + 2) << what(W, H, portable) << ": samples a level off the reference";
    }
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  return std::string(kFormats[std::get<0>(info.param)].name) + "_" + mm::matrix_name(std::get<1>(info.param)) + "_" +
         mm::range_name(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(EveryFormat, NativeFrameFormat,
                         ::testing::Combine(::testing::Range(0, mm::kPixelFormatCount),
                                            ::testing::Values(ColorMatrix::bt601, ColorMatrix::bt709,
                                                              ColorMatrix::bt2020),
                                            ::testing::Values(ColorRange::limited, ColorRange::full)),
                         param_name);

// ---- (d) Known values: full range and BT.2020 at 10 bits ----

// A 2x2 frame of one colour in a 4:4:4 format, planes owned by the caller.
struct Solid {
  std::vector<std::uint8_t> planes[3];
  mm::NativeFrame frame;
  Solid(PixelFormat format, ColorMatrix m, ColorRange r, unsigned y, unsigned u, unsigned v) {
    const int b = mm::format_info(format).depth > 8 ? 2 : 1;
    const unsigned value[3] = {y, u, v};
    for (int p = 0; p < 3; ++p) {
      planes[p].resize(static_cast<size_t>(4 * b));
      for (int i = 0; i < 4; ++i) {
        planes[p][static_cast<size_t>(i * b)] = static_cast<std::uint8_t>(value[p]);
        if (b == 2) planes[p][static_cast<size_t>(i * b + 1)] = static_cast<std::uint8_t>(value[p] >> 8);
      }
      frame.data[p] = planes[p].data();
      frame.stride[p] = 2 * b;
    }
    frame.width = frame.height = 2;
    frame.format = format, frame.matrix = m, frame.range = r;
  }
  unsigned sample(int p) const {
    const bool wide = mm::format_info(frame.format).depth > 8;
    return wide ? planes[p][0] | planes[p][1] << 8 : planes[p][0];
  }
};

void expect_rgb(const mm::NativeFrame& f, float r, float g, float b, float tolerance, const char* what) {
  const std::vector<float> rgb = mm::read_rgb(f, {0, 0, 2, 2});
  EXPECT_NEAR(rgb[0], r, tolerance) << what;
  EXPECT_NEAR(rgb[1], g, tolerance) << what;
  EXPECT_NEAR(rgb[2], b, tolerance) << what;
}

TEST(NativeFrameKnownValues, Bt2020TenBitLimited) {
  expect_rgb(Solid(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::limited, 64, 512, 512).frame, 0, 0, 0,
             1e-6f, "black");
  expect_rgb(Solid(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::limited, 940, 512, 512).frame, 1, 1, 1,
             1e-6f, "white");
  // Red: Y' = Kr = 0.2627, Pb = -Kr / (2 (1 - Kb)), Pr = 0.5: Y 64 + 876 Y', C 512 + 896 P, rounded.
  Solid red(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::limited, 294, 387, 960);
  expect_rgb(red.frame, 1, 0, 0, 2e-3f, "red");
  mm::ImageRGB8 scratch;
  const mm::ImageView v = mm::rgb8_view(red.frame, scratch);
  EXPECT_EQ(v.pixel(1, 1)[0], 255);
  EXPECT_EQ(v.pixel(1, 1)[1], 0);
  EXPECT_EQ(v.pixel(1, 1)[2], 0);
}

TEST(NativeFrameKnownValues, Bt2020TenBitFull) {
  expect_rgb(Solid(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::full, 0, 512, 512).frame, 0, 0, 0, 1e-6f,
             "black");
  expect_rgb(Solid(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::full, 1023, 512, 512).frame, 1, 1, 1,
             1e-6f, "white");
  // Adding 0.1 of red to mid grey: Y += 1023 Kr 0.1, Cb += 1023 (-Kr 0.1) / (2 (1 - Kb)),
  // Cr += 1023 (0.1 - Kr 0.1) / (2 (1 - Kr)).
  Solid grey(PixelFormat::yuv444p10, ColorMatrix::bt2020, ColorRange::full, 512, 512, 512);
  mm::FrameChange ch;
  ch.rect = {0, 0, 2, 2};
  ch.covered.assign(4, 1);
  ch.delta = {0.1f, 0, 0, 0.1f, 0, 0, 0.1f, 0, 0, 0.1f, 0, 0};
  const mm::PixelRect box = mm::apply_change(grey.frame, ch);
  EXPECT_EQ(grey.sample(0), 512u + 27u);  // 26.87
  EXPECT_EQ(grey.sample(1), 512u - 14u);  // -14.28
  EXPECT_EQ(grey.sample(2), 512u + 51u);  // 51.15
  EXPECT_EQ(box.x, 0);
  EXPECT_EQ(box.width, 2);
  EXPECT_EQ(box.height, 2);
}

TEST(NativeFrameKnownValues, EightBitFullAndLimited) {
  expect_rgb(Solid(PixelFormat::yuv444p, ColorMatrix::bt709, ColorRange::full, 0, 128, 128).frame, 0, 0, 0, 1e-6f,
             "full black");
  expect_rgb(Solid(PixelFormat::yuv444p, ColorMatrix::bt709, ColorRange::full, 255, 128, 128).frame, 1, 1, 1, 1e-6f,
             "full white");
  expect_rgb(Solid(PixelFormat::yuv444p, ColorMatrix::bt601, ColorRange::limited, 16, 128, 128).frame, 0, 0, 0, 1e-6f,
             "limited black");
  expect_rgb(Solid(PixelFormat::yuv444p, ColorMatrix::bt601, ColorRange::limited, 235, 128, 128).frame, 1, 1, 1, 1e-6f,
             "limited white");
  // Limited range lies outside the RGB cube below 16: read_rgb does not clamp, rgb8_view does.
  Solid below(PixelFormat::yuv444p, ColorMatrix::bt601, ColorRange::limited, 0, 128, 128);
  expect_rgb(below.frame, -16.f / 219, -16.f / 219, -16.f / 219, 1e-6f, "below black");
  mm::ImageRGB8 scratch;
  EXPECT_EQ(mm::rgb8_view(below.frame, scratch).pixel(0, 0)[0], 0);
}

TEST(NativeFrameKnownValues, NothingChangesNothingIsReported) {
  Solid grey(PixelFormat::yuv444p, ColorMatrix::bt709, ColorRange::limited, 100, 120, 140);
  mm::FrameChange ch;
  ch.rect = {0, 0, 2, 2};
  ch.covered.assign(4, 1);
  ch.delta.assign(12, 0.0001f);  // less than half a level
  EXPECT_TRUE(mm::apply_change(grey.frame, ch).empty());
  EXPECT_EQ(grey.sample(0), 100u);
  ch.covered.assign(4, 0);
  ch.delta.assign(12, 0.5f);
  EXPECT_TRUE(mm::apply_change(grey.frame, ch).empty());
  EXPECT_EQ(grey.sample(0), 100u);
}

// ---- (e) Frames and changes that are refused, with messages naming the problem ----

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mm::Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(NativeFrameErrors, RefusesBadFrames) {
  std::vector<std::uint8_t> y(64 * 8), u(32 * 4), v(32 * 4);
  mm::NativeFrame f;
  f.format = PixelFormat::yuv420p;
  f.width = 64, f.height = 8;
  f.data = {y.data(), u.data(), v.data(), nullptr};
  f.stride = {64, 32, 32, 0};
  EXPECT_NO_THROW(mm::check_frame(f));
  mm::ImageRGB8 scratch;

  mm::NativeFrame null_plane = f;
  null_plane.data[2] = nullptr;
  std::string e = error_of([&] { mm::check_frame(null_plane); });
  EXPECT_TRUE(contains(e, "plane 2") && contains(e, "NULL") && contains(e, "yuv420p")) << e;
  EXPECT_TRUE(contains(error_of([&] { mm::rgb8_view(null_plane, scratch); }), "NULL"));

  mm::NativeFrame narrow = f;
  narrow.stride[1] = 31;
  e = error_of([&] { mm::check_frame(narrow); });
  EXPECT_TRUE(contains(e, "plane 1") && contains(e, "stride") && contains(e, "32") && contains(e, "31")) << e;
  EXPECT_TRUE(contains(error_of([&] { mm::read_rgb(narrow, {0, 0, 1, 1}); }), "stride"));

  mm::NativeFrame empty = f;
  empty.width = 0;
  e = error_of([&] { mm::check_frame(empty); });
  EXPECT_TRUE(contains(e, "size") && contains(e, "0x8")) << e;
  mm::FrameChange none;
  EXPECT_TRUE(contains(error_of([&] { mm::apply_change(empty, none); }), "size"));

  mm::NativeFrame p010 = f;
  p010.format = PixelFormat::p010;
  p010.stride = {127, 128, 0, 0};
  e = error_of([&] { mm::check_frame(p010); });
  EXPECT_TRUE(contains(e, "plane 0") && contains(e, "p010") && contains(e, "128")) << e;
}

TEST(NativeFrameErrors, RefusesBadRectanglesAndChanges) {
  std::vector<std::uint8_t> px(4 * 4 * 3);
  mm::NativeFrame f;
  f.data[0] = px.data();
  f.stride[0] = 12;
  f.width = f.height = 4;
  EXPECT_TRUE(contains(error_of([&] { mm::read_rgb(f, {2, 2, 3, 1}); }), "outside"));
  mm::FrameChange ch;
  ch.rect = {0, 0, 2, 2};
  ch.covered.assign(4, 1);
  ch.delta.assign(11, 0.f);
  EXPECT_TRUE(contains(error_of([&] { mm::apply_change(f, ch); }), "wrong size"));
  ch.rect = {3, 3, 2, 2};
  ch.delta.assign(12, 0.f);
  EXPECT_TRUE(contains(error_of([&] { mm::apply_change(f, ch); }), "outside"));
}

}  // namespace
