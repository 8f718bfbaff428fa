// The FFmpeg filter, through the ffmpeg binary that packaging/build-ffmpeg.sh builds: frame
// counts and timestamps, bit-exact pixels outside faces in every supported input format, odd
// sizes, the timeline (enable=), sendcmd, a graph with split/overlay, and the error messages.
// Short clips are cut from the generated face clips; the networks are the test models.
#include "engine/engine_test_support.h"

#include <micromotion/image.h>

#include <gtest/gtest.h>

extern "C" {
#include <libavutil/common.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <unistd.h>
#include <iterator>
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

// Luma and chroma weights of a matrix (BT.601 for an untagged frame, as the filter and swscale).
void weights(const std::string& space, double* kr, double* kb) {
  if (space == "bt709") *kr = 0.2126, *kb = 0.0722;
  else *kr = 0.299, *kb = 0.114;  // bt470bg, smpte170m, untagged
}

// The reference conversion: R'G'B' (0..255) -> Y'CbCr of `depth` bits, unrounded, in the
// frame's matrix and range (limited: 16..235 / 16..240 scaled to the depth; full: 0..2^depth-1,
// chroma centred on 2^(depth-1)).
void reference_yuv(const uint8_t* rgb, const std::string& space, bool full, int depth, double out[3]) {
  double kr, kb;
  weights(space, &kr, &kb);
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  const double y = kr * r + (1 - kr - kb) * g + kb * b;
  const double cb = (b - y) / (2 * (1 - kb)), cr = (r - y) / (2 * (1 - kr));
  const double scale = double(1 << (depth - 8));
  if (full) {
    const double m = ((1 << depth) - 1) / 255.0;
    out[0] = y * m, out[1] = (1 << (depth - 1)) + cb * m, out[2] = (1 << (depth - 1)) + cr * m;
  } else {
    out[0] = scale * (16 + y * 219 / 255), out[1] = scale * (128 + cb * 224 / 255), out[2] = scale * (128 + cr * 224 / 255);
  }
}

// The engine's RGB24 edit of each frame of `raw` as the filter obtains it: the filter's own
// conversion to RGB24, repeated here (swscale with the flags and colour details of
// vf_micromotion.c's config_input and set_yuv_details), then the filter itself on those RGB24
// frames at the same frame rate and times (its RGB24 write-back stores the engine's pixels
// as they are). The engine runs inside ffmpeg here as in the run under test: its float results
// depend on the process (the BLAS that libtorch resolves first), and the random-weight test
// networks amplify those differences, so a run through the C API in this process would not be
// the same edit.
struct EngineRgb {
  std::vector<uint8_t> original, edited;  // per frame, w * 3 bytes a row
};

std::vector<EngineRgb> engine_rgb(const std::vector<uint8_t>& raw, const Tagged& t, int w, int h, int frames,
                                  const fs::path& work) {
  const AVPixelFormat f = av_get_pix_fmt(t.format.c_str());
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  const size_t frame_size = static_cast<size_t>(av_image_get_buffer_size(f, w, h, 1));
  SwsContext* sws = sws_getContext(w, h, f, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
                                   nullptr, nullptr, nullptr);
  EXPECT_NE(sws, nullptr);
  if (!sws) return {};
  if (!(d->flags & AV_PIX_FMT_FLAG_RGB)) {
    const int space = t.space == "bt709" ? SWS_CS_ITU709 : t.space == "bt470bg" ? SWS_CS_ITU601
                    : t.space == "smpte170m" ? SWS_CS_SMPTE170M : SWS_CS_DEFAULT;
    const int full = t.range == "pc" || t.format.rfind("yuvj", 0) == 0;
    sws_setColorspaceDetails(sws, sws_getCoefficients(space), full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
                             1 << 16);
  }
  std::vector<EngineRgb> out(frames);
  std::vector<uint8_t> all;
  for (int i = 0; i < frames; ++i) {
    const uint8_t* src[4] = {};
    int src_linesize[4] = {};
    av_image_fill_arrays(const_cast<uint8_t**>(src), src_linesize, raw.data() + frame_size * i, f, w, h, 1);
    out[i].original.resize(size_t(3) * w * h);
    uint8_t* dst[4] = {out[i].original.data()};
    int dst_linesize[4] = {3 * w};
    sws_scale(sws, src, src_linesize, 0, h, dst, dst_linesize);
    all.insert(all.end(), out[i].original.begin(), out[i].original.end());
  }
  sws_freeContext(sws);
  const fs::path in = work / "engine_in.rgb", edited = work / "engine_out.rgb";
  std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size()));
  const auto r = ffmpeg("-f rawvideo -pix_fmt rgb24 -s " + std::to_string(w) + "x" + std::to_string(h) + " -r 25 -i " +
                        q(in) + " -vf " + mm() + " -f rawvideo " + q(edited));
  EXPECT_EQ(r.status, 0) << r.output;
  const std::vector<uint8_t> e = read_bytes(edited);
  EXPECT_EQ(e.size(), all.size());
  if (e.size() != all.size()) return {};
  for (int i = 0; i < frames; ++i)
    out[i].edited.assign(e.begin() + std::ptrdiff_t(i * out[i].original.size()),
                         e.begin() + std::ptrdiff_t((i + 1) * out[i].original.size()));
  return out;
}

// Per component of a filtered frame in `format` against the engine's edit: samples whose pixels
// the engine left alone are the input's, bit-exact; the others are the reference conversion of
// the edited RGB (RGB: exactly; luma: per pixel; chroma: the mean of the pixels the sample
// covers), within `tolerance` levels (`chroma_tolerance` for subsampled chroma); the caller
// bounds the mean error.
struct ComponentCheck {
  long kept = 0, kept_bad = 0;    // samples the engine did not touch / of them not bit-exact
  long edited = 0, edited_bad = 0;
  double err_sum = 0, err_max = 0;
  std::string first_bad;
};

std::vector<ComponentCheck> check_frame(const std::vector<uint8_t>& in_raw, const std::vector<uint8_t>& out_raw,
                                        const Tagged& t, int w, int h, int frame, const EngineRgb& e,
                                        double tolerance, double chroma_tolerance) {
  const AVPixelFormat f = av_get_pix_fmt(t.format.c_str());
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
  const size_t frame_size = static_cast<size_t>(av_image_get_buffer_size(f, w, h, 1));
  const uint8_t* in_data[4] = {};
  const uint8_t* out_data[4] = {};
  int linesize[4] = {};
  av_image_fill_arrays(const_cast<uint8_t**>(in_data), linesize, in_raw.data() + frame_size * frame, f, w, h, 1);
  av_image_fill_arrays(const_cast<uint8_t**>(out_data), linesize, out_raw.data() + frame_size * frame, f, w, h, 1);
  const bool rgb = d->flags & AV_PIX_FMT_FLAG_RGB;
  const bool has_alpha = d->flags & AV_PIX_FMT_FLAG_ALPHA;
  const bool full = t.range == "pc" || t.format.rfind("yuvj", 0) == 0;
  const int depth = d->comp[0].depth;
  const auto changed = [&](int x, int y) {
    const size_t i = (size_t(y) * w + x) * 3;
    return std::memcmp(&e.original[i], &e.edited[i], 3) != 0;
  };
  std::vector<ComponentCheck> out(d->nb_components);
  std::vector<uint16_t> a(w), b(w);
  for (int c = 0; c < d->nb_components; ++c) {
    const bool alpha = has_alpha && c == d->nb_components - 1;
    const bool chroma = !rgb && !alpha && (c == 1 || c == 2);
    const int sw = chroma ? d->log2_chroma_w : 0, sh = chroma ? d->log2_chroma_h : 0;
    const int cw = AV_CEIL_RSHIFT(w, sw), ch = AV_CEIL_RSHIFT(h, sh);
    ComponentCheck& k = out[c];
    for (int y = 0; y < ch; ++y) {
      av_read_image_line2(a.data(), in_data, linesize, d, 0, y, c, cw, 0, 2);
      av_read_image_line2(b.data(), out_data, linesize, d, 0, y, c, cw, 0, 2);
      for (int x = 0; x < cw; ++x) {
        // The pixels this sample covers, and the reference value over the edited ones.
        bool any = false;
        double want = 0;
        int n = 0;
        for (int yy = y << sh; yy < std::min(h, (y + 1) << sh); ++yy)
          for (int xx = x << sw; xx < std::min(w, (x + 1) << sw); ++xx, ++n) {
            any |= changed(xx, yy);
            const uint8_t* px = &e.edited[(size_t(yy) * w + xx) * 3];
            if (rgb) {
              want += px[c];
            } else {
              double yuv[3];
              reference_yuv(px, t.space, full, depth, yuv);
              want += yuv[c];
            }
          }
        want /= n;
        if (!any || alpha) {
          ++k.kept;
          if (a[x] != b[x]) {
            if (!k.kept_bad++) k.first_bad = "kept sample " + std::to_string(x) + "," + std::to_string(y) + " changed";
          }
          continue;
        }
        const double err = std::abs(double(b[x]) - want);
        ++k.edited;
        k.err_sum += err;
        k.err_max = std::max(k.err_max, err);
        if (err > (rgb ? 0 : chroma && (sw || sh) ? chroma_tolerance : tolerance) && !k.edited_bad++)
          k.first_bad = "sample " + std::to_string(x) + "," + std::to_string(y) + " is " + std::to_string(b[x]) +
                        ", expected " + std::to_string(want);
      }
    }
  }
  return out;
}

class FfmpegFormats : public FfmpegFilter, public ::testing::WithParamInterface<Tagged> {};

TEST_P(FfmpegFormats, FaceHoldsTheEnginesEditInTheFramesColours) {
  const Tagged t = GetParam();
  constexpr int kFrames = 2;
  const std::string name = t.format + "_" + t.space + "_" + t.range;
  const std::string tags = t.range.empty() ? "" : ",setparams=range=" + t.range + (t.space.empty() ? "" : ":colorspace=" + t.space);
  const std::string pre = "trim=end_frame=" + std::to_string(kFrames) + ",format=" + t.format + tags;
  const fs::path ref = dir_ / ("ref_" + name + ".raw"), out = dir_ / ("out_" + name + ".raw");
  auto r = ffmpeg("-i " + q(clip_) + " -vf " + pre + " -f rawvideo " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(clip_) + " -vf " + pre + "," + mm() + " -f rawvideo " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<uint8_t> a = read_bytes(ref), b = read_bytes(out);
  const AVPixelFormat f = av_get_pix_fmt(t.format.c_str());
  ASSERT_NE(f, AV_PIX_FMT_NONE);
  const size_t frame = static_cast<size_t>(av_image_get_buffer_size(f, width_, height_, 1));
  ASSERT_EQ(a.size(), kFrames * frame) << "the reference is not " << kFrames << " frames";
  ASSERT_EQ(b.size(), a.size()) << "frame count changed";

  const fs::path work = dir_ / ("engine_" + name);
  fs::create_directories(work);
  const std::vector<EngineRgb> e = engine_rgb(a, t, width_, height_, kFrames, work);
  ASSERT_EQ(e.size(), size_t(kFrames));
  const int depth = av_pix_fmt_desc_get(f)->comp[0].depth;
  // Luma and full-resolution chroma: the conversion's rounding (measured <= 0.51 levels). Chroma
  // of 4:2:x formats: swscale's bicubic downsampling takes pixels around the block where the
  // reference takes the block's mean, which differs by up to ~6 levels at sharp edges (eyes,
  // mouth: measured max 5.7 on yuv420p, 2-5 % of the samples beyond 2 levels; full range spreads
  // chroma over 255 levels instead of 224: max 6.7 on yuvj420p/yuv420p pc), 1 level on average.
  // A swapped chroma plane is off by tens of levels; a BT.601 matrix on a BT.709 frame moves
  // skin luma by 2-3 levels on average: both far outside the mean bounds.
  const double scale = double(1 << (depth - 8));
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(f);
  const bool subsampled = desc->log2_chroma_w || desc->log2_chroma_h;
  for (int i = 0; i < kFrames; ++i) {
    // Independent of the engine run above: nothing changed outside the faces' boxes.
    for (const auto& p : compare_raw(a, b, t.format, width_, height_, i, faces_[i]))
      EXPECT_EQ(p.outside, 0) << t.format << " frame " << i << ": bytes changed outside the faces";
    long changed = 0;
    for (size_t j = 0; j < e[i].original.size(); j += 3) changed += std::memcmp(&e[i].original[j], &e[i].edited[j], 3) != 0;
    EXPECT_GT(changed, 2000) << "frame " << i << ": the engine did not edit the face";
    const auto checks = check_frame(a, b, t, width_, height_, i, e[i], 2 * scale, 7 * scale);
    for (size_t c = 0; c < checks.size(); ++c) {
      const ComponentCheck& k = checks[c];
      std::printf("[fmt] %s frame %d comp %zu: %ld kept (%ld differ), %ld edited (%ld off), mean err %.3f, max %.2f\n",
                  name.c_str(), i, c, k.kept, k.kept_bad, k.edited, k.edited_bad, k.edited ? k.err_sum / k.edited : 0.0,
                  k.err_max);
      EXPECT_EQ(k.kept_bad, 0) << name << " frame " << i << " component " << c << ": " << k.first_bad;
      EXPECT_EQ(k.edited_bad, 0) << name << " frame " << i << " component " << c << ": " << k.first_bad;
      if (k.edited) {
        const bool sub_chroma = subsampled && (c == 1 || c == 2) && !(desc->flags & AV_PIX_FMT_FLAG_RGB);
        EXPECT_LE(k.err_sum / double(k.edited), (sub_chroma ? 1.0 : 0.6) * scale)
            << name << " frame " << i << " component " << c << ": mean error";
      }
    }
  }
}

// Every format vf_micromotion.c's pix_fmts lists (FfmpegFilter.EveryAdvertisedFormatIsTested
// checks the two lists agree): limited range BT.709, the JPEG ones full range BT.601; and one
// full-range and one untagged frame.
const std::vector<Tagged> kTagged = {
    {"rgb24", "", ""},           {"bgr24", "", ""},          {"rgba", "", ""},           {"bgra", "", ""},
    {"argb", "", ""},            {"abgr", "", ""},           {"rgb0", "", ""},           {"bgr0", "", ""},
    {"yuv420p", "bt709", "tv"},  {"yuv422p", "bt709", "tv"}, {"yuv444p", "bt709", "tv"}, {"yuvj420p", "bt470bg", "pc"},
    {"yuvj422p", "bt470bg", "pc"}, {"yuvj444p", "bt470bg", "pc"}, {"yuva420p", "bt709", "tv"}, {"nv12", "bt709", "tv"},
    {"nv21", "bt709", "tv"},     {"yuv420p10le", "bt709", "tv"}, {"yuv422p10le", "bt709", "tv"},
    {"yuv444p10le", "bt709", "tv"}, {"gray", "bt709", "tv"},
    {"yuv420p", "bt709", "pc"},  {"nv12", "unknown", "tv"},
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
  ASSERT_EQ(advertised.size(), 21u);
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
  auto r = ffmpeg("-i " + q(clip_) + " -frames:v 2 -vf scale=641:479,format=yuv420p -c:v ffv1 " + q(odd));
  ASSERT_EQ(r.status, 0) << r.output;
  int w = 0, h = 0;
  const auto faces = faces_of(odd, &w, &h);
  ASSERT_EQ(w, 641);
  ASSERT_EQ(h, 479);
  const Tagged t{"yuv420p", "smpte170m", "tv"};
  const std::string tags = "setparams=range=tv:colorspace=smpte170m";
  const fs::path ref = dir_ / "odd_ref.raw", out = dir_ / "odd_out.raw";
  r = ffmpeg("-i " + q(odd) + " -vf " + tags + " -f rawvideo " + q(ref));
  ASSERT_EQ(r.status, 0) << r.output;
  r = ffmpeg("-i " + q(odd) + " -vf " + tags + "," + mm() + " -f rawvideo " + q(out));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto a = read_bytes(ref), b = read_bytes(out);
  ASSERT_EQ(b.size(), a.size());
  const fs::path work = dir_ / "engine_odd";
  fs::create_directories(work);
  const std::vector<EngineRgb> e = engine_rgb(a, t, w, h, 2, work);
  ASSERT_EQ(e.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    for (const auto& p : compare_raw(a, b, "yuv420p", w, h, i, faces[i])) EXPECT_EQ(p.outside, 0) << "frame " << i;
    // The last column and row are chroma blocks of one pixel's width or height.
    const auto checks = check_frame(a, b, t, w, h, i, e[i], 2, 6);
    for (size_t c = 0; c < checks.size(); ++c) {
      EXPECT_GT(checks[c].edited, 500) << "frame " << i << " component " << c << ": the face was not edited";
      EXPECT_EQ(checks[c].kept_bad, 0) << "frame " << i << " component " << c << ": " << checks[c].first_bad;
      EXPECT_EQ(checks[c].edited_bad, 0) << "frame " << i << " component " << c << ": " << checks[c].first_bad;
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

  r = ffmpeg("-reinit_filter 0 -i " + q(joined) + " -vf " + mm() + " -f null -");
  EXPECT_NE(r.status, 0) << "a 240x176 frame was accepted on a 320x240 link:\n" << r.output;
  EXPECT_LT(r.status, 128) << "ffmpeg crashed:\n" << r.output;
  EXPECT_NE(r.output.find("is 240x176 yuv420p but the filter was configured for 320x240 yuv420p"), std::string::npos)
      << r.output;
  // Reconfigured (ffmpeg's default), the same input is edited through: every frame out.
  r = ffmpeg("-i " + q(joined) + " -vf " + mm() + " -f framemd5 -");
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
  EXPECT_NE(r.output.find("The strength is inf at t=0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 frames had a strength that is not a finite number and got strength 0"),
            std::string::npos)
      << r.output;
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

// --- options and errors -------------------------------------------------------------------------

TEST_F(FfmpegFilter, HelpDocumentsEveryOption) {
  const auto r = facetest::run(kFfmpeg + " -hide_banner -h filter=micromotion");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* o : {"anchor", "strength", "encoder", "iters", "warm_iters", "faces", "mode", "feather", "models",
                        "device", "dtype", "detect_every", "smooth", "async", "nireq", "threads", "replace", "delta",
                        "largest", "timeline"})
    EXPECT_NE(r.output.find(o), std::string::npos) << "'" << o << "' missing from -h filter=micromotion";
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
                      BadOption{"dtype=fp64", "Invalid dtype 'fp64': use fp32 or bf16"},
                      BadOption{"encoder=/nonexistent/enc.pt", "/nonexistent/enc.pt"}));

}  // namespace
