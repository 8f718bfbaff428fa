#include "nn/modulated_layers.h"
#include "nn/float_convert.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace micromotion::nn {

namespace {
// Padding (top/bottom, left/right) of each phase: even phases read (x[m-1], x[m]).
constexpr int64_t kPhasePad[4][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};

at::Tensor to_compute(const at::Tensor& w, c10::ScalarType dtype) {
  return w.to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
}

// Taps (ky, kx) of each polyphase kernel in its row-major order (see polyphase_weights).
struct Phase {
  int kh, kw;
  int taps[4][2];
};
constexpr Phase kPhases[4] = {{2, 2, {{2, 2}, {2, 0}, {0, 2}, {0, 0}}},
                              {2, 1, {{2, 1}, {0, 1}, {0, 0}, {0, 0}}},
                              {1, 2, {{1, 2}, {1, 0}, {0, 0}, {0, 0}}},
                              {1, 1, {{1, 1}, {0, 0}, {0, 0}, {0, 0}}}};

template <typename T>
void modulate_impl(const float* W, int64_t cout, int64_t cin, const float* s, const float* d, bool upsample,
                   T* const* out) {
  at::parallel_for(0, cout, 1, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const float g = d ? d[o] : 1.f;
      auto row = [&](int ky, int kx, T* dst) {
        const float* src = W + (o * 9 + ky * 3 + kx) * cin;  // weights are [cout][ky][kx][cin]
        if (s) {
#pragma omp simd
          for (int64_t i = 0; i < cin; ++i) dst[i] = from_f<T>(src[i] * s[i] * g);
        } else {
#pragma omp simd
          for (int64_t i = 0; i < cin; ++i) dst[i] = from_f<T>(src[i] * g);
        }
      };
      if (!upsample) {
        for (int k = 0; k < 9; ++k) row(k / 3, k % 3, out[0] + (o * 9 + k) * cin);
        continue;
      }
      for (int p = 0; p < 4; ++p) {
        const int n = kPhases[p].kh * kPhases[p].kw;
        for (int t = 0; t < n; ++t) row(kPhases[p].taps[t][0], kPhases[p].taps[t][1], out[p] + (o * n + t) * cin);
      }
    }
  });
}
}  // namespace

void modulated_kernels(const at::Tensor& weight, const at::Tensor& s, const at::Tensor& demod,
                       c10::ScalarType dtype, bool upsample, at::Tensor (&out)[4]) {
  const int64_t cout = weight.size(0), cin = weight.size(1);
  TORCH_CHECK(weight.is_contiguous(at::MemoryFormat::ChannelsLast) && weight.scalar_type() == at::kFloat,
              "weights must be channels-last float32");
  const auto opt = weight.options().dtype(dtype).memory_format(at::MemoryFormat::ChannelsLast);
  if (!weight.device().is_cpu()) {
    at::Tensor wm = weight;
    if (s.defined()) wm = wm * s.view({1, cin, 1, 1});
    if (demod.defined()) wm = wm * demod.view({cout, 1, 1, 1});
    if (upsample) {
      polyphase_weights(wm, out);
      for (auto& t : out) t = to_compute(t, dtype);
    } else {
      out[0] = to_compute(wm, dtype);
    }
    return;
  }
  const int n = upsample ? 4 : 1;
  for (int p = 0; p < n; ++p)
    out[p] = upsample ? at::empty({cout, cin, kPhases[p].kh, kPhases[p].kw}, opt) : at::empty({cout, cin, 3, 3}, opt);
  const float* sp = s.defined() ? s.contiguous().data_ptr<float>() : nullptr;
  const float* dp = demod.defined() ? demod.contiguous().data_ptr<float>() : nullptr;
  if (dtype == at::kFloat) {
    float* o[4] = {};
    for (int p = 0; p < n; ++p) o[p] = out[p].data_ptr<float>();
    modulate_impl<float>(weight.data_ptr<float>(), cout, cin, sp, dp, upsample, o);
  } else {
    TORCH_CHECK(dtype == at::kBFloat16, "unsupported dtype");
    c10::BFloat16* o[4] = {};
    for (int p = 0; p < n; ++p) o[p] = out[p].data_ptr<c10::BFloat16>();
    modulate_impl<c10::BFloat16>(weight.data_ptr<float>(), cout, cin, sp, dp, upsample, o);
  }
}

at::Tensor Modulation::operator()(const at::Tensor& w) const { return at::addmm(bias, w, weight.t()); }

at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, int64_t pad_h, int64_t pad_w) {
  if (x.device().is_cpu() && at::hasMKLDNN())
    return at::mkldnn_convolution(x, w, c10::nullopt, {pad_h, pad_w}, {1, 1}, {1, 1}, 1);
  return at::conv2d(x, w, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{pad_h, pad_w});
}

void polyphase_weights(const at::Tensor& w, at::Tensor (&out)[4]) {
  // Transposed conv, stride 2: output 2m takes x[m]·w[0] + x[m-1]·w[2], output 2m+1
  // takes x[m]·w[1]. As a forward correlation over x padded by one: taps (w[2], w[0]).
  const auto even = at::tensor({2, 0}, at::TensorOptions().dtype(at::kLong).device(w.device()));
  using at::indexing::Slice;
  at::Tensor rows_even = w.index_select(2, even);
  at::Tensor rows_odd = w.index({Slice(), Slice(), Slice(1, 2), Slice()});
  out[0] = rows_even.index_select(3, even);
  out[1] = rows_even.index({Slice(), Slice(), Slice(), Slice(1, 2)});
  out[2] = rows_odd.index_select(3, even);
  out[3] = rows_odd.index({Slice(), Slice(), Slice(), Slice(1, 2)});
}

void StyledConv::prepare(c10::ScalarType dtype) {
  // One copy of the weights in fp32 (the batched path's kernel is the same tensor); bf16
  // adds a half-size copy. Upsampling layers make their polyphase kernels per call.
  weight = weight.contiguous(at::MemoryFormat::ChannelsLast);
  wsq = weight.pow(2).sum({2, 3});
  if (!upsample) shared = to_compute(weight, dtype);
}

at::Tensor StyledConv::forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& noise) const {
  const int64_t B = x.size(0), H = x.size(2), W = x.size(3);
  const c10::ScalarType dtype = x.scalar_type();
  at::Tensor s = mod(w);                                         // [B, cin]
  at::Tensor demod = at::rsqrt(at::mm(s * s, wsq.t()) + 1e-8);  // [B, cout]

  at::Tensor input, epilogue_demod;
  at::Tensor kernels[4];
  if (B == 1) {
    // Fold style and demodulation into the weight, exactly as the reference does.
    input = x;
    modulated_kernels(weight, s[0], demod[0], dtype, upsample, kernels);
  } else {
    // conv(x·s, W)·demod == conv(x, W·s·demod): one weight for the whole batch.
    input = (x * s.to(dtype).view({B, cin, 1, 1})).contiguous(at::MemoryFormat::ChannelsLast);
    epilogue_demod = demod.contiguous();
    if (upsample)
      modulated_kernels(weight, at::Tensor(), at::Tensor(), dtype, true, kernels);
    else
      kernels[0] = shared;
  }

  if (!upsample) {
    at::Tensor out = conv2d(input, kernels[0], 1, 1);
    if (!out.is_contiguous(at::MemoryFormat::ChannelsLast)) out = out.contiguous(at::MemoryFormat::ChannelsLast);
    bias_noise_activate_(out, epilogue_demod, noise, noise_weight, bias);
    return out;
  }
  at::Tensor ph_out[4];
  for (int i = 0; i < 4; ++i) {
    ph_out[i] = conv2d(input, kernels[i], kPhasePad[i][0], kPhasePad[i][1]);
    if (!ph_out[i].is_contiguous(at::MemoryFormat::ChannelsLast))
      ph_out[i] = ph_out[i].contiguous(at::MemoryFormat::ChannelsLast);
  }
  at::Tensor out = at::empty({B, cout, 2 * H, 2 * W}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  upsample_blur_activate(ph_out[0], ph_out[1], ph_out[2], ph_out[3], taps, epilogue_demod, noise, noise_weight, bias,
                         out);
  return out;
}

at::Tensor ToRGB::forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& prev) const {
  at::Tensor s = mod(w);                                                 // [B, cin]
  at::Tensor wm = (weight.unsqueeze(0) * s.unsqueeze(1)).contiguous();  // [B, 3, cin]
  return to_rgb(x, wm, bias, prev, taps);
}

}  // namespace micromotion::nn
