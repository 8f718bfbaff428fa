// `micromotion models`: tiny random-weight models in the official layouts.
#include "commands.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/generator.h>

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>

namespace micromotion::cli {

namespace {

// An 18-style (1024²) generator with the official style dimension, so the paper's
// [18, 512] directions apply, but narrow convolutions so it runs in a fraction of a second.
GeneratorConfig test_generator_config() {
  GeneratorConfig c;
  c.resolution = 1024;
  c.style_dim = 512;
  c.n_mlp = 8;
  c.channels = {64, 64, 64, 32, 32, 16, 16, 8, 8};
  return c;
}

void make_test(const std::string& dir, uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const GeneratorConfig c = test_generator_config();
  TensorMap sd = Generator::random_state_dict(c, seed);
  Value g_ema = Value::dict("collections.OrderedDict");
  for (const auto& [k, t] : sd) g_ema.as_dict().items.emplace_back(Value::string(k), Value::tensor(t));
  Generator g = Generator::from_state_dict(sd);
  Value root = Value::dict();
  root.as_dict().items.emplace_back(Value::string("g_ema"), g_ema);
  root.as_dict().items.emplace_back(Value::string("latent_avg"), Value::tensor(g.mean_latent(4096, seed).view({-1})));
  const std::string path = (fs::path(dir) / "test-stylegan2-1024.pt").string();
  save_checkpoint(path, root);
  fmt::print("wrote {}: random weights, {}\n", path, c.describe());
}

}  // namespace

void add_models(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "Model files: make tiny test models");
  cmd->require_subcommand(1);
  auto* mk = cmd->add_subcommand("make-test",
                                 "Write small random-weight models in the official checkpoint layouts into DIR "
                                 "(for demos and tests; they produce no real faces)");
  auto dir = std::make_shared<std::string>();
  auto seed = std::make_shared<uint64_t>(1);
  mk->add_option("DIR", *dir, "output directory (created)")->required();
  mk->add_option("--seed", *seed, "seed of the random weights");
  mk->callback([dir, seed] { make_test(*dir, *seed); });
}

}  // namespace micromotion::cli
