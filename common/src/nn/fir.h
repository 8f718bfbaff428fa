// The [1,3,3,1] FIR steps of StyleGAN2 (upfirdn2d) as fused CPU kernels over
// channels-last data, with ATen formulations for other devices (internal).
//
// Layout: activations are NCHW tensors in channels-last memory (NHWC in memory); the
// RGB skip is a plain contiguous [B, H, W, 3] float32 tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

namespace micromotion::nn {

// Symmetric separable 4-tap filter, 1-D taps of the (already gain-scaled) 2-D kernel.
using FirTaps = std::array<float, 4>;

// Recovers the 1-D taps of a stored 4x4 kernel buffer; throws Error if the kernel is
// not 4x4, separable and symmetric.
FirTaps fir_taps(const at::Tensor& kernel2d, const char* what);

// The transposed 3x3 stride-2 conv of an upsampling StyledConv, given as its four
// polyphase outputs (see styled_conv.cpp): ee [B,C,h+1,w+1], eo [B,C,h+1,w],
// oe [B,C,h,w+1], oo [B,C,h,w] (channels-last). Computes, into `out` [B,C,2h,2w]
// (channels-last, same dtype):
//   v = blur(phases)·demod[b,c] + noise_weight·noise[b,y,x] + bias[c];  out = lrelu(v, 0.2)·√2
// demod: [B,C] float32 or undefined; noise: [1 or B,1,2h,2w] float32 or undefined.
void upsample_blur_activate(const at::Tensor& ee, const at::Tensor& eo, const at::Tensor& oe, const at::Tensor& oo,
                            const FirTaps& taps, const at::Tensor& demod, const at::Tensor& noise,
                            float noise_weight, const at::Tensor& bias, at::Tensor& out);

// In place on a conv output x [B,C,H,W] (channels-last):
//   x = lrelu(x·demod[b,c] + noise_weight·noise[b,y,x] + bias[c], 0.2)·√2
void bias_noise_activate_(at::Tensor& x, const at::Tensor& demod, const at::Tensor& noise, float noise_weight,
                          const at::Tensor& bias);

// ToRGB: rgb[b,y,x,k] = Σ_c x[b,c,y,x]·weight[b,k,c] + bias[k] + up2(prev)[b,y,x,k]
// x channels-last [B,C,H,W]; weight [B,3,C] float32 (modulated, not demodulated);
// prev [B,H/2,W/2,3] float32 or undefined (upsampled 2x with `taps`, pad (2,1)).
// Returns [B,H,W,3] float32.
at::Tensor to_rgb(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& prev,
                  const FirTaps& taps);

// ATen-only formulations of the three functions above (any device; also the test
// oracle of the fused kernels).
namespace reference {
at::Tensor upsample_blur_activate(const at::Tensor& ee, const at::Tensor& eo, const at::Tensor& oe,
                                  const at::Tensor& oo, const FirTaps& taps, const at::Tensor& demod,
                                  const at::Tensor& noise, float noise_weight, const at::Tensor& bias);
at::Tensor bias_noise_activate(const at::Tensor& x, const at::Tensor& demod, const at::Tensor& noise,
                               float noise_weight, const at::Tensor& bias);
at::Tensor to_rgb(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& prev,
                  const FirTaps& taps);
}  // namespace reference

}  // namespace micromotion::nn
