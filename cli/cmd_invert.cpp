// `micromotion invert`: an aligned face -> W+ with a ReStyle-pSp, pSp or e4e checkpoint.
#include "commands.h"
#include "png_io.h"

#include <micromotion/shape_text.h>
#include <micromotion/encoder.h>
#include <micromotion/error.h>
#include <micromotion/generator.h>
#include <micromotion/npy.h>

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <memory>

namespace micromotion::cli {

namespace {

struct InvertArgs {
  std::string model, input, out_latent, out_image, trace_dir, dtype = "fp32", device = "cpu";
  int iters = -1;
};

// The face as the encoders take it: [B, 3, 256, 256] float32 in [-1, 1].
at::Tensor read_face(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".npy") {
    at::Tensor t = read_npy(path).to(at::kFloat);
    if (t.dim() == 3) t = t.unsqueeze(0);
    if (t.dim() != 4 || t.size(1) != 3 || t.size(2) != 256 || t.size(3) != 256) {
      throw Error(path + ": the face must be a normalised NCHW float32 array [B, 3, 256, 256], got " +
                  shape_text(t.sizes()));
    }
    return t;
  }
  if (ext == ".png") {
    int w = 0, h = 0;
    std::vector<uint8_t> rgb = read_png_rgb(path, w, h);
    if (w != 256 || h != 256) {
      throw Error(path + ": the face must be an aligned 256x256 image, this one is " +
                  std::to_string(w) + "x" + std::to_string(h) + " (align it first)");
    }
    at::Tensor hwc = at::from_blob(rgb.data(), {h, w, 3}, at::kByte).to(at::kFloat);
    // The encoders' normalisation: (x / 255 - 0.5) / 0.5.
    return ((hwc / 255.0 - 0.5) / 0.5).permute({2, 0, 1}).unsqueeze(0).contiguous();
  }
  throw Error("--input must be a .npy or a .png file: " + path);
}

void invert(const InvertArgs& a) {
  namespace fs = std::filesystem;
  EncoderOptions opt;
  opt.device = parse_device(a.device);
  opt.dtype = parse_dtype(a.dtype);
  check_device(opt.device);
  const at::Tensor face = read_face(a.input);
  Encoder enc = Encoder::load(a.model, opt);
  const EncoderConfig& c = enc.config();
  fmt::print("{}: {}\n", a.model, c.describe());
  if (!c.iterative() && a.iters >= 0) {
    fmt::print(stderr, "note: {} is a one-pass encoder; --iters is ignored\n", encoder_type_name(c.kind));
  }
  if (!a.trace_dir.empty()) fs::create_directories(a.trace_dir);

  InversionOptions io;
  io.iterations = a.iters;
  io.reconstruct = !a.out_image.empty() || (!a.trace_dir.empty() && !c.iterative());
  if (!a.trace_dir.empty() && c.iterative()) {
    io.on_iteration = [&](int k, const at::Tensor& latent, const at::Tensor& image) {
      write_npy((fs::path(a.trace_dir) / fmt::format("latent_iter{}.npy", k)).string(), latent.to(at::kCPU));
      write_npy((fs::path(a.trace_dir) / fmt::format("image_iter{}.npy", k)).string(), image.to(at::kCPU));
    };
  }
  const auto t0 = std::chrono::steady_clock::now();
  Inversion r = enc.invert(face, std::nullopt, io);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.trace_dir.empty() && !c.iterative()) {
    write_npy((fs::path(a.trace_dir) / "latent_iter0.npy").string(), r.latent.to(at::kCPU));
    write_npy((fs::path(a.trace_dir) / "image_iter0.npy").string(), r.image256.to(at::kCPU));
  }
  const int iterations = c.iterative() ? (a.iters < 0 ? c.default_iterations : a.iters) : 1;
  fmt::print("inverted {} face(s) in {:.3f} s ({} pass{})\n", face.size(0), secs, iterations,
             iterations == 1 ? "" : "es");
  if (!a.out_latent.empty()) {
    write_npy(a.out_latent, r.latent.to(at::kCPU));
    fmt::print("wrote {} {}\n", a.out_latent, shape_text(r.latent.sizes()));
  }
  if (!a.out_image.empty()) {
    write_npy(a.out_image, r.image.to(at::kCPU));
    fmt::print("wrote {} {}\n", a.out_image, shape_text(r.image.sizes()));
  }
}

}  // namespace

void add_invert(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "invert", "Invert an aligned face to W+ with a ReStyle-pSp, pSp or e4e checkpoint");
  auto a = std::make_shared<InvertArgs>();
  cmd->add_option("--model", a->model, "encoder checkpoint {'state_dict': encoder.*, decoder.*; 'latent_avg'; 'opts'}")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--input", a->input,
                  "X.npy: normalised NCHW float32 [B, 3, 256, 256]; X.png: an aligned 256x256 face")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--iters", a->iters, "ReStyle iterations (default: the checkpoint's, 5)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--out-latent", a->out_latent, "W+ .npy [B, n_styles, style]");
  cmd->add_option("--out-image", a->out_image,
                  "reconstruction .npy [B, 3, R, R] at the decoder's resolution R (raw range)");
  cmd->add_option("--trace-dir", a->trace_dir,
                  "write latent_iter{k}.npy [B, n_styles, style] and image_iter{k}.npy [B, 3, 256, 256] "
                  "(what iteration k+1 is fed) for every iteration k from 0");
  cmd->add_option("--dtype", a->dtype, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:N");
  cmd->callback([a] { invert(*a); });
}

}  // namespace micromotion::cli
