// Convolution layers of the encoders (IR-SE backbone, FPN lateral layers, style blocks).
//
// EncoderConv holds one conv in the form the fast path wants: weight in the compute dtype
// and channels-last, BatchNorm folded in where that is exact (a BN *after* the conv), bias
// optional. On CPU it calls oneDNN directly: Debian's torch 1.13 routes small batch-1 convs
// (the 4x4 and 2x2 maps of the style blocks) to im2col + BLAS otherwise. For such tiny maps
// the weight is also pre-packed in oneDNN's blocked layout: the per-call weight reorder
// otherwise costs 3-4x the arithmetic (512x512x3x3 weights for a 2x2 -> 1x1 conv).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <map>
#include <optional>
#include <string>

namespace micromotion::nn {

// Where and in what dtype a network computes.
struct ComputeFormat {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::kFloat;
};

// Converts an activation to the layout every encoder layer expects (dtype, channels-last).
at::Tensor to_encoder_format(const at::Tensor& x, const ComputeFormat& format);

// Inference-mode BatchNorm2d parameters (PyTorch's default eps).
struct BatchNorm {
  at::Tensor weight, bias, running_mean, running_var;
  double eps = 1e-5;

  // y = x * scale + shift, computed in double then returned as float32 [C].
  at::Tensor scale() const;
  at::Tensor shift() const;
};

class EncoderConv {
 public:
  EncoderConv() = default;
  // A plain conv (weight [O, I, k, k], optional bias [O]). `prepack`: keep the weight in
  // oneDNN's own layout (CPU only; worth it for maps of 8x8 and less, slower for large ones;
  // the output is then NCHW-contiguous).
  EncoderConv(const at::Tensor& weight, const std::optional<at::Tensor>& bias, int stride,
              int padding, const ComputeFormat& format, bool prepack = false);
  // conv followed by an inference BatchNorm, folded into one conv with bias (exact: the BN
  // acts on the conv's output, so padding is unaffected).
  static EncoderConv with_batch_norm(const at::Tensor& weight, const BatchNorm& bn, int stride,
                                     int padding, const ComputeFormat& format);

  at::Tensor operator()(const at::Tensor& x) const;

  int64_t out_channels() const { return out_channels_; }
  int64_t in_channels() const { return in_channels_; }
  bool defined() const { return weight_.defined(); }
  // Multiply-accumulates for one output map of size out_h x out_w (benchmarks).
  double macs(int64_t out_h, int64_t out_w) const;

 private:
  at::Tensor weight_;
  c10::optional<at::Tensor> bias_;
  int64_t out_channels_ = 0, in_channels_ = 0, kernel_ = 0;
  int stride_ = 1;
  int padding_ = 0;
  bool onednn_ = false;
};

// State-dict access that consumes what it reads, so the loader never keeps a second copy
// of a weight once it is converted. Keys are relative to `prefix`.
class StateReader {
 public:
  StateReader(std::map<std::string, at::Tensor>& sd, std::string file);

  bool has(const std::string& key) const;
  // The tensor under `key`, removed from the map; throws Error naming the file and key.
  at::Tensor take(const std::string& key);
  // Same, and checks the shape (-1 matches any size).
  at::Tensor take(const std::string& key, at::IntArrayRef shape);
  BatchNorm take_batch_norm(const std::string& prefix);
  const std::string& file() const { return file_; }
  std::map<std::string, at::Tensor>& map() { return sd_; }

 private:
  std::map<std::string, at::Tensor>& sd_;
  std::string file_;
};

}  // namespace micromotion::nn
