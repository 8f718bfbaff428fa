// `micromotion inspect FILE`: what a model, direction or array file is.
#include "commands.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/generator.h>
#include <micromotion/npy.h>
#include <micromotion/safetensors.h>
#include <micromotion/value.h>
#include <micromotion/shape_text.h>

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <fstream>

namespace micromotion::cli {

namespace {

// Text from the file, shown escaped (non-printable bytes as \xNN) and shortened.
std::string shown(const std::string& s) { return quoted_for_message(s, 200); }

void print_tensors(const TensorMap& tensors) {
  int64_t total = 0;
  for (const auto& [name, t] : tensors) {
    const std::string q = shown(name);
    fmt::print("  {:<48} {:<22} {}\n", q.substr(1, q.size() - 2), shape_text(t.sizes()), c10::toString(t.scalar_type()));
    total += t.numel();
  }
  fmt::print("  {} tensors, {} values\n", tensors.size(), total);
}

void inspect_direction(const at::Tensor& t) {
  at::Tensor d = t.to(at::kDouble);
  if (d.dim() == 3 && d.size(0) == 1) d = d.squeeze(0);
  fmt::print("kind: micromotion direction (W+ offset)\n");
  fmt::print("shape: {} (stored {} {})\n", shape_text(d.sizes()), shape_text(t.sizes()), c10::toString(t.scalar_type()));
  fmt::print("frobenius norm: {:.6f}\n", d.norm().item<double>());
  if (d.dim() == 2) {
    std::string rows;
    at::Tensor rn = d.norm(2, {1});
    for (int64_t i = 0; i < rn.size(0); ++i) rows += fmt::format("{}{:.4f}", i ? " " : "", rn[i].item<double>());
    fmt::print("row norms: {}\n", rows);
  }
}

void inspect_safetensors(const std::string& path, const std::string& bytes) {
  SafeTensors st;
  try {
    st = read_safetensors_from_memory(bytes.data(), bytes.size(), path);
  } catch (const Error& e) {
    throw Error(path + ": neither a PyTorch checkpoint, a .npy array nor a safetensors file (" + e.what() + ")");
  }
  const auto basis = st.tensors.find("basis");
  fmt::print("file: {}\n", path);
  fmt::print("kind: {}\n", basis != st.tensors.end() ? "micromotion (safetensors)" : "safetensors tensors");
  if (const auto name = st.metadata.find("name"); name != st.metadata.end()) fmt::print("name: {}\n", shown(name->second));
  if (!st.metadata.empty()) {
    fmt::print("metadata:\n");
    for (const auto& [k, v] : st.metadata) fmt::print("  {}: {}\n", shown(k), shown(v));
  }
  if (basis != st.tensors.end() && basis->second.is_floating_point() && basis->second.numel() > 0)
    inspect_direction(basis->second);
  fmt::print("tensors:\n");
  print_tensors(TensorMap(st.tensors.begin(), st.tensors.end()));
}

void inspect(const std::string& path) {
  // Read once; the format is decided on the bytes that are parsed.
  const std::string bytes = read_whole_file(path);
  if (bytes.compare(0, 6, "\x93NUMPY") == 0) {
    at::Tensor t = read_npy_from_memory(bytes.data(), bytes.size(), path);
    fmt::print("kind: npy array\nshape: {}\ndtype: {}\n", shape_text(t.sizes()), c10::toString(t.scalar_type()));
    if (t.numel() > 0 && t.is_floating_point())
      fmt::print("min {:.6g}  max {:.6g}  mean {:.6g}  std {:.6g}\n", t.min().item<double>(), t.max().item<double>(),
                 t.mean().item<double>(), t.to(at::kDouble).std().item<double>());
    return;
  }
  if (bytes.compare(0, 4, "PK\x03\x04", 4) != 0 && bytes.compare(0, 1, "\x80") != 0) {
    inspect_safetensors(path, bytes);
    return;
  }
  Value root = load_checkpoint_from_memory(bytes.data(), bytes.size(), path);
  fmt::print("file: {}\n", path);
  if (root.is(Value::Kind::Tensor)) {
    inspect_direction(root.as_tensor());
    return;
  }
  if (!root.is(Value::Kind::Dict)) {
    fmt::print("kind: pickled {}\nvalue: {}\n", Value::kind_name(root.kind()), root.repr(3));
    return;
  }
  const Dict& d = root.as_dict();
  if (const Value* g = d.find("g_ema")) {
    TensorMap sd = tensors_of(*g);
    fmt::print("kind: StyleGAN2 generator checkpoint (rosinality layout)\n");
    fmt::print("config: {}\n", GeneratorConfig::infer(sd).describe());
    if (const Value* avg = d.find("latent_avg")) fmt::print("latent_avg: {}\n", avg->repr());
    fmt::print("tensors (g_ema):\n");
    print_tensors(sd);
    return;
  }
  if (const Value* s = d.find("state_dict"); s && s->is(Value::Kind::Dict)) {
    TensorMap all = tensors_of(*s);
    TensorMap decoder;
    for (const auto& [k, t] : all)
      if (k.rfind("decoder.", 0) == 0) decoder[k.substr(8)] = t;
    const bool has_encoder = std::any_of(all.begin(), all.end(), [](const auto& kv) {
      return kv.first.rfind("encoder.", 0) == 0;
    });
    fmt::print("kind: {}\n", has_encoder ? "encoder checkpoint (ReStyle / pSp / e4e layout)" : "state_dict checkpoint");
    if (!decoder.empty()) fmt::print("decoder: {}\n", GeneratorConfig::infer(decoder).describe());
    if (const Value* avg = d.find("latent_avg")) fmt::print("latent_avg: {}\n", avg->repr());
    if (const Value* opts = d.find("opts")) fmt::print("opts: {}\n", opts->repr(1));
    fmt::print("tensors (state_dict):\n");
    print_tensors(all);
    return;
  }
  TensorMap tensors = tensors_of(root);
  fmt::print("kind: checkpoint dict\nentries: {}\n", root.repr(1));
  if (!tensors.empty()) {
    fmt::print("tensors:\n");
    print_tensors(tensors);
  }
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Show what a checkpoint, direction, micromotion (.safetensors) or .npy file holds");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "generator / encoder checkpoint (.pt), direction file, micromotion .safetensors, or .npy array")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([path] {
    try {
      inspect(*path);
    } catch (const Error& e) {
      // Walkers such as tensors_of do not know the file: name it.
      const std::string what = e.what();
      if (what.rfind(*path, 0) == 0) throw;
      throw Error(*path + ": " + what);
    }
  });
}

}  // namespace micromotion::cli
