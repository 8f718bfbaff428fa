// The three encoder networks behind micromotion::Encoder, all on the IR-SE backbone:
//   BackboneEncoder   (ReStyle-pSp)  every W+ row from the last 16x16 map;
//   GradualStyleEncoder (pSp)        FPN: rows 0-2 from the 16x16 map, 3-6 from 32x32, 7+ from 64x64;
//   Encoder4Editing   (e4e)          the same FPN, row 0 is w0 and every other row w0 + delta.
// forward: x [B, input_nc, 256, 256] in the compute format -> codes [B, n_styles, style]
// float32, before any latent average is added.
#pragma once

#include "nn/encoder_conv.h"
#include "nn/ir_se.h"

#include <ATen/core/Tensor.h>

#include <memory>

namespace micromotion::nn {

class EncoderNetwork {
 public:
  virtual ~EncoderNetwork() = default;
  virtual at::Tensor forward(const at::Tensor& x) const = 0;
  // Multiply-accumulates of one forward at h x w.
  virtual double macs(int64_t h, int64_t w) const = 0;
  virtual const IrSeBackbone& backbone() const = 0;
  virtual int64_t style_dim() const = 0;
};

std::unique_ptr<EncoderNetwork> make_backbone_encoder(StateReader& sd, int n_styles,
                                                      const ComputeFormat& format);
std::unique_ptr<EncoderNetwork> make_gradual_style_encoder(StateReader& sd, int n_styles,
                                                           const ComputeFormat& format);
std::unique_ptr<EncoderNetwork> make_encoder4editing(StateReader& sd, int n_styles,
                                                     const ComputeFormat& format);

}  // namespace micromotion::nn
