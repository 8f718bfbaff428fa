// `micromotion inspect` on our safetensors micromotions and on files that are no model.
#include "test_support.h"

#include <micromotion/motion.h>

#include <ATen/ATen.h>

namespace {

using mmtest::cli;
using mmtest::run;

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

TEST(CliInspect, SafetensorsMicromotionShowsNameMetadataAndShapes) {
  // 31d6ff2: "not a PyTorch checkpoint".
  const auto dir = mmtest::temp_dir("cli_inspect_st");
  micromotion::Micromotion m;
  m.name = "wink\x1b[2J";
  m.source = "anchors: test";
  m.default_strength = 2.5;
  m.basis = at::full({2, 18, 512}, 0.5f);
  micromotion::save_micromotion((dir / "wink.safetensors").string(), m);
  auto r = run(cli() + " inspect " + q(dir / "wink.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("kind: micromotion (safetensors)\n"), std::string::npos) << r.output;
  // Text from the file is escaped: no terminal control bytes reach the user's terminal.
  EXPECT_NE(r.output.find("name: 'wink\\x1b[2J'\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\x1b'), std::string::npos);
  EXPECT_NE(r.output.find("  'source': 'anchors: test'\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  'default_strength': '2.5'\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  'format': 'micromotion'\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("shape: [2, 18, 512] (stored [2, 18, 512] Float)"), std::string::npos) << r.output;
  // sqrt(2 * 18 * 512) * 0.5 = 67.882251
  EXPECT_NE(r.output.find("frobenius norm: 67.882251"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  basis "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[2, 18, 512]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 tensors, 18432 values"), std::string::npos) << r.output;
}

TEST(CliInspect, TextFileIsRefusedWithoutEchoingIt) {
  const auto dir = mmtest::temp_dir("cli_inspect_text");
  mmtest::write_file(dir / "passwd", "root:x:0:0:root:/root:/bin/bash\n");
  auto r = run(cli() + " inspect " + q(dir / "passwd"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("neither a PyTorch checkpoint, a .npy array nor a safetensors file"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("root"), std::string::npos) << r.output;
  uint64_t n = 0;
  const std::string text = "root:x:0";
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(text[i]);
  EXPECT_EQ(r.output.find(std::to_string(n)), std::string::npos) << r.output;
}

}  // namespace
