// `micromotion render` and `subspace extract` end to end: real clips, libav* through the CLI,
// ffmpeg / ffprobe (the command-line tools) to make inputs and to read outputs back.
#include "engine/engine_test_support.h"

#include "test_support.h"

#include <micromotion/motion.h>
#include <micromotion/npy.h>
#include <micromotion/robust_pca.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include <sstream>

namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// frames 6..15 of the gaps clip (faces in 6-9, none in 10-15), lossless PNG-in-MKV with a
// sine audio track.
fs::path make_clip(const fs::path& dir) {
  const fs::path src = facetest::data("clips/gaps/0000.png").parent_path();
  const fs::path out = dir / "in.mkv";
  const auto r = mmtest::run("ffmpeg -nostdin -v error -y -framerate 25 -start_number 6 -i " + q(src / "%04d.png") +
                             " -f lavfi -i sine=frequency=440:sample_rate=48000 -frames:v 10 -t 0.4 "
                             "-c:v png -c:a pcm_s16le " + q(out));
  EXPECT_EQ(r.status, 0) << r.output;
  return out;
}

std::string probe(const fs::path& f, const std::string& what) {
  return mmtest::run("ffprobe -v error " + what + " -of csv=p=0 " + q(f)).output;
}

std::vector<micromotion::ImageRGB8> frames_of(const fs::path& video, const fs::path& dir) {
  fs::create_directories(dir);
  const auto r = mmtest::run("ffmpeg -nostdin -v error -y -i " + q(video) + " -pix_fmt rgb24 -start_number 0 " +
                             q(dir / "%04d.png"));
  EXPECT_EQ(r.status, 0) << r.output;
  std::vector<micromotion::ImageRGB8> out;
  for (int i = 0;; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%04d.png", i);
    if (!fs::exists(dir / name)) break;
    out.push_back(micromotion::load_image((dir / name).string()));
  }
  return out;
}

std::string render(const fs::path& in, const fs::path& out, const std::string& extra) {
  const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(out) + " --models " +
                             q(enginetest::test_models()) + " --iters 2 --quiet " + extra);
  EXPECT_EQ(r.status, 0) << r.output;
  return r.output;
}

TEST(RenderCli, KeepsFramesTimestampsAudioAndUntouchedPixels) {
  const auto dir = mmtest::temp_dir("render_basic");
  const fs::path in = make_clip(dir), out = dir / "out.mkv";
  const std::string log = render(in, out, "--anchor smile --strength '5*t/0.4'");
  EXPECT_NE(log.find("lossless"), std::string::npos) << log;
  EXPECT_EQ(probe(out, "-select_streams v -show_entries frame=pts"), probe(in, "-select_streams v -show_entries frame=pts"));
  EXPECT_EQ(probe(out, "-show_entries stream=codec_name"), "png\npcm_s16le\n");
  EXPECT_EQ(probe(out, "-select_streams a -show_entries packet=pts"), probe(in, "-select_streams a -show_entries packet=pts"));
  const auto a = frames_of(in, dir / "a"), b = frames_of(out, dir / "b");
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  // Faces in the first 4 frames: edited (strength ramps from 0, so from frame 1), the rest bit-exact.
  for (int i = 1; i < 4; ++i) EXPECT_GT(facetest::diff(a[i], b[i]).max, 5) << "frame " << i;
  for (int i = 4; i < 10; ++i) EXPECT_TRUE(a[i] == b[i]) << "face-free frame " << i << " changed";
  // Outside the faces, nothing changes.
  const auto c = enginetest::compare(a[2], b[2], enginetest::face_regions(a[2]));
  EXPECT_GT(c.changed, 1000);
  EXPECT_EQ(c.outside, 0);
}

TEST(RenderCli, DeltaAtStrengthZeroIsTheInputWithinOneLevel) {
  const auto dir = mmtest::temp_dir("render_delta0");
  const fs::path in = make_clip(dir), out = dir / "out.mkv";
  render(in, out, "--anchor smile --mode delta --strength 0 --frames 4");
  const auto a = frames_of(in, dir / "a"), b = frames_of(out, dir / "b");
  ASSERT_EQ(b.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_LE(facetest::diff(a[i], b[i]).max, 1) << "frame " << i;
}

// The settings the front ends expose are the CLI's too: the mask's feather changes the edge.
TEST(RenderCli, FeatherDetectEveryAndSmoothingAreOptions) {
  const auto dir = mmtest::temp_dir("render_feather");
  const fs::path in = make_clip(dir), hard = dir / "hard.mkv", soft = dir / "soft.mkv";
  render(in, hard, "--anchor smile --frames 2 --feather 0 --detect-every 1 --no-smooth");
  render(in, soft, "--anchor smile --frames 2 --feather 0.3 --detect-every 1 --no-smooth");
  const auto a = frames_of(in, dir / "a"), h = frames_of(hard, dir / "h"), s = frames_of(soft, dir / "s");
  ASSERT_EQ(h.size(), 2u);
  ASSERT_EQ(s.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(facetest::diff(a[i], h[i]).max, 5) << "frame " << i << " not edited";
    EXPECT_GT(facetest::diff(h[i], s[i]).max, 5) << "frame " << i << ": the feather made no difference";
  }
  const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(dir / "x.mkv") + " --anchor smile --feather 0.9");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--feather"), std::string::npos) << r.output;
}

TEST(RenderCli, LossyInputKeepsItsCodecAndFrameCount) {
  MM_SKIP_WITHOUT_BF16(c10::Device(c10::kCPU));  // RenderCli.Bf16WithoutAvx512 runs instead
  const auto dir = mmtest::temp_dir("render_h264");
  const fs::path in = facetest::data("clips/gaps/clip.mp4"), out = dir / "out.mp4";
  render(in, out, "--anchor smile --frames 3 --encoder e4e --dtype bf16");
  EXPECT_EQ(probe(out, "-select_streams v -show_entries stream=codec_name,pix_fmt,width,height"),
            probe(in, "-select_streams v -show_entries stream=codec_name,pix_fmt,width,height"));
  EXPECT_EQ(probe(out, "-select_streams v -count_frames -show_entries stream=nb_read_frames"), "3\n");
}

// Without AVX-512, --dtype bf16 fails at once with the message naming the requirement and
// the fix (not oneDNN's c10 backtrace after the models loaded), and writes nothing.
TEST(RenderCli, Bf16WithoutAvx512IsAClearError) {
  if (micromotion::bf16_supported(c10::kCPU))
    GTEST_SKIP() << "this CPU has AVX-512: LossyInputKeepsItsCodecAndFrameCount renders in bf16";
  const auto dir = mmtest::temp_dir("render_bf16");
  const fs::path in = facetest::data("clips/gaps/clip.mp4"), out = dir / "out.mp4";
  const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(out) + " --models " +
                             q(enginetest::test_models()) + " --quiet --anchor smile --encoder e4e --dtype bf16");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this one "
                          "lacks: use dtype fp32"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("Exception raised from"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(RenderCli, InterruptFinishesAPlayableFile) {
  const auto dir = mmtest::temp_dir("render_interrupt");
  const fs::path in = facetest::data("clips/pan_zoom/clip.mp4"), out = dir / "out.mp4";
  // SIGINT once the progress line shows a finished frame: the rest of the clip is not read.
  const fs::path log = dir / "log.txt";
  const auto r = mmtest::run("(" + mmtest::cli() + " render " + q(in) + " " + q(out) + " --anchor smile --iters 1 --models " +
                             q(enginetest::test_models()) + " 2> " + q(log) + " & pid=$!; " +
                             "for i in $(seq 1200); do grep -q 'frame [1-9]' " + q(log) + " && break; sleep 0.1; done; " +
                             "kill -INT $pid; wait $pid; echo status=$?)");
  EXPECT_NE(r.output.find("status=0"), std::string::npos) << r.output << mmtest::read_file(log);
  EXPECT_NE(r.output.find("interrupted"), std::string::npos) << r.output;
  const std::string n = probe(out, "-select_streams v -count_frames -show_entries stream=nb_read_frames");
  EXPECT_GE(std::atoi(n.c_str()), 1) << n;
  EXPECT_LT(std::atoi(n.c_str()), 60) << n;
}

TEST(RenderCli, PreviewWritesAContactSheet) {
  const auto dir = mmtest::temp_dir("render_preview");
  const fs::path in = make_clip(dir);
  const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " --preview " + q(dir / "sheet.png") +
                             " --anchor smile --frames 1 --iters 1 --faces largest --models " + q(enginetest::test_models()));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto sheet = micromotion::load_image((dir / "sheet.png").string());
  EXPECT_EQ(sheet.height(), 256);
  EXPECT_EQ(sheet.width() % 5, 0);
}

TEST(RenderCli, BadInputsAreClearErrors) {
  const auto dir = mmtest::temp_dir("render_bad");
  const fs::path in = make_clip(dir);
  const std::string base = mmtest::cli() + " render " + q(in) + " " + q(dir / "o.mkv") + " --models " +
                           q(enginetest::test_models()) + " ";
  auto r = mmtest::run(base + "--anchor frown");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("unknown micromotion 'frown'"), std::string::npos) << r.output;

  micromotion::Micromotion m;
  m.name = "short";
  m.basis = at::zeros({1, 14, 512});
  micromotion::save_micromotion((dir / "short.safetensors").string(), m);
  r = mmtest::run(base + "--anchor " + q(dir / "short.safetensors"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("direction of the wrong shape"), std::string::npos) << r.output;

  mmtest::write_file(dir / "broken.mp4", "this is not a video");
  r = mmtest::run(mmtest::cli() + " render " + q(dir / "broken.mp4") + " " + q(dir / "o.mkv") + " --anchor smile --models " +
                  q(enginetest::test_models()));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("broken.mp4"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cannot open as a video"), std::string::npos) << r.output;

  r = mmtest::run(base + "--anchor smile --strength '5*'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("strength expression"), std::string::npos) << r.output;
}

TEST(SubspaceCli, ExtractMatchesTheRpcaReference) {
  const auto dir = mmtest::temp_dir("subspace_extract");
  const auto r = mmtest::run(mmtest::cli() + " subspace extract --latents " + q(mmtest::fixture("rpca/anchors.npy")) +
                             " --out " + q(dir / "wave.safetensors"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto m = micromotion::load_micromotion((dir / "wave.safetensors").string());
  EXPECT_EQ(m.name, "wave");
  EXPECT_LE(mmtest::max_abs_diff(m.direction(), mmtest::load_fixture("rpca/direction_exact.npy")), 1e-4);
}

TEST(SubspaceCli, FromAVideoClipOfOnePerson) {
  const auto dir = mmtest::temp_dir("subspace_video");
  const fs::path in = make_clip(dir);  // faces in the first 4 of 10 frames
  const auto r = mmtest::run(mmtest::cli() + " subspace extract --video " + q(in) + " --out " + q(dir / "m.safetensors") +
                             " --out-latents " + q(dir / "anchors.npy") + " --iters 1 --name clipmotion --models " +
                             q(enginetest::test_models()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("4 frames inverted, 6 without a face skipped"), std::string::npos) << r.output;
  const at::Tensor anchors = micromotion::read_npy((dir / "anchors.npy").string());
  ASSERT_EQ(anchors.sizes(), (at::IntArrayRef{4, 18, 512}));
  const auto m = micromotion::load_micromotion((dir / "m.safetensors").string());
  EXPECT_EQ(m.name, "clipmotion");
  EXPECT_LE(mmtest::max_abs_diff(m.direction(), micromotion::decompose_anchors(anchors).direction), 1e-5);
  EXPECT_GT(m.direction().abs().max().item<double>(), 0.0);
  const auto bad = mmtest::run(mmtest::cli() + " subspace extract --out " + q(dir / "x.safetensors"));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("exactly one of --latents and --video"), std::string::npos) << bad.output;
}

TEST(EvaluateCli, IdentityAndStabilityReport) {
  const auto dir = mmtest::temp_dir("evaluate");
  const fs::path in = make_clip(dir), out = dir / "out.mkv";
  render(in, out, "--anchor smile --strength 8 --frames 4");
  const std::string model = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat").string();
  // The input against itself: same identity, consistency ratios 1, jitter ratio 1.
  auto r = mmtest::run(mmtest::cli() + " evaluate " + q(in) + " " + q(in) + " --frames 4 --identity-model " + q(model) +
                       " --json " + q(dir / "self.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  nlohmann::json self = nlohmann::json::parse(mmtest::read_file(dir / "self.json"));
  ASSERT_GE(self["tracks"].size(), 1u);
  for (const auto& t : self["tracks"]) {
    EXPECT_NEAR(t["identity_distance_mean"].get<double>(), 0.0, 1e-6);
    EXPECT_NEAR(t["tl_id"].get<double>(), 1.0, 1e-9);
    EXPECT_NEAR(t["tg_id"].get<double>(), 1.0, 1e-9);
    EXPECT_NEAR(t["jitter_ratio"].get<double>(), 1.0, 1e-9);
  }
  // Against the edit (random test weights replace the face): a large identity distance.
  r = mmtest::run(mmtest::cli() + " evaluate " + q(in) + " " + q(out) + " --frames 4 --identity-model " + q(model) +
                  " --json " + q(dir / "edit.json") + " --plot " + q(dir / "edit.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  // The plot: a PNG of two stacked 900x220 panels (IHDR width and height, big-endian).
  const std::string png = mmtest::read_file(dir / "edit.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  auto be32 = [&](size_t o) {
    return (uint32_t(uint8_t(png[o])) << 24) | (uint32_t(uint8_t(png[o + 1])) << 16) |
           (uint32_t(uint8_t(png[o + 2])) << 8) | uint32_t(uint8_t(png[o + 3]));
  };
  EXPECT_EQ(be32(16), 900u);
  EXPECT_EQ(be32(20), 440u);
  EXPECT_NE(r.output.find("identity distance per frame"), std::string::npos) << r.output;
  nlohmann::json edit = nlohmann::json::parse(mmtest::read_file(dir / "edit.json"));
  ASSERT_EQ(edit["tracks"].size(), self["tracks"].size());
  EXPECT_GT(edit["tracks"][0]["identity_distance_mean"].get<double>(), 0.1);
  EXPECT_EQ(edit["frames"].get<int>(), 4);
  // Different lengths are refused.
  r = mmtest::run(mmtest::cli() + " evaluate " + q(in) + " " + q(out) + " --identity-model " + q(model));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("frames"), std::string::npos) << r.output;
}

TEST(ModelsCli, CheckReportsPublishedDirectionsAndMissingFiles) {
  const auto r = mmtest::run(mmtest::cli() + " models check " + q(enginetest::test_models()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ok       directions/smile/d_latent  (sha256 matches)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing  stylegan2-ffhq-config-f.pt"), std::string::npos) << r.output;
  const auto dir = mmtest::temp_dir("models_check_bad");
  fs::create_directories(dir / "directions/smile");
  mmtest::write_file(dir / "directions/smile/d_latent", "tampered");
  const auto bad = mmtest::run(mmtest::cli() + " models check " + q(dir));
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("BAD      directions/smile/d_latent"), std::string::npos) << bad.output;
}

}  // namespace
