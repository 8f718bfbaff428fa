// `micromotion align`: FFHQ alignment of every face of an image (the encoders' input crops).
// Built only with the face layer (MICROMOTION_WITH_FACE), which defines MICROMOTION_HAVE_FACE.
#include "commands.h"

#ifdef MICROMOTION_HAVE_FACE

#include <micromotion/error.h>
#include <micromotion/face_detector.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/landmarks.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace micromotion::cli {
namespace {

namespace fs = std::filesystem;

struct AlignArgs {
  std::string image;
  std::string landmarks;
  int size = 256;
  int transform_size = 0;
  std::string out;
  std::string out_quad;
  std::string detector = "hog";
  std::string mmod_model;
  std::string landmark_model = default_landmark_model();
  int upsample = 1;
};

Landmarks read_landmarks(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the landmarks file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + "); expected an array of 68 [x, y] pairs");
  }
  if (!j.is_array() || j.size() != 68) {
    throw Error(path + ": expected a JSON array of 68 [x, y] pairs (iBUG 300-W order), got " +
                (j.is_array() ? std::to_string(j.size()) + " entries" : std::string("a ") + j.type_name()));
  }
  Landmarks lm;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& p = j[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
      throw Error(path + ": landmark " + std::to_string(i) + " is not an [x, y] pair of numbers");
    }
    lm.push_back({p[0].get<double>(), p[1].get<double>()});
  }
  return lm;
}

std::string output_name(const std::string& out, size_t index, size_t count) {
  if (count == 1) return out;
  const fs::path p(out);
  return (p.parent_path() / (p.stem().string() + "_" + std::to_string(index) + p.extension().string())).string();
}

nlohmann::json points_json(const std::vector<Point2d>& pts) {
  nlohmann::json a = nlohmann::json::array();
  for (const Point2d& p : pts) a.push_back({p.x, p.y});
  return a;
}

void align(const AlignArgs& a) {
  const ImageRGB8 img = load_image(a.image);
  std::vector<Landmarks> faces;
  if (!a.landmarks.empty()) {
    faces.push_back(read_landmarks(a.landmarks));
  } else {
    DetectorOptions d;
    d.kind = a.detector == "mmod" ? DetectorKind::mmod : DetectorKind::hog;
    d.mmod_model = a.mmod_model;
    d.upsample = a.upsample;
    d.min_face_size = 20;
    FaceDetector detector(d);
    const LandmarkPredictor predictor(a.landmark_model);
    std::vector<FaceBox> boxes = detector.detect(img);
    if (boxes.empty()) {
      throw Error(a.image + ": no face found (try --upsample 2 for small faces, --detector mmod, or give "
                            "--landmarks)");
    }
    // Numbered left to right, so OUT_0 is the leftmost face.
    std::sort(boxes.begin(), boxes.end(), [](const FaceBox& x, const FaceBox& y) { return x.left < y.left; });
    for (const FaceBox& b : boxes) faces.push_back(predictor.predict(img, b));
  }

  AlignOptions opts;
  opts.output_size = a.size;
  opts.transform_size = a.transform_size;
  nlohmann::json report = {{"image", a.image}, {"size", a.size}, {"faces", nlohmann::json::array()}};
  for (size_t i = 0; i < faces.size(); ++i) {
    const AlignedFace f = ffhq_align(img, faces[i], opts);
    const std::string file = output_name(a.out, i, faces.size());
    save_png(file, f.image);
    const Affine2& t = f.to_frame;
    const AlignGeometry& g = f.geometry;
    report["faces"].push_back({{"out", file},
                               {"quad", points_json({g.quad.begin(), g.quad.end()})},
                               {"qsize", g.qsize},
                               {"shrink", g.shrink},
                               {"crop", g.crop},
                               {"pad", g.pad},
                               {"padded", g.padded},
                               {"quad_final", points_json({g.quad_final.begin(), g.quad_final.end()})},
                               {"to_frame", {{t.a, t.b, t.tx}, {t.c, t.d, t.ty}}},
                               {"landmarks", points_json(faces[i])}});
    fmt::print("wrote {} ({}x{}; face quad side {:.1f} px, centre {:.1f},{:.1f})\n", file, a.size, a.size, g.qsize,
               0.25 * (g.quad[0].x + g.quad[1].x + g.quad[2].x + g.quad[3].x),
               0.25 * (g.quad[0].y + g.quad[1].y + g.quad[2].y + g.quad[3].y));
  }
  if (!a.out_quad.empty()) {
    std::ofstream q(a.out_quad);
    if (!q) throw Error(a.out_quad + ": cannot write the quad file (check that the folder exists)");
    q << report.dump(1) << "\n";
    if (!q) throw Error(a.out_quad + ": write failed");
    fmt::print("wrote {}\n", a.out_quad);
  }
}

}  // namespace

void add_align(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "align", "FFHQ-align every face of an image (the reference align_face, e.g. 256 for the encoders)");
  auto a = std::make_shared<AlignArgs>();
  cmd->add_option("--image", a->image, "input image (JPEG, PNG or BMP)")->required();
  cmd->add_option("--landmarks", a->landmarks,
                  "LM.json: a JSON array of 68 [x, y] pairs (iBUG order) to align with, instead of detecting");
  cmd->add_option("--size", a->size, "output size in pixels (default 256)")->check(CLI::Range(8, 8192));
  cmd->add_option("--transform-size", a->transform_size,
                  "size of the quad warp before the final resize (default: --size; FFHQ used 4096 for 1024)")
      ->check(CLI::Range(0, 16384));
  cmd->add_option("--out", a->out, "OUT.png; several faces write OUT_0.png, OUT_1.png, ... (left to right)")
      ->required();
  cmd->add_option("--out-quad", a->out_quad,
                  "Q.json: per face the quad, every alignment intermediate, the landmarks and to_frame (the "
                  "2x3 map from aligned pixels back to the image)");
  cmd->add_option("--detector", a->detector, "hog (default) or mmod")->check(CLI::IsMember({"hog", "mmod"}));
  cmd->add_option("--mmod-model", a->mmod_model, "mmod_human_face_detector.dat (for --detector mmod)");
  cmd->add_option("--landmark-model", a->landmark_model, "dlib 68-point shape predictor")
      ->default_str(default_landmark_model());
  cmd->add_option("--upsample", a->upsample, "detector pyramid-up steps: 1 finds faces from ~40 px (default)")
      ->check(CLI::Range(0, 3));
  cmd->callback([a] { align(*a); });
}

}  // namespace micromotion::cli

#endif  // MICROMOTION_HAVE_FACE
