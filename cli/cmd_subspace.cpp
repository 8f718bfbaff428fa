// `micromotion subspace extract`: a new micromotion from anchor latents (the paper's RPCA step).
#include "commands.h"
#ifdef MICROMOTION_HAVE_FACE
#include "video_transcoder.h"

#include <micromotion/encoder.h>
#include <micromotion/face_tracker.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/model_paths.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <cstring>
#endif

#include <micromotion/error.h>
#include <micromotion/npy.h>
#include <micromotion/robust_pca.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <memory>

namespace micromotion::cli {

namespace {

struct ExtractArgs {
  std::string latents, video, out, name, source, models, encoder = "restyle", out_latents;
  int rank = 4, iters = -1;
  double strength = 5.0;
};

#ifdef MICROMOTION_HAVE_FACE
// The anchors of a clip of one person doing the motion: the largest face of every frame,
// FFHQ-aligned and inverted on its own (as the paper inverts each anchor frame).
at::Tensor invert_clip(const ExtractArgs& a) {
  std::string file = a.encoder;
  if (a.encoder == "restyle") file = find_model_file("restyle_psp_ffhq_encode.pt", a.models);
  else if (a.encoder == "e4e") file = find_model_file("e4e_ffhq_encode.pt", a.models);
  else if (a.encoder == "psp") file = find_model_file("psp_ffhq_encode.pt", a.models);
  const Encoder encoder = Encoder::load(file);
  const std::vector<ImageRGB8> frames = decode_frames(a.video, 1, 100000, nullptr);
  TrackerOptions topts;
  topts.detect_every = 1;  // anchors are few and may jump: search every frame
  FaceTracker tracker(topts);
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> codes;
  int skipped = 0;
  for (const ImageRGB8& f : frames) {
    const auto faces = tracker.update(f);
    const TrackedFace* best = nullptr;
    for (const auto& t : faces)
      if (t.found && (!best || t.box.area() > best->box.area())) best = &t;
    if (!best) {
      ++skipped;
      continue;
    }
    const AlignedFace al = ffhq_align(f, best->landmarks, AlignOptions{256, 0, true});
    at::Tensor x = at::from_blob(const_cast<uint8_t*>(al.image.data()), {256, 256, 3}, at::kByte)
                       .permute({2, 0, 1}).to(at::kFloat).div(127.5).sub(1.0).unsqueeze(0);
    InversionOptions io;
    io.iterations = a.iters;
    io.reconstruct = false;
    codes.push_back(encoder.invert(x, std::nullopt, io).latent);
  }
  fmt::print("{}: {} frames inverted, {} without a face skipped\n", a.video, codes.size(), skipped);
  if (codes.size() < 2) throw Error(a.video + ": fewer than 2 frames with a face; a micromotion needs at least 2 anchors");
  return at::cat(codes).contiguous();
}
#endif

void extract(const ExtractArgs& a) {
  if (a.latents.empty() == a.video.empty()) throw Error("subspace extract: give exactly one of --latents and --video");
  at::Tensor anchors;
  if (!a.latents.empty()) {
    anchors = read_npy(a.latents);
  } else {
#ifdef MICROMOTION_HAVE_FACE
    anchors = invert_clip(a);
#else
    throw Error("subspace extract --video: this build has no face front end");
#endif
  }
  if (!a.out_latents.empty()) write_npy(a.out_latents, anchors);
  if (anchors.dim() != 3)
    throw Error(a.latents + ": anchors must be [n, styles, dim] (n W+ codes at increasing motion degree)");
  if (anchors.size(0) < 2) throw Error("subspace extract: at least 2 anchors are needed, got " + std::to_string(anchors.size(0)));
  Micromotion m = micromotion_from_anchors(
      anchors, a.name.empty() ? std::filesystem::path(a.out).stem().string() : a.name,
      a.source.empty() ? "anchors: " + (a.latents.empty() ? a.video : a.latents) : a.source, a.rank);
  m.default_strength = a.strength;
  save_micromotion(a.out, m);
  fmt::print("wrote {}: micromotion '{}', direction [{}, {}], |d| = {:.6g}, from {} anchors (RPCA + rank-{})\n", a.out,
             m.name, m.n_latent(), m.style_dim(), m.direction().norm().item<double>(), anchors.size(0), a.rank);
}

}  // namespace

void add_subspace(CLI::App& app) {
  auto* cmd = app.add_subcommand("subspace", "Micromotion subspaces: make new ones from anchors");
  cmd->require_subcommand(1);
  auto* ex = cmd->add_subcommand(
      "extract", "Robust PCA per W+ row (inexact ALM, the paper's constants), rank-k reconstruction, "
                 "d = last - first; writes NAME.safetensors");
  auto a = std::make_shared<ExtractArgs>();
  ex->add_option("--latents", a->latents, "anchor codes .npy [n, styles, dim], in motion order")->check(CLI::ExistingFile);
  ex->add_option("--video", a->video, "a clip of one person doing the motion: every frame's largest face is aligned and inverted");
  ex->add_option("--models", a->models, "models directory (for --video)");
  ex->add_option("--encoder", a->encoder, "restyle | e4e | psp | checkpoint path (for --video)");
  ex->add_option("--iters", a->iters, "ReStyle steps per frame (for --video; default: the checkpoint's, 5)");
  ex->add_option("--out-latents", a->out_latents, "also write the anchor codes as .npy [n, styles, dim]");
  ex->add_option("--out", a->out, "output .safetensors")->required();
  ex->add_option("--name", a->name, "micromotion name (default: the output's stem)");
  ex->add_option("--source", a->source, "provenance text stored in the file");
  ex->add_option("--rank", a->rank, "rank of the reconstruction (the paper: 4)")->check(CLI::Range(1, 64));
  ex->add_option("--strength", a->strength, "default strength stored in the file (the paper: 5)");
  ex->callback([a] { extract(*a); });
}

}  // namespace micromotion::cli
