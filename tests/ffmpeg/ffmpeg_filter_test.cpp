// The FFmpeg filter, through the ffmpeg binary that packaging/build-ffmpeg.sh builds: frame
// counts and timestamps, bit-exact pixels outside faces in every supported input format, odd
// sizes, the timeline (enable=), sendcmd, a graph with split/overlay, and the error messages.
// Short clips are cut from the generated face clips; the networks are the test models.
#include "engine/engine_test_support.h"

#include <micromotion/image.h>
#include <micromotion/settings.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

extern "C" {
#include <libavutil/common.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <unistd.h>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using enginetest::Box;

const std::string kFfmpeg = MM_FFMPEG;

facetest::RunResult ffmpeg(const std::string& args) {
  return facetest::run(kFfmpeg + " -nostdin -hide_banner -v error -y " + args);
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The micromotion filter on the test models; extra options appended.
std::string mm(const std::string& extra = "") {
  std::string f = "micromotion=anchor=smile:models=" + enginetest::test_models().string() + ":iters=2";
  return extra.empty() ? f : f + ":" + extra;
}

// One frame line of -f framemd5: pts and hash.
struct FrameHash {
  int64_t pts;
  std::string md5;
};

std::vector<FrameHash> framemd5(const fs::path& file) {
  std::vector<FrameHash> out;
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream s(line);
    std::string stream, dts, pts, dur, size, md5;
    std::getline(s, stream, ',');
    std::getline(s, dts, ',');
    std::getline(s, pts, ',');
    std::getline(s, dur, ',');
    std::getline(s, size, ',');
    s >> md5;
    out.push_back({std::stoll(pts), md5});
  }
  return out;
}

// Frame lines of -f framemd5 output held in a string.
int framemd5_count(const std::string& text) {
  std::stringstream s(text);
  std::string line;
  int n = 0;
  while (std::getline(s, line)) n += !line.empty() && line[0] != '#' && line.find(',') != std::string::npos;
  return n;
}

class FfmpegFilter : public ::testing::Test {
 protected:
  static fs::path dir_;
  static fs::path clip_;   // 3 frames of the pan-zoom clip, lossless
  static std::vector<std::vector<Box>> faces_;  // per frame of clip_
  static int width_, height_;

  // Made once per process, in a directory of its own: CTest runs each test as a process of its
  // own, several at a time. Done in SetUp, not SetUpTestSuite, so that a failure here fails the
  // test (a failed SetUpTestSuite leaves its tests reported as skipped).
  void SetUp() override {
    if (!clip_.empty()) return;
    const fs::path dir = facetest::temp_dir("ffmpeg_filter." + std::to_string(getpid()));
    const fs::path src = facetest::data("clips/pan_zoom/clip.mp4");
    ASSERT_FALSE(src.empty());
    dir_ = dir;
    auto r = ffmpeg("-i " + q(src) + " -frames:v 3 -c:v ffv1 -pix_fmt yuv444p " + q(dir / "clip.mkv"));
    ASSERT_EQ(r.status, 0) << r.output;
    faces_ = faces_of(dir / "clip.mkv", &width_, &height_);
    ASSERT_EQ(faces_.size(), 3u);
    clip_ = dir / "clip.mkv";
  }

  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
    dir_.clear();
    clip_.clear();
  }

  // Face regions of every frame of a clip (the engine's tracker on its RGB frames).
  static std::vector<std::vector<Box>> faces_of(const fs::path& clip, int* w, int* h) {
    const fs::path pngs = dir_ / (clip.stem().string() + "_faces");
    fs::create_directories(pngs);
    auto r = ffmpeg("-i " + q(clip) + " -pix_fmt rgb24 " + q(pngs / "%04d.png"));
    EXPECT_EQ(r.status, 0) << r.output;
    std::vector<std::vector<Box>> out;
    for (int i = 1; fs::exists(pngs / (fmt(i) + ".png")); ++i) {
      const micromotion::ImageRGB8 img = micromotion::load_image((pngs / (fmt(i) + ".png")).string());
      *w = img.width();
      *h = img.height();
      out.push_back(enginetest::face_regions(img.view()));
    }
    return out;
  }

  static std::string fmt(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "%04d", i);
    return b;
  }
};
fs::path FfmpegFilter::dir_;
fs::path FfmpegFilter::clip_;
std::vector<std::vector<Box>> FfmpegFilter::faces_;
int FfmpegFilter::width_ = 0;
int FfmpegFilter::height_ = 0;

// Per plane of one raw frame in `format`, the bytes that changed inside and outside the faces
// (grown by 2 px: a chroma sample at a face's edge covers pixels on both sides).
struct PlaneChange {
  long inside = 0, outside = 0;
};

std::vector<PlaneChange> compare_raw(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                                     const std::string& format, int w, int h, int frame,
                                     const std::vector<Box>& faces) {
  const AVPixelFormat f = av_get_pix_fmt(format.c_str());
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  int linesize[4] = {};
  av_image_fill_linesizes(linesize, f, w);
  const int nplanes = av_pix_fmt_count_planes(f);
  const bool yuv = !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components >= 3;
  size_t frame_size = static_cast<size_t>(av_image_get_buffer_size(f, w, h, 1));
  size_t offset = frame_size * frame;
  std::vector<PlaneChange> out(nplanes);
  for (int p = 0; p < nplanes; ++p) {
    const bool chroma = yuv && (p == 1 || p == 2);
    const int sx = chroma ? d->log2_chroma_w : 0, sy = chroma ? d->log2_chroma_h : 0;
    const int groups = chroma ? AV_CEIL_RSHIFT(w, sx) : w;
    const int bpg = linesize[p] / groups;  // bytes per sample group (a pixel, or a UV pair)
    const int rows = chroma ? AV_CEIL_RSHIFT(h, sy) : h;
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < linesize[p]; ++x) {
        const size_t i = offset + static_cast<size_t>(y) * linesize[p] + x;
        if (a[i] == b[i]) continue;
        const double fx0 = (x / bpg) << sx, fy0 = y << sy;
        const double fx1 = fx0 + (1 << sx), fy1 = fy0 + (1 << sy);
        bool inside = false;
        for (const Box& r : faces)
          inside |= fx1 > r[0] - 2 && fx0 < r[2] + 2 && fy1 > r[1] - 2 && fy0 < r[3] + 2;
        (inside ? out[p].inside : out[p].outside)++;
      }
    }
    offset += static_cast<size_t>(linesize[p]) * rows;
  }
  return out;
}

// --- people: the two_johns clip ------------------------------------------------------------------

// The two_johns clip (packaging/fetch-test-data.sh): John Salley on the left (x < 380 on every
// frame), John Savage on the right, both from the first photo (by name) of each in johns/.
constexpr int kJohnsMidline = 380;

// The index-th photo (sorted by name) of a person in johns/; the clip was made from index 0.
std::string johns_photo(const std::string& person, size_t index) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(facetest::data("johns/" + person))) all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  return index < all.size() ? all[index] : std::string();
}

// ffmpeg for the filter with people: the face-recognition model comes from the test data's
// models, searched after models= (the test models).
facetest::RunResult ffmpeg_people(const std::string& args) {
  const fs::path model = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat");
  EXPECT_FALSE(model.empty()) << "no face-recognition model in the test data";
  return facetest::run("env MICROMOTION_MODELS=" + q(model.parent_path()) + " " + kFfmpeg +
                       " -nostdin -hide_banner -v error -y " + args + " 2>&1");
}

// Pixels of rgb24 frame `frame` that differ, left and right of the midline.
struct Halves {
  long left = 0, right = 0;
};
Halves changed_halves(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int w, int h, int frame) {
  Halves out;
  const size_t base = size_t(frame) * size_t(w) * size_t(h) * 3;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = base + (size_t(y) * size_t(w) + size_t(x)) * 3;
      if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2]) (x < kJohnsMidline ? out.left : out.right)++;
    }
  return out;
}

// --- the README's command, with models found through $MICROMOTION_MODELS -------------------------

TEST_F(FfmpegFilter, ReadmeCommandEditsAnMp4) {
  const fs::path in = dir_ / "in.mp4", out = dir_ / "out.mp4";
  auto r = ffmpeg("-i " + q(clip_) + " -c:v libx264 -pix_fmt yuv420p " + q(in));
  ASSERT_EQ(r.status, 0) << r.output;
  r = facetest::run("MICROMOTION_MODELS=" + q(enginetest::test_models()) + " " + kFfmpeg +
                    " -nostdin -v error -y -i " + q(in) + " -vf micromotion=anchor=aging " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path probe = fs::path(kFfmpeg).parent_path() / "ffprobe";
  r = facetest::run(probe.string() + " -v error -count_frames -select_streams v -show_entries "
                    "stream=codec_name,nb_read_frames -of csv=p=0 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output, "h264,3\n");
  // And it is not the input: the aging edit changed the face.
  const fs::path a = dir_ / "readme_in.md5", b = dir_ / "readme_out.md5";
  ASSERT_EQ(ffmpeg("-i " + q(in) + " -f framemd5 " + q(a)).status, 0);
  ASSERT_EQ(ffmpeg("-i " + q(out) + " -f framemd5 " + q(b)).status, 0);
  const auto x = framemd5(a), y = framemd5(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NE(x[i].md5, y[i].md5) << "frame " << i;
}

// docs/ffmpeg.md's recipe: a still portrait animated by a strength that grows with t.
TEST_F(FfmpegFilter, AnimatesAStillPortrait) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const fs::path out = dir_ / "still.md5", ref = dir_ / "still_ref.md5";
  auto r = ffmpeg("-loop 1 -t 0.12 -i " + q(face) + " -vf \"" + mm("strength='5*t/0.12'") + "\" -f framemd5 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-loop 1 -t 0.12 -i " + q(face) + " -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  // One picture in, three different pictures out: the edit follows the strength.
  EXPECT_EQ(a[0].md5, a[1].md5);
  EXPECT_NE(b[0].md5, b[1].md5);
  EXPECT_NE(b[1].md5, b[2].md5);
  EXPECT_NE(b[0].md5, b[2].md5);
}

// --- every listed pixel format: the face holds the engine's edit in the frame's own colours ------

// How a test frame is tagged (setparams): the matrix and range the filter must read and write it with.
struct Tagged {
  std::string format;
  std::string space;  // setparams colorspace ("" : untagged, BT.601 by default)
  std::string range;  // "tv", "pc" or "" (RGB)
};

void PrintTo(const Tagged& t, std::ostream* os) { *os << t.format << "/" << t.space << "/" << t.range; }

class FfmpegFormats : public FfmpegFilter, public ::testing::WithParamInterface<Tagged> {};

// What the filter must tell the engine about a frame of this format and tags (its verbose log
// says it): the engine's name of the format, the matrix and the range.
std::string engine_description(const Tagged& t) {
  std::string name = t.format;
  if (name.rfind("yuvj", 0) == 0) name = "yuv" + name.substr(4);
  if (name.size() > 2 && name.compare(name.size() - 2, 2, "le") == 0) name.resize(name.size() - 2);
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(av_get_pix_fmt(t.format.c_str()));
  if (d->flags & AV_PIX_FMT_FLAG_RGB) return name;
  const std::string matrix = t.space == "bt709" ? "BT.709" : t.space == "bt2020nc" ? "BT.2020" : "BT.601";
  const bool full = t.range == "pc" || t.format.rfind("yuvj", 0) == 0;
  return name + ", " + matrix + (full ? ", full range" : ", limited range");
}

// The engine's own edit of the frame in its format, matrix and range (its conversion is tested
// against an independent reference in tests/engine/native_frame_test.cpp and through the C API in
// c_api_driver_test.cpp): here, that the filter hands the frame over as what it is, that every
// sample outside the faces and every alpha sample comes back bit-exact, and that the face is edited.
TEST_P(FfmpegFormats, FaceIsEditedInTheFramesOwnFormatAndEverythingElseKept) {
  const Tagged t = GetParam();
  constexpr int kFrames = 1;
  const std::string name = t.format + "_" + t.space + "_" + t.range;
  const std::string tags = t.range.empty() ? "" : ",setparams=range=" + t.range + (t.space.empty() ? "" : ":colorspace=" + t.space);
  const std::string pre = "trim=end_frame=" + std::to_string(kFrames) + ",format=" + t.format + tags;
  const fs::path ref = dir_ / ("ref_" + name + ".raw"), out = dir_ / ("out_" + name + ".raw");
  auto r = ffmpeg("-i " + q(clip_) + " -vf " + pre + " -f rawvideo " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = facetest::run(kFfmpeg + " -nostdin -hide_banner -y -v verbose -i " + q(clip_) + " -vf " + pre + "," + mm() +
                    " -f rawvideo " + q(out) + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("frames go to the engine as " + engine_description(t) + "\n"), std::string::npos)
      << "expected: " << engine_description(t) << "\n" << r.output;
  EXPECT_NE(r.output.find(std::to_string(kFrames) + " frames edited ("), std::string::npos) << r.output;
  const std::vector<uint8_t> a = read_bytes(ref), b = read_bytes(out);
  const AVPixelFormat f = av_get_pix_fmt(t.format.c_str());
  ASSERT_NE(f, AV_PIX_FMT_NONE);
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  const size_t frame = static_cast<size_t>(av_image_get_buffer_size(f, width_, height_, 1));
  ASSERT_EQ(a.size(), kFrames * frame) << "the reference is not " << kFrames << " frames";
  ASSERT_EQ(b.size(), a.size()) << "frame count changed";
  for (int i = 0; i < kFrames; ++i) {
    long inside = 0;
    for (const auto& p : compare_raw(a, b, t.format, width_, height_, i, faces_[i])) {
      EXPECT_EQ(p.outside, 0) << name << " frame " << i << ": bytes changed outside the faces";
      inside += p.inside;
    }
    EXPECT_GT(inside, 2000) << name << " frame " << i << ": the face was not edited";
    if (!(d->flags & AV_PIX_FMT_FLAG_ALPHA)) continue;
    const uint8_t* pa[4] = {};
    const uint8_t* pb[4] = {};
    int ls[4] = {};
    av_image_fill_arrays(const_cast<uint8_t**>(pa), ls, a.data() + frame * i, f, width_, height_, 1);
    av_image_fill_arrays(const_cast<uint8_t**>(pb), ls, b.data() + frame * i, f, width_, height_, 1);
    std::vector<uint16_t> la(static_cast<size_t>(width_)), lb(static_cast<size_t>(width_));
    long alpha = 0;
    for (int y = 0; y < height_; ++y) {
      av_read_image_line2(la.data(), pa, ls, d, 0, y, d->nb_components - 1, width_, 0, 2);
      av_read_image_line2(lb.data(), pb, ls, d, 0, y, d->nb_components - 1, width_, 0, 2);
      for (int x = 0; x < width_; ++x) alpha += la[size_t(x)] != lb[size_t(x)];
    }
    EXPECT_EQ(alpha, 0) << name << " frame " << i << ": alpha changed";
  }
}

// Every format vf_micromotion.c's pix_fmts lists (FfmpegFilter.EveryAdvertisedFormatIsTested
// checks the two lists agree): limited range BT.709, the JPEG ones full range BT.601, 10-bit ones
// also BT.2020; and full-range and untagged frames.
const std::vector<Tagged> kTagged = {
    {"rgb24", "", ""},           {"bgr24", "", ""},          {"rgba", "", ""},           {"bgra", "", ""},
    {"argb", "", ""},            {"abgr", "", ""},           {"rgb0", "", ""},           {"bgr0", "", ""},
    {"yuv420p", "bt709", "tv"},  {"yuv422p", "bt709", "tv"}, {"yuv444p", "bt709", "tv"}, {"yuvj420p", "bt470bg", "pc"},
    {"yuvj422p", "bt470bg", "pc"}, {"yuvj444p", "bt470bg", "pc"}, {"yuva420p", "bt709", "tv"}, {"nv12", "bt709", "tv"},
    {"nv21", "bt709", "tv"},     {"yuv420p10le", "bt709", "tv"}, {"yuv422p10le", "bt709", "tv"},
    {"yuv444p10le", "bt2020nc", "pc"}, {"gray", "bt709", "tv"}, {"p010le", "bt2020nc", "tv"},
    {"yuyv422", "bt709", "tv"},  {"uyvy422", "bt470bg", "tv"}, {"yvyu422", "bt709", "pc"},
    {"yuv420p", "bt709", "pc"},  {"nv12", "unknown", "tv"}, {"yuv420p10le", "bt2020nc", "pc"},
};

INSTANTIATE_TEST_SUITE_P(Formats, FfmpegFormats, ::testing::ValuesIn(kTagged),
                         [](const ::testing::TestParamInfo<Tagged>& i) {
                           return i.param.format + "_" + (i.param.space.empty() ? "untagged" : i.param.space) + "_" +
                                  (i.param.range.empty() ? "rgb" : i.param.range);
                         });

// The formats the filter advertises are those tested above.
TEST(FfmpegFilterFormats, EveryAdvertisedFormatIsTested) {
  std::ifstream src(fs::path(MM_SOURCE_DIR) / "ffmpeg-filter" / "vf_micromotion.c");
  const std::string text{std::istreambuf_iterator<char>(src), std::istreambuf_iterator<char>()};
  const size_t begin = text.find("static const enum AVPixelFormat pix_fmts[] = {");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = text.find("AV_PIX_FMT_NONE", begin);
  ASSERT_NE(end, std::string::npos);
  std::vector<std::string> advertised;
  for (size_t i = text.find("AV_PIX_FMT_", begin); i < end; i = text.find("AV_PIX_FMT_", i + 1)) {
    size_t j = i + 11;
    while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
    std::string n = text.substr(i + 11, j - i - 11);
    for (auto& ch : n) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (n == "gray8") n = "gray";
    advertised.push_back(n);
  }
  ASSERT_EQ(advertised.size(), 25u);
  for (const std::string& n : advertised) {
    bool tested = false;
    for (const Tagged& t : kTagged) tested |= t.format == n;
    EXPECT_TRUE(tested) << n << " is advertised but not tested";
  }
  for (const Tagged& t : kTagged)
    EXPECT_NE(std::find(advertised.begin(), advertised.end(), t.format), advertised.end()) << t.format;
}

// --- frames, timestamps, frames without faces ---------------------------------------------------

TEST_F(FfmpegFilter, FrameCountAndTimestampsPreservedAndEmptyFramesUntouched) {
  // Frames 8..13 of the gaps clip: faces in 8 and 9, none in 10..13; irregular timestamps.
  const fs::path src = facetest::data("clips/gaps/clip.mp4");
  ASSERT_FALSE(src.empty());
  const std::string pre = "trim=start_frame=8:end_frame=14,setpts='PTS+if(gte(N,3),7*N,0)'";
  const fs::path ref = dir_ / "gaps_ref.md5", out = dir_ / "gaps_out.md5";
  auto r = ffmpeg("-i " + q(src) + " -vf \"" + pre + "\" -fps_mode passthrough -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(src) + " -vf \"" + pre + "," + mm() + "\" -fps_mode passthrough -f framemd5 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size()) << "frame count changed";
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].pts, a[i].pts) << "frame " << i;
    if (i < 2)
      EXPECT_NE(b[i].md5, a[i].md5) << "face frame " << i << " not edited";
    else
      EXPECT_EQ(b[i].md5, a[i].md5) << "frame " << i << " has no face and must pass untouched";
  }
}

TEST_F(FfmpegFilter, SynchronousModeGivesTheSameFrames) {
  const fs::path a = dir_ / "async.md5", b = dir_ / "sync.md5";
  auto r = ffmpeg("-i " + q(clip_) + " -vf " + mm("async=1:nireq=2") + " -f framemd5 " + q(a));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf " + mm("async=0") + " -f framemd5 " + q(b));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto x = framemd5(a), y = framemd5(b);
  ASSERT_EQ(x.size(), 3u);
  ASSERT_EQ(y.size(), 3u);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].pts, y[i].pts);
    EXPECT_EQ(x[i].md5, y[i].md5) << "frame " << i;
  }
}

TEST_F(FfmpegFilter, OddSizeKeepsOutsidePixelsAndHoldsTheEdit) {
  const fs::path odd = dir_ / "odd.mkv";
  // One frame: what is checked is per frame (the edges of the odd size), and e4e (one pass).
  auto r = ffmpeg("-i " + q(clip_) + " -frames:v 1 -vf scale=641:479,format=yuv420p -c:v ffv1 " + q(odd));
  ASSERT_EQ(r.status, 0) << r.output;
  int w = 0, h = 0;
  const auto faces = faces_of(odd, &w, &h);
  ASSERT_EQ(w, 641);
  ASSERT_EQ(h, 479);
  const std::string tags = "setparams=range=tv:colorspace=smpte170m";
  const fs::path ref = dir_ / "odd_ref.raw", out = dir_ / "odd_out.raw";
  r = ffmpeg("-i " + q(odd) + " -vf " + tags + " -f rawvideo " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(odd) + " -vf " + tags + "," + mm("encoder=e4e") + " -f rawvideo " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = read_bytes(ref), b = read_bytes(out);
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(faces.size(), 1u);
  // Every plane's face samples edited (the last column and row are chroma blocks one pixel
  // wide or high), nothing outside the faces.
  for (int i = 0; i < 1; ++i) {
    const auto planes = compare_raw(a, b, "yuv420p", w, h, i, faces[i]);
    ASSERT_EQ(planes.size(), 3u);
    for (size_t c = 0; c < planes.size(); ++c) {
      EXPECT_EQ(planes[c].outside, 0) << "frame " << i << " plane " << c;
      EXPECT_GT(planes[c].inside, c ? 100 : 500) << "frame " << i << " plane " << c << ": the face was not edited";
    }
  }
}

// --- a size change the graph is not reconfigured for ------------------------------------------

// Two MPEG-2 segments of different sizes in one transport stream (as a broadcast or a camera
// switching resolution): with -reinit_filter 0 ffmpeg hands the filter frames of the second
// size on a link configured for the first. Refused with both sizes named, not read out of bounds.
TEST_F(FfmpegFilter, SizeChangeWithoutReinitIsRefused) {
  const fs::path a = dir_ / "size_a.ts", b = dir_ / "size_b.ts", joined = dir_ / "size_changes.ts";
  auto r = ffmpeg("-i " + q(clip_) + " -frames:v 2 -vf scale=320:240 -c:v mpeg2video -q:v 2 -f mpegts " + q(a));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -frames:v 2 -vf scale=240:176 -c:v mpeg2video -q:v 2 -f mpegts " + q(b));
  ASSERT_EQ(r.status, 0) << r.output;
  {
    std::vector<uint8_t> bytes = read_bytes(a);
    const std::vector<uint8_t> second = read_bytes(b);
    bytes.insert(bytes.end(), second.begin(), second.end());
    std::ofstream(joined, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  const fs::path probe = fs::path(kFfmpeg).parent_path() / "ffprobe";
  r = facetest::run(probe.string() + " -v error -select_streams v -show_entries frame=width,height -of csv=p=0 " + q(joined));
  ASSERT_EQ(r.status, 0) << r.output;
  // (csv lines may carry empty fields and blank lines of side data: keep the sizes only. The
  // decoder may drop the last picture before the new sequence header: not every frame comes out.)
  std::vector<std::string> sizes;
  for (size_t i = 0; (i = r.output.find_first_of("0123456789", i)) != std::string::npos;) {
    const size_t j = r.output.find_first_not_of("0123456789,", i);
    std::string tok = r.output.substr(i, j - i);
    while (!tok.empty() && tok.back() == ',') tok.pop_back();
    sizes.push_back(tok);
    i = j;
  }
  ASSERT_GE(sizes.size(), 3u) << r.output;
  ASSERT_EQ(sizes.front(), "320,240") << "the clip does not start at 320x240:\n" << r.output;
  ASSERT_EQ(sizes.back(), "240,176") << "the clip does not change to 240x176:\n" << r.output;

  // e4e (one pass a face): the size check is the filter's, not the encoder's.
  r = ffmpeg("-reinit_filter 0 -i " + q(joined) + " -vf " + mm("encoder=e4e") + " -f null -");
  EXPECT_NE(r.status, 0) << "a 240x176 frame was accepted on a 320x240 link:\n" << r.output;
  EXPECT_LT(r.status, 128) << "ffmpeg crashed:\n" << r.output;
  EXPECT_NE(r.output.find("is 240x176 yuv420p but the filter was configured for 320x240 yuv420p"), std::string::npos)
      << r.output;
  // Reconfigured (ffmpeg's default), the same input is edited through: every frame out.
  r = ffmpeg("-i " + q(joined) + " -vf " + mm("encoder=e4e") + " -f framemd5 -");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(framemd5_count(r.output), int(sizes.size())) << r.output;
}

// --- timeline and commands ------------------------------------------------------------------

TEST_F(FfmpegFilter, EnableEditsOnlyTheEnabledFrames) {
  const fs::path ref = dir_ / "enable_ref.md5", out = dir_ / "enable_out.md5";
  auto r = ffmpeg("-i " + q(clip_) + " -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf \"" + mm("enable='eq(n,1)'") + "\" -f framemd5 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].md5, a[0].md5) << "frame 0 is outside enable= and must pass untouched";
  EXPECT_NE(b[1].md5, a[1].md5) << "frame 1 is enabled and must be edited";
  EXPECT_EQ(b[2].md5, a[2].md5) << "frame 2 is outside enable= and must pass untouched";
}

// The non-finite rule: strength 5/t is +inf at t = 0, so frame 0 gets strength 0 (in delta mode:
// the frame as it came), the others are edited; one warning, and the count when the filter closes.
TEST_F(FfmpegFilter, NonFiniteStrengthLeavesThatFrameUneditedAndWarnsOnce) {
  const fs::path ref = dir_ / "nonfinite_ref.md5", out = dir_ / "nonfinite_out.md5";
  auto r = ffmpeg("-i " + q(clip_) + " -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = facetest::run(kFfmpeg + " -nostdin -hide_banner -v warning -y -i " + q(clip_) + " -vf \"" +
                    mm("mode=delta:strength=5/t") + "\" -f framemd5 " + q(out) + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].md5, a[0].md5) << "frame 0 (strength inf = 0, delta mode) must pass untouched";
  EXPECT_NE(b[1].md5, a[1].md5) << "frame 1 (strength 125) must be edited";
  EXPECT_NE(b[2].md5, a[2].md5);
  const std::string once = "such frames get strength 0 (no micromotion); this is reported once";
  const size_t first = r.output.find(once);
  EXPECT_NE(first, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(once, first + 1), std::string::npos) << "warned more than once:\n" << r.output;
  EXPECT_NE(r.output.find("The strength '5/t' is not a finite number at t=0.000 (n=0)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 frames had a strength that is not a finite number and got strength 0"),
            std::string::npos)
      << r.output;
}

// Every recipe of docs/strength.md in the filter: one run over a faceless clip (25 fps, time base
// 1/25, so pts = n), sendcmd switching to the next recipe every 5 frames; the strength the filter
// gave each frame (its debug log) is the recipe at that frame's t, n and pts, as the engine's
// own parser computes it (the same in render and the C API).
TEST_F(FfmpegFilter, EveryStrengthRecipeIsTheFramesStrength) {
  const std::vector<std::string> recipes = enginetest::strength_recipes();
  ASSERT_GE(recipes.size(), 8u);
  constexpr int kEach = 5;
  const fs::path cmds = dir_ / "recipes.cmd";
  {
    std::ofstream c(cmds);
    for (size_t i = 1; i < recipes.size(); ++i)
      c << (i * kEach) * 0.04 << " micromotion strength '" << recipes[i] << "';\n";
  }
  const int frames = int(recipes.size()) * kEach;
  const auto r = facetest::run(kFfmpeg + " -nostdin -hide_banner -v debug -f lavfi -i color=c=gray:s=64x64:r=25:d=" +
                               std::to_string(frames * 0.04) + " -vf \"sendcmd=f=" + cmds.string() + "," +
                               mm("encoder=e4e:strength='" + recipes[0] + "'") + "\" -f null - 2>&1");
  ASSERT_EQ(r.status, 0) << r.output.substr(r.output.size() > 4000 ? r.output.size() - 4000 : 0);
  std::map<int64_t, double> got;
  const std::regex line(R"(frame (\d+): strength (\S+), )");
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), line), end; it != end; ++it)
    got[std::stoll((*it)[1])] = std::stod((*it)[2]);
  ASSERT_EQ(int(got.size()), frames);
  for (size_t i = 0; i < recipes.size(); ++i) {
    SCOPED_TRACE(recipes[i]);
    const micromotion::StrengthExpression e(recipes[i]);
    // The frame a command arrives on is left out: which side of it the switch falls is sendcmd's.
    for (int64_t n = int64_t(i) * kEach + 1; n < int64_t(i + 1) * kEach; ++n) {
      const double want = e.evaluate(double(n) * 0.04, n, double(n)).value;
      EXPECT_NEAR(got[n], want, 1e-5 * std::max(1.0, std::abs(want))) << "frame " << n;
    }
  }
}

TEST_F(FfmpegFilter, SendcmdChangesTheStrengthFromItsTime) {
  // delta mode at strength 0 adds G(w) - G(w) = 0: the frame is unchanged. From t = 0.08 s
  // (frame 2) sendcmd sets 5: from there the frames equal a run at constant 5.
  const fs::path ref = dir_ / "cmd_ref.md5", five = dir_ / "cmd_five.md5", out = dir_ / "cmd_out.md5";
  auto r = ffmpeg("-i " + q(clip_) + " -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf \"" + mm("mode=delta:strength=5") + "\" -f framemd5 " + q(five));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf \"sendcmd=c='0.08 micromotion strength 5'," + mm("mode=delta:strength=0") +
             "\" -f framemd5 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = framemd5(ref), f = framemd5(five), b = framemd5(out);
  ASSERT_EQ(b.size(), 3u);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(b[0].md5, a[0].md5) << "strength 0 must leave frame 0 unchanged";
  EXPECT_EQ(b[1].md5, a[1].md5) << "strength 0 must leave frame 1 unchanged";
  EXPECT_NE(b[2].md5, a[2].md5) << "frame 2 comes after the command and must be edited";
  EXPECT_EQ(b[2].md5, f[2].md5) << "frame 2 must be edited at the commanded strength";
}

TEST_F(FfmpegFilter, BadCommandKeepsTheOldStrength) {
  const fs::path out = dir_ / "badcmd.md5", ref = dir_ / "badcmd_ref.md5";
  auto r = ffmpeg("-i " + q(clip_) + " -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf \"sendcmd=c='0.04 micromotion strength 5*(',"
             + mm("mode=delta:strength=0") + "\" -f framemd5 " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Invalid strength expression '5*('"), std::string::npos) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(b[i].md5, a[i].md5) << "frame " << i << ": strength must stay 0";
}

// --- inside a graph ----------------------------------------------------------------------------

TEST_F(FfmpegFilter, WorksInsideSplitOverlayGraph) {
  // The edited copy's left half is laid over the original: the right half stays the input's.
  const fs::path ref = dir_ / "graph_ref.raw", out = dir_ / "graph_out.raw";
  auto r = ffmpeg("-i " + q(clip_) + " -vf format=yuv444p -f rawvideo " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -filter_complex \"[0]format=yuv444p,split[a][b];[b]" + mm() +
             ",crop=iw/2:ih:0:0[m];[a][m]overlay=0:0:format=yuv444\" -f rawvideo " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = read_bytes(ref), b = read_bytes(out);
  ASSERT_EQ(b.size(), a.size()) << "frame count or format changed";
  const size_t plane = static_cast<size_t>(width_) * height_;
  long left = 0, right = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    const int x = static_cast<int>((i % plane) % width_);
    (x < width_ / 2 ? left : right)++;
  }
  EXPECT_EQ(right, 0) << "the right half is the untouched input";
  EXPECT_GT(left, 500) << "the left half holds the edited face";
}

// --- people, edit lists, keyframes ------------------------------------------------------------------

class FfmpegPeople : public FfmpegFilter {
 protected:
  static constexpr int kW = 760, kH = 400;
  fs::path johns_;                 // the first frames of two_johns, lossless rgb24
  std::vector<uint8_t> reference_;  // those frames as rgb24 raw

  void SetUp() override {
    FfmpegFilter::SetUp();
    if (HasFatalFailure()) return;
    const fs::path src = facetest::data("clips/two_johns/0000.png").parent_path();
    ASSERT_FALSE(src.empty());
    johns_ = dir_ / "johns.mkv";
    const fs::path ref = dir_ / "johns_ref.raw";
    if (!fs::exists(ref)) {
      auto r = ffmpeg("-framerate 25 -i " + q(src / "%04d.png") + " -frames:v 3 -c:v ffv1 -pix_fmt rgb24 " + q(johns_));
      ASSERT_EQ(r.status, 0) << r.output;
      r = ffmpeg("-i " + q(johns_) + " -vf format=rgb24 -f rawvideo " + q(ref));
      ASSERT_EQ(r.status, 0) << r.output;
    }
    reference_ = read_bytes(ref);
    ASSERT_EQ(reference_.size(), size_t(3) * kW * kH * 3);
  }

  // The filter over the first `frames` frames of the clip, as rgb24 raw.
  std::vector<uint8_t> run(const std::string& name, const std::string& filters, int frames, std::string* log) {
    const fs::path out = dir_ / (name + ".raw");
    const auto r = ffmpeg_people("-i " + q(johns_) + " -vf \"trim=end_frame=" + std::to_string(frames) +
                                 ",format=rgb24," + filters + "\" -f rawvideo " + q(out));
    EXPECT_EQ(r.status, 0) << r.output;
    if (log) *log = r.output;
    return read_bytes(out);
  }
};

// edits=: an edit list naming John Savage (the right) by a photo of him that is not the clip's,
// his edit only (others: keep). His half changes, Salley's stays bit-identical. The edit
// command: a bad name, index or expression is an error and the strength stays; `edit
// savage/smile=0` (delta mode: no change at all) leaves frame 2 as it came.
TEST_F(FfmpegPeople, EditListEditsOnlyTheNamedPersonAndTheEditCommandSetsItsStrength) {
  const fs::path list = dir_ / "savage.json";
  std::ofstream(list) << R"({"people": [{"name": "savage", "photos": [")" << johns_photo("John_Savage", 1)
                      << R"("]}], "edits": [{"person": "savage", "anchor": "smile", "strength": 5}], "others": "keep"})";
  const std::string cmds = "sendcmd=c='0.04 micromotion edit bob/smile=1, micromotion edit 3=1, "
                           "micromotion edit 0=5*(;0.08 micromotion edit savage/smile=0'";
  std::string log;
  const auto out = run("edits_savage", cmds + "," + mm("encoder=e4e:mode=delta:edits=" + list.string()), 3, &log);
  ASSERT_EQ(out.size(), reference_.size()) << log;
  for (int i = 0; i < 3; ++i) {
    const Halves h = changed_halves(reference_, out, kW, kH, i);
    EXPECT_EQ(h.left, 0) << "frame " << i << ": Salley is not in the list and must stay as he is";
    if (i < 2)
      EXPECT_GT(h.right, 2000) << "frame " << i << ": Savage's face was not edited";
    else
      EXPECT_EQ(h.right, 0) << "frame 2: 'edit savage/smile=0' must leave it as it came (delta mode)";
  }
  EXPECT_NE(log.find("edit command 'bob/smile=1': no edit named 'bob/smile' (edits: 0: savage/smile)"),
            std::string::npos) << log;
  EXPECT_NE(log.find("edit command '3=1': no edit 3 (there are 1: 0 to 0)"), std::string::npos) << log;
  EXPECT_NE(log.find("edit command '0=5*(': edit 0 (savage/smile): "), std::string::npos) << log;
}

// person=PHOTO: another photo of John Salley (the left): his half changes, Savage's stays.
TEST_F(FfmpegPeople, PersonPhotoEditsOnlyThatPerson) {
  std::string log;
  const auto out = run("person_salley", mm("encoder=e4e:person=" + johns_photo("John_Salley", 1)), 2, &log);
  ASSERT_EQ(out.size(), size_t(2) * kW * kH * 3) << log;
  for (int i = 0; i < 2; ++i) {
    const Halves h = changed_halves(reference_, out, kW, kH, i);
    EXPECT_GT(h.left, 2000) << "frame " << i << ": Salley's face was not edited";
    EXPECT_EQ(h.right, 0) << "frame " << i << ": Savage is not the person and must stay as he is";
  }
}

// keyframe_every=4 holds frames for the look-ahead: every frame still comes out, in order,
// with its (irregular) timestamps, faces edited; the frames after the last keyframe come out at
// EOF; a timeline-disabled frame among the held ones goes out as it came.
TEST_F(FfmpegFilter, KeyframesEveryFourKeepEveryFrameAndTimestamp) {
  const fs::path src = facetest::data("clips/pan_zoom/clip.mp4");
  ASSERT_FALSE(src.empty());
  const std::string pre = "trim=end_frame=6,setpts='PTS+if(gte(N,3),5*N,0)'";
  const fs::path ref = dir_ / "key_ref.md5", out = dir_ / "key_out.md5";
  auto r = ffmpeg("-i " + q(src) + " -vf \"" + pre + "\" -fps_mode passthrough -f framemd5 " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = facetest::run(kFfmpeg + " -nostdin -hide_banner -v verbose -y -i " + q(src) + " -vf \"" + pre + "," +
                    mm("encoder=e4e:keyframe_every=4:enable='not(eq(n,2))'") + "\" -fps_mode passthrough -f framemd5 " +
                    q(out) + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("keyframe_every=4: up to"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("5 frames edited ("), std::string::npos) << r.output;
  const auto a = framemd5(ref), b = framemd5(out);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size()) << "frame count changed";
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].pts, a[i].pts) << "frame " << i;
    if (i == 2)
      EXPECT_EQ(b[i].md5, a[i].md5) << "frame 2 is outside enable= and must pass untouched";
    else
      EXPECT_NE(b[i].md5, a[i].md5) << "frame " << i << " not edited";
  }
}

// --- options and errors -------------------------------------------------------------------------

// One option of `ffmpeg -h filter=micromotion`: type, flags, help, range and default as printed,
// and the named constants under it.
struct HelpOption {
  std::string type, flags, help, min, max, def;
  std::vector<std::string> consts;
};

std::map<std::string, HelpOption> filter_help() {
  const auto r = facetest::run(kFfmpeg + " -hide_banner -h filter=micromotion");
  EXPECT_EQ(r.status, 0) << r.output;
  std::map<std::string, HelpOption> out;
  std::stringstream lines(r.output);
  std::string line, last;
  const std::regex option(R"(^   (\S+)\s+<(\w+)>\s+(\S+) (.*)$)"), constant(R"(^     (\S+)\s+-?\d+\s+\S+ .*$)");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, option)) {
      HelpOption o;
      o.type = m[2];
      o.flags = m[3];
      std::string help = m[4];
      std::smatch d;
      if (std::regex_search(help, d, std::regex(R"( \(default (.*)\)$)"))) {
        o.def = d[1];
        help = help.substr(0, size_t(d.position(0)));
      }
      if (std::regex_search(help, d, std::regex(R"( \(from (\S+) to (\S+)\)$)"))) {
        o.min = d[1];
        o.max = d[2];
        help = help.substr(0, size_t(d.position(0)));
      }
      o.help = help;
      last = m[1];
      out[last] = o;
    } else if (std::regex_match(line, m, constant) && !last.empty()) {
      out[last].consts.push_back(m[1]);
    }
  }
  return out;
}

std::string unquote(const std::string& v) {
  return v.size() >= 2 && v.front() == '"' && v.back() == '"' ? v.substr(1, v.size() - 2) : v;
}

// The static AVOption table against the engine's settings table (micromotion/settings.h): every
// row the filter shows is an option of that name with the row's help, default, range or choices,
// and a runtime flag exactly when the row may change while running; the rows it does not show
// are not options, and say why.
TEST(FfmpegOptions, MatchTheSettingsTable) {
  const auto help = filter_help();
  ASSERT_GT(help.size(), 10u);
  for (const mm_setting_info* row : micromotion::settings_table()) {
    SCOPED_TRACE(row->name);
    const auto it = help.find(row->name);
    if (!(row->front_ends & MM_FRONT_END_FFMPEG)) {
      EXPECT_EQ(it, help.end()) << "an option, but the table says the filter does not show it";
      ASSERT_NE(row->note, nullptr);
      const std::string note = row->note;
      EXPECT_TRUE(note.find("not in ffmpeg") != std::string::npos || note.find("not in any front end") != std::string::npos)
          << note;
      continue;
    }
    ASSERT_NE(it, help.end()) << "the table's setting is not an option of the filter";
    const HelpOption& o = it->second;
    EXPECT_EQ(o.help, row->help);
    EXPECT_EQ(o.flags.find('T') != std::string::npos, row->runtime != 0) << "runtime flag";
    switch (row->type) {
      case MM_SETTING_INT:
      case MM_SETTING_NUMBER:
        EXPECT_EQ(o.type, row->type == MM_SETTING_INT ? "int" : "double");
        EXPECT_DOUBLE_EQ(std::stod(o.def), std::stod(row->default_value));
        EXPECT_DOUBLE_EQ(std::stod(o.min), row->min);
        EXPECT_DOUBLE_EQ(std::stod(o.max), row->max);
        break;
      case MM_SETTING_BOOL:
        EXPECT_EQ(o.type, "boolean");
        EXPECT_EQ(o.def, std::atoi(row->default_value) ? "true" : "false");
        break;
      case MM_SETTING_CHOICE: {
        const std::vector<std::string> c = micromotion::choices(*row);
        if (o.type == "int") {  // named constants, in the order of the field's values
          EXPECT_EQ(o.consts, c);
          EXPECT_EQ(o.def, row->default_value);
        } else {
          EXPECT_EQ(o.type, "string");
          EXPECT_EQ(unquote(o.def), row->default_value);
        }
        break;
      }
      default:  // strings and expressions
        EXPECT_EQ(o.type, "string");
        EXPECT_EQ(unquote(o.def), row->default_value);
    }
  }
  // The filter's own option, and the timeline.
  EXPECT_NE(help.find("async"), help.end());
  EXPECT_NE(facetest::run(kFfmpeg + " -hide_banner -h filter=micromotion").output.find("timeline"), std::string::npos);
}

struct BadOption {
  std::string options;
  std::string message;
};

void PrintTo(const BadOption& b, std::ostream* os) { *os << "'" << b.options << "'"; }

class FfmpegErrors : public FfmpegFilter, public ::testing::WithParamInterface<BadOption> {};

TEST_P(FfmpegErrors, FailWithTheDocumentedMessage) {
  const BadOption& c = GetParam();
  // A models directory with the published directions and no networks.
  const fs::path empty = dir_ / "no-models";
  fs::create_directories(empty);
  if (!fs::exists(empty / "directions"))
    fs::copy(fs::path(MM_SOURCE_DIR) / "models" / "directions", empty / "directions", fs::copy_options::recursive);
  std::string filter = c.options.rfind("models=", 0) == 0
                           ? "micromotion=" + c.options + empty.string()
                           : mm(c.options);
  // No user or system models either: the lookup must stop at the named directory.
  const auto r = facetest::run("env -u MICROMOTION_MODELS HOME=" + q(empty) + " XDG_DATA_HOME=" + q(empty) + " " +
                               kFfmpeg + " -nostdin -hide_banner -y -i " + q(clip_) + " -vf \"" + filter +
                               "\" -f null -");
  EXPECT_NE(r.status, 0) << "ffmpeg accepted " << filter;
  EXPECT_NE(r.output.find(c.message), std::string::npos) << "expected '" << c.message << "' in:\n" << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Options, FfmpegErrors,
    ::testing::Values(BadOption{"models=", "restyle_psp_ffhq_encode.pt"},
                      BadOption{"models=", "micromotion models make-test"},
                      BadOption{"anchor=frown", "frown"},
                      BadOption{"mode=sideways", "sideways"},
                      BadOption{"feather=0.9", "feather"},
                      BadOption{"strength=5*(", "Invalid strength expression '5*('"},
                      BadOption{"dtype=fp64", "dtype must be one of fp32, bf16, auto (got 'fp64')"},
                      BadOption{"queue_depth=0", "queue_depth"},
                      BadOption{"encoder=/nonexistent/enc.pt", "/nonexistent/enc.pt"},
                      BadOption{"keyframe_every=-3", "parameter 'keyframe_every' out of range [0 - 1000]"},
                      BadOption{"others=bogus", "Error setting option others to value bogus"},
                      BadOption{"edits=/nonexistent/people.json", "/nonexistent/people.json: cannot open the edit list"}));

}  // namespace
