// The two one-pass encoders on an IR-SE backbone with FPN style heads, which differ only in
// how rows combine:
//   pSp's GradualStyleEncoder: each W+ row from its own FPN level;
//   e4e's Encoder4Editing at inference (progressive stage "Inference": every delta on):
//   row 0 is w0 from the coarsest block, every other row is w0 plus its block's delta.
#include "nn/encoder_network.h"
#include "nn/fpn_style_heads.h"

namespace micromotion::nn {

namespace {

class FpnStyleEncoder final : public EncoderNetwork {
 public:
  FpnStyleEncoder(StateReader& sd, int n_styles, const ComputeFormat& format, bool offsets_from_w0)
      : backbone_(sd, format), heads_(sd, n_styles, backbone_.stage_widths(), format),
        offsets_from_w0_(offsets_from_w0) {}
  at::Tensor forward(const at::Tensor& x) const override {
    at::Tensor rows = heads_.forward(backbone_.forward(x));
    if (!offsets_from_w0_) return rows;
    rows = rows.contiguous();
    rows.narrow(1, 1, rows.size(1) - 1).add_(rows.select(1, 0).unsqueeze(1));
    return rows;
  }
  double macs(int64_t h, int64_t w) const override { return backbone_.macs(h, w) + heads_.macs(h, w); }
  const IrSeBackbone& backbone() const override { return backbone_; }
  int64_t style_dim() const override { return heads_.style_dim(); }

 private:
  IrSeBackbone backbone_;
  FpnStyleHeads heads_;
  bool offsets_from_w0_;
};

}  // namespace

std::unique_ptr<EncoderNetwork> make_gradual_style_encoder(StateReader& sd, int n_styles,
                                                           const ComputeFormat& format) {
  return std::make_unique<FpnStyleEncoder>(sd, n_styles, format, false);
}

std::unique_ptr<EncoderNetwork> make_encoder4editing(StateReader& sd, int n_styles, const ComputeFormat& format) {
  return std::make_unique<FpnStyleEncoder>(sd, n_styles, format, true);
}

}  // namespace micromotion::nn
