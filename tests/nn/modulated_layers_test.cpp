// The one-pass kernel modulation against its ATen formulation (seeded random data).
#include "test_support.h"

#include "nn/modulated_layers.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace nn = micromotion::nn;

namespace {

TEST(ModulatedKernels, MatchAtenFormulation) {
  at::Generator rng = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t cout = 7, cin = 13;
  at::Tensor w = at::randn({cout, cin, 3, 3}, rng).contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor s = at::randn({cin}, rng), d = at::rand({cout}, rng) + 0.5;
  at::Tensor wm = w * s.view({1, cin, 1, 1}) * d.view({cout, 1, 1, 1});
  at::Tensor ref[4];
  nn::polyphase_weights(wm, ref);
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    const double tol = dtype == at::kFloat ? 1e-6 : 2e-2;
    at::Tensor out[4];
    nn::modulated_kernels(w, s, d, dtype, false, out);
    EXPECT_TRUE(out[0].is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_LE(mmtest::max_abs_diff(out[0], wm), tol * wm.abs().max().item<double>());
    nn::modulated_kernels(w, s, d, dtype, true, out);
    for (int p = 0; p < 4; ++p) {
      ASSERT_EQ(out[p].sizes(), ref[p].sizes()) << p;
      EXPECT_EQ(out[p].scalar_type(), dtype);
      EXPECT_LE(mmtest::max_abs_diff(out[p], ref[p]), tol * wm.abs().max().item<double>()) << p;
    }
    // Without style and demodulation: the plain weights.
    nn::modulated_kernels(w, at::Tensor(), at::Tensor(), dtype, false, out);
    EXPECT_LE(mmtest::max_abs_diff(out[0], w), tol * w.abs().max().item<double>());
  }
}

}  // namespace
