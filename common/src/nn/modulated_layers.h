// StyleGAN2's two modulated layers, StyledConv and ToRGB, prepared for inference
// (internal). Weights are pre-scaled once (equalized learning rate), the modulation is
// folded into the weights for batch 1 (as the reference) and into the activations for
// larger batches (one shared weight, demodulation applied in the fused epilogue).
#pragma once

#include "nn/fir.h"

#include <ATen/core/Tensor.h>

#include <string>

namespace micromotion::nn {

// Modulation: s = w · mod_weightᵀ + mod_bias (EqualLinear, bias_init 1, lr_mul 1).
struct Modulation {
  at::Tensor weight;  // [cin, style] float32, pre-scaled by 1/sqrt(style)
  at::Tensor bias;    // [cin] float32
  at::Tensor operator()(const at::Tensor& w) const;  // [B, style] -> [B, cin]
};

struct StyledConv {
  bool upsample = false;
  int64_t cin = 0, cout = 0;
  Modulation mod;
  at::Tensor weight;    // [cout, cin, 3, 3] float32 channels-last, pre-scaled by 1/sqrt(cin·9)
  at::Tensor wsq;       // [cout, cin] float32: Σ_taps weight², for demodulation
  at::Tensor shared;    // batch > 1, no upsampling: the kernel in the compute dtype (fp32: `weight`)
  float noise_weight = 0.f;
  at::Tensor bias;      // [cout] float32 (FusedLeakyReLU bias)
  FirTaps taps{};       // upsample blur

  // x [B, cin, H, W] channels-last in the compute dtype, w [B, style] float32,
  // noise [1|B, 1, H', W'] float32 or undefined. Returns [B, cout, H', W'].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& noise) const;
  void prepare(c10::ScalarType dtype);
};

struct ToRGB {
  int64_t cin = 0;
  Modulation mod;
  at::Tensor weight;  // [3, cin] float32, pre-scaled by 1/sqrt(cin)
  at::Tensor bias;    // [3] float32
  FirTaps taps{};     // skip upsampling

  // Returns the RGB skip [B, H, W, 3] float32; prev is the previous skip or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, const at::Tensor& prev) const;
};

// A 2-D convolution through oneDNN on CPU (bypassing LibTorch's small-input heuristic,
// which sends batch-1 layers to im2col), at::conv2d elsewhere.
at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, int64_t pad_h, int64_t pad_w);

// The four polyphase kernels of a stride-2 transposed 3x3 conv, as forward-conv
// weights [cout, cin, kh, kw]: ee (2x2), eo (2x1), oe (1x2), oo (1x1). ATen formulation
// (any device); the oracle of modulated_kernels.
void polyphase_weights(const at::Tensor& w, at::Tensor (&out)[4]);

// The conv kernels of one call in one pass over the weights: weight [cout, cin, 3, 3]
// (channels-last float32) · s[cin] · demod[cout] (either may be undefined: 1), in `dtype`,
// channels-last; out[0] the 3x3 kernel, or out[0..3] the polyphase kernels when upsample.
void modulated_kernels(const at::Tensor& weight, const at::Tensor& s, const at::Tensor& demod,
                       c10::ScalarType dtype, bool upsample, at::Tensor (&out)[4]);

}  // namespace micromotion::nn
