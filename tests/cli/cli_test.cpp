// The real command line on the fixtures and on test models it makes itself.
#include "test_support.h"

#include <micromotion/npy.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using mmtest::cli;
using mmtest::run;

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

TEST(CliInspect, EveryOfficialDirection) {
  const auto norms = nlohmann::json::parse(mmtest::read_file(mmtest::fixture("anchors/norms.json")));
  for (const auto& [rel, rec] : norms.items()) {
    auto r = run(cli() + " inspect " + q(mmtest::fixture("anchors/" + rel)));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("kind: micromotion direction"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("shape: [18, 512] (stored [1, 18, 512] Float)"), std::string::npos) << r.output;
    const size_t at = r.output.find("frobenius norm: ");
    ASSERT_NE(at, std::string::npos) << r.output;
    const double printed = std::stod(r.output.substr(at + 16));
    const double fro = rec["fro_norm"].get<double>();
    EXPECT_NEAR(printed, fro, 1e-6 * fro + 1e-6) << rel;
  }
}

TEST(CliInspect, GeneratorEncoderAndNpy) {
  auto g = run(cli() + " inspect " + q(mmtest::fixture("stylegan2/g1024/generator.pt")));
  ASSERT_EQ(g.status, 0) << g.output;
  EXPECT_NE(g.output.find("StyleGAN2 generator checkpoint"), std::string::npos);
  EXPECT_NE(g.output.find("StyleGAN2 1024x1024, style dim 32, mapping 4 layers, 18 W+ rows"), std::string::npos)
      << g.output;
  EXPECT_NE(g.output.find("convs.0.conv.weight"), std::string::npos);
  auto e = run(cli() + " inspect " + q(mmtest::fixture("encoders/e4e/e4e.pt")));
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_NE(e.output.find("encoder checkpoint"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("decoder: StyleGAN2 64x64, style dim 16"), std::string::npos) << e.output;
  auto n = run(cli() + " inspect " + q(mmtest::fixture("stylegan2/g64/wplus.npy")));
  ASSERT_EQ(n.status, 0) << n.output;
  EXPECT_NE(n.output.find("shape: [2, 10, 64]"), std::string::npos) << n.output;
}

TEST(CliGenerate, WPlusMatchesReferenceAndEarlyExit) {
  auto dir = mmtest::temp_dir("cli_gen");
  auto r = run(cli() + " generate --model " + q(mmtest::fixture("stylegan2/g64/generator.pt")) + " --wplus " +
               q(mmtest::fixture("stylegan2/g64/wplus.npy")) + " --out " + q(dir / "out.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_LE(mmtest::max_abs_diff(micromotion::read_npy((dir / "out.npy").string()),
                                 mmtest::load_fixture("stylegan2/g64/out_wplus.npy")),
            1e-4);
  r = run(cli() + " generate --model " + q(mmtest::fixture("stylegan2/g64/generator.pt")) + " --wplus " +
          q(mmtest::fixture("stylegan2/g64/wplus.npy")) + " --stop-at 16 --out " + q(dir / "s16.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_LE(mmtest::max_abs_diff(micromotion::read_npy((dir / "s16.npy").string()),
                                 mmtest::load_fixture("stylegan2/g64/skip_16.npy")),
            1e-4);
}

TEST(CliGenerate, ZWithTruncationAndPngPerItem) {
  auto dir = mmtest::temp_dir("cli_png");
  auto r = run(cli() + " generate --model " + q(mmtest::fixture("stylegan2/g64/generator.pt")) + " --z " +
               q(mmtest::fixture("stylegan2/g64/z.npy")) + " --truncation 0.7 --out " + q(dir / "t.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_LE(mmtest::max_abs_diff(micromotion::read_npy((dir / "t.npy").string()),
                                 mmtest::load_fixture("stylegan2/g64/out_z_trunc0.7.npy")),
            1e-4);
  r = run(cli() + " generate --model " + q(mmtest::fixture("stylegan2/g64/generator.pt")) + " --z " +
          q(mmtest::fixture("stylegan2/g64/z.npy")) + " --out " + q(dir / "img.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "img_0.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "img_1.png"));
  EXPECT_FALSE(std::filesystem::exists(dir / "img_2.png"));
}

TEST(CliGenerate, Errors) {
  auto dir = mmtest::temp_dir("cli_err");
  const std::string g64 = q(mmtest::fixture("stylegan2/g64/generator.pt"));
  auto r = run(cli() + " generate --model /nonexistent.pt --sample 1 --out " + q(dir / "x.png"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("/nonexistent.pt"), std::string::npos) << r.output;

  r = run(cli() + " generate --model " + q(mmtest::fixture("encoders/e4e/e4e.pt")) + " --sample 1 --out " +
          q(dir / "x.png"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("this is an encoder checkpoint"), std::string::npos) << r.output;

  r = run(cli() + " generate --model " + q(mmtest::fixture("anchors/aging/d_latent")) + " --sample 1 --out " +
          q(dir / "x.png"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("a micromotion direction?"), std::string::npos) << r.output;

  r = run(cli() + " generate --model " + g64 + " --wplus " + q(mmtest::fixture("stylegan2/g1024/wplus.npy")) +
          " --out " + q(dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("W+ of shape [1, 18, 32] does not fit this generator: expected [B, 10, 64]"),
            std::string::npos)
      << r.output;

  r = run(cli() + " generate --model " + g64 + " --sample 1 --device tpu --out " + q(dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("unknown device 'tpu'"), std::string::npos) << r.output;

  if (!at::hasCUDA()) {
    r = run(cli() + " generate --model " + g64 + " --sample 1 --device cuda --out " + q(dir / "x.npy"));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("this build of LibTorch has no CUDA"), std::string::npos) << r.output;
  }

  r = run(cli() + " generate --model " + g64 + " --sample 1 --stop-at 48 --out " + q(dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot stop at 48"), std::string::npos) << r.output;

  r = run(cli() + " generate --model " + g64 + " --sample 1 --out " + q(dir / "x.jpg"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--out must end in .npy or .png"), std::string::npos) << r.output;
}

TEST(CliModels, MakeTestThenGenerate) {
  auto dir = mmtest::temp_dir("cli_models");
  auto r = run(cli() + " models make-test " + q(dir / "models"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto model = dir / "models" / "test-stylegan2-1024.pt";
  ASSERT_TRUE(std::filesystem::exists(model));
  r = run(cli() + " inspect " + q(model));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("StyleGAN2 1024x1024, style dim 512, mapping 8 layers, 18 W+ rows"), std::string::npos)
      << r.output;
  r = run(cli() + " generate --model " + q(model) + " --sample 2 --seed 3 --truncation 0.7 --stop-at 256 --out " +
          q(dir / "face.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  at::Tensor img = micromotion::read_npy((dir / "face.npy").string());
  EXPECT_EQ(img.sizes(), (at::IntArrayRef{2, 3, 256, 256}));
  EXPECT_TRUE(std::isfinite(img.sum().item<double>()));
  EXPECT_GT(img.std().item<double>(), 1e-3);  // not a flat image
  // The paper's directions fit the test generator: [18, 512] rows.
  r = run(cli() + " generate --model " + q(model) + " --sample 1 --dtype bf16 --out " + q(dir / "bf16.png"));
  if (!micromotion::bf16_supported(c10::kCPU)) {
    // Without AVX-512: the clear message, at once, no c10 backtrace, no file.
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this "
                            "one lacks: use dtype fp32"),
              std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "bf16.png"));
    return;
  }
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "bf16.png"));
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* sub : {"inspect", "generate", "models", "models make-test"}) {
    auto r = run(cli() + " " + sub + " --help");
    EXPECT_EQ(r.status, 0) << sub << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub << r.output;
  }
}

}  // namespace

// The README's Quick start promises the main job and the tests: exactly two commands, each one
// that exists in the repository.
TEST(Readme, QuickStartIsTwoCommands) {
  std::ifstream f(std::string(MM_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(f) << "README.md not found";
  std::string line;
  bool in_section = false;
  std::vector<std::string> commands;
  while (std::getline(f, line)) {
    if (line.rfind("## ", 0) == 0) {
      if (in_section) break;
      in_section = line == "## Quick start";
      continue;
    }
    if (in_section && line.rfind("    ", 0) == 0 && line.find_first_not_of(' ') != std::string::npos)
      commands.push_back(line.substr(4, line.find('#') == std::string::npos ? std::string::npos : line.find('#') - 4));
  }
  ASSERT_TRUE(in_section) << "no Quick start section";
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].rfind("bash packaging/demo.sh", 0), 0u) << commands[0];
  EXPECT_EQ(commands[1].rfind("bash tests/run.sh", 0), 0u) << commands[1];
  EXPECT_TRUE(std::filesystem::exists(std::string(MM_SOURCE_DIR) + "/packaging/demo.sh"));
}
