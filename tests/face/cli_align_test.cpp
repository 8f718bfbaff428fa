// `micromotion align` end to end: with the reference landmarks it reproduces the fixture crop;
// without, it detects every face; errors name the file.
#include "face_test_support.h"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace micromotion;

namespace {

TEST(FaceCliAlign, WithLandmarksMatchesTheReference) {
  const auto dir = facetest::temp_dir("cli_align_lm");
  const auto img = facetest::data("faces/2008_002079.jpg");
  ASSERT_FALSE(img.empty());
  const auto lm = facetest::fixture("align/2008_002079_landmarks.json");
  const auto r = facetest::run(facetest::cli() + " align --image " + img.string() + " --landmarks " + lm.string() +
                               " --size 256 --out " + (dir / "out.png").string() + " --out-quad " +
                               (dir / "q.json").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const ImageRGB8 out = load_image((dir / "out.png").string());
  const ImageRGB8 ref = load_image(facetest::fixture("align/2008_002079_aligned256.png").string());
  const auto d = facetest::diff(out, ref);
  EXPECT_LE(d.mean, 1.0);
  EXPECT_LE(d.max, 8);
  std::ifstream in(dir / "q.json");
  const auto q = nlohmann::json::parse(in);
  ASSERT_EQ(q["faces"].size(), 1u);
  const auto& f = q["faces"][0];
  for (const auto& c : facetest::align_cases()) {
    if (c.image != "2008_002079.jpg") continue;
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(f["quad"][i][0].get<double>(), c.quad[i].x, 1e-3);
      EXPECT_NEAR(f["quad"][i][1].get<double>(), c.quad[i].y, 1e-3);
      EXPECT_NEAR(f["quad_final"][i][0].get<double>(), c.quad_final[i].x, 1e-3);
    }
    EXPECT_EQ(f["padded"].get<bool>(), c.padded);
    // to_frame maps the aligned centre onto the quad's centre.
    const auto& t = f["to_frame"];
    const double cx = t[0][0].get<double>() * 127.5 + t[0][1].get<double>() * 127.5 + t[0][2].get<double>();
    const double qx = 0.25 * (c.quad[0].x + c.quad[1].x + c.quad[2].x + c.quad[3].x);
    EXPECT_NEAR(cx, qx, 1e-6);
  }
}

TEST(FaceCliAlign, WithoutLandmarksAlignsEveryFace) {
  const auto dir = facetest::temp_dir("cli_align_detect");
  const auto img = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(img.empty());
  const auto r = facetest::run(facetest::cli() + " align --image " + img.string() + " --size 128 --out " +
                               (dir / "face.png").string());
  ASSERT_EQ(r.status, 0) << r.output;
  // Two people in this photo: face_0 (left, the annotated one) and face_1.
  ASSERT_TRUE(std::filesystem::exists(dir / "face_0.png")) << r.output;
  ASSERT_TRUE(std::filesystem::exists(dir / "face_1.png")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "face_2.png"));
  const ImageRGB8 a = load_image((dir / "face_0.png").string());
  EXPECT_EQ(a.width(), 128);
  // Predicted landmarks give nearly the reference crop of the annotated face.
  const auto lm = facetest::fixture("align/2008_001009_landmarks.json");
  const auto r2 = facetest::run(facetest::cli() + " align --image " + img.string() + " --landmarks " + lm.string() +
                                " --size 128 --out " + (dir / "ref.png").string());
  ASSERT_EQ(r2.status, 0) << r2.output;
  const auto d = facetest::diff(a, load_image((dir / "ref.png").string()));
  std::printf("[cli] detected vs annotated landmarks, 128 crop: mean |d| %.2f\n", d.mean);
  EXPECT_LT(d.mean, 6.0);
}

TEST(FaceCliAlign, HelpAndErrors) {
  const auto help = facetest::run(facetest::cli() + " align --help");
  EXPECT_EQ(help.status, 0);
  for (const char* opt : {"--image", "--landmarks", "--size", "--out", "--out-quad"}) {
    EXPECT_NE(help.output.find(opt), std::string::npos) << opt;
  }
  const auto dir = facetest::temp_dir("cli_align_err");
  const auto missing = facetest::run(facetest::cli() + " align --image " + (dir / "nope.jpg").string() +
                                     " --out " + (dir / "o.png").string());
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find("nope.jpg"), std::string::npos) << missing.output;
  { std::ofstream(dir / "bad.json") << "[[1, 2], [3, 4]]"; }
  const auto img = facetest::data("faces/2008_001009.jpg");
  const auto bad = facetest::run(facetest::cli() + " align --image " + img.string() + " --landmarks " +
                                 (dir / "bad.json").string() + " --out " + (dir / "o.png").string());
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("68"), std::string::npos) << bad.output;
  // A picture without a face says so and suggests what to try.
  ImageRGB8 flat(300, 200, 90);
  save_png((dir / "flat.png").string(), flat);
  const auto none = facetest::run(facetest::cli() + " align --image " + (dir / "flat.png").string() + " --out " +
                                  (dir / "o.png").string());
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.output.find("no face"), std::string::npos) << none.output;
  const auto no_out = facetest::run(facetest::cli() + " align --image " + img.string());
  EXPECT_NE(no_out.status, 0);
  EXPECT_NE(no_out.output.find("--out"), std::string::npos) << no_out.output;
}

}  // namespace
