// `micromotion render` and `subspace extract` end to end: real clips, libav* through the CLI,
// ffmpeg / ffprobe (the command-line tools) to make inputs and to read outputs back.
#include "engine/engine_test_support.h"

#include "cli/render_test_support.h"
#include "test_support.h"

#include <micromotion/motion.h>
#include <micromotion/npy.h>
#include <micromotion/robust_pca.h>
#include <micromotion/strength_expression.h>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include <sstream>

namespace {

namespace fs = std::filesystem;

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// A strength as render's summary prints it ({:g}).
std::string fmt_strength(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

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

// fp32 unless the test says otherwise: the bounds are fp32's, and the default dtype "auto"
// picks bf16 on CPUs where it is faster.
std::string render(const fs::path& in, const fs::path& out, const std::string& extra) {
  const std::string dtype = extra.find("--dtype") == std::string::npos ? "--dtype fp32 " : "";
  const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(out) + " --models " +
                             q(enginetest::test_models()) + " --iters 2 --quiet " + dtype + extra);
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
  // bf16 where this CPU has it (RenderCli.Bf16WithoutAvx512IsAClearError covers the others).
  const std::string dtype = micromotion::bf16_supported(c10::kCPU) ? "bf16" : "fp32";
  const auto dir = mmtest::temp_dir("render_h264");
  const fs::path in = facetest::data("clips/gaps/clip.mp4"), out = dir / "out.mp4";
  render(in, out, "--anchor smile --frames 3 --encoder e4e --dtype " + dtype);
  EXPECT_EQ(probe(out, "-select_streams v -show_entries stream=codec_name,pix_fmt,width,height"),
            probe(in, "-select_streams v -show_entries stream=codec_name,pix_fmt,width,height"));
  EXPECT_EQ(probe(out, "-select_streams v -count_frames -show_entries stream=nb_read_frames"), "3\n");
}

// SIGINT or SIGTERM once the progress line shows a finished frame: the rest of the clip is not
// read, the file is finished and renamed into place, nothing else is left.
TEST(RenderCli, InterruptWhileRenderingFinishesAPlayableFile) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const auto dir = mmtest::temp_dir("render_interrupt_" + std::to_string(sig));
    const fs::path in = facetest::data("clips/pan_zoom/clip.mp4"), out = dir / "out.mp4";
    const auto child = rendertest::spawn({mmtest::cli(), "render", in.string(), out.string(), "--anchor", "smile",
                                          "--iters", "1", "--models", enginetest::test_models().string()},
                                         dir / "log.txt");
    const bool started = rendertest::wait_for_log(child, "\rframe ", 300);
    kill(child.pid, sig);
    const auto e = rendertest::wait(child);
    const std::string log = mmtest::read_file(dir / "log.txt");
    ASSERT_TRUE(started) << log;
    EXPECT_FALSE(e.signaled) << log;
    EXPECT_EQ(e.code, 0) << log;
    EXPECT_NE(log.find("interrupted: file finished early"), std::string::npos) << log;
    const int n = rendertest::decoded_frames(out);
    EXPECT_GE(n, 1);
    EXPECT_LT(n, 60);
    EXPECT_EQ(rendertest::names_in(dir), (std::vector<std::string>{"log.txt", "out.mp4"}));
  }
}

// The output is never the input, by any name; the input is untouched, nothing is written.
TEST(RenderCli, RefusesToWriteOverItsInput) {
  const auto dir = mmtest::temp_dir("render_in_place");
  const fs::path in = make_clip(dir);
  const std::string before = mmtest::read_file(in);
  fs::create_hard_link(in, dir / "hard.mkv");
  fs::create_symlink(in, dir / "soft.mkv");
  const auto names = rendertest::names_in(dir);
  const std::string tail = " --anchor smile --overwrite --models " + q(enginetest::test_models());
  for (const std::string& out : std::vector<std::string>{q(in), "./in.mkv", "hard.mkv", "soft.mkv", q(dir / "." / "in.mkv")}) {
    const auto r = mmtest::run("cd " + q(dir) + " && " + mmtest::cli() + " render in.mkv " + out + tail);
    EXPECT_NE(r.status, 0) << out;
    EXPECT_NE(r.output.find("is the input in.mkv itself; micromotion never writes over its input"), std::string::npos)
        << out << ": " << r.output;
    EXPECT_TRUE(mmtest::read_file(in) == before) << out << ": the input changed";
    EXPECT_EQ(rendertest::names_in(dir), names) << out;
  }
}

TEST(RenderCli, AnExistingOutputIsReplacedOnlyWithOverwrite) {
  const auto dir = mmtest::temp_dir("render_overwrite");
  const fs::path in = make_clip(dir), out = dir / "out.mkv";
  mmtest::write_file(out, "precious");
  const std::string base = mmtest::cli() + " render " + q(in) + " " + q(out) + " --anchor smile --frames 2 --iters 1 "
                           "--quiet --models " + q(enginetest::test_models());
  auto r = mmtest::run(base);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("OUT " + out.string() + " exists; pass --overwrite (-y) to replace it"), std::string::npos)
      << r.output;
  EXPECT_EQ(mmtest::read_file(out), "precious");
  for (const char* flag : {" --overwrite", " -y"}) {
    mmtest::write_file(out, "precious");
    r = mmtest::run(base + flag);
    EXPECT_EQ(r.status, 0) << flag << ": " << r.output;
    EXPECT_EQ(rendertest::decoded_frames(out), 2) << flag;
    EXPECT_EQ(rendertest::names_in(dir), (std::vector<std::string>{"in.mkv", "out.mkv"})) << flag;
  }
}

// Any error, before or after the output is opened: OUT is as it was (absent, or the old file),
// and the temporary file beside it is gone.
TEST(RenderCli, AFailedRenderLeavesTheOutputAsItWas) {
  const auto dir = mmtest::temp_dir("render_atomic");
  const fs::path in = make_clip(dir), empty_models = dir / "no-models";  // the directions, no networks
  fs::create_directories(empty_models);
  fs::create_directory_symlink(enginetest::test_models() / "directions", empty_models / "directions");
  const std::string models = " --models " + q(enginetest::test_models());
  struct Case {
    std::string out, args, message;
  };
  const std::vector<Case> cases = {
      {"out.mkv", " --anchor frown" + models, "unknown micromotion 'frown'"},
      {"out.mkv", " --anchor smile --models " + q(empty_models), "model file 'restyle_psp_ffhq_encode.pt' not found"},
      // WAV takes no video: the muxer refuses the header once the temporary file is open.
      {"out.wav", " --anchor smile" + models, "cannot write the header"},
      {"out.mkv", " --anchor smile --codec no-such-encoder" + models, "--codec no-such-encoder"},
  };
  for (const auto& c : cases) {
    for (const bool existed : {false, true}) {
      const fs::path out = dir / c.out;
      fs::remove(out);
      if (existed) mmtest::write_file(out, "precious");
      const auto names = rendertest::names_in(dir);
      const auto r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(out) + " -y --quiet" + c.args);
      EXPECT_NE(r.status, 0) << c.args;
      EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << ": " << r.output;
      EXPECT_EQ(rendertest::names_in(dir), names) << c.args << ": a file was left behind";
      if (existed) {
        EXPECT_EQ(mmtest::read_file(out), "precious") << c.args;
      } else {
        EXPECT_FALSE(fs::exists(out)) << c.args;
      }
    }
  }
}

// Whether a process has a model file (.pt, .dat, a direction) open or mapped: it is loading.
bool loading_models(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  auto is_model = [](const std::string& p) {
    return p.find("test-models") != std::string::npos || p.find("testdata/models") != std::string::npos;
  };
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(proc + "/fd", ec)) {
    const fs::path t = fs::read_symlink(e.path(), ec);
    if (!ec && is_model(t.string())) return true;
  }
  std::ifstream maps(proc + "/maps");
  for (std::string line; std::getline(maps, line);)
    if (is_model(line)) return true;
  return false;
}

// The signal lands while the models load, checked, not hoped: the renderer is stopped
// (SIGSTOP) the moment it has a model file open, the signal is sent only if it still has one
// open while stopped, then it continues. An attempt that misses the window is repeated.
TEST(RenderCli, InterruptWhileLoadingModelsLeavesNothing) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const auto dir = mmtest::temp_dir("render_interrupt_load_" + std::to_string(sig));
    const fs::path in = make_clip(dir), out = dir / "out.mkv";
    bool landed = false;
    rendertest::Exit e;
    for (int attempt = 0; attempt < 10 && !landed; ++attempt) {
      const auto child = rendertest::spawn({mmtest::cli(), "render", in.string(), out.string(), "--anchor", "smile",
                                            "--models", enginetest::test_models().string()},
                                           dir / "log.txt");
      for (int i = 0; i < 200000 && !landed; ++i) {
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == child.pid)
          break;
        if (!loading_models(child.pid)) continue;
        kill(child.pid, SIGSTOP);
        waitid(P_PID, static_cast<id_t>(child.pid), &info, WSTOPPED);
        if (loading_models(child.pid)) {
          kill(child.pid, sig);
          landed = true;
        }
        kill(child.pid, SIGCONT);
      }
      if (!landed) kill(child.pid, SIGKILL);
      e = rendertest::wait(child);
      if (!landed)  // a missed attempt, killed: clear what it left for the next one
        for (const auto& name : rendertest::names_in(dir))
          if (name != "in.mkv") fs::remove(dir / name);
    }
    ASSERT_TRUE(landed) << "never caught the renderer loading its models";
    const std::string log = mmtest::read_file(dir / "log.txt");
    EXPECT_FALSE(e.signaled) << log;
    EXPECT_EQ(e.code, 128 + sig) << log;
    EXPECT_NE(log.find("interrupted; the output was not written"), std::string::npos) << log;
    EXPECT_EQ(rendertest::names_in(dir), (std::vector<std::string>{"in.mkv", "log.txt"}));
  }
}

// A phone clip (stored sideways, a display matrix turns it upright): the detector finds the
// faces only in the upright picture, and players show the edit on the faces.
TEST(RenderCli, PhoneVideoIsEditedAsDisplayed) {
  const auto dir = mmtest::temp_dir("render_phone");
  const fs::path src = facetest::data("clips/gaps/0000.png").parent_path();
  const fs::path stored = rendertest::ffmpeg("-framerate 25 -start_number 6 -i " + q(src / "%04d.png") +
                                                 " -frames:v 2 -vf transpose=clock -c:v libx264 -pix_fmt yuv420p -crf 12",
                                             dir / "stored.mp4");
  const fs::path phone = rendertest::ffmpeg("-i " + q(stored) + " -c copy -metadata:s:v:0 rotate=90", dir / "phone.mp4");
  const std::string log = render(phone, dir / "out.mp4", "--anchor smile --strength 8");
  EXPECT_NE(log.find("2 frames (libx264), faces edited in 2,"), std::string::npos) << log;
  EXPECT_NE(log.find("edited as displayed (turned 270 degrees)"), std::string::npos) << log;
  // The same picture without its matrix: sideways faces are not found, nothing is edited.
  const std::string sideways = render(stored, dir / "sideways.mp4", "--anchor smile");
  EXPECT_NE(sideways.find("faces edited in 0,"), std::string::npos) << sideways;
  EXPECT_EQ(rendertest::probe(dir / "out.mp4", "-select_streams v -show_entries stream=width,height:stream_side_data"),
            rendertest::probe(phone, "-select_streams v -show_entries stream=width,height:stream_side_data"));
  const auto a = frames_of(phone, dir / "a"), b = frames_of(dir / "out.mp4", dir / "b");  // autorotated by ffmpeg
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  ASSERT_EQ(b[0].width(), 300);
  ASSERT_EQ(b[0].height(), 360);
  const auto boxes = enginetest::face_regions(a[0]);
  ASSERT_FALSE(boxes.empty());
  const auto c = enginetest::compare(a[0], b[0], boxes);
  EXPECT_GT(c.max_diff, 40) << "the face was not edited";
}

// Lossy YUV in, lossy YUV out: the face changes, the rest stays within the codec's error.
TEST(RenderCli, LossyYuvInputIsEditedOnlyInTheFace) {
  const auto dir = mmtest::temp_dir("render_yuv");
  const fs::path src = facetest::data("clips/gaps/0000.png").parent_path();
  const fs::path in = rendertest::ffmpeg("-framerate 25 -start_number 6 -i " + q(src / "%04d.png") +
                                             " -frames:v 3 -c:v libx264 -pix_fmt yuv420p -crf 16",
                                         dir / "in.mp4");
  const std::string log = render(in, dir / "out.mp4", "--anchor smile --strength 8");
  EXPECT_NE(log.find("3 frames (libx264), faces edited in 3,"), std::string::npos) << log;
  EXPECT_EQ(probe(dir / "out.mp4", "-select_streams v -show_entries stream=codec_name,pix_fmt,width,height"),
            "h264,300,360,yuv420p\n");
  const auto a = frames_of(in, dir / "a"), b = frames_of(dir / "out.mp4", dir / "b");
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto boxes = enginetest::face_regions(a[i]);
    ASSERT_FALSE(boxes.empty()) << "frame " << i;
    const auto c = enginetest::compare(a[i], b[i], boxes);
    EXPECT_GT(c.max_diff, 40) << "frame " << i << ": the face was not edited";
    // Outside the faces: only re-encoding error (crf 18 over crf 16), never the edit.
    long n = 0, large = 0;
    double sum = 0;
    for (int y = 0; y < a[i].height(); ++y)
      for (int x = 0; x < a[i].width(); ++x) {
        bool inside = false;
        for (const auto& bx : boxes) inside = inside || (x >= bx[0] && x < bx[2] && y >= bx[1] && y < bx[3]);
        if (inside) continue;
        for (int ch = 0; ch < 3; ++ch) {
          const int d = std::abs(a[i].pixel(x, y)[ch] - b[i].pixel(x, y)[ch]);
          sum += d;
          large += d > 24;
          ++n;
        }
      }
    ASSERT_GT(n, 0);
    EXPECT_LT(sum / n, 2.0) << "frame " << i << ": mean change outside the faces";
    EXPECT_LT(static_cast<double>(large) / n, 0.005) << "frame " << i << ": large changes outside the faces";
  }
}

// Damaged input and a size change mid-stream, through the CLI with the engine.
TEST(RenderCli, DamagedAndResizingClipsRenderWithASummary) {
  const auto dir = mmtest::temp_dir("render_damaged");
  const fs::path src = facetest::data("clips/gaps/0000.png").parent_path();
  const std::string photos = "-framerate 25 -start_number 10 -i " + q(src / "%04d.png");  // no faces: fast
  const fs::path damaged = rendertest::ffmpeg(photos + " -frames:v 8 -c:v mjpeg -q:v 3", dir / "in.mkv");
  rendertest::scribble_at_marker(damaged, "\xff\xd8\xff", 4, 400);  // the frame at 0.160 s
  std::string log = render(damaged, dir / "out.mkv", "--anchor smile");
  EXPECT_NE(log.find("in.mkv: damaged video packet at 0.160 s ("), std::string::npos) << log;
  EXPECT_NE(log.find("wrote " + (dir / "out.mkv").string() + ": 7 frames (mjpeg), faces edited in 0,"), std::string::npos)
      << log;
  EXPECT_NE(log.find(", 1 damaged frames skipped"), std::string::npos) << log;
  const fs::path a = rendertest::ffmpeg(photos + " -frames:v 2 -vf scale=160:192 -c:v libx264 -pix_fmt yuv420p", dir / "a.ts");
  const fs::path b = rendertest::ffmpeg(photos + " -frames:v 2 -c:v libx264 -pix_fmt yuv420p -output_ts_offset 0.08",
                                        dir / "b.ts");
  mmtest::write_file(dir / "in.ts", mmtest::read_file(a) + mmtest::read_file(b));
  log = render(dir / "in.ts", dir / "out.ts", "--anchor smile");
  EXPECT_NE(log.find("4 frames (libx264), faces edited in 0, micromotion 'smile'"), std::string::npos) << log;
  EXPECT_NE(log.find("2 frames scaled to the first size"), std::string::npos) << log;
  EXPECT_EQ(rendertest::decoded_frames(dir / "out.ts"), 4);
}

// --preview decodes in one pass and holds only the frames it shows: the peak memory of a
// 3000-frame clip is that of a 10-frame one. All 3000 frames as RGB would be 2.7 GB more; the
// peak of the model loading itself varies from run to run by up to ~350 MB (seen here), hence
// the 600 MB bound.
TEST(RenderCli, PreviewOfALongClipHoldsOnlyItsRows) {
  const auto dir = mmtest::temp_dir("render_preview_memory");
  const std::string args = "-f lavfi -i testsrc=size=640x480:rate=25 -c:v libx264 -preset ultrafast -pix_fmt yuv420p";
  const fs::path shortc = rendertest::ffmpeg(args + " -frames:v 10", dir / "short.mp4");
  const fs::path longc = rendertest::ffmpeg(args + " -frames:v 3000", dir / "long.mp4");
  long rss[2] = {0, 0};
  int i = 0;
  for (const fs::path& in : {shortc, longc}) {
    const auto e = rendertest::run_child({mmtest::cli(), "render", in.string(), "--preview",
                                          (dir / (in.stem().string() + ".png")).string(), "--anchor", "smile", "--iters",
                                          "1", "--models", enginetest::test_models().string()},
                                         dir / "log.txt");
    ASSERT_EQ(e.code, 0) << mmtest::read_file(dir / "log.txt");
    EXPECT_NE(mmtest::read_file(dir / "log.txt").find("4 frames x strengths"), std::string::npos);
    rss[i++] = e.max_rss_kb;
  }
  std::printf("preview peak RSS: %ld KB (10 frames), %ld KB (3000 frames)\n", rss[0], rss[1]);
  EXPECT_LT(rss[1] - rss[0], 600 * 1024) << "peak RSS " << rss[0] << " KB (10 frames) vs " << rss[1] << " KB (3000 frames)";
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

// The non-finite rule: --strength 5/t is +inf at t = 0, so the first frame gets strength 0 (no
// micromotion: the same frame as a render at strength 0), the others are edited; one warning,
// and the summary counts it.
TEST(RenderCli, NonFiniteStrengthIsStrengthZeroAndWarnsOnce) {
  const auto dir = mmtest::temp_dir("render_nonfinite");
  const fs::path in = make_clip(dir), out = dir / "out.mkv", zero = dir / "zero.mkv";
  const std::string log = render(in, out, "--anchor smile --frames 2 --strength 5/t");
  render(in, zero, "--anchor smile --frames 1 --strength 0");
  const auto a = frames_of(in, dir / "in"), b = frames_of(out, dir / "out"), z = frames_of(zero, dir / "zero");
  ASSERT_GE(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  ASSERT_EQ(z.size(), 1u);
  EXPECT_EQ(facetest::diff(z[0], b[0]).max, 0) << "frame 0 (strength inf) must be the strength-0 frame";
  EXPECT_GT(facetest::diff(z[0], b[1]).max, 5) << "frame 1 (strength 125) must be edited";
  const std::string warning = "the strength '5/t' is not a finite number at 0.000 s (frame 0); such frames get strength 0 (no micromotion)";
  const size_t first = log.find(warning);
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("is not a finite number at", first + warning.size()), std::string::npos) << "warned more than once:\n" << log;
  EXPECT_NE(log.find("1 frames at strength 0 (strength not a finite number)"), std::string::npos) << log;
}

// Every recipe of docs/strength.md through render: it renders, and the strength range it reports
// over the frames is the recipe's at their t and n (a faceless clip: no edit to wait for).
TEST(RenderCli, EveryStrengthRecipeRenders) {
  const auto dir = mmtest::temp_dir("render_recipes");
  const fs::path in = rendertest::ffmpeg("-f lavfi -i color=c=gray:s=32x32:r=25:d=0.2 -c:v ffv1", dir / "gray.mkv");
  mmtest::RunResult r;
  const std::vector<std::string> recipes = enginetest::strength_recipes();
  ASSERT_GE(recipes.size(), 8u);
  for (const std::string& recipe : recipes) {
    SCOPED_TRACE(recipe);
    r = mmtest::run(mmtest::cli() + " render " + q(in) + " " + q(dir / "out.mkv") + " -y --quiet --encoder e4e --models-dir " +
                    q(enginetest::test_models()) + " --strength '" + recipe + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    const micromotion::StrengthExpression e(recipe);
    double lo = INFINITY, hi = -INFINITY;
    for (int n = 0; n < 5; ++n) {
      const double v = e.evaluate(n * 0.04, n).value;
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
    const std::string want = lo == hi ? fmt_strength(lo) : fmt_strength(lo) + " to " + fmt_strength(hi);
    EXPECT_NE(r.output.find(", strength " + want), std::string::npos) << "expected strength " << want << ":\n"
                                                                          << r.output;
    EXPECT_NE(r.output.find("no face was edited"), std::string::npos) << r.output;
  }
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

// An edit list that renders: two_johns (Salley left of x = 380, Savage right), the list naming
// Savage by a photo of him that is not in the clip. His half is edited on every frame, Salley's
// is bit-exact, and the summary names the track's person; the same as options renders the same.
TEST(RenderCli, EditListEditsOnlyTheNamedPerson) {
  const auto dir = mmtest::temp_dir("render_edit_list_people");
  const fs::path src = facetest::data("clips/two_johns/0000.png").parent_path(), in = dir / "in.mkv",
                 out = dir / "out.mkv", list = dir / "people.json";
  auto r = mmtest::run("ffmpeg -nostdin -v error -y -framerate 25 -i " + q(src / "%04d.png") +
                       " -frames:v 3 -c:v ffv1 " + q(in));
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<std::string> photos;
  for (const auto& e : fs::directory_iterator(facetest::data("johns/John_Savage"))) photos.push_back(e.path().string());
  std::sort(photos.begin(), photos.end());
  mmtest::write_file(list, R"({"people": [{"name": "savage", "photos": [")" + photos.at(1) +
                               R"("]}], "edits": [{"person": "savage", "anchor": "smile", "strength": 5}]})");
  // The face-recognition model is with the test data, the networks with the test models.
  r = mmtest::run("MICROMOTION_MODELS=" + q(facetest::data("models")) + " " + mmtest::cli() + " render " + q(in) + " " +
                  q(out) + " --models " + q(enginetest::test_models()) + " --iters 2 --dtype fp32 --edits " + q(list));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(savage): edited in 3 of 3 frames"), std::string::npos) << r.output;
  const auto a = frames_of(in, dir / "a"), b = frames_of(out, dir / "b");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    long left = 0, right = 0;
    for (int y = 0; y < a[i].height(); ++y)
      for (int x = 0; x < a[i].width(); ++x)
        if (std::memcmp(a[i].pixel(x, y), b[i].pixel(x, y), 3) != 0) (x < 380 ? left : right)++;
    EXPECT_EQ(left, 0) << "frame " << i << ": Salley's half changed";
    EXPECT_GT(right, 2000) << "frame " << i << ": Savage is not edited";
  }
  // The same people and edit as options (--person, --edit, --others keep) give the same frames.
  const fs::path by_options = dir / "by_options.mkv";
  r = mmtest::run("MICROMOTION_MODELS=" + q(facetest::data("models")) + " " + mmtest::cli() + " render " + q(in) + " " +
                  q(by_options) + " --models " + q(enginetest::test_models()) + " --iters 2 --dtype fp32 --person " +
                  q("savage=" + photos.at(1)) + " --edit savage/smile=5 --others keep");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto c = frames_of(by_options, dir / "c");
  ASSERT_EQ(c.size(), b.size());
  for (size_t i = 0; i < b.size(); ++i) EXPECT_TRUE(b[i] == c[i]) << "frame " << i << ": the options and the list differ";
}

// Edit lists (docs/edits.md) that cannot be rendered: the error names the file or the option and
// the entry, before a frame is written (nothing new in the folder, no output).
TEST(RenderCli, MalformedEditLists) {
  const auto help = mmtest::run(mmtest::cli() + " render --help");
  ASSERT_NE(help.output.find("--edits"), std::string::npos) << help.output;
  const auto dir = mmtest::temp_dir("render_edit_lists");
  const fs::path in = make_clip(dir), out = dir / "out.mkv", lists = dir / "lists";
  fs::create_directories(lists);
  std::vector<std::string> salley_photos;
  for (const auto& e : fs::directory_iterator(facetest::data("johns/John_Salley"))) salley_photos.push_back(e.path().string());
  std::sort(salley_photos.begin(), salley_photos.end());
  const std::string photo = salley_photos.at(0);
  const fs::path flat = lists / "flat.png";  // a photo without a face
  auto r = mmtest::run("ffmpeg -nostdin -v error -y -f lavfi -i color=gray:s=320x240 -frames:v 1 " + q(flat));
  ASSERT_EQ(r.status, 0) << r.output;
  auto list = [&](const std::string& name, const std::string& json) {
    mmtest::write_file(lists / name, json);
    return (lists / name).string();
  };
  const std::string alice = R"({"people": [{"name": "alice", "photos": [")" + photo + R"("]}], )";
  const std::string unknown_person = list("unknown_person.json", alice + R"("edits": [{"person": "bob", "anchor": "smile"}]})");
  const std::string missing_photo =
      list("missing_photo.json", R"({"people": [{"name": "alice", "photos": ["missing.jpg"]}], "edits": [{"anchor": "smile"}]})");
  const std::string unknown_anchor =
      list("unknown_anchor.json", R"({"edits": [{"anchor": "smile"}, {"anchor": "angryy", "strength": 2}]})");
  const std::string bad_strength = list("bad_strength.json", R"({"edits": [{"anchor": "smile", "strength": "5*"}]})");
  const std::string bad_region =
      list("bad_region.json", R"({"edits": [{"anchor": "smile"}], "regions": [{"region": "ears"}]})");
  const std::string not_json = list("not_json.json", R"({"edits": [{"anchor": "smile"},]})");
  const std::string good = list("good.json", alice + R"("edits": [{"person": "alice", "anchor": "smile"}]})");

  const std::string alice_arg = " --person " + q("alice=" + photo);
  struct Case {
    std::string args;
    std::vector<std::string> messages;
  };
  const std::vector<Case> cases = {
      {" --edits " + q(unknown_person), {unknown_person + ": edits[0] (person 'bob'): no person 'bob' is defined (people: alice)"}},
      {" --edits " + q(missing_photo),
       {missing_photo + ": people[0] (alice): photo '" + (lists / "missing.jpg").string() + "': no such file"}},
      {" --edits " + q(unknown_anchor), {unknown_anchor + ": edits[1] (angryy): ", "unknown micromotion 'angryy'"}},
      {" --edits " + q(bad_strength), {bad_strength + ": edits[0]: strength expression '5*'"}},
      {" --edits " + q(bad_region), {bad_region + ": regions[0]: region 'ears': unknown part 'ears'"}},
      {" --edits " + q(not_json), {not_json + ": the edit list is not valid JSON (error at byte 32)"}},
      {" --edits " + q(lists / "none.json"), {(lists / "none.json").string() + ": cannot open the edit list"}},
      // The options' forms of the same mistakes.
      {alice_arg + " --edit bob/smile", {"--edit bob/smile (bob/smile): ", "no person 'bob' is defined; people: alice"}},
      {alice_arg + " --region bob/eyes", {"--region bob/eyes (person 'bob'): no person 'bob' is defined (people: alice)"}},
      {" --person " + q("alice=" + (lists / "missing.jpg").string()),
       {"--person alice=" + (lists / "missing.jpg").string() + ": photo '" + (lists / "missing.jpg").string() +
        "': no such file"}},
      {alice_arg + " --person " + q("alice=" + photo), {"--person alice=" + photo + ": the person 'alice' is given twice"}},
      {" --edit 'smile=5*'", {"--edit smile=5*: strength expression '5*'"}},
      {" --edit smile --edit frown=2", {"--edit frown=2 (frown): ", "unknown micromotion 'frown'"}},
      {" --region ears", {"--region ears: region 'ears': unknown part 'ears'"}},
      {" --person alice", {"--person alice: expected NAME=PHOTO[,PHOTO...]"}},
      // Options that do not go together.
      {" --edit smile --anchor angry", {"--edit and --anchor together"}},
      {" --edits " + q(good) + " --anchor smile", {good + " is the whole edit list: it takes no --anchor"}},
      {" --edits " + q(good) + alice_arg + " --strength 3", {"it takes no --person, --strength"}},
      {" --edit smile --edit angry --preview " + q(dir / "sheet.png"), {"--preview shows one edit for everyone"}},
      {alice_arg + " --preview " + q(dir / "sheet.png"), {"--preview shows one edit for everyone"}},
      // Found when the engine embeds the photos (the identity model from the test data).
      {" --person " + q("alice=" + flat.string()), {"person 'alice': photo '" + flat.string() + "': no face found"}},
  };
  const std::string env = "MICROMOTION_MODELS=" + q(facetest::data("models")) + " ";
  for (const auto& c : cases) {
    const auto names = rendertest::names_in(dir);
    r = mmtest::run(env + mmtest::cli() + " render " + q(in) + " " + q(out) + " --models " +
                    q(enginetest::test_models()) + " --iters 2 --quiet" + c.args);
    EXPECT_NE(r.status, 0) << c.args;
    for (const std::string& m : c.messages) EXPECT_NE(r.output.find(m), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(rendertest::names_in(dir), names) << c.args << ": a file was left behind";
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
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
  // A moving face (pan_zoom: a zoom and pan) in the first 4 of 10 frames, then a face-free noise
  // field; a still face would give a zero direction, as it should.
  const fs::path src = facetest::data("clips/pan_zoom/0000.png").parent_path(), in = dir / "moving.mkv";
  const auto made = mmtest::run(
      "ffmpeg -nostdin -v error -y -framerate 25 -i " + q(src / "%04d.png") +
      " -f lavfi -i color=c=0x707880:s=440x480:r=25,noise=alls=40:allf=t,gblur=sigma=3 -filter_complex "
      "'[0:v]trim=end_frame=4,setpts=PTS-STARTPTS,format=rgb24[a];[1:v]trim=end_frame=6,setpts=PTS-STARTPTS,"
      "format=rgb24[b];[a][b]concat=n=2:v=1[v]' -map '[v]' -c:v png " + q(in));
  ASSERT_EQ(made.status, 0) << made.output;
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

// --person: tracks matched to people by reference photos (photos other than those the clip was
// made from), identity per person. The two_johns clip: Salley on the left for 40 frames, Savage on
// the right for 0-15 and again for 26-39 (a second track); the output greys the right half.
TEST(EvaluateCli, IdentityPerPerson) {
  const auto dir = mmtest::temp_dir("evaluate_people");
  const fs::path src = facetest::data("clips/two_johns/0000.png").parent_path();
  const fs::path in = dir / "in.mkv", out = dir / "out.mkv";
  auto r = mmtest::run("ffmpeg -nostdin -v error -y -framerate 25 -i " + q(src / "%04d.png") + " -c:v png " + q(in));
  ASSERT_EQ(r.status, 0) << r.output;
  r = mmtest::run("ffmpeg -nostdin -v error -y -i " + q(in) +
                  " -vf drawbox=x=380:y=0:w=380:h=400:color=gray:t=fill -c:v png " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  auto photo = [](const std::string& person, size_t i) {  // by sorted name; 0 made the clip
    std::vector<std::string> all;
    for (const auto& e : fs::directory_iterator(facetest::data("johns/" + person))) all.push_back(e.path().string());
    std::sort(all.begin(), all.end());
    return all.at(i);
  };
  const std::string model = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat").string();
  const std::string salley = photo("John_Salley", 1);
  r = mmtest::run(mmtest::cli() + " evaluate --person " + q("salley=" + salley) + " --person " +
                  q("savage=" + photo("John_Savage", 1) + "," + photo("John_Savage", 2)) + " " + q(in) + " " + q(out) + " --identity-model " + q(model) +
                  " --json " + q(dir / "people.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("person savage: 28 frames in 2 track(s)"), std::string::npos) << r.output;
  const nlohmann::json report = nlohmann::json::parse(mmtest::read_file(dir / "people.json"));
  ASSERT_EQ(report["tracks"].size(), 3u) << report.dump(1);
  for (const auto& t : report["tracks"]) {
    const bool right = t["first_frame"].get<int>() > 0 || t["frames"].get<int>() < 40;
    EXPECT_EQ(t["person"].get<std::string>(), right ? "savage" : "salley") << t.dump();
  }
  const auto& people = report["people"];
  ASSERT_EQ(people.size(), 2u);
  EXPECT_EQ(people["salley"]["frames"].get<int>(), 40);
  EXPECT_EQ(people["savage"]["frames"].get<int>(), 28);
  EXPECT_EQ(people["savage"]["tracks"].size(), 2u);
  EXPECT_LT(people["salley"]["identity_distance_mean"].get<double>(), 0.1);  // untouched half
  EXPECT_GT(people["savage"]["identity_distance_mean"].get<double>(), 0.6);

  // Without --person every track is nobody and "people" is empty.
  r = mmtest::run(mmtest::cli() + " evaluate " + q(in) + " " + q(in) + " --frames 3 --identity-model " + q(model) +
                  " --json " + q(dir / "nobody.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json nobody = nlohmann::json::parse(mmtest::read_file(dir / "nobody.json"));
  EXPECT_TRUE(nobody["people"].empty());
  for (const auto& t : nobody["tracks"]) EXPECT_EQ(t["person"].get<std::string>(), "");

  // Refused, naming the argument or the person and the photo.
  r = mmtest::run(mmtest::cli() + " evaluate --person salley " + q(in) + " " + q(out) + " --identity-model " + q(model));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--person salley: expected NAME=PHOTO"), std::string::npos) << r.output;
  r = mmtest::run(mmtest::cli() + " evaluate --person " + q("bob=" + (dir / "none.jpg").string()) + " " + q(in) +
                  " " + q(out) + " --identity-model " + q(model));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("person 'bob': photo '" + (dir / "none.jpg").string() + "': cannot be read"),
            std::string::npos)
      << r.output;
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
