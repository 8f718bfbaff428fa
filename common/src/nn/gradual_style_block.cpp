#include "nn/gradual_style_block.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>

namespace micromotion::nn {

StyleBlockGroup::StyleBlockGroup(StateReader& sd, int first, int count, const ComputeFormat& format)
    : first_(first), count_(count) {
  if (count <= 0) return;
  std::vector<at::Tensor> lin_w, lin_b;
  for (int b = 0; b < count; ++b) {
    const std::string p = "styles." + std::to_string(first + b) + ".";
    int n = 0;
    while (sd.has(p + "convs." + std::to_string(2 * n) + ".weight")) ++n;
    if (n == 0) throw Error(sd.file() + ": style block 'encoder." + p + "' has no convs");
    if (b > 0 && size_t(n) != blocks_.front().size()) {
      throw Error(sd.file() + ": style block 'encoder." + p + "' has " + std::to_string(n) +
                  " convs, block " + std::to_string(first) + " has " +
                  std::to_string(blocks_.front().size()) +
                  " (blocks reading one feature map must match)");
    }
    std::vector<EncoderConv> convs;
    int64_t width = -1;
    for (int i = 0; i < n; ++i) {
      const std::string c = p + "convs." + std::to_string(2 * i);
      at::Tensor w = sd.take(c + ".weight", {-1, width, 3, 3});
      if (b > 0 && (w.size(0) != blocks_[0][i].out_channels() ||
                    w.size(1) != blocks_[0][i].in_channels())) {
        throw Error(sd.file() + ": style block 'encoder." + p + "' conv " + std::to_string(i) +
                    " differs in shape from block " + std::to_string(first));
      }
      width = w.size(0);
      // The block ends at 1x1, so conv i reads a map of 2^(n-i).
      const bool small_map = n - i <= 3;
      convs.emplace_back(w, sd.take(c + ".bias", {width}), 2, 1, format, small_map);
    }
    blocks_.push_back(std::move(convs));
    at::Tensor lw = sd.take(p + "linear.weight", {-1, width});
    lin_b.push_back(sd.take(p + "linear.bias", {lw.size(0)}));
    // EqualLinear, lr_mul 1: weight scaled by 1/sqrt(fan_in) at run time; done once here.
    lin_w.push_back(lw.to(at::kFloat) * (1.0 / std::sqrt(double(width))));
  }
  width_ = blocks_.front().back().out_channels();
  linear_weight_ = at::stack(lin_w, 0).transpose(1, 2).to(format.device, format.dtype).contiguous();
  linear_bias_ = at::stack(lin_b, 0).unsqueeze(1).to(format.device, at::kFloat).contiguous();
}

at::Tensor StyleBlockGroup::operator()(const at::Tensor& x) const {
  const int64_t batch = x.size(0);
  std::vector<at::Tensor> ends;
  ends.reserve(blocks_.size());
  for (const auto& convs : blocks_) {
    at::Tensor h = x;
    for (const auto& conv : convs) {
      h = conv(h);
      at::leaky_relu_(h, 0.01);
    }
    if (h.size(2) != 1 || h.size(3) != 1) {
      throw Error("style blocks " + std::to_string(first_) + ".." +
                  std::to_string(first_ + count_ - 1) + " end at a " +
                  std::to_string(h.size(2)) + "x" + std::to_string(h.size(3)) +
                  " map instead of 1x1: the encoder expects a 256x256 input");
    }
    ends.push_back(h.reshape({batch, width_}));
  }
  // [count, B, W] x [count, W, style] -> [count, B, style] -> [B, count, style]
  at::Tensor y = at::bmm(at::stack(ends, 0), linear_weight_).to(at::kFloat) + linear_bias_;
  return y.transpose(0, 1);
}

double StyleBlockGroup::macs(int64_t h, int64_t w) const {
  double m = 0;
  for (const auto& conv : blocks_.front()) {
    h = (h + 1) / 2;
    w = (w + 1) / 2;
    m += conv.macs(h, w);
  }
  return m * double(count_) + double(linear_weight_.numel());
}

}  // namespace micromotion::nn
