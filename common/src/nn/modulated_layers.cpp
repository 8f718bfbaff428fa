#include "nn/modulated_layers.h"

#include <ATen/ATen.h>

namespace micromotion::nn {

namespace {
// Padding (top/bottom, left/right) of each phase: even phases read (x[m-1], x[m]).
constexpr int64_t kPhasePad[4][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};

at::Tensor to_compute(const at::Tensor& w, c10::ScalarType dtype) {
  return w.to(dtype).contiguous(at::MemoryFormat::ChannelsLast);
}
}  // namespace

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
  // One copy of the weights in fp32 (the compute copy is the same tensor); bf16 adds a
  // half-size copy. Polyphase kernels are sliced per call: 9 taps, cheap next to the conv.
  weight = weight.contiguous(at::MemoryFormat::ChannelsLast);
  wsq = weight.pow(2).sum({2, 3});
  shared = to_compute(weight, dtype);
}

at::Tensor StyledConv::forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& noise) const {
  const int64_t B = x.size(0), H = x.size(2), W = x.size(3);
  const c10::ScalarType dtype = x.scalar_type();
  at::Tensor s = mod(w);                                         // [B, cin]
  at::Tensor demod = at::rsqrt(at::mm(s * s, wsq.t()) + 1e-8);  // [B, cout]

  at::Tensor input, kernel, epilogue_demod;
  at::Tensor phase[4];
  if (B == 1) {
    // Fold style and demodulation into the weight, exactly as the reference does.
    at::Tensor wm = weight * s.view({1, cin, 1, 1}) * demod.view({cout, 1, 1, 1});
    input = x;
    if (upsample) {
      at::Tensor ph[4];
      polyphase_weights(wm, ph);
      for (int i = 0; i < 4; ++i) phase[i] = to_compute(ph[i], dtype);
    } else {
      kernel = to_compute(wm, dtype);
    }
  } else {
    // conv(x·s, W)·demod == conv(x, W·s·demod): one weight for the whole batch.
    input = (x * s.to(dtype).view({B, cin, 1, 1})).contiguous(at::MemoryFormat::ChannelsLast);
    epilogue_demod = demod.contiguous();
    kernel = shared;
    if (upsample) {
      polyphase_weights(shared, phase);
      for (auto& p : phase) p = p.contiguous(at::MemoryFormat::ChannelsLast);
    }
  }

  if (!upsample) {
    at::Tensor out = conv2d(input, kernel, 1, 1);
    if (!out.is_contiguous(at::MemoryFormat::ChannelsLast)) out = out.contiguous(at::MemoryFormat::ChannelsLast);
    bias_noise_activate_(out, epilogue_demod, noise, noise_weight, bias);
    return out;
  }
  at::Tensor ph_out[4];
  for (int i = 0; i < 4; ++i) {
    ph_out[i] = conv2d(input, phase[i], kPhasePad[i][0], kPhasePad[i][1]);
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
