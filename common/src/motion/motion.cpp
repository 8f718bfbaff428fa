// Micromotions: the paper's direction files as published, and our safetensors form.
#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/model_paths.h>
#include <micromotion/motion.h>
#include <micromotion/safetensors.h>
#include <micromotion/value.h>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace micromotion {

namespace fs = std::filesystem;

namespace {

std::string shape_text(int64_t a, int64_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

at::Tensor as_basis(const at::Tensor& t, const std::string& file) {
  if (!t.is_floating_point()) throw Error(file + ": the direction tensor is not floating point");
  at::Tensor b;
  if (t.dim() == 2) b = t.unsqueeze(0);
  else if (t.dim() == 3) b = t;
  else throw Error(file + ": a micromotion is a [rows, dim] direction or a [k, rows, dim] basis, not a tensor of " +
                   std::to_string(t.dim()) + " dimensions");
  if (b.numel() == 0) throw Error(file + ": the direction tensor is empty");
  b = b.to(at::kCPU, at::kFloat).contiguous();
  if (!at::isfinite(b).all().item<bool>()) throw Error(file + ": the direction holds NaN or infinite values");
  return b;
}

bool is_zip(const std::string& bytes) { return bytes.compare(0, 4, "PK\x03\x04", 4) == 0; }

// A bare name ("smile") names an installed micromotion; anything with a folder separator
// or an extension ("./smile", "my.safetensors", "pregen/smile/d_latent") is a path.
bool is_bare_name(const std::string& s) {
  return !s.empty() && s.find('/') == std::string::npos && s.find('.') == std::string::npos;
}

}  // namespace

int Micromotion::rank() const { return basis.defined() ? static_cast<int>(basis.size(0)) : 0; }
int Micromotion::n_latent() const { return basis.defined() ? static_cast<int>(basis.size(1)) : 0; }
int Micromotion::style_dim() const { return basis.defined() ? static_cast<int>(basis.size(2)) : 0; }
at::Tensor Micromotion::direction() const { return basis[0]; }
at::Tensor Micromotion::offset(double strength) const { return basis[0] * strength; }

void Micromotion::check_fits(int rows, int dim, const std::string& what) const {
  if (n_latent() != rows || style_dim() != dim)
    throw Error("direction of the wrong shape: micromotion '" + name + "' (" + source + ") is " +
                shape_text(n_latent(), style_dim()) + " but " + what + " takes W+ codes of " + shape_text(rows, dim));
}

const std::vector<std::string>& published_micromotions() {
  static const std::vector<std::string> names = {"aging", "angry", "eyesClose", "headsTurn", "smile"};
  return names;
}

Micromotion load_micromotion(const std::string& path) {
  if (!fs::is_regular_file(path)) throw Error(path + ": no such micromotion file");
  // A rank-16 basis of a 1024 px generator is 9 MB; anything far larger is not a micromotion.
  std::error_code ec;
  if (fs::file_size(path, ec) > (uint64_t(256) << 20))
    throw Error(path + ": larger than 256 MB, too large for a micromotion file");
  Micromotion m;
  m.source = path;
  const fs::path p(path);
  // Read once: the format is decided on the same bytes that are parsed.
  const std::string bytes = read_whole_file(path);
  if (is_zip(bytes)) {
    const Value v = load_checkpoint_from_memory(bytes.data(), bytes.size(), path);
    if (!v.is(Value::Kind::Tensor))
      throw Error(path + ": a direction file holds one tensor (torch.save of [1, 18, 512]), this holds " + v.repr(1));
    m.basis = as_basis(v.as_tensor(), path);
    // The paper's layout: pregen_latents/<name>/d_latent.
    m.name = p.stem() == "d_latent" && p.has_parent_path() ? p.parent_path().filename().string() : p.stem().string();
    return m;
  }
  SafeTensors st;
  try {
    st = read_safetensors_from_memory(bytes.data(), bytes.size(), path);
  } catch (const Error& e) {
    throw Error(path + ": neither a PyTorch direction file (zip) nor a micromotion safetensors file (" + e.what() + ")");
  }
  auto it = st.tensors.find("basis");
  if (it == st.tensors.end()) throw Error(path + ": safetensors file without a 'basis' tensor");
  m.basis = as_basis(it->second, path);
  m.name = st.metadata.count("name") ? st.metadata["name"] : p.stem().string();
  if (st.metadata.count("source")) m.source = st.metadata["source"];
  if (st.metadata.count("default_strength")) {
    try {
      m.default_strength = std::stod(st.metadata["default_strength"]);
    } catch (const std::exception&) {
      throw Error(path + ": metadata default_strength " + quoted_for_message(st.metadata["default_strength"]) +
                  " is not a number");
    }
  }
  return m;
}

void save_micromotion(const std::string& path, const Micromotion& motion) {
  if (!motion.basis.defined() || motion.basis.dim() != 3) throw Error(path + ": a micromotion basis is [k, rows, dim]");
  SafeTensors st;
  st.tensors["basis"] = motion.basis.to(at::kCPU, at::kFloat).contiguous();
  std::ostringstream strength;
  strength.precision(17);
  strength << motion.default_strength;
  st.metadata = {{"format", "micromotion"},
                 {"name", motion.name},
                 {"source", motion.source},
                 {"default_strength", strength.str()},
                 {"generator", std::to_string(motion.n_latent()) + "x" + std::to_string(motion.style_dim())}};
  write_safetensors(path, st);
}

Micromotion find_micromotion(const std::string& name_or_path, const std::string& models_dir) {
  // A name is looked up only among the installed micromotions: a file called `smile` in
  // the working directory never shadows the published one.
  if (!is_bare_name(name_or_path)) {
    if (!fs::exists(name_or_path)) throw Error(name_or_path + ": no such micromotion file");
    return load_micromotion(name_or_path);
  }
  std::string searched;
  {
    for (const auto& dir : model_search_dirs(models_dir)) {
      for (const fs::path& rel : {fs::path("directions") / (name_or_path + ".safetensors"),
                                 fs::path("directions") / name_or_path / "d_latent"}) {
        const fs::path p = fs::path(dir) / rel;
        if (fs::is_regular_file(p)) return load_micromotion(p.string());
        searched += " " + p.string();
      }
    }
  }
  std::string names;
  for (const auto& n : published_micromotions()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown micromotion " + quoted_for_message(name_or_path, 80) + ": no file" + searched +
              ". Published names: " + names +
              " (shipped in the project's models/directions; pass --models DIR or set MICROMOTION_MODELS), "
              "or give the path of a d_latent / .safetensors file (with a '/' or an extension, e.g. ./" +
              (name_or_path.size() <= 80 ? name_or_path : "FILE") + ")");
}

}  // namespace micromotion
