// Random weights in the layout of the official full-size encoders (benchmarks, tests).
#include "nn/ir_se.h"

#include <micromotion/encoder.h>
#include <micromotion/error.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <string>

namespace micromotion {

namespace {

struct Filler {
  at::Generator gen;
  TensorMap sd;

  at::Tensor randn(at::IntArrayRef shape, double std) {
    return at::randn(shape, gen, at::TensorOptions(at::kFloat)) * std;
  }
  // He-style init keeps activations of a deep random network finite.
  void conv(const std::string& key, int64_t out, int64_t in, int64_t k, double gain = 1.0) {
    sd[key] = randn({out, in, k, k}, gain * std::sqrt(2.0 / double(in * k * k)));
  }
  void batch_norm(const std::string& p, int64_t c) {
    sd[p + ".weight"] = 1.0 + randn({c}, 0.1);
    sd[p + ".bias"] = randn({c}, 0.1);
    sd[p + ".running_mean"] = randn({c}, 0.1);
    sd[p + ".running_var"] = 1.0 + at::rand({c}, gen) * 0.2;
    sd[p + ".num_batches_tracked"] = at::zeros({}, at::kLong);
  }
  void style_block(int index, int64_t in, int64_t out, int convs) {
    const std::string p = "styles." + std::to_string(index) + ".";
    for (int i = 0; i < convs; ++i) {
      conv(p + "convs." + std::to_string(2 * i) + ".weight", out, i == 0 ? in : out, 3);
      sd[p + "convs." + std::to_string(2 * i) + ".bias"] = randn({out}, 0.1);
    }
    sd[p + "linear.weight"] = randn({out, out}, 1.0);
    sd[p + "linear.bias"] = randn({out}, 0.1);
  }
};

}  // namespace

TensorMap Encoder::random_state_dict(EncoderKind kind, int input_channels, int n_styles,
                                     int64_t style_dim, uint64_t seed) {
  if (input_channels != 3 && input_channels != 6) throw Error("input_channels must be 3 or 6");
  Filler f{at::detail::createCPUGenerator(seed), {}};
  const int64_t stem = 64;
  const std::array<int64_t, 4> widths{64, 128, 256, 512};
  f.conv("input_layer.0.weight", stem, input_channels, 3);
  f.batch_norm("input_layer.1", stem);
  f.sd["input_layer.2.weight"] = at::full({stem}, 0.25);
  const auto units = nn::IrSeBackbone::stage_units(50);
  int index = 0;
  int64_t in = stem;
  for (int s = 0; s < 4; ++s) {
    for (int u = 0; u < units[s]; ++u, ++index) {
      const std::string p = "body." + std::to_string(index) + ".";
      const int64_t depth = widths[s];
      f.batch_norm(p + "res_layer.0", in);
      f.conv(p + "res_layer.1.weight", depth, in, 3);
      f.sd[p + "res_layer.2.weight"] = at::full({depth}, 0.25);
      f.conv(p + "res_layer.3.weight", depth, depth, 3, 0.3);  // small residuals
      f.batch_norm(p + "res_layer.4", depth);
      f.conv(p + "res_layer.5.fc1.weight", depth / 16, depth, 1);
      f.conv(p + "res_layer.5.fc2.weight", depth, depth / 16, 1);
      if (in != depth) {
        f.conv(p + "shortcut_layer.0.weight", depth, in, 1);
        f.batch_norm(p + "shortcut_layer.1", depth);
      }
      in = depth;
    }
  }
  for (int i = 0; i < n_styles; ++i) {
    int convs = 4;  // from the 16x16 map
    if (kind != EncoderKind::Backbone) convs = i < 3 ? 4 : i < 7 ? 5 : 6;
    f.style_block(i, widths[3], style_dim, convs);
  }
  if (kind != EncoderKind::Backbone) {
    f.conv("latlayer1.weight", widths[3], widths[2], 1);
    f.sd["latlayer1.bias"] = f.randn({widths[3]}, 0.1);
    f.conv("latlayer2.weight", widths[3], widths[1], 1);
    f.sd["latlayer2.bias"] = f.randn({widths[3]}, 0.1);
  }
  return std::move(f.sd);
}

}  // namespace micromotion
