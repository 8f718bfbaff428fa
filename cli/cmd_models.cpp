// `micromotion models`: tiny random-weight models in the official layouts, and checking a
// models directory against the official list.
#include "commands.h"
#include "sha256.h"

#include <micromotion/checkpoint.h>
#include <micromotion/encoder.h>
#include <micromotion/error.h>
#include <micromotion/generator.h>
#include <micromotion/model_paths.h>
#include <micromotion/motion.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <set>

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

Value state_dict_value(const TensorMap& sd, const std::string& prefix = "") {
  Value d = Value::dict("collections.OrderedDict");
  for (const auto& [k, t] : sd) d.as_dict().items.emplace_back(Value::string(prefix + k), Value::tensor(t));
  return d;
}

bool narrowed_width(int64_t s) { return s == 64 || s == 128 || s == 256 || s == 512; }

// The official full-size random encoder with its IR-SE backbone `factor` times narrower. The
// style heads keep the style dimension (the decoder fixes it); only their input narrows.
// Convolutions whose input narrows are scaled by sqrt(factor) to keep He-style variance.
TensorMap narrow_encoder(TensorMap sd, int64_t factor) {
  TensorMap out;
  for (auto& [key, full] : sd) {
    at::Tensor t = full;
    const bool backbone = key.rfind("input_layer.", 0) == 0 || key.rfind("body.", 0) == 0 || key.rfind("latlayer", 0) == 0;
    const bool style_in = key.rfind("styles.", 0) == 0 && key.find(".convs.0.weight") != std::string::npos;
    bool input_narrowed = false;
    for (int64_t d = 0; d < t.dim(); ++d) {
      const int64_t s = t.size(d);
      const bool se_squeeze = (key.find(".res_layer.5.fc1.") != std::string::npos && d == 0) ||
                              (key.find(".res_layer.5.fc2.") != std::string::npos && d == 1);
      const bool narrow = (backbone && (narrowed_width(s) || se_squeeze)) || (style_in && d == 1);
      if (!narrow) continue;
      t = t.narrow(d, 0, std::max<int64_t>(1, s / factor));
      if (d == 1 && t.dim() == 4) input_narrowed = true;
    }
    t = t.contiguous().clone();
    if (input_narrowed) t.mul_(std::sqrt(double(factor)));
    out[key] = t;
    full = at::Tensor();  // release the full-size tensor early
  }
  return out;
}

void write_encoder(const std::string& path, EncoderKind kind, const TensorMap& decoder_sd,
                   const at::Tensor& latent_avg, uint64_t seed) {
  const int input_nc = kind == EncoderKind::Backbone ? 6 : 3;
  TensorMap enc = narrow_encoder(Encoder::random_state_dict(kind, input_nc, 18, 512, seed), 4);
  Value sd = state_dict_value(enc, "encoder.");
  for (const auto& [k, t] : decoder_sd) sd.as_dict().items.emplace_back(Value::string("decoder." + k), Value::tensor(t));
  Value opts = Value::dict();
  auto opt = [&opts](const std::string& k, Value v) { opts.as_dict().items.emplace_back(Value::string(k), std::move(v)); };
  opt("encoder_type", Value::string(encoder_type_name(kind)));
  opt("input_nc", Value::integer(input_nc));
  opt("output_size", Value::integer(1024));
  opt("n_iters_per_batch", Value::integer(5));
  opt("start_from_latent_avg", Value::boolean(true));
  Value root = Value::dict();
  root.as_dict().items.emplace_back(Value::string("state_dict"), sd);
  root.as_dict().items.emplace_back(Value::string("latent_avg"), Value::tensor(latent_avg));
  root.as_dict().items.emplace_back(Value::string("opts"), opts);
  save_checkpoint(path, root);
  fmt::print("wrote {}: random weights, {} with an IR-SE50 backbone 4x narrower than the official one\n", path,
             encoder_type_name(kind));
}

void make_test(const std::string& dir, uint64_t seed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const GeneratorConfig c = test_generator_config();
  TensorMap sd = Generator::random_state_dict(c, seed);
  // At full gain the nine random ToRGB layers sum to values far outside [-1, 1], which a PNG
  // shows as flat saturated colour; a quarter of it keeps test images in range.
  const std::string rgb_weight = ".conv.weight";
  for (auto& [key, t] : sd)
    if (key.rfind("to_rgb", 0) == 0 && key.size() > rgb_weight.size() &&
        key.compare(key.size() - rgb_weight.size(), rgb_weight.size(), rgb_weight) == 0)
      t = t * 0.25;
  Value g_ema = state_dict_value(sd);
  Generator g = Generator::from_state_dict(sd);
  const at::Tensor mean = g.mean_latent(4096, seed);
  Value root = Value::dict();
  root.as_dict().items.emplace_back(Value::string("g_ema"), g_ema);
  root.as_dict().items.emplace_back(Value::string("latent_avg"), Value::tensor(mean.view({-1})));
  const std::string path = (fs::path(dir) / "test-stylegan2-1024.pt").string();
  save_checkpoint(path, root);
  fmt::print("wrote {}: random weights, {}\n", path, c.describe());

  // Encoders in the official layouts, decoding with the same generator.
  const at::Tensor latent_avg = mean.expand({c.n_latent(), c.style_dim}).contiguous();
  write_encoder((fs::path(dir) / "restyle_psp_ffhq_encode.pt").string(), EncoderKind::Backbone, sd, latent_avg, seed + 1);
  write_encoder((fs::path(dir) / "e4e_ffhq_encode.pt").string(), EncoderKind::Encoder4Editing, sd, latent_avg, seed + 2);

  // Directions: the published ones (shipped with the project) and one random test direction.
  fs::create_directories(fs::path(dir) / "directions");
  std::vector<std::string> sources = model_search_dirs();
#ifdef MICROMOTION_SOURCE_MODELS_DIR
  sources.push_back(MICROMOTION_SOURCE_MODELS_DIR);
#endif
  for (const auto& name : published_micromotions()) {
    for (const auto& src : sources) {
      const fs::path from = fs::path(src) / "directions" / name / "d_latent";
      if (!fs::is_regular_file(from) || fs::equivalent(fs::path(src), fs::path(dir))) continue;
      fs::create_directories(fs::path(dir) / "directions" / name);
      fs::copy_file(from, fs::path(dir) / "directions" / name / "d_latent", fs::copy_options::overwrite_existing);
      fmt::print("copied {}\n", from.string());
      break;
    }
  }
  Micromotion m;
  m.name = "test-random";
  m.source = "micromotion models make-test (seed " + std::to_string(seed) + ")";
  m.basis = at::randn({1, c.n_latent(), c.style_dim}, at::detail::createCPUGenerator(seed + 3)) * 0.1;
  const std::string mpath = (fs::path(dir) / "directions" / "test-random.safetensors").string();
  save_micromotion(mpath, m);
  fmt::print("wrote {}: a random [1, {}, {}] direction\n", mpath, c.n_latent(), c.style_dim);
}

// Every official file present in DIR is checked (sha256 where known, readable otherwise);
// returns the number of problems.
int check_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a directory");
  int problems = 0, present = 0;
  for (const auto& m : official_models()) {
    const fs::path p = fs::path(dir) / m.file;
    if (!fs::is_regular_file(p)) {
      fmt::print("missing  {}  (get it from {}; licence: {})\n", m.file, m.url, m.licence);
      continue;
    }
    ++present;
    if (!m.sha256.empty()) {
      const std::string h = sha256_file(p.string());
      if (h == m.sha256) {
        fmt::print("ok       {}  (sha256 matches)\n", m.file);
      } else {
        fmt::print("BAD      {}  sha256 {} but the official file has {}\n", m.file, h, m.sha256);
        ++problems;
      }
      continue;
    }
    try {
      if (p.extension() == ".pt") {
        (void)load_checkpoint(p.string());
        fmt::print("ok       {}  (readable; no official sha256 recorded)\n", m.file);
      } else {
        fmt::print("present  {}  (no official sha256 recorded)\n", m.file);
      }
    } catch (const Error& e) {
      fmt::print("BAD      {}  {}\n", m.file, e.what());
      ++problems;
    }
  }
  fmt::print("{}: {} of {} official files present, {} problem(s)\n", dir, present, official_models().size(), problems);
  return problems;
}

}  // namespace

void add_models(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "Model files: make tiny test models, check a models directory");
  cmd->require_subcommand(1);
  auto* mk = cmd->add_subcommand("make-test",
                                 "Write small random-weight models in the official checkpoint layouts into DIR "
                                 "(for demos and tests; they produce no real faces)");
  auto dir = std::make_shared<std::string>();
  auto seed = std::make_shared<uint64_t>(1);
  mk->add_option("DIR", *dir, "output directory (created)")->required();
  mk->add_option("--seed", *seed, "seed of the random weights");
  mk->callback([dir, seed] { make_test(*dir, *seed); });
  auto* ck = cmd->add_subcommand("check", "Check the official model files in DIR (sha256 where known); "
                                          "lists what is missing and where to get it");
  auto cdir = std::make_shared<std::string>();
  ck->add_option("DIR", *cdir, "models directory")->required();
  ck->callback([cdir] {
    if (check_dir(*cdir) > 0) throw Error("models check: " + *cdir + " has files that differ from the official ones");
  });
}

}  // namespace micromotion::cli
