// `micromotion invert` end to end: npy and png input, trace files, errors.
#include "test_support.h"

#include <micromotion/npy.h>

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <string>

namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

class InvertCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(mmtest::cli())) << mmtest::cli() << " is not built (build the `micromotion` target)";
  }
  fs::path restyle_dir = mmtest::fixture("encoders/restyle_psp");
};

TEST_F(InvertCli, TraceAndOutputsMatchTheReference) {
  const fs::path out = mmtest::temp_dir("invert_cli");
  auto r = mmtest::run(mmtest::cli() + " invert --model " + quoted(restyle_dir / "restyle_psp.pt") +
                       " --input " + quoted(restyle_dir / "input.npy") + " --trace-dir " +
                       quoted(out / "trace") + " --out-latent " + quoted(out / "w.npy") +
                       " --out-image " + quoted(out / "y.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("BackboneEncoder"), std::string::npos) << r.output;
  for (int k = 0; k < 5; ++k) {
    const std::string it = std::to_string(k);
    at::Tensor l = micromotion::read_npy((out / "trace" / ("latent_iter" + it + ".npy")).string());
    at::Tensor i = micromotion::read_npy((out / "trace" / ("image_iter" + it + ".npy")).string());
    EXPECT_EQ(l.sizes(), (at::IntArrayRef{1, 14, 16}));
    EXPECT_LE(mmtest::max_abs_diff(l[0], mmtest::load_fixture("encoders/restyle_psp/latent_iter" + it + ".npy")), 1e-4);
    EXPECT_LE(mmtest::max_abs_diff(i[0], mmtest::load_fixture("encoders/restyle_psp/image_iter" + it + ".npy")), 1e-3);
  }
  at::Tensor w = micromotion::read_npy((out / "w.npy").string());
  at::Tensor y = micromotion::read_npy((out / "y.npy").string());
  EXPECT_LE(mmtest::max_abs_diff(w[0], mmtest::load_fixture("encoders/restyle_psp/latent_iter4.npy")), 1e-4);
  EXPECT_LE(mmtest::max_abs_diff(y[0], mmtest::load_fixture("encoders/restyle_psp/image_iter4.npy")), 1e-3);
}

TEST_F(InvertCli, PngInputIsNormalisedLikeTheReference) {
  const fs::path out = mmtest::temp_dir("invert_cli_png");
  auto r = mmtest::run(mmtest::cli() + " invert --model " + quoted(restyle_dir / "restyle_psp.pt") +
                       " --input " + quoted(restyle_dir / "input_256.png") + " --iters 2 --out-latent " +
                       quoted(out / "w.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  at::Tensor w = micromotion::read_npy((out / "w.npy").string());
  EXPECT_LE(mmtest::max_abs_diff(w[0], mmtest::load_fixture("encoders/restyle_psp/latent_iter1.npy")), 1e-4);
}

TEST_F(InvertCli, E4eWritesItsImageAtDecoderSize) {
  const fs::path out = mmtest::temp_dir("invert_cli_e4e");
  auto r = mmtest::run(mmtest::cli() + " invert --model " + quoted(mmtest::fixture("encoders/e4e/e4e.pt")) +
                       " --input " + quoted(restyle_dir / "input.npy") + " --out-latent " +
                       quoted(out / "w.npy") + " --out-image " + quoted(out / "y.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_LE(mmtest::max_abs_diff(micromotion::read_npy((out / "w.npy").string()),
                                 mmtest::load_fixture("encoders/e4e/latent.npy")), 1e-4);
  EXPECT_LE(mmtest::max_abs_diff(micromotion::read_npy((out / "y.npy").string()),
                                 mmtest::load_fixture("encoders/e4e/image.npy")), 1e-3);
}

TEST_F(InvertCli, ErrorsAreClear) {
  const fs::path out = mmtest::temp_dir("invert_cli_err");
  const fs::path gen = mmtest::fixture("stylegan2/g64/generator.pt");
  auto r = mmtest::run(mmtest::cli() + " invert --model " + quoted(gen) + " --input " +
                       quoted(restyle_dir / "input.npy"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("generator checkpoint"), std::string::npos) << r.output;

  mmtest::write_file(out / "broken.pt", "PK\x03\x04 this is not a checkpoint");
  r = mmtest::run(mmtest::cli() + " invert --model " + quoted(out / "broken.pt") + " --input " +
                  quoted(restyle_dir / "input.npy"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("broken.pt"), std::string::npos) << r.output;

  r = mmtest::run(mmtest::cli() + " invert --model " + quoted(restyle_dir / "restyle_psp.pt") +
                  " --input " + quoted(mmtest::fixture("align/2007_007763_landmarks.json")));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(".npy or a .png"), std::string::npos) << r.output;

  at::Tensor small = at::zeros({1, 3, 64, 64});
  micromotion::write_npy((out / "small.npy").string(), small);
  r = mmtest::run(mmtest::cli() + " invert --model " + quoted(restyle_dir / "restyle_psp.pt") +
                  " --input " + quoted(out / "small.npy"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("[B, 3, 256, 256]"), std::string::npos) << r.output;
}

}  // namespace
