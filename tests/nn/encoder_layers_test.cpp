// The encoder layers against plain ATen formulations of the reference modules
// (BatchNorm2d in eval mode, Conv2d, PReLU, SEModule, GradualStyleBlock, FPN upsample-add),
// on seeded random weights, fp32 and bf16.
#include "test_support.h"

#include "nn/encoder_conv.h"
#include "nn/fpn_style_heads.h"
#include "nn/gradual_style_block.h"
#include "nn/ir_se.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>

namespace {

using micromotion::TensorMap;
using namespace micromotion::nn;

double max_rel(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>() /
         std::max(1e-12, want.to(at::kDouble).abs().max().item<double>());
}

at::Tensor randn(at::IntArrayRef shape, double std = 1.0) { return at::randn(shape) * std; }

void add_bn(TensorMap& sd, const std::string& p, int64_t c) {
  sd[p + ".weight"] = 1.0 + randn({c}, 0.1);
  sd[p + ".bias"] = randn({c}, 0.1);
  sd[p + ".running_mean"] = randn({c}, 0.1);
  sd[p + ".running_var"] = 1.0 + at::rand({c}) * 0.2;
  sd[p + ".num_batches_tracked"] = at::zeros({}, at::kLong);
}

at::Tensor ref_bn(const at::Tensor& x, const TensorMap& sd, const std::string& p) {
  return at::batch_norm(x, sd.at(p + ".weight"), sd.at(p + ".bias"), sd.at(p + ".running_mean"),
                        sd.at(p + ".running_var"), false, 0.1, 1e-5, false);
}

void add_unit(TensorMap& sd, const std::string& p, int64_t in, int64_t depth, bool se) {
  add_bn(sd, p + "res_layer.0", in);
  sd[p + "res_layer.1.weight"] = randn({depth, in, 3, 3}, 1.0 / std::sqrt(in * 9.0));
  sd[p + "res_layer.2.weight"] = 0.25 + randn({depth}, 0.05);
  sd[p + "res_layer.3.weight"] = randn({depth, depth, 3, 3}, 1.0 / std::sqrt(depth * 9.0));
  add_bn(sd, p + "res_layer.4", depth);
  if (se) {
    sd[p + "res_layer.5.fc1.weight"] = randn({depth / 4, depth, 1, 1}, 0.3);
    sd[p + "res_layer.5.fc2.weight"] = randn({depth, depth / 4, 1, 1}, 0.3);
  }
  if (in != depth) {
    sd[p + "shortcut_layer.0.weight"] = randn({depth, in, 1, 1}, 1.0 / std::sqrt(double(in)));
    add_bn(sd, p + "shortcut_layer.1", depth);
  }
}

// bottleneck_IR(_SE).forward, module by module.
at::Tensor ref_unit(const at::Tensor& x, const TensorMap& sd, const std::string& p, int stride) {
  at::Tensor shortcut;
  if (sd.count(p + "shortcut_layer.0.weight")) {
    shortcut = ref_bn(at::conv2d(x, sd.at(p + "shortcut_layer.0.weight"), {}, stride), sd,
                      p + "shortcut_layer.1");
  } else {
    shortcut = at::max_pool2d(x, {1, 1}, {stride, stride});
  }
  at::Tensor r = ref_bn(x, sd, p + "res_layer.0");
  r = at::conv2d(r, sd.at(p + "res_layer.1.weight"), {}, 1, 1);
  r = at::prelu(r, sd.at(p + "res_layer.2.weight"));
  r = at::conv2d(r, sd.at(p + "res_layer.3.weight"), {}, stride, 1);
  r = ref_bn(r, sd, p + "res_layer.4");
  if (sd.count(p + "res_layer.5.fc1.weight")) {
    at::Tensor g = at::adaptive_avg_pool2d(r, {1, 1});
    g = at::relu(at::conv2d(g, sd.at(p + "res_layer.5.fc1.weight")));
    g = at::sigmoid(at::conv2d(g, sd.at(p + "res_layer.5.fc2.weight")));
    r = r * g;
  }
  return r + shortcut;
}

void add_style_block(TensorMap& sd, int index, int64_t in, int64_t out, int convs) {
  const std::string p = "styles." + std::to_string(index) + ".";
  for (int i = 0; i < convs; ++i) {
    const int64_t cin = i == 0 ? in : out;
    sd[p + "convs." + std::to_string(2 * i) + ".weight"] = randn({out, cin, 3, 3}, 1.0 / std::sqrt(cin * 9.0));
    sd[p + "convs." + std::to_string(2 * i) + ".bias"] = randn({out}, 0.1);
  }
  sd[p + "linear.weight"] = randn({out, out});
  sd[p + "linear.bias"] = randn({out}, 0.1);
}

// GradualStyleBlock.forward.
at::Tensor ref_style_block(const at::Tensor& x, const TensorMap& sd, int index) {
  const std::string p = "styles." + std::to_string(index) + ".";
  at::Tensor h = x;
  for (int i = 0; sd.count(p + "convs." + std::to_string(2 * i) + ".weight"); ++i) {
    const std::string c = p + "convs." + std::to_string(2 * i);
    h = at::leaky_relu(at::conv2d(h, sd.at(c + ".weight"), sd.at(c + ".bias"), 2, 1), 0.01);
  }
  const int64_t out = sd.at(p + "linear.weight").size(0);
  h = h.view({-1, out});
  return at::linear(h, sd.at(p + "linear.weight") / std::sqrt(double(out)), sd.at(p + "linear.bias"));
}

class EncoderLayers : public ::testing::TestWithParam<c10::ScalarType> {
 protected:
  void SetUp() override {
    if (GetParam() == at::kBFloat16) MM_SKIP_WITHOUT_BF16(c10::Device(c10::kCPU));
    at::manual_seed(1234);
  }
  ComputeFormat format() const { return {c10::kCPU, GetParam()}; }
  // fp32: summation order only; bf16: 8-bit mantissa through several layers.
  double tol() const { return GetParam() == at::kFloat ? 2e-5 : 4e-2; }
};

TEST_P(EncoderLayers, IrSeUnitMatchesModules) {
  struct Case { int64_t in, depth; int stride; bool se; };
  for (const Case& c : {Case{8, 8, 2, true}, Case{8, 16, 2, true}, Case{16, 16, 1, true},
                        Case{8, 16, 1, false}, Case{16, 16, 2, false}}) {
    TensorMap sd;
    add_unit(sd, "u.", c.in, c.depth, c.se);
    const TensorMap keep = sd;
    at::Tensor x = randn({2, c.in, 17, 17});  // odd size: stride-2 rounding as MaxPool2d(1, 2)
    StateReader reader(sd, "test");
    IrSeUnit unit(reader, "u.", c.stride, format());
    EXPECT_TRUE(sd.empty()) << "every weight consumed";
    at::Tensor got = unit(to_encoder_format(x, format())).to(at::kFloat);
    at::Tensor want = ref_unit(x, keep, "u.", c.stride);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(max_rel(got, want), tol()) << c.in << "->" << c.depth << " stride " << c.stride;
  }
}

TEST_P(EncoderLayers, BackboneStagesMatchModules) {
  TensorMap sd;
  sd["input_layer.0.weight"] = randn({8, 6, 3, 3}, 0.2);
  add_bn(sd, "input_layer.1", 8);
  sd["input_layer.2.weight"] = at::full({8}, 0.25);
  const int64_t widths[4] = {8, 8, 16, 16};
  const auto units = IrSeBackbone::stage_units(50);
  int index = 0;
  int64_t in = 8;
  for (int s = 0; s < 4; ++s)
    for (int u = 0; u < units[s]; ++u, ++index) {
      add_unit(sd, "body." + std::to_string(index) + ".", in, widths[s], true);
      in = widths[s];
    }
  const TensorMap keep = sd;
  StateReader reader(sd, "test");
  IrSeBackbone backbone(reader, format());
  EXPECT_EQ(backbone.num_layers(), 50);
  EXPECT_EQ(backbone.stage_widths()[3], 16);
  at::Tensor x = randn({1, 6, 32, 32});
  auto got = backbone.forward(to_encoder_format(x, format()));

  at::Tensor h = ref_bn(at::conv2d(x, keep.at("input_layer.0.weight"), {}, 1, 1), keep, "input_layer.1");
  h = at::prelu(h, keep.at("input_layer.2.weight"));
  index = 0;
  for (int s = 0; s < 4; ++s) {
    for (int u = 0; u < units[s]; ++u, ++index)
      h = ref_unit(h, keep, "body." + std::to_string(index) + ".", u == 0 ? 2 : 1);
    ASSERT_EQ(got[s].sizes(), h.sizes());
    // Every layer keeps the channels-last layout oneDNN wants (no silent conversions).
    EXPECT_TRUE(got[s].is_contiguous(at::MemoryFormat::ChannelsLast)) << "stage " << s;
    EXPECT_LT(max_rel(got[s].to(at::kFloat), h), GetParam() == at::kFloat ? 1e-4 : 0.1) << "stage " << s;
  }
}

TEST_P(EncoderLayers, StyleBlockGroupMatchesBlocks) {
  TensorMap sd;
  for (int i = 0; i < 3; ++i) add_style_block(sd, 2 + i, 16, 8, 3);
  const TensorMap keep = sd;
  StateReader reader(sd, "test");
  StyleBlockGroup group(reader, 2, 3, format());
  at::Tensor x = randn({2, 16, 8, 8});
  at::Tensor got = group(to_encoder_format(x, format()));
  ASSERT_EQ(got.sizes(), (at::IntArrayRef{2, 3, 8}));
  EXPECT_EQ(got.scalar_type(), at::kFloat);
  for (int i = 0; i < 3; ++i)
    EXPECT_LT(max_rel(got.select(1, i), ref_style_block(x, keep, 2 + i)), tol()) << "block " << i;
}

TEST_P(EncoderLayers, FpnHeadsMatchReference) {
  TensorMap sd;
  const std::array<int64_t, 4> widths{8, 8, 16, 16};
  for (int i = 0; i < 10; ++i) add_style_block(sd, i, 16, 8, i < 3 ? 2 : i < 7 ? 3 : 4);
  sd["latlayer1.weight"] = randn({16, 16, 1, 1}, 0.25);
  sd["latlayer1.bias"] = randn({16}, 0.1);
  sd["latlayer2.weight"] = randn({16, 8, 1, 1}, 0.3);
  sd["latlayer2.bias"] = randn({16}, 0.1);
  const TensorMap keep = sd;
  StateReader reader(sd, "test");
  FpnStyleHeads heads(reader, 10, widths, format());
  std::array<at::Tensor, 4> stages{randn({1, 8, 32, 32}), randn({1, 8, 16, 16}),
                                   randn({1, 16, 8, 8}), randn({1, 16, 4, 4})};
  std::array<at::Tensor, 4> in;
  for (int s = 0; s < 4; ++s) in[s] = to_encoder_format(stages[s], format());
  at::Tensor got = heads.forward(in);
  ASSERT_EQ(got.sizes(), (at::IntArrayRef{1, 10, 8}));

  auto up_add = [](const at::Tensor& a, const at::Tensor& b) {
    return at::upsample_bilinear2d(a, {b.size(2), b.size(3)}, true) + b;
  };
  at::Tensor c1 = stages[1], c2 = stages[2], c3 = stages[3];
  at::Tensor p2 = up_add(c3, at::conv2d(c2, keep.at("latlayer1.weight"), keep.at("latlayer1.bias")));
  at::Tensor p1 = up_add(p2, at::conv2d(c1, keep.at("latlayer2.weight"), keep.at("latlayer2.bias")));
  for (int i = 0; i < 10; ++i) {
    const at::Tensor& f = i < 3 ? c3 : i < 7 ? p2 : p1;
    EXPECT_LT(max_rel(got.select(1, i), ref_style_block(f, keep, i)), tol()) << "row " << i;
  }
}

TEST_P(EncoderLayers, ConvWithBatchNormIsFolded) {
  at::Tensor w = randn({12, 6, 3, 3}, 0.2);
  TensorMap sd;
  add_bn(sd, "bn", 12);
  StateReader reader(sd, "test");
  BatchNorm bn = reader.take_batch_norm("bn");
  EncoderConv conv = EncoderConv::with_batch_norm(w, bn, 2, 1, format());
  at::Tensor x = randn({1, 6, 9, 9});
  at::Tensor want = at::batch_norm(at::conv2d(x, w, {}, 2, 1), bn.weight, bn.bias, bn.running_mean,
                                   bn.running_var, false, 0.1, 1e-5, false);
  EXPECT_LT(max_rel(conv(to_encoder_format(x, format())).to(at::kFloat), want), tol());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EncoderLayers, ::testing::Values(at::kFloat, at::kBFloat16),
                         [](const auto& p) { return std::string(p.param == at::kFloat ? "fp32" : "bf16"); });

TEST(EncoderLayersErrors, MissingAndMisshapenWeightsNameTheKey) {
  TensorMap sd;
  add_unit(sd, "u.", 8, 16, true);
  sd.erase("u.res_layer.3.weight");
  StateReader reader(sd, "model.pt");
  try {
    IrSeUnit unit(reader, "u.", 2, {});
    FAIL() << "no error";
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("encoder.u.res_layer.3.weight"), std::string::npos) << e.what();
  }
  TensorMap sd2;
  add_unit(sd2, "u.", 8, 16, true);
  sd2["u.res_layer.3.weight"] = at::zeros({16, 16, 1, 1});
  StateReader reader2(sd2, "model.pt");
  EXPECT_THROW(IrSeUnit(reader2, "u.", 2, {}), micromotion::Error);
}

TEST(EncoderLayersErrors, StyleBlocksNeedAOneByOneEnd) {
  TensorMap sd;
  add_style_block(sd, 0, 8, 8, 2);
  StateReader reader(sd, "test");
  StyleBlockGroup group(reader, 0, 1, {});
  EXPECT_THROW(group(to_encoder_format(randn({1, 8, 8, 8}), {})), micromotion::Error);
}

}  // namespace
