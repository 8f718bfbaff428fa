#include "nn/encoder_conv.h"

#include <micromotion/shape_text.h>
#include <micromotion/error.h>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <sstream>

namespace micromotion::nn {

at::Tensor to_encoder_format(const at::Tensor& x, const ComputeFormat& format) {
  auto y = x.to(format.device, format.dtype);
  return x.dim() == 4 ? y.contiguous(at::MemoryFormat::ChannelsLast) : y.contiguous();
}

at::Tensor BatchNorm::scale() const {
  auto s = weight.to(at::kDouble) / (running_var.to(at::kDouble) + eps).sqrt();
  return s.to(at::kFloat);
}

at::Tensor BatchNorm::shift() const {
  auto s = weight.to(at::kDouble) / (running_var.to(at::kDouble) + eps).sqrt();
  return (bias.to(at::kDouble) - running_mean.to(at::kDouble) * s).to(at::kFloat);
}

EncoderConv::EncoderConv(const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                         int stride, int padding, const ComputeFormat& format, bool prepack)
    : out_channels_(weight.size(0)),
      in_channels_(weight.size(1)),
      kernel_(weight.size(2) * weight.size(3)),
      stride_(stride),
      padding_(padding) {
  onednn_ = format.device.is_cpu() && at::hasMKLDNN();
  if (onednn_ && prepack) {
    weight_ = at::mkldnn_reorder_conv2d_weight(
        weight.to(format.device, format.dtype).contiguous().to_mkldnn(), {padding, padding},
        {stride, stride}, {1, 1}, 1);
  } else {
    weight_ = weight.to(format.device, format.dtype).contiguous(at::MemoryFormat::ChannelsLast);
  }
  if (bias) bias_ = bias->to(format.device, format.dtype).contiguous();
}

EncoderConv EncoderConv::with_batch_norm(const at::Tensor& weight, const BatchNorm& bn,
                                         int stride, int padding, const ComputeFormat& format) {
  auto w = weight.to(at::kDouble) *
           bn.scale().to(weight.device(), at::kDouble).view({-1, 1, 1, 1});
  return EncoderConv(w.to(at::kFloat), bn.shift(), stride, padding, format);
}

at::Tensor EncoderConv::operator()(const at::Tensor& x) const {
  if (onednn_) {
    return at::mkldnn_convolution(x, weight_, bias_, {padding_, padding_}, {stride_, stride_},
                                  {1, 1}, 1);
  }
  return at::conv2d(x, weight_, bias_, {stride_, stride_}, {padding_, padding_});
}

double EncoderConv::macs(int64_t out_h, int64_t out_w) const {
  return double(out_channels_ * in_channels_ * kernel_) * double(out_h) * double(out_w);
}

StateReader::StateReader(std::map<std::string, at::Tensor>& sd, std::string file)
    : sd_(sd), file_(std::move(file)) {}

bool StateReader::has(const std::string& key) const { return sd_.count(key) != 0; }

at::Tensor StateReader::take(const std::string& key) {
  auto it = sd_.find(key);
  if (it == sd_.end()) {
    throw Error(file_ + ": encoder weight 'encoder." + key + "' is missing");
  }
  at::Tensor t = std::move(it->second);
  sd_.erase(it);
  return t;
}

at::Tensor StateReader::take(const std::string& key, at::IntArrayRef shape) {
  at::Tensor t = take(key);
  bool ok = t.dim() == int64_t(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || t.size(i) == shape[i];
  if (!ok) {
    throw Error(file_ + ": encoder weight 'encoder." + key + "' has shape " +
                shape_text(t.sizes()) + ", expected " + shape_text(shape) +
                " (-1: any size)");
  }
  return t;
}

BatchNorm StateReader::take_batch_norm(const std::string& prefix) {
  BatchNorm bn;
  bn.weight = take(prefix + ".weight", {-1});
  const int64_t c = bn.weight.size(0);
  bn.bias = take(prefix + ".bias", {c});
  bn.running_mean = take(prefix + ".running_mean", {c});
  bn.running_var = take(prefix + ".running_var", {c});
  sd_.erase(prefix + ".num_batches_tracked");
  return bn;
}

}  // namespace micromotion::nn
