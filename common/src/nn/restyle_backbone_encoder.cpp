// ReStyle-pSp's BackboneEncoder: every W+ row from the backbone's final map.
#include "nn/encoder_network.h"
#include "nn/gradual_style_block.h"

#include <micromotion/error.h>

#include <string>

namespace micromotion::nn {

namespace {

class BackboneEncoder final : public EncoderNetwork {
 public:
  BackboneEncoder(StateReader& sd, int n_styles, const ComputeFormat& format)
      : backbone_(sd, format), styles_(sd, 0, n_styles, format) {
    if (styles_.in_channels() != backbone_.stage_widths()[3]) {
      throw Error(sd.file() + ": style blocks take " + std::to_string(styles_.in_channels()) +
                  " channels, the backbone gives " + std::to_string(backbone_.stage_widths()[3]));
    }
  }
  at::Tensor forward(const at::Tensor& x) const override {
    return styles_(backbone_.forward(x)[3]);
  }
  double macs(int64_t h, int64_t w) const override {
    return backbone_.macs(h, w) + styles_.macs(h / 16, w / 16);
  }
  const IrSeBackbone& backbone() const override { return backbone_; }
  int64_t style_dim() const override { return styles_.style_dim(); }

 private:
  IrSeBackbone backbone_;
  StyleBlockGroup styles_;
};

}  // namespace

std::unique_ptr<EncoderNetwork> make_backbone_encoder(StateReader& sd, int n_styles,
                                                      const ComputeFormat& format) {
  return std::make_unique<BackboneEncoder>(sd, n_styles, format);
}

}  // namespace micromotion::nn
