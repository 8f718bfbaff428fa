#include "nn/fpn_style_heads.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>
#include <string>

namespace micromotion::nn {

namespace {

// pSp's split of the W+ rows over the three FPN levels.
constexpr int kCoarseEnd = 3;
constexpr int kMiddleEnd = 7;

// Upsamples `top` to the size of `lateral` (bilinear, align_corners as pSp) and adds it.
at::Tensor upsample_add(const at::Tensor& top, at::Tensor lateral) {
  at::Tensor up = at::upsample_bilinear2d(top, {lateral.size(2), lateral.size(3)}, true);
  return lateral.add_(up);
}

}  // namespace

FpnStyleHeads::FpnStyleHeads(StateReader& sd, int n_styles,
                             const std::array<int64_t, 4>& widths, const ComputeFormat& format) {
  const int n_coarse = std::min(n_styles, kCoarseEnd);
  const int n_middle = std::clamp(n_styles - kCoarseEnd, 0, kMiddleEnd - kCoarseEnd);
  const int n_fine = std::max(n_styles - kMiddleEnd, 0);
  coarse_ = StyleBlockGroup(sd, 0, n_coarse, format);
  if (n_middle > 0) {
    at::Tensor w = sd.take("latlayer1.weight", {widths[3], widths[2], 1, 1});
    latlayer1_ = EncoderConv(w, sd.take("latlayer1.bias", {widths[3]}), 1, 0, format);
    middle_ = StyleBlockGroup(sd, kCoarseEnd, n_middle, format);
  }
  if (n_fine > 0) {
    at::Tensor w = sd.take("latlayer2.weight", {widths[3], widths[1], 1, 1});
    latlayer2_ = EncoderConv(w, sd.take("latlayer2.bias", {widths[3]}), 1, 0, format);
    fine_ = StyleBlockGroup(sd, kMiddleEnd, n_fine, format);
  }
  for (const StyleBlockGroup* g : {&coarse_, &middle_, &fine_}) {
    if (g->count() > 0 && g->in_channels() != widths[3]) {
      throw Error(sd.file() + ": style block " + std::to_string(g->first()) + " takes " +
                  std::to_string(g->in_channels()) + " channels, the FPN gives " +
                  std::to_string(widths[3]));
    }
    if (g->count() > 0 && g->style_dim() != coarse_.style_dim()) {
      throw Error(sd.file() + ": style blocks disagree on the style dimension");
    }
  }
}

at::Tensor FpnStyleHeads::forward(const std::array<at::Tensor, 4>& stages) const {
  std::vector<at::Tensor> rows{coarse_(stages[3])};
  if (middle_.count() > 0) {
    at::Tensor p2 = upsample_add(stages[3], latlayer1_(stages[2]));
    rows.push_back(middle_(p2));
    if (fine_.count() > 0) {
      at::Tensor p1 = upsample_add(p2, latlayer2_(stages[1]));
      rows.push_back(fine_(p1));
    }
  }
  return rows.size() == 1 ? rows[0] : at::cat(rows, 1);
}

double FpnStyleHeads::macs(int64_t h, int64_t w) const {
  // Stage ends are at strides 4, 8 and 16 of the input.
  double m = coarse_.macs(h / 16, w / 16);
  if (middle_.count() > 0) m += latlayer1_.macs(h / 8, w / 8) + middle_.macs(h / 8, w / 8);
  if (fine_.count() > 0) m += latlayer2_.macs(h / 4, w / 4) + fine_.macs(h / 4, w / 4);
  return m;
}

}  // namespace micromotion::nn
