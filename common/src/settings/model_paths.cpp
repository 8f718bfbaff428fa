// Model lookup: the same order for every front end, and errors that say where to get a file.
#include <micromotion/error.h>
#include <micromotion/model_paths.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace micromotion {

const std::vector<OfficialModel>& official_models() {
  static const std::vector<OfficialModel> models = {
      {"stylegan2-ffhq-config-f.pt", "https://github.com/rosinality/stylegan2-pytorch (converted FFHQ config-f checkpoint)",
       "", "NVIDIA Source Code License for StyleGAN2 (non-commercial)"},
      {"restyle_psp_ffhq_encode.pt", "https://github.com/yuval-alaluf/restyle-encoder (pretrained models: ReStyle-pSp FFHQ)",
       "", "MIT (encoder); the decoder inside is NVIDIA's StyleGAN2 (non-commercial)"},
      {"e4e_ffhq_encode.pt", "https://github.com/omertov/encoder4editing (pretrained models: FFHQ inversion)", "",
       "MIT (encoder); the decoder inside is NVIDIA's StyleGAN2 (non-commercial)"},
      {"psp_ffhq_encode.pt", "https://github.com/eladrich/pixel2style2pixel (pretrained models: FFHQ inversion)", "",
       "MIT (encoder); the decoder inside is NVIDIA's StyleGAN2 (non-commercial)"},
      {"shape_predictor_68_face_landmarks.dat",
       "Debian package libdlib-data (/usr/share/dlib/), or http://dlib.net/files/shape_predictor_68_face_landmarks.dat.bz2",
       "", "trained on iBUG 300-W: not for commercial use"},
      {"mmod_human_face_detector.dat", "http://dlib.net/files/mmod_human_face_detector.dat.bz2", "", "CC0 1.0"},
      {"dlib_face_recognition_resnet_model_v1.dat", "http://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",
       "", "CC0 1.0"},
      {"directions/aging/d_latent", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/aging/d_latent; shipped in models/)",
       "b00d9bb8ab03da8d63c1b0bea89bf7e2da7c36d0a049ba10c56c7432e865fdaf", "MIT"},
      {"directions/aging/d_latent_baseline", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/aging/d_latent_baseline; shipped in models/)",
       "cef76db8e3551d7e7cf143dee25023cb6f49dfe6f25c3eb68f83ad92dd9f7891", "MIT"},
      {"directions/aging/d_latent_oldGrayHair", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/aging/d_latent_oldGrayHair; shipped in models/)",
       "2220c64c95c2a4dfc863909cf606b9ea65655314661a17683120c736caea1f03", "MIT"},
      {"directions/angry/d_latent", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/angry/d_latent; shipped in models/)",
       "5132218d645ef613a9148958c5286cb8b879f60c6a3145a753639f304a38f9ff", "MIT"},
      {"directions/eyesClose/d_latent", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/eyesClose/d_latent; shipped in models/)",
       "8d73d5175eb69fd1797fc1e6fb632d2dd51689877b0dd0241f8be2f92b6aa0fd", "MIT"},
      {"directions/headsTurn/d_latent", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/headsTurn/d_latent; shipped in models/)",
       "00452120b2d87dd79ac05557238970abcbdf6157819283c260944912e5e80c61", "MIT"},
      {"directions/smile/d_latent", "https://github.com/wuqiuche/micromotion-styleGAN (pregen_latents/smile/d_latent; shipped in models/)",
       "f91b21a9c9bf17b49799e873c1864118d9e72510769c112e8e553aca1d6a3fd4", "MIT"},
  };
  return models;
}

std::vector<std::string> model_search_dirs(const std::string& option) {
  std::vector<std::string> dirs;
  auto add = [&dirs](const std::string& d) {
    if (!d.empty() && std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  };
  add(option);
  if (const char* env = std::getenv("MICROMOTION_MODELS"); env && *env) add(env);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    add(std::string(xdg) + "/micromotion/models");
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    add(std::string(home) + "/.local/share/micromotion/models");
  }
  add("/usr/share/micromotion/models");
  return dirs;
}

std::string find_model_file(const std::string& rel, const std::string& option) {
  return find_model_file_in(rel, model_search_dirs(option));
}

std::string find_model_file_in(const std::string& rel, const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  for (const auto& d : dirs) {
    const fs::path p = fs::path(d) / rel;
    if (fs::is_regular_file(p)) return p.string();
  }
  std::string msg = "model file '" + rel + "' not found; searched:";
  for (const auto& d : dirs) msg += " " + (fs::path(d) / rel).string();
  const std::string base = fs::path(rel).filename().string();
  bool known = false;
  for (const auto& m : official_models()) {
    if (m.file == rel || m.file == base) {
      msg += ". Get it from " + m.url + " (licence: " + m.licence + ")";
      known = true;
      break;
    }
  }
  if (!known) msg += ". Pass --models DIR or set MICROMOTION_MODELS";
  msg += "; for tests and demos, `micromotion models make-test DIR` writes small random-weight models";
  throw Error(msg);
}

}  // namespace micromotion
