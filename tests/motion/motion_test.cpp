// Micromotion files: the paper's published directions by path and by name, our format, lookup.
#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/model_paths.h>
#include <micromotion/motion.h>
#include <micromotion/robust_pca.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <functional>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using micromotion::Error;

std::string shipped_models() { return (fs::path(MM_SOURCE_DIR) / "models").string(); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Motion, PublishedDirectionsLoadAsTheyAreWithTheirNorms) {
  std::ifstream in(mmtest::fixture("anchors/norms.json"));
  const nlohmann::json norms = nlohmann::json::parse(in);
  for (const std::string name : {"aging", "angry", "eyesClose", "headsTurn", "smile"}) {
    const auto m = micromotion::load_micromotion(mmtest::fixture("anchors/" + name + "/d_latent").string());
    EXPECT_EQ(m.name, name);
    EXPECT_EQ(m.rank(), 1);
    EXPECT_EQ(m.n_latent(), 18);
    EXPECT_EQ(m.style_dim(), 512);
    const auto& n = norms[name + "/d_latent"];
    EXPECT_NEAR(m.direction().norm().item<double>(), n["fro_norm"].get<double>(), 1e-5) << name;
    for (int r = 0; r < 18; ++r)
      EXPECT_NEAR(m.direction()[r].norm().item<double>(), n["row_norms"][r].get<double>(), 1e-5) << name << " row " << r;
    EXPECT_FLOAT_EQ(m.direction()[0][0].item<float>(), n["first4_row0"][0].get<float>());
  }
}

TEST(Motion, ShippedFilesAreByteIdenticalToThePublishedOnes) {
  for (const std::string name : {"aging", "angry", "eyesClose", "headsTurn", "smile"}) {
    EXPECT_EQ(mmtest::read_file(fs::path(shipped_models()) / "directions" / name / "d_latent"),
              mmtest::read_file(mmtest::fixture("anchors/" + name + "/d_latent")))
        << name;
  }
  EXPECT_TRUE(fs::exists(fs::path(shipped_models()) / "directions/LICENSE-micromotion-styleGAN.txt"));
}

TEST(Motion, FindByNameUsesTheModelsDirectory) {
  const auto m = micromotion::find_micromotion("smile", shipped_models());
  EXPECT_EQ(m.name, "smile");
  const auto ref = micromotion::load_micromotion(mmtest::fixture("anchors/smile/d_latent").string());
  EXPECT_TRUE(at::equal(m.basis, ref.basis));
}

TEST(Motion, UnknownNameListsPlacesAndNames) {
  const std::string e = error_of([] { micromotion::find_micromotion("frown", shipped_models()); });
  EXPECT_NE(e.find("unknown micromotion 'frown'"), std::string::npos) << e;
  EXPECT_NE(e.find("directions/frown/d_latent"), std::string::npos) << e;
  EXPECT_NE(e.find("smile"), std::string::npos) << e;
  EXPECT_NE(error_of([] { micromotion::find_micromotion("no/such/file.pt"); }).find("no such micromotion file"),
            std::string::npos);
}

TEST(Motion, SafetensorsRoundTripAndSearchByName) {
  const auto dir = mmtest::temp_dir("motion_roundtrip");
  micromotion::Micromotion m;
  m.name = "wink";
  m.source = "anchors: test";
  m.default_strength = 2.5;
  m.basis = at::randn({2, 18, 512});
  fs::create_directories(dir / "directions");
  micromotion::save_micromotion((dir / "directions/wink.safetensors").string(), m);
  const auto back = micromotion::find_micromotion("wink", dir.string());
  EXPECT_EQ(back.name, "wink");
  EXPECT_EQ(back.source, "anchors: test");
  EXPECT_DOUBLE_EQ(back.default_strength, 2.5);
  EXPECT_EQ(back.rank(), 2);
  EXPECT_TRUE(at::equal(back.basis, m.basis));
  EXPECT_TRUE(at::allclose(back.offset(2.0), m.basis[0] * 2.0));
}

TEST(Motion, WrongShapeAndWrongContentAreClearErrors) {
  const auto m = micromotion::load_micromotion(mmtest::fixture("anchors/smile/d_latent").string());
  const std::string e = error_of([&] { m.check_fits(14, 512, "the generator"); });
  EXPECT_NE(e.find("direction of the wrong shape"), std::string::npos) << e;
  EXPECT_NE(e.find("[18, 512]"), std::string::npos) << e;
  EXPECT_NE(e.find("[14, 512]"), std::string::npos) << e;
  // A generator checkpoint is not a direction.
  const std::string g = error_of([] { micromotion::load_micromotion(mmtest::fixture("stylegan2/g64/generator.pt").string()); });
  EXPECT_NE(g.find("one tensor"), std::string::npos) << g;
  const auto dir = mmtest::temp_dir("motion_bad");
  mmtest::write_file(dir / "junk.safetensors", "definitely not");
  const std::string j = error_of([&] { micromotion::load_micromotion((dir / "junk.safetensors").string()); });
  EXPECT_NE(j.find("neither"), std::string::npos) << j;
}

TEST(Motion, BareNameIsNeverShadowedByAFileInTheWorkingDirectory) {
  // 31d6ff2 loaded ./smile when it existed, whatever it held.
  const auto dir = mmtest::temp_dir("motion_shadow");
  micromotion::Micromotion m;
  m.name = "smile";
  m.source = "installed";
  m.basis = at::ones({1, 18, 512});
  fs::create_directories(dir / "models/directions");
  micromotion::save_micromotion((dir / "models/directions/smile.safetensors").string(), m);
  fs::create_directories(dir / "cwd");
  mmtest::write_file(dir / "cwd/smile", "root:x:0:0:root:/root:/bin/bash\n");
  const fs::path old = fs::current_path();
  fs::current_path(dir / "cwd");
  std::string loaded_from, path_error;
  try {
    loaded_from = micromotion::find_micromotion("smile", (dir / "models").string()).source;
  } catch (const Error& e) {
    loaded_from = std::string("error: ") + e.what();
  }
  path_error = error_of([] { micromotion::find_micromotion("./smile"); });
  const std::string unknown = error_of([] { micromotion::find_micromotion("frown", "/nonexistent"); });
  fs::current_path(old);
  EXPECT_EQ(loaded_from, "installed");
  // With a '/' it is a path: the file is read, refused, and its bytes are not echoed.
  uint64_t n = 0;
  const std::string text = "root:x:0";
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(text[i]);
  EXPECT_NE(path_error.find("./smile: neither a PyTorch direction file (zip) nor a micromotion safetensors file"),
            std::string::npos)
      << path_error;
  EXPECT_EQ(path_error.find(std::to_string(n)), std::string::npos) << path_error;
  EXPECT_EQ(path_error.find("root"), std::string::npos) << path_error;
  EXPECT_NE(unknown.find("(with a '/' or an extension, e.g. ./frown)"), std::string::npos) << unknown;
}

TEST(Motion, NameWithAnExtensionIsAPath) {
  const std::string e = error_of([] { micromotion::find_micromotion("smile.safetensors", shipped_models()); });
  EXPECT_EQ(e, "smile.safetensors: no such micromotion file");
}

TEST(Motion, FromAnchorsMatchesDecomposition) {
  const at::Tensor anchors = mmtest::load_fixture("rpca/anchors.npy");
  const auto m = micromotion::micromotion_from_anchors(anchors, "synthetic", "rpca/anchors.npy");
  EXPECT_LE(mmtest::max_abs_diff(m.direction(), mmtest::load_fixture("rpca/direction_exact.npy")), 1e-4);
}

TEST(ModelPaths, LookupOrderAndMissingFileMessage) {
  const auto dir = mmtest::temp_dir("model_paths");
  setenv("MICROMOTION_MODELS", (dir / "env").string().c_str(), 1);
  const auto dirs = micromotion::model_search_dirs((dir / "opt").string());
  ASSERT_GE(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], (dir / "opt").string());
  EXPECT_EQ(dirs[1], (dir / "env").string());
  EXPECT_NE(dirs[2].find("micromotion/models"), std::string::npos);
  EXPECT_EQ(dirs.back(), "/usr/share/micromotion/models");
  fs::create_directories(dir / "env");
  mmtest::write_file(dir / "env/e4e_ffhq_encode.pt", "x");
  EXPECT_EQ(micromotion::find_model_file("e4e_ffhq_encode.pt", (dir / "opt").string()),
            (dir / "env/e4e_ffhq_encode.pt").string());
  const std::string e = error_of([&] { micromotion::find_model_file("restyle_psp_ffhq_encode.pt", (dir / "opt").string()); });
  EXPECT_NE(e.find("restyle_psp_ffhq_encode.pt"), std::string::npos) << e;
  EXPECT_NE(e.find("github.com/yuval-alaluf/restyle-encoder"), std::string::npos) << e;
  unsetenv("MICROMOTION_MODELS");
}

TEST(ModelPaths, ManifestAgreesWithTheBuiltInList) {
  std::ifstream in(fs::path(shipped_models()) / "manifest.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const auto& list = micromotion::official_models();
  ASSERT_EQ(j["models"].size(), list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(j["models"][i]["file"], list[i].file);
    EXPECT_EQ(j["models"][i]["url"], list[i].url);
    EXPECT_EQ(j["models"][i]["sha256"], list[i].sha256);
    EXPECT_EQ(j["models"][i]["licence"], list[i].licence);
  }
}

}  // namespace
