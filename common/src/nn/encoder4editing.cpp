// e4e's Encoder4Editing at inference (progressive stage "Inference": every delta on):
// row 0 is w0 from the coarsest block, every other row is w0 plus its block's delta.
#include "nn/encoder_network.h"
#include "nn/fpn_style_heads.h"

namespace micromotion::nn {

namespace {

class Encoder4Editing final : public EncoderNetwork {
 public:
  Encoder4Editing(StateReader& sd, int n_styles, const ComputeFormat& format)
      : backbone_(sd, format), heads_(sd, n_styles, backbone_.stage_widths(), format) {}
  at::Tensor forward(const at::Tensor& x) const override {
    at::Tensor blocks = heads_.forward(backbone_.forward(x)).contiguous();
    at::Tensor w0 = blocks.select(1, 0).unsqueeze(1);
    blocks.narrow(1, 1, blocks.size(1) - 1).add_(w0);
    return blocks;
  }
  double macs(int64_t h, int64_t w) const override {
    return backbone_.macs(h, w) + heads_.macs(h, w);
  }
  const IrSeBackbone& backbone() const override { return backbone_; }
  int64_t style_dim() const override { return heads_.style_dim(); }

 private:
  IrSeBackbone backbone_;
  FpnStyleHeads heads_;
};

}  // namespace

std::unique_ptr<EncoderNetwork> make_encoder4editing(StateReader& sd, int n_styles,
                                                     const ComputeFormat& format) {
  return std::make_unique<Encoder4Editing>(sd, n_styles, format);
}

}  // namespace micromotion::nn
