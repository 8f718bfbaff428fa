// The IR-SE backbone of pSp / ReStyle / e4e (ArcFace's ResNet-IR with squeeze-excitation):
// a 3x3 stem (conv, BN, PReLU) and four stages of bottleneck_IR(_SE) units; the first unit
// of each stage halves the resolution. Depth 50 / 100 / 152 is read from the number of
// units (24 / 49 / 50), widths from the weights; units without SE weights are plain IR.
//
// BatchNorm runs in inference mode. The BN after each unit's second conv, the shortcut's BN
// and the stem's BN are folded into their convs (exact); the BN in front of the first conv
// stays a per-channel affine, because folding it would change the zero padding.
#pragma once

#include "nn/encoder_conv.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <vector>

namespace micromotion::nn {

class IrSeUnit {
 public:
  IrSeUnit(StateReader& sd, const std::string& prefix, int stride, const ComputeFormat& format);
  at::Tensor operator()(const at::Tensor& x) const;

  int64_t in_channels() const { return conv1_.in_channels(); }
  int64_t depth() const { return conv1_.out_channels(); }
  bool squeeze_excite() const { return fc1_.defined(); }
  int stride() const { return stride_; }
  double macs(int64_t in_h, int64_t in_w) const;

 private:
  at::Tensor bn_scale_, bn_shift_;  // [1, C, 1, 1], the BN in front of conv1
  EncoderConv conv1_;
  at::Tensor prelu_;
  EncoderConv conv2_;               // with the following BN folded in
  at::Tensor fc1_, fc2_;            // SE: [C/r, C], [C, C/r]
  EncoderConv shortcut_;            // 1x1 conv + BN when the width changes
  int stride_ = 1;
};

class IrSeBackbone {
 public:
  // Reads input_layer.* and body.* from `sd` (keys relative to the encoder).
  IrSeBackbone(StateReader& sd, const ComputeFormat& format);

  // Stem and all units; returns the feature map at the end of each of the four stages
  // (strides 2, 4, 8, 16 relative to the input).
  std::array<at::Tensor, 4> forward(const at::Tensor& x) const;

  int num_layers() const { return num_layers_; }
  int input_channels() const { return int(stem_.in_channels()); }
  bool squeeze_excite() const { return units_.front().squeeze_excite(); }
  // Output width of each stage.
  std::array<int64_t, 4> stage_widths() const;
  int64_t stem_width() const { return stem_.out_channels(); }
  double macs(int64_t h, int64_t w) const;

  // Units per stage for a depth (50, 100, 152); throws for any other.
  static std::array<int, 4> stage_units(int num_layers);
  // The depth whose unit count is n, or 0 when none is.
  static int depth_for_units(int n);

 private:
  EncoderConv stem_;
  at::Tensor stem_prelu_;
  std::vector<IrSeUnit> units_;
  std::array<int, 4> stage_end_{};  // index of the last unit of each stage
  int num_layers_ = 50;
};

}  // namespace micromotion::nn
