// pSp's GradualStyleEncoder: each W+ row from its own FPN level.
#include "nn/encoder_network.h"
#include "nn/fpn_style_heads.h"

namespace micromotion::nn {

namespace {

class GradualStyleEncoder final : public EncoderNetwork {
 public:
  GradualStyleEncoder(StateReader& sd, int n_styles, const ComputeFormat& format)
      : backbone_(sd, format), heads_(sd, n_styles, backbone_.stage_widths(), format) {}
  at::Tensor forward(const at::Tensor& x) const override {
    return heads_.forward(backbone_.forward(x));
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

std::unique_ptr<EncoderNetwork> make_gradual_style_encoder(StateReader& sd, int n_styles,
                                                           const ComputeFormat& format) {
  return std::make_unique<GradualStyleEncoder>(sd, n_styles, format);
}

}  // namespace micromotion::nn
