// pSp's map2style head (GradualStyleBlock): log2(spatial) 3x3 stride-2 convs with bias and
// LeakyReLU(0.01) take a feature map down to 1x1, then an EqualLinear (lr_mul 1) gives one
// W+ row. Every encoder runs several of these on the same feature map; they are held as one
// group whose linears run as one batched matmul. The convs stay separate per block:
// concatenating the blocks' first convs or grouping the later ones measured slower with
// oneDNN (up to 4x on the small maps, where weight reorders dominate). Convs reading maps of
// 8x8 or less use pre-packed weights (see EncoderConv).
#pragma once

#include "nn/encoder_conv.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace micromotion::nn {

class StyleBlockGroup {
 public:
  StyleBlockGroup() = default;
  // Reads styles.{first .. first+count-1}.* from `sd`.
  StyleBlockGroup(StateReader& sd, int first, int count, const ComputeFormat& format);

  // x [B, C, S, S] with S = 2^num_convs -> [B, count, style] float32.
  at::Tensor operator()(const at::Tensor& x) const;

  int count() const { return count_; }
  int first() const { return first_; }
  int num_convs() const { return int(blocks_.front().size()); }
  int64_t in_channels() const { return blocks_.front().front().in_channels(); }
  int64_t style_dim() const { return linear_weight_.size(1); }
  double macs(int64_t h, int64_t w) const;

 private:
  int first_ = 0;
  int count_ = 0;
  int64_t width_ = 0;                // conv width of one block
  std::vector<std::vector<EncoderConv>> blocks_;  // per block, its convs
  at::Tensor linear_weight_;         // [count, in, out], EqualLinear scale applied
  at::Tensor linear_bias_;           // [count, 1, out]
};

}  // namespace micromotion::nn
