// Every conversion between a frame's own samples and RGB (see native_frame.h).
#include <micromotion/error.h>
#include <micromotion/native_frame.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#if defined(__SSE2__) || (defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__))
#include <immintrin.h>
#endif

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

// The hot loops work a row at a time: a row's samples are read into arrays, converted in loops the
// compiler vectorizes (in float; the 8-bit RGB picture in 16-bit fixed point, as it always was),
// and written back through a row of new values that is compared with the frame's (commit: only
// the bytes whose value changes are stored). With GCC on x86-64 every kernel is also compiled for
// x86-64-v3 (AVX2, FMA: the face layer is not built with -march=native), with AVX2 code for what
// the compiler does not vectorize well (packing 8-bit RGB, interleaving and de-interleaving R, G,
// B, reading interleaved samples), and the CPU picks one. Elsewhere it is all plain C++.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__)
#define MM_X86_64_V3 1
#define MM_AVX2 __attribute__((target("arch=x86-64-v3")))
#else
#define MM_X86_64_V3 0
#endif
#if defined(__GNUC__)
#define MM_INLINE inline __attribute__((always_inline))
#else
#define MM_INLINE inline
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MM_LITTLE_ENDIAN 1
#else
#define MM_LITTLE_ENDIAN 0
#endif

// A kernel is written once, as name_impl<V3>, and compiled twice: for the CPU the library is
// built for and for x86-64-v3. name picks one per call; MICROMOTION_PORTABLE_KERNELS (set, any
// value) keeps to the first, so that tests check both on a machine with AVX2.
#if MM_X86_64_V3
bool use_x86_64_v3() {
  static const bool cpu = __builtin_cpu_supports("x86-64-v3");
  return cpu && !std::getenv("MICROMOTION_PORTABLE_KERNELS");
}
#define MM_DISPATCHED(name, params, args)                     \
  MM_AVX2 void name##_v3 params { name##_impl<true> args; } \
  void name params {                                          \
    if (use_x86_64_v3()) return name##_v3 args;               \
    name##_impl<false> args;                                  \
  }
#else
#define MM_DISPATCHED(name, params, args) \
  void name params { name##_impl<false> args; }
#endif

// Samples of one component: where they are and their container.
struct Samples {
  std::uint8_t* base;  // the plane
  std::ptrdiff_t stride;
  int step, offset, shift;
  unsigned mask;
  bool wide;  // 16-bit little-endian containers
  std::uint8_t* at(int x, int y) const { return base + y * stride + static_cast<std::ptrdiff_t>(x) * step + offset; }
  bool bytes() const { return !wide && step == 1; }  // a plane of its own, one byte a sample
};

Samples samples(const NativeFrame& f, const Layout& l, int comp) {
  const Component& c = l.c[comp];
  return {f.data[c.plane], f.stride[c.plane], c.step, c.offset, c.shift, (1u << l.info.depth) - 1, l.info.depth > 8};
}

#if MM_LITTLE_ENDIAN
MM_INLINE unsigned load16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
MM_INLINE void store16(std::uint8_t* p, unsigned v) {
  const auto w = static_cast<std::uint16_t>(v);
  std::memcpy(p, &w, 2);
}
#else
MM_INLINE unsigned load16(const std::uint8_t* p) { return p[0] | (p[1] << 8); }
MM_INLINE void store16(std::uint8_t* p, unsigned v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
#endif

// out[i] = sample x0 + i of row y, as a float.
template <int Step>
MM_INLINE void gather8(const std::uint8_t* __restrict p, int n, float* __restrict out) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(p[i * Step]);
}
template <int Step>
MM_INLINE void gather16(const std::uint8_t* __restrict p, int n, int shift, unsigned mask, float* __restrict out) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>((load16(p + i * Step) >> shift) & mask);
}
MM_INLINE void gather(const Samples& s, int x0, int y, int n, float* out) {
  const std::uint8_t* p = s.at(x0, y);
  if (s.wide) {
    if (s.step == 4) return gather16<4>(p, n, s.shift, s.mask, out);
    if (s.step == 2) return gather16<2>(p, n, s.shift, s.mask, out);
    for (int i = 0; i < n; ++i) out[i] = static_cast<float>((load16(p + i * s.step) >> s.shift) & s.mask);
    return;
  }
  switch (s.step) {
    case 1: return gather8<1>(p, n, out);
    case 2: return gather8<2>(p, n, out);
    case 3: return gather8<3>(p, n, out);
    case 4: return gather8<4>(p, n, out);
    default:
      for (int i = 0; i < n; ++i) out[i] = static_cast<float>(p[i * s.step]);
  }
}

// Stores v[i] (in the sample's range) as sample i of a row copy whose first sample is at p; the
// bits of a 16-bit container outside the value (p010's low 6) stay.
template <int Step>
MM_INLINE void scatter8(std::uint8_t* __restrict p, int n, const std::int32_t* __restrict v) {
  for (int i = 0; i < n; ++i) p[i * Step] = static_cast<std::uint8_t>(v[i]);
}
template <int Step>
MM_INLINE void scatter16(std::uint8_t* __restrict p, int n, int shift, unsigned mask,
                         const std::int32_t* __restrict v) {
  const unsigned keep = ~(mask << shift) & 0xffffu;
  for (int i = 0; i < n; ++i)
    store16(p + i * Step, (load16(p + i * Step) & keep) | (static_cast<unsigned>(v[i]) << shift));
}
MM_INLINE void scatter(const Samples& s, std::uint8_t* p, int n, const std::int32_t* v) {
  if (s.wide) {
    if (s.step == 4) return scatter16<4>(p, n, s.shift, s.mask, v);
    if (s.step == 2) return scatter16<2>(p, n, s.shift, s.mask, v);
    const unsigned keep = ~(s.mask << s.shift) & 0xffffu;
    for (int i = 0; i < n; ++i)
      store16(p + i * s.step, (load16(p + i * s.step) & keep) | (static_cast<unsigned>(v[i]) << s.shift));
    return;
  }
  switch (s.step) {
    case 1: return scatter8<1>(p, n, v);
    case 2: return scatter8<2>(p, n, v);
    case 4: return scatter8<4>(p, n, v);
    default:
      for (int i = 0; i < n; ++i) p[i * s.step] = static_cast<std::uint8_t>(v[i]);
  }
}

// v rounded to the nearest integer (a tie may go either way) and clamped to [0, max]; NaN gives 0.
MM_INLINE std::int32_t to_sample(float v, float max) {
  float t = v + 0.5f;
  t = t > 0.f ? t : 0.f;
  t = t < max ? t : max;
  return static_cast<std::int32_t>(t);  // t >= 0: truncation is floor
}

// v where mask is all ones, +0 where it is 0 (a select the vectorizer takes, even for NaN v).
MM_INLINE float keep_if(float v, std::int32_t mask) {
  std::int32_t b;
  std::memcpy(&b, &v, 4);
  b &= mask;
  std::memcpy(&v, &b, 4);
  return v;
}

// Stores into dst[0, n) the bytes of src that differ from it, and no other byte. first, last: the
// first and last byte stored (first = -1: none). A block of bytes is compared at once and stored
// whole when all of it differs; where some of it does, only those bytes are stored.
MM_INLINE void commit(std::uint8_t* __restrict dst, const std::uint8_t* __restrict src, std::ptrdiff_t n,
                      std::ptrdiff_t& first, std::ptrdiff_t& last) {
  first = -1, last = -1;
  std::ptrdiff_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= n; i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i));
    unsigned m = ~static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, b))) & 0xffffu;  // bytes that differ
    if (!m) continue;
    if (first < 0) first = i + __builtin_ctz(m);
    last = i + 31 - __builtin_clz(m);
    if (m == 0xffffu) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), b);
      continue;
    }
    do {
      const int j = __builtin_ctz(m);
      dst[i + j] = src[i + j];
      m &= m - 1;
    } while (m);
  }
#elif MM_LITTLE_ENDIAN && defined(__GNUC__)
  for (; i + 8 <= n; i += 8) {
    std::uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    std::uint64_t x = a ^ b;  // nonzero in the bytes that differ
    if (!x) continue;
    if (first < 0) first = i + (__builtin_ctzll(x) >> 3);
    last = i + 7 - (__builtin_clzll(x) >> 3);
    constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    if (((x - ones) & ~x & highs) == 0) {  // no byte of x is zero: every byte differs
      std::memcpy(dst + i, src + i, 8);
      continue;
    }
    do {
      const int j = __builtin_ctzll(x) >> 3;
      dst[i + j] = src[i + j];
      x &= ~(std::uint64_t{0xff} << (8 * j));
    } while (x);
  }
#endif
  for (; i < n; ++i)
    if (dst[i] != src[i]) {
      dst[i] = src[i];
      if (first < 0) first = i;
      last = i;
    }
}

// Writes the values v[c][i] of samples s0 + i (i < n) of components s[c] (c < k: the same plane
// and step) in row `row`, through buf (room for the row's bytes). lo, hi: the first and last
// sample written, lo > hi when none changed.
MM_INLINE void write_samples(const Samples* const* s, const std::int32_t* const* v, int k, int s0, int n, int row,
                             std::uint8_t* buf, int& lo, int& hi) {
  lo = 0, hi = -1;
  if (n <= 0) return;
  const int step = s[0]->step, bytes = s[0]->wide ? 2 : 1;
  int minoff = s[0]->offset, maxend = s[0]->offset + bytes;
  for (int c = 1; c < k; ++c) minoff = std::min(minoff, s[c]->offset), maxend = std::max(maxend, s[c]->offset + bytes);
  std::uint8_t* p = s[0]->base + row * s[0]->stride + static_cast<std::ptrdiff_t>(s0) * step + minoff;
  const std::ptrdiff_t len = static_cast<std::ptrdiff_t>(n - 1) * step + maxend - minoff;
  std::memcpy(buf, p, static_cast<size_t>(len));
  for (int c = 0; c < k; ++c) scatter(*s[c], buf + (s[c]->offset - minoff), n, v[c]);
  std::ptrdiff_t first, last;
  commit(p, buf, len, first, last);
  if (first < 0) return;
  lo = s0 + static_cast<int>(first / step), hi = s0 + static_cast<int>(last / step);
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

// YUV samples to RGB, `unit` per RGB unit: R = Y ay + by + tr, G = Y ay + by + tg,
// B = Y ay + by + tb with the chroma terms tr = vr (V - c_off), tg = ug (U - c_off) + vg (V - c_off),
// tb = ub (U - c_off) (G from Y' = Kr R + Kg G + Kb B).
struct YuvToRgb {
  float ay, by, vr, ug, vg, ub, co;
};

YuvToRgb yuv_to_rgb(const Yuv& m, double unit) {
  YuvToRgb c{};
  c.ay = static_cast<float>(unit / m.y_scale);
  c.by = static_cast<float>(-unit * m.y_off / m.y_scale);
  const double r = unit * 2 * (1 - m.kr) / m.c_scale, b = unit * 2 * (1 - m.kb) / m.c_scale;
  c.vr = static_cast<float>(r), c.ub = static_cast<float>(b);
  c.vg = static_cast<float>(-r * m.kr / m.kg), c.ug = static_cast<float>(-b * m.kb / m.kg);
  c.co = static_cast<float>(m.c_off);
  return c;
}

// rgb8_view's fixed point, 16 fractional bits: R = (cy Y + tr) >> 16 with the chroma term
// tr = crv v + k, and G, B alike with tg = k - cgu u - cgv v, tb = cbu u + k (u = U - co,
// v = V - co; k = 2^15 - cy y_off holds the luma offset and the rounding); clamped to 0..255.
struct Fixed {
  std::int32_t cy, crv, cgu, cgv, cbu, k, co;
};

Fixed fixed_point(const Yuv& m) {
  const double s = 255.0 * 65536.0;
  auto q = [](double v) { return static_cast<std::int32_t>(std::lround(v)); };
  Fixed f{};
  f.cy = q(s / m.y_scale);
  f.crv = q(s * 2 * (1 - m.kr) / m.c_scale), f.cbu = q(s * 2 * (1 - m.kb) / m.c_scale);
  f.cgu = q(s * 2 * (1 - m.kb) * m.kb / m.kg / m.c_scale), f.cgv = q(s * 2 * (1 - m.kr) * m.kr / m.kg / m.c_scale);
  f.k = 32768 - f.cy * static_cast<std::int32_t>(m.y_off), f.co = static_cast<std::int32_t>(m.c_off);
  return f;
}

// The fixed-point chroma terms of n chroma samples, per pixel (lw 1: each for 2 pixels).
MM_INLINE void fixed_terms(const float* __restrict u, const float* __restrict v, int n, int lw, const Fixed& q,
                           std::int32_t* __restrict tr, std::int32_t* __restrict tg, std::int32_t* __restrict tb) {
  for (int j = 0; j < n; ++j) {
    const std::int32_t pu = static_cast<std::int32_t>(u[j]) - q.co, pv = static_cast<std::int32_t>(v[j]) - q.co;
    const std::int32_t r = q.crv * pv + q.k, g = q.k - q.cgu * pu - q.cgv * pv, b = q.cbu * pu + q.k;
    for (int t = 0; t <= lw; ++t) tr[(j << lw) + t] = r, tg[(j << lw) + t] = g, tb[(j << lw) + t] = b;
  }
}

// The chroma terms of n chroma samples, per pixel: lw 1 repeats each for 2 pixels.
MM_INLINE void chroma_terms(const float* __restrict u, const float* __restrict v, int n, int lw, const YuvToRgb& c,
                            float* __restrict tr, float* __restrict tg, float* __restrict tb) {
  if (!lw) {
    for (int j = 0; j < n; ++j) {
      const float pu = u[j] - c.co, pv = v[j] - c.co;
      tr[j] = c.vr * pv, tg[j] = c.ug * pu + c.vg * pv, tb[j] = c.ub * pu;
    }
    return;
  }
  for (int j = 0; j < n; ++j) {
    const float pu = u[j] - c.co, pv = v[j] - c.co;
    const float r = c.vr * pv, g = c.ug * pu + c.vg * pv, b = c.ub * pu;
    tr[2 * j] = r, tr[2 * j + 1] = r, tg[2 * j] = g, tg[2 * j + 1] = g, tb[2 * j] = b, tb[2 * j + 1] = b;
  }
}

// Per-row scratch: float arrays of one size.
struct Rows {
  std::vector<float> store;
  size_t size;
  Rows(size_t count, size_t n) : store(count * n), size(n) {}
  float* operator[](size_t k) { return store.data() + k * size; }
};

// Per pixel of a row: the luma change in sample units and the changes of Pb and Pr (RGB units),
// all zero where not covered.
struct LumaChroma {
  float kr, kg, kb, ys, fb, fr;
};

// ---- AVX2 (x86-64-v3) pieces of the kernels ----
#if MM_X86_64_V3

// How 8 samples of a component are read at once: as lanes of 1, 2 or 4 bytes (the sample's step)
// of a vector, each lane starting `back` bytes before its sample, the value `shift` bits up in it.
struct Lanes {
  int width = 0;  // 0: not this way (3-byte steps)
  int back = 0, shift = 0;
  unsigned mask = 0;
};

Lanes lanes_of(const Samples& s) {
  if (s.step == 1 && !s.wide) return {1, 0, 0, 0xffu};
  if (s.step != 2 && s.step != 4) return {};
  const int back = s.offset % s.step;
  return {s.step, back, 8 * back + s.shift, s.mask};
}

// 8 samples as floats, the first one's lane at p; requires the sample after them in the row (the
// lanes of 2 and 4 bytes read past the last sample's own bytes).
MM_AVX2 MM_INLINE __m256 load8(const std::uint8_t* p, const Lanes& k) {
  if (k.width == 1)
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  const __m256i v = k.width == 2 ? _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))
                                 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i value = _mm256_srl_epi32(v, _mm_cvtsi32_si128(k.shift));
  return _mm256_cvtepi32_ps(_mm256_and_si256(value, _mm256_set1_epi32(static_cast<int>(k.mask))));
}

// One sample, for the ends of rows.
MM_INLINE float sample_at(const Samples& s, int x, int y) {
  const std::uint8_t* p = s.at(x, y);
  return static_cast<float>(s.wide ? (load16(p) >> s.shift) & s.mask : *p);
}

// t0 t0 t1 t1 ... t7 t7 at p.
MM_AVX2 MM_INLINE void store_twice(float* p, __m256 t) {
  const __m256 lo = _mm256_unpacklo_ps(t, t), hi = _mm256_unpackhi_ps(t, t);  // lanes mixed
  _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo, hi, 0x20));
  _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
}

// The chroma terms of chroma samples x0 + j of row `row` (j < n), per pixel as chroma_terms does,
// 8 samples a step; returns how many samples it did (at least one is left). Bytes: both are one
// byte a sample (compiled on its own).
template <bool Bytes>
MM_AVX2 MM_INLINE int chroma_terms_avx2(const Samples& su, const Samples& sv, int x0, int row, int n, int lw,
                                        const YuvToRgb& c, float* tr, float* tg, float* tb) {
  const Lanes ku = lanes_of(su), kv = lanes_of(sv);
  if (!ku.width || !kv.width) return 0;
  const std::uint8_t *pu = su.at(x0, row) - ku.back, *pv = sv.at(x0, row) - kv.back;
  const std::ptrdiff_t step_u = 8 * su.step, step_v = 8 * sv.step;
  // t = k (C - c_off) as fma(k, C, -k c_off).
  const __m256 vr = _mm256_set1_ps(c.vr), ug = _mm256_set1_ps(c.ug), vg = _mm256_set1_ps(c.vg);
  const __m256 ub = _mm256_set1_ps(c.ub), r0 = _mm256_set1_ps(-c.vr * c.co), b0 = _mm256_set1_ps(-c.ub * c.co);
  const __m256 g0 = _mm256_set1_ps(-(c.ug + c.vg) * c.co);
  int j = 0;
  for (; j + 8 < n; j += 8, pu += step_u, pv += step_v) {
    const __m256 u = load8(pu, Bytes ? Lanes{1, 0, 0, 0xffu} : ku), v = load8(pv, Bytes ? Lanes{1, 0, 0, 0xffu} : kv);
    const __m256 r = _mm256_fmadd_ps(vr, v, r0), g = _mm256_fmadd_ps(ug, u, _mm256_fmadd_ps(vg, v, g0));
    const __m256 b = _mm256_fmadd_ps(ub, u, b0);
    if (lw) {
      store_twice(tr + 2 * j, r), store_twice(tg + 2 * j, g), store_twice(tb + 2 * j, b);
    } else {
      _mm256_storeu_ps(tr + j, r), _mm256_storeu_ps(tg + j, g), _mm256_storeu_ps(tb + j, b);
    }
  }
  return j;
}

MM_AVX2 int chroma_terms_avx2(const Samples& su, const Samples& sv, int x0, int row, int n, int lw, const YuvToRgb& c,
                              float* tr, float* tg, float* tb) {
  if (su.bytes() && sv.bytes()) return chroma_terms_avx2<true>(su, sv, x0, row, n, lw, c, tr, tg, tb);
  return chroma_terms_avx2<false>(su, sv, x0, row, n, lw, c, tr, tg, tb);
}

// 8 samples as integers (load8 without the conversion).
MM_AVX2 MM_INLINE __m256i load8i(const std::uint8_t* p, const Lanes& k) {
  if (k.width == 1) return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i v = k.width == 2 ? _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))
                                 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_and_si256(_mm256_srl_epi32(v, _mm_cvtsi32_si128(k.shift)), _mm256_set1_epi32(static_cast<int>(k.mask)));
}

// fixed_terms of chroma samples x0 + j of row `row` (j < n), 8 a step; returns how many it did
// (at least one is left).
MM_AVX2 int fixed_terms_avx2(const Samples& su, const Samples& sv, int x0, int row, int n, int lw, const Fixed& q,
                             std::int32_t* tr, std::int32_t* tg, std::int32_t* tb) {
  const Lanes ku = lanes_of(su), kv = lanes_of(sv);
  if (!ku.width || !kv.width) return 0;
  const std::uint8_t *pu = su.at(x0, row) - ku.back, *pv = sv.at(x0, row) - kv.back;
  const __m256i co = _mm256_set1_epi32(q.co), k = _mm256_set1_epi32(q.k), crv = _mm256_set1_epi32(q.crv);
  const __m256i cgu = _mm256_set1_epi32(q.cgu), cgv = _mm256_set1_epi32(q.cgv), cbu = _mm256_set1_epi32(q.cbu);
  int j = 0;
  for (; j + 8 < n; j += 8) {
    const __m256i u = _mm256_sub_epi32(load8i(pu + j * su.step, ku), co);
    const __m256i v = _mm256_sub_epi32(load8i(pv + j * sv.step, kv), co);
    const __m256i r = _mm256_add_epi32(_mm256_mullo_epi32(crv, v), k);
    const __m256i g = _mm256_sub_epi32(_mm256_sub_epi32(k, _mm256_mullo_epi32(cgu, u)), _mm256_mullo_epi32(cgv, v));
    const __m256i b = _mm256_add_epi32(_mm256_mullo_epi32(cbu, u), k);
    if (lw) {
      store_twice(reinterpret_cast<float*>(tr + 2 * j), _mm256_castsi256_ps(r));
      store_twice(reinterpret_cast<float*>(tg + 2 * j), _mm256_castsi256_ps(g));
      store_twice(reinterpret_cast<float*>(tb + 2 * j), _mm256_castsi256_ps(b));
    } else {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tr + j), r);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tg + j), g);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tb + j), b);
    }
  }
  return j;
}

// 8 pixels in fixed point as 8-bit R, G, B: per 128-bit lane, 12 bytes for 4 pixels and 4 bytes
// left over; clamped by the packs' saturation.
MM_AVX2 MM_INLINE __m256i fixed_group(__m256i yy, __m256i tr, __m256i tg, __m256i tb) {
  const __m256i r = _mm256_srai_epi32(_mm256_add_epi32(yy, tr), 16);
  const __m256i g = _mm256_srai_epi32(_mm256_add_epi32(yy, tg), 16);
  const __m256i b = _mm256_srai_epi32(_mm256_add_epi32(yy, tb), 16);
  // Per lane, bytes R0-3 G0-3 B0-3 B0-3 to R0 G0 B0 R1 ... B3.
  const __m256i order = _mm256_setr_epi8(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1,  //
                                         0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, -1, -1, -1, -1);
  return _mm256_shuffle_epi8(_mm256_packus_epi16(_mm256_packs_epi32(r, g), _mm256_packs_epi32(b, b)), order);
}

MM_AVX2 MM_INLINE __m256i load(const std::int32_t* t) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t));
}

// The pixels 0 .. n-1 of row y in fixed point (Y samples sy, lanes_of(sy).width != 0; the terms per
// pixel) as R, G, B bytes at d.
MM_AVX2 void fixed_pixels_avx2(const Samples& sy, int y, const std::int32_t* tr, const std::int32_t* tg,
                               const std::int32_t* tb, int n, const Fixed& q, std::uint8_t* d) {
  const Lanes k = lanes_of(sy);
  const std::uint8_t* p = sy.at(0, y) - k.back;
  const __m256i cy = _mm256_set1_epi32(q.cy);
  int i = 0;
  // A Y lane of 1 or 2 bytes lies inside the row (the 2 bytes of yuyv422's hold Y and a chroma).
  for (; i + 8 <= n; i += 8, d += 24) {
    const __m256i px = fixed_group(_mm256_mullo_epi32(load8i(p + i * sy.step, k), cy), load(tr + i), load(tg + i),
                                   load(tb + i));
    const __m128i hi = _mm256_extracti128_si256(px, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm256_castsi256_si128(px));
    if (i + 10 <= n) {  // the second 16-byte store writes 4 bytes past the 8 pixels
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 12), hi);
    } else {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 12), hi);
      const int last = _mm_cvtsi128_si32(_mm_srli_si128(hi, 8));
      std::memcpy(d + 20, &last, 4);
    }
  }
  if (i < n) {  // the last 1 to 7 pixels, through a copy
    const int m = n - i;
    alignas(32) std::int32_t t[4][8] = {};
    for (int j = 0; j < m; ++j)
      t[0][j] = static_cast<std::int32_t>(sample_at(sy, i + j, y)), t[1][j] = tr[i + j], t[2][j] = tg[i + j],
      t[3][j] = tb[i + j];
    alignas(32) std::uint8_t out[32];
    const __m256i px = fixed_group(_mm256_mullo_epi32(load(t[0]), cy), load(t[1]), load(t[2]), load(t[3]));
    _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(px));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 12), _mm256_extracti128_si256(px, 1));
    std::memcpy(d, out, static_cast<size_t>(3 * m));
  }
}

// 4-byte RGB pixels (components at bytes o0, o1, o2) to R, G, B bytes, 8 pixels a step; returns
// how many pixels it did.
MM_AVX2 int words_to_rgb8_avx2(const std::uint8_t* p, int n, int o0, int o1, int o2, std::uint8_t* d) {
  alignas(32) std::int8_t m[32];
  for (int lane = 0; lane < 2; ++lane)
    for (int k = 0; k < 16; ++k)
      m[16 * lane + k] = static_cast<std::int8_t>(k < 12 ? 4 * (k / 3) + (k % 3 == 0 ? o0 : k % 3 == 1 ? o1 : o2) : -1);
  const __m256i order = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
  int i = 0;
  for (; i + 10 <= n; i += 8, d += 24, p += 32) {  // reads stay 8 bytes short of the row's end
    const __m256i px = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), order);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm256_castsi256_si128(px));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 12), _mm256_extracti128_si256(px, 1));
  }
  return i;
}

// 4-byte RGB pixels (components at bytes o0, o1, o2) as float R, G, B in units, 4 pixels a step;
// returns how many it did (at least one is left: the last one may lack its padding byte).
MM_AVX2 int words_to_float_avx2(const std::uint8_t* p, int n, int o0, int o1, int o2, float* o) {
  alignas(16) std::int8_t m[16];
  for (int k = 0; k < 16; ++k)
    m[k] = static_cast<std::int8_t>(k < 12 ? 4 * (k / 3) + (k % 3 == 0 ? o0 : k % 3 == 1 ? o1 : o2) : -1);
  const __m128i order = _mm_load_si128(reinterpret_cast<const __m128i*>(m));
  const __m256 s8 = _mm256_set1_ps(1.0f / 255.0f);
  const __m128 s4 = _mm_set1_ps(1.0f / 255.0f);
  int i = 0;
  for (; i + 4 < n; i += 4, p += 16, o += 12) {
    const __m128i rgb = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), order);  // 12 bytes
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(rgb)), s8));
    _mm_storeu_ps(o + 8, _mm_mul_ps(_mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_srli_si128(rgb, 8))), s4));
  }
  return i;
}

// Pixels x0 + i of row y as float R, G, B (Y samples sy, chroma terms per pixel), 8 a step;
// returns how many it did (at least one is left).
MM_AVX2 int rgb_pixels_avx2(const Samples& sy, int x0, int y, const float* tr, const float* tg, const float* tb, int n,
                            const YuvToRgb& c, float* o) {
  const Lanes k = lanes_of(sy);
  if (!k.width) return 0;
  const std::uint8_t* p = sy.at(x0, y) - k.back;
  const __m256 ay = _mm256_set1_ps(c.ay), by = _mm256_set1_ps(c.by);
  int i = 0;
  for (; i + 8 < n; i += 8, o += 24) {
    const __m256 yy = _mm256_fmadd_ps(load8(p + i * sy.step, k), ay, by);
    const __m256 r = _mm256_add_ps(yy, _mm256_loadu_ps(tr + i)), g = _mm256_add_ps(yy, _mm256_loadu_ps(tg + i));
    const __m256 b = _mm256_add_ps(yy, _mm256_loadu_ps(tb + i));
    // Per 128-bit lane (4 pixels): R0 G0 B0 R1, G1 B1 R2 G2, B2 R3 G3 B3.
    const __m256 x0_ = _mm256_shuffle_ps(_mm256_unpacklo_ps(r, g), _mm256_unpacklo_ps(b, r), _MM_SHUFFLE(3, 0, 1, 0));
    const __m256 x1_ = _mm256_shuffle_ps(_mm256_unpacklo_ps(g, b), _mm256_unpackhi_ps(r, g), _MM_SHUFFLE(1, 0, 3, 2));
    const __m256 x2_ = _mm256_shuffle_ps(_mm256_unpackhi_ps(b, r), _mm256_unpackhi_ps(g, b), _MM_SHUFFLE(3, 2, 3, 0));
    _mm256_storeu_ps(o, _mm256_permute2f128_ps(x0_, x1_, 0x20));
    _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(x2_, x0_, 0x30));
    _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(x1_, x2_, 0x31));
  }
  return i;
}

// out[i] = old[i] + d[i], rounded and clamped to bytes, 32 a step; returns how many it did.
MM_AVX2 int add_to_bytes_avx2(const std::uint8_t* old, const float* d, int n, std::uint8_t* out) {
  const __m256 half = _mm256_set1_ps(0.5f);
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v[4];
    for (int q = 0; q < 4; ++q) {
      const __m256 o =
          _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(old + i + 8 * q))));
      v[q] = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_add_ps(o, _mm256_loadu_ps(d + i + 8 * q)), half));
    }
    // The packs work per 128-bit lane: put the 32 bytes back in order.
    const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  return i;
}

// 8 pixels' R, G, B from 24 interleaved floats.
MM_AVX2 MM_INLINE void load_rgb8(const float* p, __m256& r, __m256& g, __m256& b) {
  const __m256 m03 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm_loadu_ps(p + 12), 1);
  const __m256 m14 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p + 4)), _mm_loadu_ps(p + 16), 1);
  const __m256 m25 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p + 8)), _mm_loadu_ps(p + 20), 1);
  const __m256 xy = _mm256_shuffle_ps(m14, m25, _MM_SHUFFLE(2, 1, 3, 2));
  const __m256 yz = _mm256_shuffle_ps(m03, m14, _MM_SHUFFLE(1, 0, 2, 1));
  r = _mm256_shuffle_ps(m03, xy, _MM_SHUFFLE(2, 0, 3, 0));
  g = _mm256_shuffle_ps(yz, xy, _MM_SHUFFLE(3, 1, 2, 0));
  b = _mm256_shuffle_ps(yz, m25, _MM_SHUFFLE(3, 0, 3, 1));
}

// row_deltas, 8 pixels a step; returns how many it did.
MM_AVX2 int row_deltas_avx2(const float* d, const std::uint8_t* cov, int n, const LumaChroma& k, float* ly, float* cb,
                            float* cr) {
  const __m256 kr = _mm256_set1_ps(k.kr), kg = _mm256_set1_ps(k.kg), kb = _mm256_set1_ps(k.kb);
  const __m256 ys = _mm256_set1_ps(k.ys), fb = _mm256_set1_ps(k.fb), fr = _mm256_set1_ps(k.fr);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 r, g, b;
    load_rgb8(d + 3 * i, r, g, b);
    const __m256 dy = _mm256_fmadd_ps(kr, r, _mm256_fmadd_ps(kg, g, _mm256_mul_ps(kb, b)));
    const __m256i c8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(cov + i)));
    const __m256 m = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(c8, _mm256_setzero_si256()),
                                                          _mm256_set1_epi32(-1)));  // covered
    _mm256_storeu_ps(ly + i, _mm256_and_ps(m, _mm256_mul_ps(dy, ys)));
    _mm256_storeu_ps(cb + i, _mm256_and_ps(m, _mm256_mul_ps(_mm256_sub_ps(b, dy), fb)));
    _mm256_storeu_ps(cr + i, _mm256_and_ps(m, _mm256_mul_ps(_mm256_sub_ps(r, dy), fr)));
  }
  return i;
}

// The change of covered pixels i < n (255 per unit) as 4-byte pixels: R, G, B at the group's
// floats o0, o1, o2 and 0 at the fourth; pixel i's group at out + 4 i. 8 pixels a step; returns how
// many it did.
MM_AVX2 int spread4_avx2(const float* d, const std::uint8_t* cov, int n, int o0, int o1, int o2, float* out) {
  alignas(32) int ctl[8];
  for (int k = 0; k < 4; ++k) ctl[k] = 3;  // the zero
  ctl[o0] = 0, ctl[o1] = 1, ctl[o2] = 2;
  for (int k = 0; k < 4; ++k) ctl[4 + k] = ctl[k];
  const __m256i order = _mm256_load_si256(reinterpret_cast<const __m256i*>(ctl));
  const __m256 s = _mm256_set1_ps(255.f), z = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8, out += 32) {
    __m256 r, g, b;
    load_rgb8(d + 3 * i, r, g, b);
    const __m256i c8 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(cov + i)));
    const __m256 m = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(c8, _mm256_setzero_si256()),
                                                          _mm256_set1_epi32(-1)));  // covered
    r = _mm256_and_ps(m, _mm256_mul_ps(r, s)), g = _mm256_and_ps(m, _mm256_mul_ps(g, s));
    b = _mm256_and_ps(m, _mm256_mul_ps(b, s));
    const __m256 t0 = _mm256_unpacklo_ps(r, g), t1 = _mm256_unpackhi_ps(r, g);  // R0 G0 R1 G1 | R4 G4 R5 G5 ...
    const __m256 t2 = _mm256_unpacklo_ps(b, z), t3 = _mm256_unpackhi_ps(b, z);
    const __m256 q0 = _mm256_permutevar_ps(_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), order);  // px 0 | 4
    const __m256 q1 = _mm256_permutevar_ps(_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)), order);  // px 1 | 5
    const __m256 q2 = _mm256_permutevar_ps(_mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), order);  // px 2 | 6
    const __m256 q3 = _mm256_permutevar_ps(_mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)), order);  // px 3 | 7
    _mm256_storeu_ps(out, _mm256_permute2f128_ps(q0, q1, 0x20));
    _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(q2, q3, 0x20));
    _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(q0, q1, 0x31));
    _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(q2, q3, 0x31));
  }
  return i;
}

// sum[q] += v[2 q] + v[2 q + 1], 8 sums a step; returns how many it did.
MM_AVX2 int pair_sums_avx2(const float* v, int pairs, float* sum) {
  int q = 0;
  for (; q + 8 <= pairs; q += 8) {
    const __m256 h = _mm256_hadd_ps(_mm256_loadu_ps(v + 2 * q), _mm256_loadu_ps(v + 2 * q + 8));  // lanes mixed
    const __m256 t = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(h), 0xD8));
    _mm256_storeu_ps(sum + q, _mm256_add_ps(_mm256_loadu_ps(sum + q), t));
  }
  return q;
}

#endif  // MM_X86_64_V3

// Writes old[i] + d[i] (rounded, clamped to 8 bits) over the bytes old[i], i < n, where that
// changes them. lo, hi: the first and last byte written, lo > hi when none changed.
template <bool V3>
MM_INLINE void add_to_bytes(std::uint8_t* __restrict old, const float* __restrict d, int n,
                            std::uint8_t* __restrict buf, int& lo, int& hi) {
  int i = 0;
#if MM_X86_64_V3
  if (V3) i = add_to_bytes_avx2(old, d, n, buf);
#endif
  for (; i < n; ++i) buf[i] = static_cast<std::uint8_t>(to_sample(static_cast<float>(old[i]) + d[i], 255.f));
  std::ptrdiff_t first, last;
  commit(old, buf, n, first, last);
  lo = 0, hi = -1;
  if (first >= 0) lo = static_cast<int>(first), hi = static_cast<int>(last);
}

// sum[j] += v[i] for the pixels x0 + i (i < n) that chroma sample (x0 >> lw) + j covers.
template <bool V3>
MM_INLINE void accumulate(const float* __restrict v, int n, int x0, int lw, float* __restrict sum) {
  if (lw == 0) {
    for (int i = 0; i < n; ++i) sum[i] += v[i];
    return;
  }
  int i = 0, j = 0;
  if (x0 & 1) sum[0] += v[0], i = 1, j = 1;
  const int pairs = (n - i) / 2;
  int q = 0;
#if MM_X86_64_V3
  if (V3) q = pair_sums_avx2(v + i, pairs, sum + j);
#endif
  for (; q < pairs; ++q) sum[j + q] += v[i + 2 * q] + v[i + 2 * q + 1];
  i += 2 * pairs, j += pairs;
  if (i < n) sum[j] += v[i];
}

// ---- rgb8_view ----

// Pixels as words R | G << 8 | B << 16, stored as 3 bytes each.
MM_INLINE void store_rgb24(const std::uint32_t* __restrict px, int n, std::uint8_t* __restrict d) {
  int i = 0;
#if MM_LITTLE_ENDIAN
  for (; i + 4 <= n; i += 4, d += 12) {  // 4 pixels in 12 bytes: two stores
    const std::uint64_t lo =
        px[i] | static_cast<std::uint64_t>(px[i + 1]) << 24 | static_cast<std::uint64_t>(px[i + 2]) << 48;
    const std::uint32_t hi = px[i + 2] >> 16 | px[i + 3] << 8;
    std::memcpy(d, &lo, 8);
    std::memcpy(d + 8, &hi, 4);
  }
#endif
  for (; i < n; ++i, d += 3)
    d[0] = static_cast<std::uint8_t>(px[i]), d[1] = static_cast<std::uint8_t>(px[i] >> 8),
    d[2] = static_cast<std::uint8_t>(px[i] >> 16);
}

MM_INLINE std::uint32_t byte_of(std::int32_t v) { return static_cast<std::uint32_t>(std::min(std::max(v, 0), 255)); }

// n pixels of Y and fixed-point terms as R, G, B bytes, through words px (n of them).
MM_INLINE void fixed_pixels(const float* __restrict yv, const std::int32_t* __restrict tr,
                            const std::int32_t* __restrict tg, const std::int32_t* __restrict tb, int n, const Fixed& q,
                            std::uint32_t* __restrict px, std::uint8_t* __restrict d) {
  for (int i = 0; i < n; ++i) {
    const std::int32_t yy = q.cy * static_cast<std::int32_t>(yv[i]);
    px[i] = byte_of((yy + tr[i]) >> 16) | byte_of((yy + tg[i]) >> 16) << 8 | byte_of((yy + tb[i]) >> 16) << 16;
  }
  store_rgb24(px, n, d);
}

template <bool V3>
MM_INLINE void yuv_to_rgb8_impl(const NativeFrame& f, const Layout& l, ImageRGB8& out) {
  constexpr int kChunk = 512;  // pixels converted at a time
  const Fixed q = fixed_point(yuv_model(f.matrix, f.range, l.info.depth));
  const int w = f.width, lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
  const bool gray = !l.c[1].step;
  const Samples sy = samples(f, l, 0);
  const Samples su = gray ? sy : samples(f, l, 1), sv = gray ? sy : samples(f, l, 2);
  const int cw = (w + (1 << lw) - 1) >> lw;
  Rows chroma(2, static_cast<size_t>(cw));  // U, V of the chroma row
  const size_t tn = static_cast<size_t>(gray ? w : cw << lw) + 1;
  std::vector<std::int32_t> terms(3 * tn, q.k);  // its terms per pixel (gray: k)
  std::int32_t *tr = terms.data(), *tg = tr + tn, *tb = tg + tn;
  std::vector<float> yv(kChunk);
  std::vector<std::uint32_t> px(kChunk);
  int chroma_row = -1;
  for (int y = 0; y < f.height; ++y) {
    if (!gray && (y >> lh) != chroma_row) {
      chroma_row = y >> lh;
      int done = 0;
#if MM_X86_64_V3
      if (V3) done = fixed_terms_avx2(su, sv, 0, chroma_row, cw, lw, q, tr, tg, tb);
#endif
      gather(su, done, chroma_row, cw - done, chroma[0]);
      gather(sv, done, chroma_row, cw - done, chroma[1]);
      fixed_terms(chroma[0], chroma[1], cw - done, lw, q, tr + (done << lw), tg + (done << lw), tb + (done << lw));
    }
    std::uint8_t* d = out.row(y);
#if MM_X86_64_V3
    if (V3 && lanes_of(sy).width) {
      fixed_pixels_avx2(sy, y, tr, tg, tb, w, q, d);
      continue;
    }
#endif
    for (int x0 = 0; x0 < w; x0 += kChunk) {
      const int n = std::min(kChunk, w - x0);
      gather(sy, x0, y, n, yv.data());
      fixed_pixels(yv.data(), tr + x0, tg + x0, tb + x0, n, q, px.data(), d + 3 * x0);
    }
  }
}
MM_DISPATCHED(yuv_to_rgb8, (const NativeFrame& f, const Layout& l, ImageRGB8& out), (f, l, out))

// Packed RGB pixels of Step bytes, the components at bytes o0, o1, o2.
template <int Step>
MM_INLINE void packed_to_rgb8(const std::uint8_t* __restrict p, int n, int o0, int o1, int o2,
                              std::uint8_t* __restrict d) {
  for (int i = 0; i < n; ++i)
    d[3 * i] = p[i * Step + o0], d[3 * i + 1] = p[i * Step + o1], d[3 * i + 2] = p[i * Step + o2];
}

template <bool V3>
MM_INLINE void rgb_to_rgb8_impl(const NativeFrame& f, const Layout& l, ImageRGB8& out) {
  const int step = l.c[0].step, o0 = l.c[0].offset, o1 = l.c[1].offset, o2 = l.c[2].offset;
  for (int y = 0; y < f.height; ++y) {
    const std::uint8_t* p = f.data[0] + y * f.stride[0];
    std::uint8_t* d = out.row(y);
    if (step == 4) {
      int done = 0;
#if MM_X86_64_V3
      if (V3) done = words_to_rgb8_avx2(p, f.width, o0, o1, o2, d);
#endif
      packed_to_rgb8<4>(p + 4 * done, f.width - done, o0, o1, o2, d + 3 * done);
    } else {
      packed_to_rgb8<3>(p, f.width, o0, o1, o2, d);
    }
  }
}
MM_DISPATCHED(rgb_to_rgb8, (const NativeFrame& f, const Layout& l, ImageRGB8& out), (f, l, out))

// ---- read_rgb ----

MM_INLINE void rgb_pixels(const float* __restrict yv, const float* __restrict tr, const float* __restrict tg,
                          const float* __restrict tb, int n, const YuvToRgb& c, float* __restrict o) {
  for (int i = 0; i < n; ++i) {
    const float yy = yv[i] * c.ay + c.by;
    o[3 * i] = yy + tr[i], o[3 * i + 1] = yy + tg[i], o[3 * i + 2] = yy + tb[i];
  }
}

template <bool V3>
MM_INLINE void read_yuv_impl(const NativeFrame& f, const Layout& l, const PixelRect& r, float* out) {
  const YuvToRgb c = yuv_to_rgb(yuv_model(f.matrix, f.range, l.info.depth), 1.0);
  const int n = r.width, lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
  const bool gray = !l.c[1].step;
  const Samples sy = samples(f, l, 0);
  const Samples su = gray ? sy : samples(f, l, 1), sv = gray ? sy : samples(f, l, 2);
  const int cx0 = r.x >> lw, nc = ((r.x + n - 1) >> lw) - cx0 + 1;
  const int skip = r.x - (cx0 << lw);  // pixels of the first chroma sample left of the rect
  Rows a(6, static_cast<size_t>(n) + 4);  // Y; U, V; tr, tg, tb per pixel from pixel cx0 << lw
  float *yv = a[0], *u = a[1], *v = a[2], *tr = a[3], *tg = a[4], *tb = a[5];
  if (gray) std::fill(tr, tr + n, 0.f), std::fill(tg, tg + n, 0.f), std::fill(tb, tb + n, 0.f);
  for (int y = r.y; y < r.y + r.height; ++y) {
    if (!gray && (y == r.y || (y >> lh) != ((y - 1) >> lh))) {
      int done = 0;
#if MM_X86_64_V3
      if (V3) done = chroma_terms_avx2(su, sv, cx0, y >> lh, nc, lw, c, tr, tg, tb);
#endif
      gather(su, cx0 + done, y >> lh, nc - done, u);
      gather(sv, cx0 + done, y >> lh, nc - done, v);
      chroma_terms(u, v, nc - done, lw, c, tr + (done << lw), tg + (done << lw), tb + (done << lw));
    }
    float* o = out + static_cast<size_t>(y - r.y) * n * 3;
    int done = 0;
#if MM_X86_64_V3
    if (V3) done = rgb_pixels_avx2(sy, r.x, y, tr + skip, tg + skip, tb + skip, n, c, o);
#endif
    gather(sy, r.x + done, y, n - done, yv);
    rgb_pixels(yv, tr + skip + done, tg + skip + done, tb + skip + done, n - done, c, o + 3 * done);
  }
}
MM_DISPATCHED(read_yuv, (const NativeFrame& f, const Layout& l, const PixelRect& r, float* out), (f, l, r, out))

template <int Step>
MM_INLINE void packed_to_float(const std::uint8_t* __restrict p, int n, int o0, int o1, int o2, float* __restrict o) {
  constexpr float s = 1.0f / 255.0f;
  for (int i = 0; i < n; ++i)
    o[3 * i] = p[i * Step + o0] * s, o[3 * i + 1] = p[i * Step + o1] * s, o[3 * i + 2] = p[i * Step + o2] * s;
}

template <bool V3>
MM_INLINE void read_packed_rgb_impl(const NativeFrame& f, const Layout& l, const PixelRect& r, float* out) {
  const int step = l.c[0].step, o0 = l.c[0].offset, o1 = l.c[1].offset, o2 = l.c[2].offset;
  const int n = r.width;
  constexpr float s = 1.0f / 255.0f;
  for (int y = r.y; y < r.y + r.height; ++y) {
    const std::uint8_t* __restrict p = f.data[0] + y * f.stride[0] + static_cast<std::ptrdiff_t>(r.x) * step;
    float* __restrict o = out + static_cast<size_t>(y - r.y) * n * 3;
    if (step == 3 && o0 == 0 && o1 == 1 && o2 == 2) {
      for (int j = 0; j < 3 * n; ++j) o[j] = p[j] * s;
    } else if (step == 4) {
      int done = 0;
#if MM_X86_64_V3
      if (V3) done = words_to_float_avx2(p, n, o0, o1, o2, o);
#endif
      packed_to_float<4>(p + 4 * done, n - done, o0, o1, o2, o + 3 * done);
    } else {
      packed_to_float<3>(p, n, o0, o1, o2, o);
    }
  }
}
MM_DISPATCHED(read_packed_rgb, (const NativeFrame& f, const Layout& l, const PixelRect& r, float* out), (f, l, r, out))

// ---- apply_change ----

struct Box {
  int x0 = 0, y0 = 0, x1 = -1, y1 = -1;  // inclusive; x1 < 0: empty
  void grow(int ax0, int ay0, int ax1, int ay1) {
    if (x1 < 0) {
      x0 = ax0, y0 = ay0, x1 = ax1, y1 = ay1;
      return;
    }
    x0 = std::min(x0, ax0), y0 = std::min(y0, ay0), x1 = std::max(x1, ax1), y1 = std::max(y1, ay1);
  }
};


template <bool V3>
MM_INLINE void row_deltas(const float* __restrict d, const std::uint8_t* __restrict cov, int n, const LumaChroma& k,
                          float* __restrict ly, float* __restrict cb, float* __restrict cr) {
  int i = 0;
#if MM_X86_64_V3
  if (V3) i = row_deltas_avx2(d, cov, n, k, ly, cb, cr);
#endif
  for (; i < n; ++i) {
    const float R = d[3 * i], G = d[3 * i + 1], B = d[3 * i + 2];
    const float dy = k.kr * R + k.kg * G + k.kb * B;
    const std::int32_t m = -static_cast<std::int32_t>(cov[i] != 0);
    ly[i] = keep_if(dy * k.ys, m), cb[i] = keep_if((B - dy) * k.fb, m), cr[i] = keep_if((R - dy) * k.fr, m);
  }
}

MM_INLINE void add_rounded(const float* __restrict old, const float* __restrict d, int n, float max,
                           std::int32_t* __restrict v) {
  for (int i = 0; i < n; ++i) v[i] = to_sample(old[i] + d[i], max);
}

// Adds d[i] to samples s0 + i (i < n) of component s in row `row`; lo, hi: the first and last
// sample written (lo > hi: none). old, v, buf: scratch.
template <bool V3>
MM_INLINE void add_to_samples(const Samples& s, int s0, int n, int row, const float* d, float max, float* old,
                              std::int32_t* v, std::uint8_t* buf, int& lo, int& hi) {
  if (s.bytes()) {
    add_to_bytes<V3>(s.at(s0, row), d, n, buf, lo, hi);
    lo += s0, hi += s0;
    return;
  }
  gather(s, s0, row, n, old);
  add_rounded(old, d, n, max, v);
  const Samples* ss[1] = {&s};
  const std::int32_t* vv[1] = {v};
  write_samples(ss, vv, 1, s0, n, row, buf, lo, hi);
}

template <bool V3>
MM_INLINE void change_yuv_impl(NativeFrame& f, const Layout& l, const FrameChange& ch, Box& box) {
  const PixelRect& r = ch.rect;
  const Yuv m = yuv_model(f.matrix, f.range, l.info.depth);
  const LumaChroma k{static_cast<float>(m.kr), static_cast<float>(m.kg), static_cast<float>(m.kb),
                     static_cast<float>(m.y_scale), static_cast<float>(1 / (2 * (1 - m.kb))),
                     static_cast<float>(1 / (2 * (1 - m.kr)))};
  const float max = static_cast<float>((1 << l.info.depth) - 1);
  const int n = r.width, lw = l.info.log2_chroma_w, lh = l.info.log2_chroma_h;
  const bool chroma = l.c[1].step != 0;
  const Samples sy = samples(f, l, 0);
  const Samples su = chroma ? samples(f, l, 1) : sy, sv = chroma ? samples(f, l, 2) : sy;
  const int cx0 = r.x >> lw, cx1 = (r.x + n - 1) >> lw, nc = cx1 - cx0 + 1;
  Rows a(8, static_cast<size_t>(n) + 2);  // ly, cb, cr, old samples; per chroma sample: Pb, Pr sums, old U, V
  float *ly = a[0], *cb = a[1], *cr = a[2], *old = a[3], *sb = a[4], *sr = a[5], *ou = a[6], *ov = a[7];
  std::vector<std::int32_t> iv(2 * (static_cast<size_t>(n) + 2));
  std::int32_t *nu = iv.data(), *nv = nu + n + 2;
  std::vector<std::uint8_t> buf(static_cast<size_t>(n) * 4 + 8);

  for (int cy = r.y >> lh; cy <= (r.y + r.height - 1) >> lh; ++cy) {  // gray: lh 0
    if (chroma) std::fill(sb, sb + nc, 0.f), std::fill(sr, sr + nc, 0.f);
    const int y0 = cy << lh, y1 = std::min(f.height, (cy + 1) << lh);  // the block's rows in the frame
    for (int y = std::max(y0, r.y); y < std::min(y1, r.y + r.height); ++y) {
      const size_t at = static_cast<size_t>(y - r.y) * n;
      row_deltas<V3>(ch.delta.data() + 3 * at, ch.covered.data() + at, n, k, ly, cb, cr);
      int lo, hi;
      add_to_samples<V3>(sy, r.x, n, y, ly, max, old, nu, buf.data(), lo, hi);
      if (lo <= hi) box.grow(lo, y, hi, y);
      if (chroma) accumulate<V3>(cb, n, r.x, lw, sb), accumulate<V3>(cr, n, r.x, lw, sr);
    }
    if (!chroma) continue;
    // The mean change over the block's pixels inside the frame, in sample units.
    const float scale = static_cast<float>(m.c_scale / ((y1 - y0) << lw));
    for (int j = 0; j < nc; ++j) sb[j] *= scale, sr[j] *= scale;
    const int last_cols = f.width - (cx1 << lw);  // of the last chroma column: fewer at the frame's edge
    if (last_cols < (1 << lw)) {
      const float fix = static_cast<float>(1 << lw) / static_cast<float>(last_cols);
      sb[nc - 1] *= fix, sr[nc - 1] *= fix;
    }
    int lo = 0, hi = -1;
    if (l.c[1].plane == l.c[2].plane) {  // interleaved: both in one pass over the row
      gather(su, cx0, cy, nc, ou), gather(sv, cx0, cy, nc, ov);
      add_rounded(ou, sb, nc, max, nu), add_rounded(ov, sr, nc, max, nv);
      const Samples* s[2] = {&su, &sv};
      const std::int32_t* v[2] = {nu, nv};
      write_samples(s, v, 2, cx0, nc, cy, buf.data(), lo, hi);
    } else {
      add_to_samples<V3>(su, cx0, nc, cy, sb, max, ou, nu, buf.data(), lo, hi);
      int lo2, hi2;
      add_to_samples<V3>(sv, cx0, nc, cy, sr, max, ov, nv, buf.data(), lo2, hi2);
      if (lo2 <= hi2) lo = lo <= hi ? std::min(lo, lo2) : lo2, hi = std::max(hi, hi2);
    }
    if (lo <= hi) box.grow(lo << lw, y0, std::min(f.width, (hi + 1) << lw) - 1, y1 - 1);
  }
}
MM_DISPATCHED(change_yuv, (NativeFrame& f, const Layout& l, const FrameChange& ch, Box& box), (f, l, ch, box))

// d's R, G, B of covered pixels (255 per unit), at the bytes of their samples in a row whose pixel
// i starts at byte i * Step; other bytes untouched.
template <int Step>
MM_INLINE void spread(const float* __restrict d, const std::uint8_t* __restrict cov, int n, int o0, int o1, int o2,
                      float* __restrict out) {
  for (int i = 0; i < n; ++i) {
    const std::int32_t m = -static_cast<std::int32_t>(cov[i] != 0);
    out[i * Step + o0] = keep_if(d[3 * i] * 255.f, m);
    out[i * Step + o1] = keep_if(d[3 * i + 1] * 255.f, m);
    out[i * Step + o2] = keep_if(d[3 * i + 2] * 255.f, m);
  }
}

template <bool V3>
MM_INLINE void change_rgb_impl(NativeFrame& f, const Layout& l, const FrameChange& ch, Box& box) {
  const PixelRect& r = ch.rect;
  const int step = l.c[0].step, n = r.width;
  const int minoff = std::min({l.c[0].offset, l.c[1].offset, l.c[2].offset});
  const int maxend = std::max({l.c[0].offset, l.c[1].offset, l.c[2].offset}) + 1;
  const int o0 = l.c[0].offset - minoff, o1 = l.c[1].offset - minoff, o2 = l.c[2].offset - minoff;
  const int len = (n - 1) * step + maxend - minoff;  // bytes of the rect's row, from its first sample
  // The change per byte of the row (0 for alpha and padding), with room for a pixel before it.
  std::vector<float> dv(static_cast<size_t>(len) + 16, 0.f);
  float* d = dv.data() + 4;
  std::vector<std::uint8_t> buf(static_cast<size_t>(len) + 8);
  for (int y = r.y; y < r.y + r.height; ++y) {
    const size_t at = static_cast<size_t>(y - r.y) * n;
    const float* delta = ch.delta.data() + 3 * at;
    const std::uint8_t* cov = ch.covered.data() + at;
    if (step == 4) {
      int done = 0;
#if MM_X86_64_V3
      if (V3) done = spread4_avx2(delta, cov, n, l.c[0].offset, l.c[1].offset, l.c[2].offset, d - minoff);
#endif
      spread<4>(delta + 3 * done, cov + done, n - done, o0, o1, o2, d + 4 * done);
    } else {
      spread<3>(delta, cov, n, o0, o1, o2, d);
    }
    int lo, hi;
    add_to_bytes<V3>(f.data[0] + y * f.stride[0] + static_cast<std::ptrdiff_t>(r.x) * step + minoff, d, len,
                     buf.data(), lo, hi);
    if (lo <= hi) box.grow(r.x + lo / step, y, r.x + hi / step, y);
  }
}
MM_DISPATCHED(change_rgb, (NativeFrame& f, const Layout& l, const FrameChange& ch, Box& box), (f, l, ch, box))

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
  if (l.info.rgb)
    rgb_to_rgb8(f, l, scratch);
  else
    yuv_to_rgb8(f, l, scratch);
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
  std::vector<float> out(static_cast<size_t>(r.width) * r.height * 3);
  if (r.empty()) return out;
  const Layout& l = layout(f.format);
  if (l.info.rgb)
    read_packed_rgb(f, l, r, out.data());
  else
    read_yuv(f, l, r, out.data());
  return out;
}

PixelRect apply_change(NativeFrame& f, const FrameChange& ch) {
  check_frame(f);
  const PixelRect& r = ch.rect;
  if (r.x < 0 || r.y < 0 || r.width < 0 || r.height < 0 || r.x + r.width > f.width || r.y + r.height > f.height)
    throw Error("apply_change: rectangle outside the frame");
  const size_t n = static_cast<size_t>(r.width) * r.height;
  if (ch.delta.size() != 3 * n || ch.covered.size() != n) throw Error("apply_change: change of the wrong size");
  if (r.empty()) return {};
  const Layout& l = layout(f.format);
  Box box;
  if (l.info.rgb)
    change_rgb(f, l, ch, box);
  else
    change_yuv(f, l, ch, box);
  if (box.x1 < 0) return {};
  return {box.x0, box.y0, box.x1 - box.x0 + 1, box.y1 - box.y0 + 1};
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
