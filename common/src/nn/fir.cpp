#include "nn/fir.h"
#include "nn/float_convert.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace micromotion::nn {

namespace {

constexpr float kSqrt2 = 1.4142135623730951f;

// leaky ReLU (slope 0.2) times sqrt(2), StyleGAN2's fused activation.
inline float activate(float v) { return std::max(v, 0.2f * v) * kSqrt2; }

// Converts a row of floats into the activation dtype.
template <typename T>
inline void store_row(T* __restrict dst, const float* __restrict src, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dst[i] = from_f<T>(src[i]);
}

void check_cl(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast), what, " must be channels-last 4-D");
}

// noise value for (b, y, x): noise is [1 or B, 1, H, W] contiguous float32.
struct NoiseView {
  const float* data = nullptr;
  int64_t batch_stride = 0, width = 0;
  float weight = 0.f;
  NoiseView(const at::Tensor& noise, float w, int64_t H, int64_t W) {
    if (!noise.defined() || w == 0.f) return;
    TORCH_CHECK(noise.scalar_type() == at::kFloat && noise.is_contiguous() && noise.size(2) == H && noise.size(3) == W,
                "noise must be contiguous float32 of the layer's size");
    data = noise.data_ptr<float>();
    batch_stride = noise.size(0) == 1 ? 0 : H * W;
    width = W;
    weight = w;
  }
  const float* row(int64_t b, int64_t y) const { return data ? data + b * batch_stride + y * width : nullptr; }
};

template <typename T>
void upsample_blur_activate_impl(const at::Tensor (&ph)[4], const FirTaps& taps, const float* demod,
                                 const NoiseView& noise, const float* bias, at::Tensor& out) {
  const int64_t B = out.size(0), C = out.size(1), H2 = out.size(2), W2 = out.size(3);
  const int64_t h = H2 / 2, w = W2 / 2;
  const T* P[4] = {ph[0].data_ptr<T>(), ph[1].data_ptr<T>(), ph[2].data_ptr<T>(), ph[3].data_ptr<T>()};
  // Phase p = (row parity)*2 + (col parity); its width and height.
  const int64_t pw[4] = {w + 1, w, w + 1, w};
  const int64_t phh[4] = {h + 1, h + 1, h, h};
  T* O = out.data_ptr<T>();
  const int64_t row_len = W2 * C;
  const std::vector<T> zeros(static_cast<size_t>(C), T(0.f));

  at::parallel_for(0, B * H2, 1, [&](int64_t begin, int64_t end) {
    // Ring of horizontally filtered rows of the interleaved transposed-conv output T.
    std::vector<float> ring(static_cast<size_t>(4 * row_len)), staging(static_cast<size_t>(row_len));
    int64_t ring_first = -10, ring_b = -1;  // T-row held in ring slot (r mod 4)
    auto hfilter = [&](int64_t b, int64_t r, float* dst) {
      if (r < 0 || r > 2 * h) {
        std::fill(dst, dst + row_len, 0.f);
        return;
      }
      const int64_t pr = r & 1, rr = r >> 1;
      for (int64_t x = 0; x < W2; ++x) {
        const T* src[4];
        for (int i = 0; i < 4; ++i) {
          const int64_t cc = x - 1 + i;  // T column
          if (cc < 0 || cc > 2 * w) {
            src[i] = zeros.data();
            continue;
          }
          const int p = static_cast<int>(pr * 2 + (cc & 1));
          src[i] = P[p] + ((b * phh[p] + rr) * pw[p] + (cc >> 1)) * C;
        }
        float* d = dst + x * C;
        const T *s0 = src[0], *s1 = src[1], *s2 = src[2], *s3 = src[3];
        const float t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3];
#pragma omp simd
        for (int64_t c = 0; c < C; ++c)
          d[c] = t0 * to_f(s0[c]) + t1 * to_f(s1[c]) + t2 * to_f(s2[c]) + t3 * to_f(s3[c]);
      }
    };
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / H2, y = idx % H2;
      // Output row y reads T rows y-1 .. y+2.
      if (b != ring_b || y - 1 != ring_first + 1 || ring_first < -1) {
        for (int j = 0; j < 4; ++j) hfilter(b, y - 1 + j, ring.data() + ((y - 1 + j + 4) & 3) * row_len);
      } else {
        hfilter(b, y + 2, ring.data() + ((y + 2 + 4) & 3) * row_len);
      }
      ring_b = b;
      ring_first = y - 1;
      const float* r0 = ring.data() + ((y - 1 + 4) & 3) * row_len;
      const float* r1 = ring.data() + ((y + 4) & 3) * row_len;
      const float* r2 = ring.data() + ((y + 1 + 4) & 3) * row_len;
      const float* r3 = ring.data() + ((y + 2 + 4) & 3) * row_len;
      const float* nrow = noise.row(b, y);
      const float* dm = demod ? demod + b * C : nullptr;
      T* o = O + (b * H2 + y) * row_len;
      const float t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3];
      float* st = staging.data();
      for (int64_t x = 0; x < W2; ++x) {
        const float nz = nrow ? noise.weight * nrow[x] : 0.f;
        const int64_t off = x * C;
        const float *a0 = r0 + off, *a1 = r1 + off, *a2 = r2 + off, *a3 = r3 + off;
        float* sx = st + off;
        if (dm) {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c)
            sx[c] = activate((t0 * a0[c] + t1 * a1[c] + t2 * a2[c] + t3 * a3[c]) * dm[c] + nz + bias[c]);
        } else {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c)
            sx[c] = activate(t0 * a0[c] + t1 * a1[c] + t2 * a2[c] + t3 * a3[c] + nz + bias[c]);
        }
      }
      store_row(o, st, row_len);
    }
  });
}

template <typename T>
void bias_noise_activate_impl(at::Tensor& x, const float* demod, const NoiseView& noise, const float* bias) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  T* X = x.data_ptr<T>();
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> staging(static_cast<size_t>(W * C));
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / H, y = idx % H;
      const float* nrow = noise.row(b, y);
      const float* dm = demod ? demod + b * C : nullptr;
      T* row = X + idx * W * C;
      float* st = staging.data();
      for (int64_t xx = 0; xx < W; ++xx) {
        const float nz = nrow ? noise.weight * nrow[xx] : 0.f;
        const T* px = row + xx * C;
        float* sx = st + xx * C;
        if (dm) {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) sx[c] = activate(to_f(px[c]) * dm[c] + nz + bias[c]);
        } else {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) sx[c] = activate(to_f(px[c]) + nz + bias[c]);
        }
      }
      store_row(row, st, W * C);
    }
  });
}

template <typename T>
void to_rgb_impl(const at::Tensor& x, const float* wt, const float* bias, const float* prev, const FirTaps& taps,
                 float* out) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t h = H / 2, w = W / 2;
  const T* X = x.data_ptr<T>();
  at::parallel_for(0, B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t idx = begin; idx < end; ++idx) {
      const int64_t b = idx / H, y = idx % H;
      const float* w0 = wt + b * 3 * C;
      const float* w1 = w0 + C;
      const float* w2 = w1 + C;
      // Upsampling the previous skip: output row y = 2m + py reads rows (m-1, m) with taps
      // (t0, t2) when py = 0 and (m, m+1) with taps (t1, t3) when py = 1 (upfirdn2d, pad (2,1)).
      int64_t ry[2];
      float ty[2];
      if (prev) {
        const int64_t m = y >> 1;
        if ((y & 1) == 0) {
          ry[0] = m - 1, ry[1] = m, ty[0] = taps[0], ty[1] = taps[2];
        } else {
          ry[0] = m, ry[1] = m + 1, ty[0] = taps[1], ty[1] = taps[3];
        }
      }
      for (int64_t xx = 0; xx < W; ++xx) {
        const T* px = X + (idx * W + xx) * C;
        float a0 = 0.f, a1 = 0.f, a2 = 0.f;
#pragma omp simd reduction(+ : a0, a1, a2)
        for (int64_t c = 0; c < C; ++c) {
          const float v = to_f(px[c]);
          a0 += v * w0[c];
          a1 += v * w1[c];
          a2 += v * w2[c];
        }
        float* o = out + (idx * W + xx) * 3;
        o[0] = a0 + bias[0];
        o[1] = a1 + bias[1];
        o[2] = a2 + bias[2];
        if (prev) {
          const int64_t n = xx >> 1;
          int64_t rx[2];
          float tx[2];
          if ((xx & 1) == 0) {
            rx[0] = n - 1, rx[1] = n, tx[0] = taps[0], tx[1] = taps[2];
          } else {
            rx[0] = n, rx[1] = n + 1, tx[0] = taps[1], tx[1] = taps[3];
          }
          for (int j = 0; j < 2; ++j) {
            if (ry[j] < 0 || ry[j] >= h) continue;
            for (int i = 0; i < 2; ++i) {
              if (rx[i] < 0 || rx[i] >= w) continue;
              const float* s = prev + ((b * h + ry[j]) * w + rx[i]) * 3;
              const float k = ty[j] * tx[i];
              o[0] += k * s[0];
              o[1] += k * s[1];
              o[2] += k * s[2];
            }
          }
        }
      }
    }
  });
}

const float* opt_ptr(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

}  // namespace

FirTaps fir_taps(const at::Tensor& kernel2d, const char* what) {
  at::Tensor k = kernel2d.detach().to(at::kCPU, at::kDouble);
  if (k.dim() != 2 || k.size(0) != 4 || k.size(1) != 4)
    throw Error(std::string(what) + ": only 4x4 blur kernels are supported");
  at::Tensor rows = k.sum(1);
  const double total = rows.sum().item<double>();
  if (!(total > 0)) throw Error(std::string(what) + ": blur kernel does not sum to a positive gain");
  at::Tensor a = rows / std::sqrt(total);
  if ((at::outer(a, a) - k).abs().max().item<double>() > 1e-6 || (a - a.flip(0)).abs().max().item<double>() > 1e-7)
    throw Error(std::string(what) + ": blur kernel is not separable and symmetric");
  FirTaps taps;
  for (int i = 0; i < 4; ++i) taps[i] = static_cast<float>(a[i].item<double>());
  return taps;
}

void upsample_blur_activate(const at::Tensor& ee, const at::Tensor& eo, const at::Tensor& oe, const at::Tensor& oo,
                            const FirTaps& taps, const at::Tensor& demod, const at::Tensor& noise, float noise_weight,
                            const at::Tensor& bias, at::Tensor& out) {
  if (!out.device().is_cpu()) {
    out.copy_(reference::upsample_blur_activate(ee, eo, oe, oo, taps, demod, noise, noise_weight, bias));
    return;
  }
  const at::Tensor ph[4] = {ee, eo, oe, oo};
  for (const auto& p : ph) check_cl(p, "phase");
  check_cl(out, "output");
  const int64_t h = oo.size(2), w = oo.size(3);
  TORCH_CHECK(out.size(2) == 2 * h && out.size(3) == 2 * w, "output must be twice the phase size");
  TORCH_CHECK(ee.size(2) == h + 1 && ee.size(3) == w + 1 && eo.size(2) == h + 1 && eo.size(3) == w &&
                  oe.size(2) == h && oe.size(3) == w + 1,
              "inconsistent phase sizes");
  NoiseView nv(noise, noise_weight, 2 * h, 2 * w);
  if (out.scalar_type() == at::kFloat)
    upsample_blur_activate_impl<float>(ph, taps, opt_ptr(demod), nv, bias.data_ptr<float>(), out);
  else if (out.scalar_type() == at::kBFloat16)
    upsample_blur_activate_impl<c10::BFloat16>(ph, taps, opt_ptr(demod), nv, bias.data_ptr<float>(), out);
  else
    TORCH_CHECK(false, "unsupported dtype");
}

void bias_noise_activate_(at::Tensor& x, const at::Tensor& demod, const at::Tensor& noise, float noise_weight,
                          const at::Tensor& bias) {
  if (!x.device().is_cpu()) {
    x.copy_(reference::bias_noise_activate(x, demod, noise, noise_weight, bias));
    return;
  }
  check_cl(x, "activation");
  NoiseView nv(noise, noise_weight, x.size(2), x.size(3));
  if (x.scalar_type() == at::kFloat)
    bias_noise_activate_impl<float>(x, opt_ptr(demod), nv, bias.data_ptr<float>());
  else if (x.scalar_type() == at::kBFloat16)
    bias_noise_activate_impl<c10::BFloat16>(x, opt_ptr(demod), nv, bias.data_ptr<float>());
  else
    TORCH_CHECK(false, "unsupported dtype");
}

at::Tensor to_rgb(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& prev,
                  const FirTaps& taps) {
  if (!x.device().is_cpu()) return reference::to_rgb(x, weight, bias, prev, taps);
  check_cl(x, "activation");
  const int64_t B = x.size(0), H = x.size(2), W = x.size(3);
  TORCH_CHECK(weight.is_contiguous() && weight.scalar_type() == at::kFloat, "to_rgb weight must be contiguous float");
  if (prev.defined())
    TORCH_CHECK(prev.is_contiguous() && prev.size(1) * 2 == H && prev.size(2) * 2 == W, "bad skip size");
  at::Tensor out = at::empty({B, H, W, 3}, x.options().dtype(at::kFloat));
  if (x.scalar_type() == at::kFloat)
    to_rgb_impl<float>(x, weight.data_ptr<float>(), bias.data_ptr<float>(), opt_ptr(prev), taps,
                       out.data_ptr<float>());
  else if (x.scalar_type() == at::kBFloat16)
    to_rgb_impl<c10::BFloat16>(x, weight.data_ptr<float>(), bias.data_ptr<float>(), opt_ptr(prev), taps,
                               out.data_ptr<float>());
  else
    TORCH_CHECK(false, "unsupported dtype");
  return out;
}

namespace reference {

namespace {
at::Tensor kernel2d(const FirTaps& taps, const at::TensorOptions& opt) {
  at::Tensor a = at::tensor(std::vector<float>(taps.begin(), taps.end()), opt.dtype(at::kFloat));
  return at::outer(a, a);  // symmetric: flipping (upfirdn2d's convolution) changes nothing
}
at::Tensor depthwise(const at::Tensor& x, const at::Tensor& k2, int64_t pad_before, int64_t pad_after) {
  const int64_t C = x.size(1);
  at::Tensor padded = at::constant_pad_nd(x, {pad_before, pad_after, pad_before, pad_after}, 0);
  at::Tensor w = k2.to(x.scalar_type()).view({1, 1, 4, 4}).repeat({C, 1, 1, 1});
  return at::conv2d(padded, w, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, C);
}
at::Tensor activate_ref(at::Tensor v) { return at::leaky_relu(v, 0.2) * kSqrt2; }
}  // namespace

at::Tensor upsample_blur_activate(const at::Tensor& ee, const at::Tensor& eo, const at::Tensor& oe,
                                  const at::Tensor& oo, const FirTaps& taps, const at::Tensor& demod,
                                  const at::Tensor& noise, float noise_weight, const at::Tensor& bias) {
  using at::indexing::None;
  using at::indexing::Slice;
  const int64_t B = oo.size(0), C = oo.size(1), h = oo.size(2), w = oo.size(3);
  at::Tensor t = at::zeros({B, C, 2 * h + 1, 2 * w + 1}, oo.options().dtype(at::kFloat));
  t.index_put_({Slice(), Slice(), Slice(0, None, 2), Slice(0, None, 2)}, ee.to(at::kFloat));
  t.index_put_({Slice(), Slice(), Slice(0, None, 2), Slice(1, None, 2)}, eo.to(at::kFloat));
  t.index_put_({Slice(), Slice(), Slice(1, None, 2), Slice(0, None, 2)}, oe.to(at::kFloat));
  t.index_put_({Slice(), Slice(), Slice(1, None, 2), Slice(1, None, 2)}, oo.to(at::kFloat));
  at::Tensor v = depthwise(t, kernel2d(taps, t.options()), 1, 1);
  if (demod.defined()) v = v * demod.view({B, C, 1, 1});
  if (noise.defined()) v = v + noise_weight * noise;
  v = activate_ref(v + bias.view({1, C, 1, 1}));
  return v.to(oo.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor bias_noise_activate(const at::Tensor& x, const at::Tensor& demod, const at::Tensor& noise,
                               float noise_weight, const at::Tensor& bias) {
  const int64_t B = x.size(0), C = x.size(1);
  at::Tensor v = x.to(at::kFloat);
  if (demod.defined()) v = v * demod.view({B, C, 1, 1});
  if (noise.defined()) v = v + noise_weight * noise;
  v = activate_ref(v + bias.view({1, C, 1, 1}));
  return v.to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor to_rgb(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& prev,
                  const FirTaps& taps) {
  // [B,C,H,W] x [B,3,C] -> [B,3,H,W]
  at::Tensor rgb = at::einsum("bchw,bkc->bkhw", {x.to(at::kFloat), weight}) + bias.view({1, 3, 1, 1});
  if (prev.defined()) {
    // upfirdn2d(up=2, pad=(2,1)): zero-stuff, then filter.
    at::Tensor p = prev.permute({0, 3, 1, 2});
    const int64_t B = p.size(0), h = p.size(2), w = p.size(3);
    at::Tensor z = at::zeros({B, 3, 2 * h, 2 * w}, p.options());
    z.index_put_({at::indexing::Slice(), at::indexing::Slice(), at::indexing::Slice(0, at::indexing::None, 2),
                  at::indexing::Slice(0, at::indexing::None, 2)},
                 p);
    at::Tensor padded = at::constant_pad_nd(z, {2, 1, 2, 1}, 0);
    at::Tensor k = kernel2d(taps, z.options()).view({1, 1, 4, 4}).repeat({3, 1, 1, 1});
    rgb = rgb + at::conv2d(padded, k, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, 3);
  }
  return rgb.permute({0, 2, 3, 1}).contiguous();
}

}  // namespace reference

}  // namespace micromotion::nn
