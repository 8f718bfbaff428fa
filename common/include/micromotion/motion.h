// micromotion/motion.h — a micromotion: a direction (or a rank-k basis) in W+ with metadata.
//
// Files read:
//   - the paper's published directions as they are: torch.save() of a [1, n_latent, style_dim]
//     float32 tensor (pregen_latents/<name>/d_latent; saved from CUDA memory);
//   - our own format: safetensors with a float32 tensor "basis" [k, n_latent, style_dim] and
//     string metadata name, source, default_strength (Python: safetensors.torch.load_file).
//
// load_micromotion(path)
//   ensures:  basis is float32, contiguous, CPU, [k >= 1, n_latent, style_dim]; name defaults to
//             the file's parent folder (paper layout) or stem; default_strength 5 (the paper's
//             scale) unless the file says otherwise.
//   throws:   micromotion::Error naming the file: missing, neither a checkpoint nor safetensors,
//             a checkpoint that is not a single tensor, a tensor that is not [1|k, rows, dim].
// save_micromotion(path, m): writes the safetensors form. requires: m.basis as above.
// load_micromotion reads the file once and decides its format on those bytes.
// find_micromotion(name_or_path, models_dir)
//   ensures:  a bare name (no '/', no '.': "smile") is looked up ONLY among installed
//             micromotions, as directions/<name>.safetensors, then directions/<name>/d_latent,
//             in every models directory (model_search_dirs order); a file of that name in the
//             working directory is never used. Anything else is a path and is loaded as is.
//   throws:   Error listing the places searched and the published names, for an unknown name;
//             "<path>: no such micromotion file" for a missing path. No message prints bytes
//             of the file (formats' magic numbers and length fields included).
// Micromotion::check_fits(n_latent, style_dim, what)
//   throws:   Error "direction of the wrong shape" naming both shapes when they differ.
// Micromotion::offset(strength)
//   ensures:  strength * basis[0] ([n_latent, style_dim]): the edit added to a W+ code.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace micromotion {

struct Micromotion {
  std::string name;
  std::string source;             // where it came from (file, "anchors: ...")
  double default_strength = 5.0;  // the paper's scale
  at::Tensor basis;               // [k, n_latent, style_dim] float32

  int rank() const;
  int n_latent() const;
  int style_dim() const;
  at::Tensor direction() const;   // basis[0]
  at::Tensor offset(double strength) const;
  void check_fits(int n_latent, int style_dim, const std::string& what) const;
};

// The names of the paper's published directions (aging, angry, eyesClose, headsTurn, smile).
const std::vector<std::string>& published_micromotions();

Micromotion load_micromotion(const std::string& path);
void save_micromotion(const std::string& path, const Micromotion& motion);
Micromotion find_micromotion(const std::string& name_or_path, const std::string& models_dir = "");

}  // namespace micromotion
