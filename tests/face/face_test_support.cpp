#include "face_test_support.h"

#include "test_support.h"

#include <dlib/data_io.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

namespace facetest {

fs::path fixture(const std::string& rel) { return mmtest::fixture(rel); }

fs::path data(const std::string& rel) {
  const char* env = std::getenv("MICROMOTION_TEST_DATA");
  const char* home = std::getenv("HOME");
  const fs::path root = env && *env ? fs::path(env) : fs::path(home ? home : "/root") / ".cache/micromotion/testdata";
  const fs::path p = root / rel;
  if (!fs::exists(p)) {
    ADD_FAILURE() << "face test data missing: " << p
                  << " — run `packaging/fetch-test-data.sh` (as root the first time: it adds a deb-src entry), "
                     "or set MICROMOTION_TEST_DATA to where it was fetched";
    return {};
  }
  return p;
}

fs::path temp_dir(const std::string& name) { return mmtest::temp_dir(name); }

RunResult run(const std::string& command) {
  const mmtest::RunResult r = mmtest::run(command);
  return {r.status, r.output};
}

std::string cli() { return mmtest::cli(); }

std::vector<micromotion::ImageRGB8> load_clip(const std::string& name) {
  std::vector<micromotion::ImageRGB8> frames;
  const fs::path dir = data("clips/" + name + "/motion.json");
  if (dir.empty()) return frames;
  for (int i = 0;; ++i) {
    char file[16];
    std::snprintf(file, sizeof file, "%04d.png", i);
    const fs::path p = dir.parent_path() / file;
    if (!fs::exists(p)) break;
    frames.push_back(micromotion::load_image(p.string()));
  }
  return frames;
}

ImageDiff diff(const micromotion::ImageView& a, const micromotion::ImageView& b) {
  ImageDiff d;
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  if (a.width != b.width || a.height != b.height) return {1e9, 255};
  double sum = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < 3 * a.width; ++x) {
      const int v = std::abs(int(a.row(y)[x]) - int(b.row(y)[x]));
      sum += v;
      d.max = std::max(d.max, v);
    }
  }
  d.mean = sum / (3.0 * a.width * a.height);
  return d;
}

std::vector<AlignCase> align_cases() {
  std::vector<AlignCase> out;
  const fs::path p = fixture("align/cases.json");
  std::ifstream in(p);
  if (!in) {
    ADD_FAILURE() << "cannot read " << p;
    return out;
  }
  const nlohmann::json j = nlohmann::json::parse(in);
  auto quad = [](const nlohmann::json& q) {
    micromotion::Quad r{};
    for (int i = 0; i < 4; ++i) r[i] = {q[i][0].get<double>(), q[i][1].get<double>()};
    return r;
  };
  for (const auto& c : j) {
    AlignCase a;
    a.image = c["image"].get<std::string>();
    a.sha256 = c["sha256"].get<std::string>();
    for (const auto& p2 : c["landmarks"]) a.landmarks.push_back({p2[0].get<double>(), p2[1].get<double>()});
    a.quad = quad(c["quad"]);
    a.quad_final = quad(c["quad_final"]);
    a.qsize = c["qsize"].get<double>();
    a.shrink = c["shrink"].get<int>();
    for (int i = 0; i < 4; ++i) {
      a.crop[i] = c["crop"][i].get<int>();
      a.pad[i] = c["pad"][i].get<int>();
    }
    a.padded = c["padded"].get<bool>();
    out.push_back(a);
  }
  return out;
}

std::vector<XmlFace> xml_faces(const fs::path& xml) {
  dlib::image_dataset_metadata::dataset ds;
  dlib::image_dataset_metadata::load_image_dataset_metadata(ds, xml.string());
  std::vector<XmlFace> out;
  for (const auto& img : ds.images) {
    const dlib::image_dataset_metadata::box* best = nullptr;
    for (const auto& b : img.boxes) {
      if (b.parts.size() == 68 && (!best || b.rect.area() > best->rect.area())) best = &b;
    }
    if (!best) continue;
    XmlFace f{img.filename, double(best->rect.left()), double(best->rect.top()), double(best->rect.right()),
              double(best->rect.bottom()), {}};
    for (int i = 0; i < 68; ++i) {
      char name[8];
      std::snprintf(name, sizeof name, "%02d", i);
      const dlib::point p = best->parts.at(name);
      f.parts.push_back({double(p.x()), double(p.y())});
    }
    out.push_back(f);
  }
  return out;
}

}  // namespace facetest
