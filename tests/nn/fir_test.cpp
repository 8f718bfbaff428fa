// The fused CPU kernels of the generator against their ATen formulations, on seeded
// random data (fp32 and bf16, odd sizes, batch > 1).
#include "test_support.h"

#include "nn/fir.h"
#include "nn/modulated_layers.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <micromotion/error.h>

namespace nn = micromotion::nn;

namespace {

const nn::FirTaps kTaps = {0.25f, 0.75f, 0.75f, 0.25f};

at::Tensor cl(at::Tensor t) { return t.contiguous(at::MemoryFormat::ChannelsLast); }

struct Case {
  c10::ScalarType dtype;
  double tol;
};

class Fused : public ::testing::TestWithParam<Case> {
 protected:
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(1234);
  at::Tensor randn(std::vector<int64_t> s) { return at::randn(s, rng, at::TensorOptions().dtype(at::kFloat)); }
};

TEST_P(Fused, UpsampleBlurActivate) {
  const auto [dtype, tol] = GetParam();
  const int64_t B = 2, C = 19, h = 5, w = 7;
  at::Tensor ee = cl(randn({B, C, h + 1, w + 1}).to(dtype)), eo = cl(randn({B, C, h + 1, w}).to(dtype));
  at::Tensor oe = cl(randn({B, C, h, w + 1}).to(dtype)), oo = cl(randn({B, C, h, w}).to(dtype));
  at::Tensor demod = randn({B, C}).abs(), noise = randn({1, 1, 2 * h, 2 * w}), bias = randn({C});
  at::Tensor ref = nn::reference::upsample_blur_activate(ee, eo, oe, oo, kTaps, demod, noise, 0.3f, bias);
  at::Tensor out = at::empty({B, C, 2 * h, 2 * w}, ee.options().memory_format(at::MemoryFormat::ChannelsLast));
  nn::upsample_blur_activate(ee, eo, oe, oo, kTaps, demod, noise, 0.3f, bias, out);
  EXPECT_LE(mmtest::max_abs_diff(out, ref), tol);
  // Without demodulation and noise.
  ref = nn::reference::upsample_blur_activate(ee, eo, oe, oo, kTaps, at::Tensor(), at::Tensor(), 0.f, bias);
  nn::upsample_blur_activate(ee, eo, oe, oo, kTaps, at::Tensor(), at::Tensor(), 0.f, bias, out);
  EXPECT_LE(mmtest::max_abs_diff(out, ref), tol);
}

TEST_P(Fused, BiasNoiseActivate) {
  const auto [dtype, tol] = GetParam();
  const int64_t B = 3, C = 17, H = 6, W = 9;
  at::Tensor x = cl(randn({B, C, H, W}).to(dtype));
  at::Tensor demod = randn({B, C}).abs(), noise = randn({B, 1, H, W}), bias = randn({C});
  at::Tensor ref = nn::reference::bias_noise_activate(x, demod, noise, -0.7f, bias);
  at::Tensor y = x.clone(at::MemoryFormat::ChannelsLast);
  nn::bias_noise_activate_(y, demod, noise, -0.7f, bias);
  EXPECT_LE(mmtest::max_abs_diff(y, ref), tol);
}

TEST_P(Fused, ToRgbWithSkip) {
  const auto [dtype, tol] = GetParam();
  const int64_t B = 2, C = 21, H = 8, W = 12;
  at::Tensor x = cl(randn({B, C, H, W}).to(dtype));
  at::Tensor weight = randn({B, 3, C}), bias = randn({3}), prev = randn({B, H / 2, W / 2, 3});
  at::Tensor ref = nn::reference::to_rgb(x, weight, bias, prev, kTaps);
  EXPECT_LE(mmtest::max_abs_diff(nn::to_rgb(x, weight, bias, prev, kTaps), ref), tol * 4);
  ref = nn::reference::to_rgb(x, weight, bias, at::Tensor(), kTaps);
  EXPECT_LE(mmtest::max_abs_diff(nn::to_rgb(x, weight, bias, at::Tensor(), kTaps), ref), tol * 4);
}

// bf16 outputs are rounded to 8 mantissa bits: compare with a matching tolerance.
INSTANTIATE_TEST_SUITE_P(Dtypes, Fused,
                         ::testing::Values(Case{at::kFloat, 1e-5}, Case{at::kBFloat16, 0.05}));

TEST(Polyphase, EqualsTransposedConvThenBlurOfTheReference) {
  // conv_transpose2d(stride 2) + upfirdn2d blur pad (1,1), as the reference runs it.
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(99);
  const int64_t Cin = 6, Cout = 5, h = 4, w = 6;
  at::Tensor x = at::randn({1, Cin, h, w}, rng);
  at::Tensor wt = at::randn({Cout, Cin, 3, 3}, rng);
  at::Tensor t = at::conv_transpose2d(x, wt.transpose(0, 1), {}, 2);  // [1, Cout, 2h+1, 2w+1]
  at::Tensor a = at::tensor({0.25f, 0.75f, 0.75f, 0.25f});
  at::Tensor k = at::outer(a, a).view({1, 1, 4, 4}).repeat({Cout, 1, 1, 1});
  at::Tensor ref = at::conv2d(at::constant_pad_nd(t, {1, 1, 1, 1}), k, at::Tensor(), at::IntArrayRef{1},
                              at::IntArrayRef{0}, at::IntArrayRef{1}, Cout);
  ref = at::leaky_relu(ref, 0.2) * std::sqrt(2.0);

  at::Tensor ph[4];
  nn::polyphase_weights(wt, ph);
  const int64_t pad[4][2] = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};
  at::Tensor outs[4];
  for (int i = 0; i < 4; ++i) outs[i] = cl(nn::conv2d(cl(x), cl(ph[i]), pad[i][0], pad[i][1]));
  at::Tensor out = at::empty({1, Cout, 2 * h, 2 * w}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  nn::upsample_blur_activate(outs[0], outs[1], outs[2], outs[3], kTaps, at::Tensor(), at::Tensor(), 0.f,
                             at::zeros({Cout}), out);
  EXPECT_LE(mmtest::max_abs_diff(out, ref), 1e-4);
}

TEST(FirTaps, RecoveredFromStoredKernel) {
  at::Tensor k1 = at::tensor({1.f, 3.f, 3.f, 1.f});
  at::Tensor k2 = at::outer(k1, k1) / 64.0 * 4.0;
  nn::FirTaps taps = nn::fir_taps(k2, "test");
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(taps[i], kTaps[i], 1e-7);
  EXPECT_THROW(nn::fir_taps(at::rand({4, 4}), "test"), micromotion::Error);
  EXPECT_THROW(nn::fir_taps(at::ones({3, 3}), "test"), micromotion::Error);
}

}  // namespace
