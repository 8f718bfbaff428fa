#include "nn/ir_se.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <string>

namespace micromotion::nn {

namespace {

at::Tensor channel_param(const at::Tensor& t, const ComputeFormat& format) {
  return t.to(format.device, format.dtype).reshape({1, -1, 1, 1}).contiguous();
}

}  // namespace

IrSeUnit::IrSeUnit(StateReader& sd, const std::string& p, int stride, const ComputeFormat& format)
    : stride_(stride) {
  BatchNorm bn0 = sd.take_batch_norm(p + "res_layer.0");
  bn_scale_ = channel_param(bn0.scale(), format);
  bn_shift_ = channel_param(bn0.shift(), format);
  const int64_t in = bn0.weight.size(0);
  at::Tensor w1 = sd.take(p + "res_layer.1.weight", {-1, in, 3, 3});
  const int64_t depth = w1.size(0);
  conv1_ = EncoderConv(w1, std::nullopt, 1, 1, format);
  prelu_ = sd.take(p + "res_layer.2.weight", {depth}).to(format.device, format.dtype).contiguous();
  at::Tensor w2 = sd.take(p + "res_layer.3.weight", {depth, depth, 3, 3});
  conv2_ = EncoderConv::with_batch_norm(w2, sd.take_batch_norm(p + "res_layer.4"), stride, 1, format);
  if (sd.has(p + "res_layer.5.fc1.weight")) {
    at::Tensor f1 = sd.take(p + "res_layer.5.fc1.weight", {-1, depth, 1, 1});
    at::Tensor f2 = sd.take(p + "res_layer.5.fc2.weight", {depth, f1.size(0), 1, 1});
    fc1_ = f1.flatten(1).to(format.device, format.dtype).contiguous();
    fc2_ = f2.flatten(1).to(format.device, format.dtype).contiguous();
  }
  if (sd.has(p + "shortcut_layer.0.weight")) {
    at::Tensor ws = sd.take(p + "shortcut_layer.0.weight", {depth, in, 1, 1});
    shortcut_ = EncoderConv::with_batch_norm(ws, sd.take_batch_norm(p + "shortcut_layer.1"),
                                             stride, 0, format);
  } else if (in != depth) {
    throw Error(sd.file() + ": IR unit 'encoder." + p + "' changes width " +
                std::to_string(in) + " -> " + std::to_string(depth) +
                " but has no shortcut_layer.0.weight");
  }
}

at::Tensor IrSeUnit::operator()(const at::Tensor& x) const {
  at::Tensor shortcut;
  if (shortcut_.defined()) {
    shortcut = shortcut_(x);
  } else if (stride_ == 1) {
    shortcut = x;
  } else {
    // MaxPool2d(kernel 1, stride s) is plain subsampling.
    shortcut = x.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
  }
  at::Tensor r = conv1_(at::addcmul(bn_shift_, x, bn_scale_));
  r = at::prelu(r, prelu_);
  r = conv2_(r);
  if (!fc1_.defined()) return r.add_(shortcut);
  at::Tensor g = at::mean(r, {2, 3});
  g = at::linear(g, fc1_).relu_();
  g = at::linear(g, fc2_).sigmoid_();
  return at::addcmul(shortcut, r, g.view({g.size(0), g.size(1), 1, 1}));
}

double IrSeUnit::macs(int64_t h, int64_t w) const {
  const int64_t oh = (h + stride_ - 1) / stride_, ow = (w + stride_ - 1) / stride_;
  double m = conv1_.macs(h, w) + conv2_.macs(oh, ow);
  if (shortcut_.defined()) m += shortcut_.macs(oh, ow);
  return m;
}

std::array<int, 4> IrSeBackbone::stage_units(int num_layers) {
  switch (num_layers) {
    case 50: return {3, 4, 14, 3};
    case 100: return {3, 13, 30, 3};
    case 152: return {3, 8, 36, 3};
    default: throw Error("IR-SE depth must be 50, 100 or 152, not " + std::to_string(num_layers));
  }
}

int IrSeBackbone::depth_for_units(int n) {
  for (int d : {50, 100, 152}) {
    auto u = stage_units(d);
    if (u[0] + u[1] + u[2] + u[3] == n) return d;
  }
  return 0;
}

IrSeBackbone::IrSeBackbone(StateReader& sd, const ComputeFormat& format) {
  at::Tensor w0 = sd.take("input_layer.0.weight", {-1, -1, 3, 3});
  stem_ = EncoderConv::with_batch_norm(w0, sd.take_batch_norm("input_layer.1"), 1, 1, format);
  stem_prelu_ = sd.take("input_layer.2.weight", {w0.size(0)}).to(format.device, format.dtype).contiguous();

  int n = 0;
  while (sd.has("body." + std::to_string(n) + ".res_layer.0.weight")) ++n;
  num_layers_ = depth_for_units(n);
  if (num_layers_ == 0) {
    throw Error(sd.file() + ": the encoder body has " + std::to_string(n) +
                " IR units; IR-SE 50 / 100 / 152 have 24 / 49 / 50");
  }
  const auto units = stage_units(num_layers_);
  int index = 0;
  for (int s = 0; s < 4; ++s) {
    for (int u = 0; u < units[s]; ++u, ++index) {
      units_.emplace_back(sd, "body." + std::to_string(index) + ".", u == 0 ? 2 : 1, format);
      if (units_.size() > 1 && units_[units_.size() - 2].depth() != units_.back().in_channels()) {
        throw Error(sd.file() + ": IR unit 'encoder.body." + std::to_string(index) +
                    "' takes " + std::to_string(units_.back().in_channels()) +
                    " channels but the previous unit gives " +
                    std::to_string(units_[units_.size() - 2].depth()));
      }
    }
    stage_end_[s] = index - 1;
  }
  if (units_.front().in_channels() != stem_.out_channels()) {
    throw Error(sd.file() + ": the first IR unit takes " +
                std::to_string(units_.front().in_channels()) + " channels but the stem gives " +
                std::to_string(stem_.out_channels()));
  }
}

std::array<at::Tensor, 4> IrSeBackbone::forward(const at::Tensor& x) const {
  std::array<at::Tensor, 4> out;
  at::Tensor h = at::prelu(stem_(x), stem_prelu_);
  int stage = 0;
  for (size_t i = 0; i < units_.size(); ++i) {
    h = units_[i](h);
    if (int(i) == stage_end_[stage]) out[stage++] = h;
  }
  return out;
}

std::array<int64_t, 4> IrSeBackbone::stage_widths() const {
  std::array<int64_t, 4> w{};
  for (int s = 0; s < 4; ++s) w[s] = units_[stage_end_[s]].depth();
  return w;
}

double IrSeBackbone::macs(int64_t h, int64_t w) const {
  double m = stem_.macs(h, w);
  for (const auto& u : units_) {
    m += u.macs(h, w);
    h = (h + u.stride() - 1) / u.stride();
    w = (w + u.stride() - 1) / u.stride();
  }
  return m;
}

}  // namespace micromotion::nn
