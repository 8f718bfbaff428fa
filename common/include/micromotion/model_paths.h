// micromotion/model_paths.h — where model files are looked up, and where users obtain them.
//
// model_search_dirs(option)
//   ensures: in this order, without duplicates: `option` (when not empty), $MICROMOTION_MODELS,
//            $XDG_DATA_HOME/micromotion/models (default ~/.local/share/micromotion/models),
//            /usr/share/micromotion/models. Directories need not exist.
// find_model_file(rel, option)
//   ensures: the first <dir>/<rel> that exists.
//   throws:  micromotion::Error naming `rel`, every place searched and, for a file of the
//            official manifest (official_models()), the address to obtain it and its licence.
// find_model_file_in(rel, dirs)
//   the same, searching exactly `dirs` in order (find_model_file passes model_search_dirs).
// official_models(): the official files the project can use (the content of
//   models/manifest.json; tests check the two agree).
#pragma once

#include <string>
#include <vector>

namespace micromotion {

struct OfficialModel {
  std::string file;      // path below a models directory
  std::string url;       // where users obtain it
  std::string sha256;    // empty when not known
  std::string licence;
};

const std::vector<OfficialModel>& official_models();
std::vector<std::string> model_search_dirs(const std::string& option = "");
std::string find_model_file(const std::string& rel, const std::string& option = "");
std::string find_model_file_in(const std::string& rel, const std::vector<std::string>& dirs);

}  // namespace micromotion
