// `micromotion generate`: StyleGAN2 synthesis from z, w or W+.
#include "commands.h"
#include "png_io.h"

#include <micromotion/error.h>
#include <micromotion/generator.h>
#include <micromotion/npy.h>
#include <micromotion/shape_text.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

namespace micromotion::cli {

namespace {

struct GenerateArgs {
  std::string model, wplus, w, z, out, noise = "stored", dtype = "fp32", device = "cpu";
  int sample = 0;
  double truncation = 1.0;
  int stop_at = 0;
  uint64_t seed = 0;
  int mean_samples = 4096;
};

at::Tensor read_latent(const std::string& path, int64_t want_dim, const char* what) {
  at::Tensor t = read_npy(path).to(at::kFloat);
  if (t.dim() == want_dim - 1) t = t.unsqueeze(0);
  if (t.dim() != want_dim)
    throw Error(path + ": " + what + " must be " + std::to_string(want_dim) + "-D (with batch), got shape " +
                shape_text(t.sizes()));
  return t;
}

void generate(const GenerateArgs& a) {
  namespace fs = std::filesystem;
  const std::string ext = fs::path(a.out).extension().string();
  if (ext != ".npy" && ext != ".png") throw Error("--out must end in .npy or .png: " + a.out);
  const int sources = !a.wplus.empty() + !a.w.empty() + !a.z.empty() + (a.sample > 0);
  if (sources != 1) throw Error("give exactly one of --wplus, --w, --z or --sample");
  if (a.truncation != 1.0 && !a.wplus.empty()) throw Error("--truncation applies to --z, --w or --sample, not --wplus");

  GeneratorOptions opt;
  opt.device = parse_device(a.device);
  opt.dtype = parse_dtype(a.dtype);
  check_device(opt.device);
  Generator g = Generator::load(a.model, opt);
  const GeneratorConfig& c = g.config();

  at::Tensor wplus, w;
  if (!a.wplus.empty()) {
    wplus = read_latent(a.wplus, 3, "W+");
  } else {
    if (!a.w.empty()) {
      w = read_latent(a.w, 2, "w");
    } else {
      at::Tensor z;
      if (!a.z.empty()) {
        z = read_latent(a.z, 2, "z");
      } else {
        auto rng = at::make_generator<at::CPUGeneratorImpl>(a.seed);
        z = at::randn({a.sample, c.style_dim}, rng, at::TensorOptions().dtype(at::kFloat));
      }
      w = g.mapping(z);
    }
    if (a.truncation != 1.0) {
      at::Tensor mean = g.latent_avg() ? *g.latent_avg() : g.mean_latent(a.mean_samples, a.seed);
      w = Generator::truncate(w, a.truncation, mean);
    }
    wplus = g.broadcast(w);
  }

  SynthesisOptions so;
  so.stop_at = a.stop_at;
  so.seed = a.seed;
  if (a.noise == "stored")
    so.noise = NoiseMode::Stored;
  else if (a.noise == "random")
    so.noise = NoiseMode::Random;
  else
    throw Error("--noise must be stored or random");

  const auto t0 = std::chrono::steady_clock::now();
  at::Tensor img = g.synthesize(wplus, so).to(at::kCPU);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (ext == ".npy") {
    write_npy(a.out, img);
    fmt::print("wrote {} {} ({:.3f} s)\n", a.out, shape_text(img.sizes()), secs);
    return;
  }
  const int64_t B = img.size(0);
  for (int64_t b = 0; b < B; ++b) {
    fs::path p(a.out);
    std::string file = B == 1 ? a.out
                              : (p.parent_path() / (p.stem().string() + "_" + std::to_string(b) + ".png")).string();
    write_png_image(file, img[b]);
    fmt::print("wrote {} ({}x{})\n", file, img.size(3), img.size(2));
  }
  fmt::print("synthesis: {} image(s) at {} in {:.3f} s\n", B, img.size(2), secs);
}

}  // namespace

void add_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Synthesize images with a StyleGAN2 generator");
  auto a = std::make_shared<GenerateArgs>();
  cmd->add_option("--model", a->model, "generator checkpoint ({'g_ema': ..., 'latent_avg': ...})")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--wplus", a->wplus, "W+ codes .npy [B, n_latent, style] (or [n_latent, style])");
  cmd->add_option("--w", a->w, "w codes .npy [B, style], one code for every layer");
  cmd->add_option("--z", a->z, "z codes .npy [B, style], passed through the mapping network");
  cmd->add_option("--sample", a->sample, "draw N codes z ~ N(0, I) with --seed instead of reading a file")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--truncation", a->truncation,
                  "psi: w' = mean + psi (w - mean); mean = the checkpoint's latent_avg, else the mean of "
                  "--mean-samples mapped z drawn with --seed")
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--mean-samples", a->mean_samples, "samples for the mean latent when the file has none")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--stop-at", a->stop_at, "stop after the ToRGB at this resolution (4, 8, ..., full)");
  cmd->add_option("--noise", a->noise, "stored: the generator's noise buffers (deterministic); random: seeded")
      ->check(CLI::IsMember({"stored", "random"}));
  cmd->add_option("--seed", a->seed, "seed for --sample, --noise random and the mean latent");
  cmd->add_option("--dtype", a->dtype, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N");
  cmd->add_option("--out", a->out,
                  "OUT.npy: raw NCHW float32 output; OUT.png: (x+1)·127.5 clamped, OUT_<i>.png per item when B > 1")
      ->required();
  cmd->callback([a] { generate(*a); });
}

}  // namespace micromotion::cli
