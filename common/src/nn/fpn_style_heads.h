// The feature pyramid of pSp's GradualStyleEncoder and e4e, with its three groups of
// style blocks: rows 0-2 read the 16x16 map c3, rows 3-6 p2 = up(c3) + latlayer1(c2) at
// 32x32, rows 7+ p1 = up(p2) + latlayer2(c1) at 64x64 (bilinear, align_corners=True).
// Levels a generator with few W+ rows does not need are neither loaded nor run.
#pragma once

#include "nn/encoder_conv.h"
#include "nn/gradual_style_block.h"

#include <ATen/core/Tensor.h>

#include <array>

namespace micromotion::nn {

// The FPN of pSp and e4e with its three groups of style blocks; forward gives every block's
// output [B, n_styles, style] in block order.
class FpnStyleHeads {
 public:
  FpnStyleHeads(StateReader& sd, int n_styles, const std::array<int64_t, 4>& stage_widths,
                const ComputeFormat& format);
  at::Tensor forward(const std::array<at::Tensor, 4>& stages) const;
  double macs(int64_t h, int64_t w) const;
  int64_t style_dim() const { return coarse_.style_dim(); }

 private:
  EncoderConv latlayer1_, latlayer2_;
  StyleBlockGroup coarse_, middle_, fine_;
};

}  // namespace micromotion::nn
