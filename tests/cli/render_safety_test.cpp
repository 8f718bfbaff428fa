// The render transcoder (cli/video_transcoder.cpp) on real-world files, with a stand-in editor
// instead of the engine (no models, milliseconds a frame): every stream, chapter, tag and side
// datum kept; edited frames keep their properties; phone video edited upright; damaged input,
// a failed edit and a resolution change mid-stream handled. Clips are made here with the ffmpeg
// command line from the face test photos and read back with ffprobe.
#include "cli/render_test_support.h"
#include "face/face_test_support.h"

#include "video_transcoder.h"

#include <micromotion/error.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/mastering_display_metadata.h>
}

#include <gtest/gtest.h>

#include <deque>
#include <set>

namespace {

namespace fs = std::filesystem;
using micromotion::ImageRGB8;
using micromotion::cli::EditedFrame;
using micromotion::cli::FrameEditor;
using micromotion::cli::transcode;
using micromotion::cli::TranscodeResult;
using rendertest::ffmpeg;
using rendertest::probe;
using rendertest::q;

// The gaps clip's photo frames (faces in 6-9), as an ffmpeg input.
std::string photos(int first = 6) {
  return "-framerate 25 -start_number " + std::to_string(first) + " -i " +
         q(facetest::data("clips/gaps/0000.png").parent_path() / "%04d.png");
}

// The stored rectangle that shows as the displayed rectangle (x, y, w, h) of a frame stored
// w_s x h_s and turned `rotation` degrees clockwise for display.
micromotion::PixelRect stored_rect(int x, int y, int w, int h, int w_s, int h_s, int rotation) {
  switch (rotation) {
    case 90: return {y, h_s - x - w, h, w};
    case 180: return {w_s - x - w, h_s - y - h, w, h};
    case 270: return {w_s - y - h, x, h, w};
    default: return {x, y, w, h};
  }
}

// Stand-in editor: paints a red square at the top left of every frame as displayed, in the
// frame's own format (the engine's apply_change), as it is handed over (frames `fail` get an
// error instead); records the sizes and formats it saw.
struct Painter {
  std::deque<EditedFrame> done;
  std::vector<std::pair<int, int>> sizes;  // as displayed
  std::vector<std::string> formats;
  std::vector<ImageRGB8> seen;
  std::set<int64_t> fail;
  bool keep = false;  // keep a copy of every frame handed over (upright RGB)
  int square = 40;
  FrameEditor editor() {
    FrameEditor e;
    e.submit = [this](micromotion::NativeFrame& frame, int64_t index, double, double) {
      const bool sideways = frame.rotation == 90 || frame.rotation == 270;
      const int w = sideways ? frame.height : frame.width, h = sideways ? frame.width : frame.height;
      sizes.emplace_back(w, h);
      formats.emplace_back(micromotion::format_info(frame.format).name);
      if (keep) {
        ImageRGB8 scratch;
        seen.push_back(micromotion::turned_rgb8(micromotion::rgb8_view(frame, scratch), frame.rotation));
      }
      EditedFrame f;
      f.index = index;
      if (fail.count(index)) {
        f.error = "boom";
      } else {
        micromotion::FrameChange c;
        c.rect = stored_rect(0, 0, std::min(square, w), std::min(square, h), frame.width, frame.height, frame.rotation);
        const std::vector<float> now = micromotion::read_rgb(frame, c.rect);
        c.delta.resize(now.size());
        for (size_t i = 0; i < now.size(); i += 3) {
          c.delta[i] = 1.0f - now[i];
          c.delta[i + 1] = -now[i + 1];
          c.delta[i + 2] = -now[i + 2];
        }
        c.covered.assign(now.size() / 3, 1);
        micromotion::apply_change(frame, c);
      }
      done.push_back(std::move(f));
    };
    e.receive = [this](bool) -> std::optional<EditedFrame> {
      if (done.empty()) return std::nullopt;
      EditedFrame f = std::move(done.front());
      done.pop_front();
      return f;
    };
    e.finish = [] {};
    return e;
  }
};

TranscodeResult run(const fs::path& in, const fs::path& out, Painter& p, int64_t max_frames = -1) {
  FrameEditor e = p.editor();
  micromotion::cli::TranscodeOptions o;
  o.max_frames = max_frames;
  return transcode(in.string(), out.string(), o, e, nullptr, nullptr);
}

// Decoded frames as RGB (autorotated, as players show them), from ffmpeg.
struct Frames {
  int width = 0, height = 0;
  std::vector<std::string> rgb;
};
Frames decode(const fs::path& f, const fs::path& dir) {
  Frames fr;
  const auto j = probe(f, "-select_streams v:0 -show_entries stream=width,height:stream_side_data");
  const auto& st = j["streams"][0];
  fr.width = st["width"];
  fr.height = st["height"];
  if (st.contains("side_data_list"))
    for (const auto& sd : st["side_data_list"])
      if (sd.contains("rotation") && std::abs(sd["rotation"].get<int>()) % 180 == 90) std::swap(fr.width, fr.height);
  const fs::path raw = dir / (f.filename().string() + ".rgb");
  ffmpeg("-i " + q(f) + " -map 0:v:0 -f rawvideo -pix_fmt rgb24", raw);
  const std::string all = mmtest::read_file(raw);
  const size_t size = size_t(fr.width) * fr.height * 3;
  for (size_t o = 0; size && o + size <= all.size(); o += size) fr.rgb.push_back(all.substr(o, size));
  return fr;
}
int pixel(const Frames& f, size_t i, int x, int y, int c) {
  return static_cast<uint8_t>(f.rgb[i][(size_t(y) * f.width + x) * 3 + c]);
}
// Largest channel difference over a rectangle of frame i of a and b.
int max_diff(const Frames& a, const Frames& b, size_t i, int x0, int y0, int x1, int y1) {
  int m = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      for (int c = 0; c < 3; ++c) m = std::max(m, std::abs(pixel(a, i, x, y, c) - pixel(b, i, x, y, c)));
  return m;
}

// Copies every stream of `in` into `out` and gives the video stream HDR side data (mastering
// display, content light level): the ffmpeg 5.1 command line cannot set them on a stream.
void add_hdr_side_data(const fs::path& in, const fs::path& out) {
  AVFormatContext *i = nullptr, *o = nullptr;
  ASSERT_EQ(avformat_open_input(&i, in.c_str(), nullptr, nullptr), 0);
  ASSERT_GE(avformat_find_stream_info(i, nullptr), 0);
  ASSERT_GE(avformat_alloc_output_context2(&o, nullptr, nullptr, out.c_str()), 0);
  for (unsigned s = 0; s < i->nb_streams; ++s) {
    AVStream* os = avformat_new_stream(o, nullptr);
    avcodec_parameters_copy(os->codecpar, i->streams[s]->codecpar);
    os->time_base = i->streams[s]->time_base;
    os->disposition = i->streams[s]->disposition;
    av_dict_copy(&os->metadata, i->streams[s]->metadata, 0);
    for (int k = 0; k < i->streams[s]->nb_side_data; ++k) {
      const AVPacketSideData& sd = i->streams[s]->side_data[k];
      std::memcpy(av_stream_new_side_data(os, sd.type, sd.size), sd.data, sd.size);
    }
    if (i->streams[s]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    auto* md = reinterpret_cast<AVMasteringDisplayMetadata*>(
        av_stream_new_side_data(os, AV_PKT_DATA_MASTERING_DISPLAY_METADATA, sizeof(AVMasteringDisplayMetadata)));
    std::memset(md, 0, sizeof *md);
    md->has_primaries = md->has_luminance = 1;
    for (int k = 0; k < 3; ++k) {
      md->display_primaries[k][0] = av_make_q(17 + k, 50);
      md->display_primaries[k][1] = av_make_q(13 + k, 50);
    }
    md->white_point[0] = av_make_q(3127, 10000);
    md->white_point[1] = av_make_q(3290, 10000);
    md->max_luminance = av_make_q(1000, 1);
    md->min_luminance = av_make_q(1, 200);
    auto* cl = reinterpret_cast<AVContentLightMetadata*>(
        av_stream_new_side_data(os, AV_PKT_DATA_CONTENT_LIGHT_LEVEL, sizeof(AVContentLightMetadata)));
    cl->MaxCLL = 1000;
    cl->MaxFALL = 400;
  }
  ASSERT_GE(avio_open(&o->pb, out.c_str(), AVIO_FLAG_WRITE), 0);
  ASSERT_GE(avformat_write_header(o, nullptr), 0);
  AVPacket* p = av_packet_alloc();
  while (av_read_frame(i, p) >= 0) {
    av_packet_rescale_ts(p, i->streams[p->stream_index]->time_base, o->streams[p->stream_index]->time_base);
    p->pos = -1;
    ASSERT_GE(av_interleaved_write_frame(o, p), 0);
  }
  av_write_trailer(o);
  av_packet_free(&p);
  avio_closep(&o->pb);
  avformat_free_context(o);
  avformat_close_input(&i);
}

// What a kept stream must keep: kind, codec, disposition, tags (minus the muxer's own), and for
// copied streams their packets.
nlohmann::json essentials(const nlohmann::json& stream) {
  nlohmann::json e = {{"codec_type", stream["codec_type"]}, {"disposition", stream["disposition"]}};
  if (stream["codec_type"] != "video") e["codec_name"] = stream.value("codec_name", "");
  nlohmann::json tags = stream.value("tags", nlohmann::json::object());
  for (const char* own : {"DURATION", "ENCODER", "encoder", "handler_name", "vendor_id"}) tags.erase(own);
  e["tags"] = tags;
  if (stream.contains("side_data_list")) e["side_data_list"] = stream["side_data_list"];
  return e;
}

TEST(Transcode, EveryStreamChapterAndTagIsKeptInMatroska) {
  const auto dir = mmtest::temp_dir("transcode_mkv_streams");
  mmtest::write_file(dir / "subs.srt", "1\n00:00:00,000 --> 00:00:00,150\nHallo\n\n2\n00:00:00,150 --> 00:00:00,200\nWelt\n");
  mmtest::write_file(dir / "font.ttf", std::string(3000, 'F'));  // any bytes serve as an attachment
  mmtest::write_file(dir / "meta.txt",
                     ";FFMETADATA1\ntitle=Holiday\ncomment=Beach, day 2\n"
                     "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=100\ntitle=Arrival\n"
                     "[CHAPTER]\nTIMEBASE=1/1000\nSTART=100\nEND=200\ntitle=Departure\n");
  const fs::path in = ffmpeg(
      photos() + " -f lavfi -i sine=frequency=440:sample_rate=48000 -f lavfi -i sine=frequency=660:sample_rate=48000 -i " +
          q(dir / "subs.srt") + " -i " + q(dir / "subs.srt") + " -i " + q(dir / "meta.txt") +
          " -map 0:v -map 1:a -map 2:a -map 3 -map 4 -map_metadata 5 -map_chapters 5 -frames:v 5 -t 0.2"
          " -c:v libx264 -pix_fmt yuv420p -c:a aac -c:s:0 srt -c:s:1 ass"
          " -attach " + q(dir / "font.ttf") + " -metadata:s:t mimetype=application/x-truetype-font"
          " -metadata:s:v title=Camera -metadata:s:a:0 language=fra -metadata:s:a:0 title=Commentary"
          " -metadata:s:a:1 language=eng -disposition:a:0 default -disposition:a:1 comment"
          " -metadata:s:s:0 language=deu -metadata:s:s:0 title=Deutsch -disposition:s:0 forced"
          " -metadata:s:s:1 language=jpn",
      dir / "in.mkv");
  const fs::path out = dir / "out.mkv";
  Painter p;
  const TranscodeResult r = run(in, out, p);
  EXPECT_EQ(r.frames, 5);
  const auto a = probe(in), b = probe(out);
  ASSERT_EQ(a["streams"].size(), 6u) << a.dump(1);  // video, 2 audio, 2 subtitles, 1 attachment
  ASSERT_EQ(b["streams"].size(), a["streams"].size()) << b.dump(1);
  for (size_t i = 0; i < a["streams"].size(); ++i)
    EXPECT_EQ(essentials(b["streams"][i]), essentials(a["streams"][i])) << "stream " << i;
  EXPECT_EQ(b["streams"][5]["tags"]["filename"], "font.ttf");
  EXPECT_EQ(b["streams"][5]["extradata_size"], 3000);
  ASSERT_EQ(b["chapters"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b["chapters"][i]["start_time"], a["chapters"][i]["start_time"]);
    EXPECT_EQ(b["chapters"][i]["end_time"], a["chapters"][i]["end_time"]);
    EXPECT_EQ(b["chapters"][i]["tags"]["title"], a["chapters"][i]["tags"]["title"]);
  }
  EXPECT_EQ(b["format"]["tags"]["title"], "Holiday");
  nlohmann::json tags = a["format"]["tags"];
  tags.erase("ENCODER");
  nlohmann::json out_tags = b["format"]["tags"];
  out_tags.erase("ENCODER");
  EXPECT_EQ(out_tags, tags);
  EXPECT_TRUE(tags.contains("COMMENT") || tags.contains("comment")) << tags.dump();
  // Copied streams carry the same packets.
  for (const char* s : {"a:0", "a:1", "s:0", "s:1"}) {
    const std::string what = std::string("-select_streams ") + s + " -show_entries packet=pts,size";
    EXPECT_EQ(probe(out, what), probe(in, what)) << s;
  }
}

TEST(Transcode, TimecodeTrackIsKeptInQuickTime) {
  const auto dir = mmtest::temp_dir("transcode_tmcd");
  const fs::path in = ffmpeg(photos() + " -frames:v 4 -c:v libx264 -pix_fmt yuv420p -timecode 01:02:03:04", dir / "in.mov");
  const fs::path out = dir / "out.mov";
  Painter p;
  run(in, out, p);
  const auto a = probe(in), b = probe(out);
  ASSERT_EQ(a["streams"].size(), 2u) << a.dump(1);
  ASSERT_EQ(b["streams"].size(), 2u) << b.dump(1);
  EXPECT_EQ(b["streams"][1]["codec_type"], "data");
  EXPECT_EQ(b["streams"][1]["codec_tag_string"], "tmcd");
  EXPECT_EQ(b["streams"][1]["tags"]["timecode"], "01:02:03:04");
  EXPECT_EQ(b["streams"][0]["tags"]["timecode"], "01:02:03:04");
}

TEST(Transcode, Mp4SubtitlesAndStreamSideDataAreKept) {
  const auto dir = mmtest::temp_dir("transcode_mp4_side_data");
  mmtest::write_file(dir / "subs.srt", "1\n00:00:00,000 --> 00:00:00,150\nHello\n");
  const fs::path plain = ffmpeg(photos() + " -f lavfi -i sine=frequency=440:sample_rate=48000 -i " + q(dir / "subs.srt") +
                                    " -map 0:v -map 1:a -map 2 -frames:v 4 -t 0.16 -c:v libx264 -pix_fmt yuv420p -c:a aac"
                                    " -c:s mov_text -metadata:s:s:0 language=eng -metadata:s:a:0 language=fra",
                                dir / "plain.mp4");
  const fs::path in = dir / "in.mp4";
  add_hdr_side_data(plain, in);
  const fs::path out = dir / "out.mp4";
  Painter p;
  run(in, out, p);
  const auto a = probe(in), b = probe(out);
  ASSERT_EQ(a["streams"].size(), 3u) << a.dump(1);
  ASSERT_EQ(b["streams"].size(), 3u) << b.dump(1);
  ASSERT_TRUE(a["streams"][0].contains("side_data_list")) << a.dump(1);
  EXPECT_EQ(a["streams"][0]["side_data_list"].size(), 2u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(essentials(b["streams"][i]), essentials(a["streams"][i])) << "stream " << i;
  EXPECT_EQ(b["streams"][2]["codec_name"], "mov_text");
}

TEST(Transcode, EditedFramesKeepSarInterlacingAndColourTags) {
  const auto dir = mmtest::temp_dir("transcode_frame_props");
  const fs::path in = ffmpeg(photos() + " -frames:v 4 -vf scale=320:240,setsar=4/3 -c:v libx264 -pix_fmt yuv420p"
                                        " -flags +ildct+ilme -top 1 -color_primaries bt709 -color_trc bt709"
                                        " -colorspace bt709 -color_range tv",
                             dir / "in.mkv");
  const fs::path out = dir / "out.mkv";
  Painter p;
  ASSERT_EQ(run(in, out, p).frames, 4);
  const std::string what =
      "-select_streams v -show_entries frame=sample_aspect_ratio,interlaced_frame,top_field_first,color_range,"
      "color_space,color_primaries,color_transfer";
  const auto a = probe(in, what), b = probe(out, what);
  ASSERT_EQ(a["frames"].size(), 4u);
  EXPECT_EQ(a["frames"][0]["interlaced_frame"], 1);
  EXPECT_EQ(a["frames"][0]["sample_aspect_ratio"], "4:3");
  EXPECT_EQ(b, a);
}

// Pixel formats the engine edits (limited and full range, BT.709 and BT.2020, 8 and 10 bits,
// alpha, gray, RGB), and one it does not (12-bit: converted), through the transcoder with
// lossless video (FFV1 in Matroska, which keeps the colour tags): the painter's square is red in the frame's own matrix and range, and every
// sample outside it, alpha always, comes out bit-exact. The red is read back by ffmpeg with the
// stream's tags: a frame edited with the wrong matrix or range is visibly off red.
struct NativeCase {
  const char* format;  // the input's pixel format
  const char* tags;    // setparams arguments ("" : untagged, BT.601 limited)
  const char* edited;  // the format the editor gets
};
const NativeCase kNativeCases[] = {
    {"yuv420p", "range=pc:colorspace=bt709", "yuv420p"},
    {"yuv420p10le", "range=tv:colorspace=bt2020nc", "yuv420p10"},
    {"yuv444p10le", "range=pc:colorspace=bt2020nc", "yuv444p10"},
    {"yuv422p", "range=tv:colorspace=bt709", "yuv422p"},
    {"yuva420p", "range=tv:colorspace=bt709", "yuva420p"},
    {"gray", "", "gray"},
    {"bgr0", "", "bgr0"},
    {"yuv420p12le", "range=tv:colorspace=bt709", "yuv420p10"},
};

TEST(Transcode, NativeFramesKeepEverySampleOutsideTheEdit) {
  const auto dir = mmtest::temp_dir("transcode_native");
  for (const NativeCase& c : kNativeCases) {
    SCOPED_TRACE(c.format);
    const std::string name = c.format;
    const std::string tags = *c.tags ? std::string(",setparams=") + c.tags : "";
    const fs::path in = ffmpeg("-f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 2 -vf format=" + name + tags +
                                   " -c:v ffv1" +
                                   " -strict -1",
                               dir / (name + ".mkv"));
    const fs::path out = dir / (name + "_out.mkv");
    Painter p;
    p.square = 16;
    testing::internal::CaptureStderr();
    const TranscodeResult r = run(in, out, p);
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_EQ(r.frames, 2);
    ASSERT_EQ(p.formats.size(), 2u);
    EXPECT_EQ(p.formats[0], c.edited);
    EXPECT_EQ(r.converted, name.find(c.edited) != 0) << log;
    if (r.converted) {
      EXPECT_NE(log.find("are edited as"), std::string::npos) << log;
    }
    // Raw samples of both, in the input's format.
    const fs::path a = ffmpeg("-i " + q(in) + " -f rawvideo -pix_fmt " + name, dir / (name + "_in.raw"));
    const fs::path b = ffmpeg("-i " + q(out) + " -f rawvideo -pix_fmt " + name, dir / (name + "_out.raw"));
    const std::string ra = mmtest::read_file(a), rb = mmtest::read_file(b);
    const AVPixelFormat f = av_get_pix_fmt(c.format);
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
    const int frame_size = av_image_get_buffer_size(f, 64, 48, 1);
    ASSERT_EQ(ra.size(), size_t(2 * frame_size));
    ASSERT_EQ(rb.size(), ra.size());
    // A converted format went through swscale (to 10 bits and back): not bit-exact by design,
    // only the red square is checked for it.
    if (!r.converted) {
      for (int n = 0; n < 2; ++n) {
        const uint8_t* pa[4] = {};
        const uint8_t* pb[4] = {};
        int ls[4] = {};
        av_image_fill_arrays(const_cast<uint8_t**>(pa), ls, reinterpret_cast<const uint8_t*>(ra.data()) + n * frame_size,
                             f, 64, 48, 1);
        av_image_fill_arrays(const_cast<uint8_t**>(pb), ls, reinterpret_cast<const uint8_t*>(rb.data()) + n * frame_size,
                             f, 64, 48, 1);
        long kept_bad = 0, alpha_bad = 0, edited = 0;
        std::vector<uint16_t> la(64), lb(64);
        for (int k = 0; k < d->nb_components; ++k) {
          const bool alpha = (d->flags & AV_PIX_FMT_FLAG_ALPHA) && k == d->nb_components - 1;
          const bool chroma = !(d->flags & AV_PIX_FMT_FLAG_RGB) && (k == 1 || k == 2);
          const int sx = chroma ? d->log2_chroma_w : 0, sy = chroma ? d->log2_chroma_h : 0;
          for (int y = 0; y < AV_CEIL_RSHIFT(48, sy); ++y) {
            av_read_image_line2(la.data(), pa, ls, d, 0, y, k, AV_CEIL_RSHIFT(64, sx), 0, 2);
            av_read_image_line2(lb.data(), pb, ls, d, 0, y, k, AV_CEIL_RSHIFT(64, sx), 0, 2);
            for (int x = 0; x < AV_CEIL_RSHIFT(64, sx); ++x) {
              const bool in_square = (x << sx) < 16 && (y << sy) < 16;
              if (alpha) alpha_bad += la[size_t(x)] != lb[size_t(x)];
              else if (!in_square) kept_bad += la[size_t(x)] != lb[size_t(x)];
              else edited += la[size_t(x)] != lb[size_t(x)];
            }
          }
        }
        EXPECT_EQ(kept_bad, 0) << "frame " << n << ": samples outside the edit changed";
        EXPECT_EQ(alpha_bad, 0) << "frame " << n << ": alpha changed";
        EXPECT_GT(edited, 16 * 16 / 2) << "frame " << n << ": the square was not painted";
      }
    }
    // The square is red as the stream's tags read it (gray: the luma of red).
    const Frames shown = decode(out, dir);
    ASSERT_EQ(shown.rgb.size(), 2u);
    if (name == "gray") {
      EXPECT_NEAR(pixel(shown, 0, 8, 8, 0), 80, 15);  // 0.299 * 255, limited or full range
      continue;
    }
    EXPECT_GE(pixel(shown, 0, 8, 8, 0), 235) << "R";
    EXPECT_LE(pixel(shown, 0, 8, 8, 1), 20) << "G";
    EXPECT_LE(pixel(shown, 0, 8, 8, 2), 20) << "B";
  }
}

// A phone clip: the picture stored sideways (transposed), a display matrix that turns it upright.
fs::path phone_clip(const fs::path& dir, int frames) {
  const fs::path stored = ffmpeg(photos() + " -frames:v " + std::to_string(frames) +
                                     " -vf transpose=clock -c:v libx264 -pix_fmt yuv420p -crf 10",
                                 dir / "stored.mp4");
  return ffmpeg("-i " + q(stored) + " -c copy -metadata:s:v:0 rotate=90", dir / "phone.mp4");
}

TEST(Transcode, PhoneVideoIsEditedUprightAndKeepsItsDisplayMatrix) {
  const auto dir = mmtest::temp_dir("transcode_phone");
  const fs::path in = phone_clip(dir, 3), out = dir / "out.mp4";
  const Frames upright = decode(in, dir);  // as a player shows it (autorotated)
  ASSERT_EQ(upright.rgb.size(), 3u);
  ASSERT_EQ(upright.width, 300);  // the photos are 300x360, stored 360x300
  ASSERT_EQ(upright.height, 360);
  Painter p;
  p.keep = true;
  const TranscodeResult r = run(in, out, p);
  EXPECT_EQ(r.rotation, 270);  // clockwise; ffprobe says 90 (its matrices turn counter-clockwise)
  // The editor saw the upright picture: the player's frame, within compression error.
  ASSERT_EQ(p.seen.size(), 3u);
  EXPECT_EQ(p.seen[0].width(), 300);
  EXPECT_EQ(p.seen[0].height(), 360);
  long far = 0;
  for (int y = 0; y < 360; ++y)
    for (int x = 0; x < 300; ++x)
      for (int c = 0; c < 3; ++c) far += std::abs(p.seen[0].pixel(x, y)[c] - pixel(upright, 0, x, y, c)) > 12;
  EXPECT_LT(far, 300 * 360 * 3 / 100) << "the editor's frame is not the displayed picture";
  // Stored sideways with the same matrix, so a player shows the edit where the editor made it.
  const auto a = probe(in), b = probe(out);
  EXPECT_EQ(b["streams"][0]["width"], a["streams"][0]["width"]);
  EXPECT_EQ(b["streams"][0]["height"], a["streams"][0]["height"]);
  EXPECT_EQ(b["streams"][0]["side_data_list"], a["streams"][0]["side_data_list"]);
  const Frames shown = decode(out, dir);
  ASSERT_EQ(shown.rgb.size(), 3u);
  ASSERT_EQ(shown.width, 300);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(pixel(shown, i, 20, 20, 0), 200) << "frame " << i << ": the red square is not at the top left";
    EXPECT_LT(pixel(shown, i, 20, 20, 1), 60) << "frame " << i;
    EXPECT_LE(max_diff(shown, upright, i, 60, 60, 300, 360), 40) << "frame " << i << " changed outside the square";
  }
}

// The start of the 11th JPEG (0.400 s) of an MJPEG-in-Matroska clip overwritten with garbage:
// the container is intact, the decoder refuses that frame (ffmpeg: "Error while decoding").
TEST(Transcode, DamagedPacketsAreSkippedWithTheirTime) {
  const auto dir = mmtest::temp_dir("transcode_damaged");
  const fs::path in = ffmpeg(photos(0) + " -frames:v 20 -c:v mjpeg -q:v 3", dir / "in.mkv");
  rendertest::scribble_at_marker(in, "\xff\xd8\xff", 10, 400);
  const fs::path out = dir / "out.mkv";
  Painter p;
  testing::internal::CaptureStderr();
  TranscodeResult r;
  EXPECT_NO_THROW(r = run(in, out, p));
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.skipped, 1) << log;
  EXPECT_EQ(r.frames, 19) << log;
  EXPECT_NE(log.find("in.mkv: damaged video packet at 0.400 s ("), std::string::npos) << log;
  EXPECT_NE(log.find("); skipped"), std::string::npos) << log;
  EXPECT_EQ(rendertest::decoded_frames(out), 19);
}

// Garbage over a stretch in the middle of an MJPEG-in-AVI clip: whatever the decoder makes of
// it (concealment or refusal), the render ends normally with every frame accounted for.
TEST(Transcode, ScribbledMjpegStillRenders) {
  const auto dir = mmtest::temp_dir("transcode_scribbled");
  const fs::path in = ffmpeg(photos(0) + " -frames:v 20 -c:v mjpeg -q:v 3", dir / "in.avi");
  rendertest::scribble(in, static_cast<std::streamoff>(fs::file_size(in) / 2), 12000);
  Painter p;
  TranscodeResult r;
  EXPECT_NO_THROW(r = run(in, dir / "out.avi", p));
  EXPECT_GE(r.frames, 10);
  EXPECT_EQ(rendertest::decoded_frames(dir / "out.avi"), r.frames);
}

TEST(Transcode, DamagedH264InMatroskaStillRenders) {
  const auto dir = mmtest::temp_dir("transcode_damaged_h264");
  const fs::path in = ffmpeg(photos(0) + " -frames:v 20 -c:v libx264 -pix_fmt yuv420p -g 5", dir / "in.mkv");
  rendertest::scribble(in, static_cast<std::streamoff>(fs::file_size(in) / 2), 3000);
  const fs::path out = dir / "out.mkv";
  Painter p;
  TranscodeResult r;
  EXPECT_NO_THROW(r = run(in, out, p));
  EXPECT_GE(r.frames, 10);
  EXPECT_EQ(rendertest::decoded_frames(out), r.frames);
}

TEST(Transcode, AFailedEditKeepsThatFrameUneditedAndGoesOn) {
  const auto dir = mmtest::temp_dir("transcode_failed_edit");
  const fs::path in = ffmpeg(photos() + " -frames:v 5 -c:v png", dir / "in.mkv");
  const fs::path out = dir / "out.mkv";
  Painter p;
  p.fail = {2};
  testing::internal::CaptureStderr();
  const TranscodeResult r = run(in, out, p);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.frames, 5);
  EXPECT_EQ(r.failed_edits, 1);
  EXPECT_NE(log.find("frame 2 at 0.080 s: the edit failed (boom); kept unedited"), std::string::npos) << log;
  const Frames a = decode(in, dir), b = decode(out, dir);
  ASSERT_EQ(b.rgb.size(), 5u);
  EXPECT_EQ(b.rgb[2], a.rgb[2]) << "the failed frame is not the input frame";
  for (size_t i : {0u, 1u, 3u, 4u}) EXPECT_EQ(pixel(b, i, 10, 10, 0), 255) << "frame " << i << " not edited";
}

TEST(Transcode, ResolutionChangeMidStreamIsScaledToTheFirstSize) {
  const auto dir = mmtest::temp_dir("transcode_size_change");
  // Two MPEG-TS clips of different sizes, one after the other (same PIDs): one stream whose
  // size grows mid-file.
  const fs::path small = ffmpeg(photos() + " -frames:v 4 -vf scale=160:120 -c:v libx264 -pix_fmt yuv420p", dir / "a.ts");
  const fs::path large = ffmpeg(photos() + " -frames:v 4 -vf scale=640:480 -c:v libx264 -pix_fmt yuv420p"
                                           " -output_ts_offset 0.16", dir / "b.ts");  // timestamps go on
  const fs::path in = dir / "in.ts";
  mmtest::write_file(in, mmtest::read_file(small) + mmtest::read_file(large));
  const fs::path out = dir / "out.ts";
  Painter p;
  testing::internal::CaptureStderr();
  const TranscodeResult r = run(in, out, p);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.frames, 8) << log;
  EXPECT_EQ(r.resized, 4) << log;
  EXPECT_NE(log.find("changes size"), std::string::npos) << log;
  ASSERT_EQ(p.sizes.size(), 8u);
  for (const auto& s : p.sizes) EXPECT_EQ(s, std::make_pair(160, 120));
  EXPECT_EQ(rendertest::decoded_frames(out), 8);
  const auto b = probe(out);
  EXPECT_EQ(b["streams"][0]["width"], 160);
}

TEST(Transcode, ImageSequenceOutputIsRefused) {
  const auto dir = mmtest::temp_dir("transcode_nofile");
  const fs::path in = ffmpeg(photos() + " -frames:v 2 -c:v png", dir / "in.mkv");
  Painter p;
  try {
    run(in, dir / "%04d.png", p);
    ADD_FAILURE() << "no error";
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("writes several files"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rendertest::names_in(dir), std::vector<std::string>{"in.mkv"});
}

TEST(Transcode, SampleFramesHoldsAFewFramesOfALongClip) {
  const auto dir = mmtest::temp_dir("transcode_sample");
  const fs::path in = ffmpeg("-f lavfi -i testsrc=size=64x48:rate=25 -frames:v 300 -c:v libx264 -pix_fmt yuv420p", dir / "in.mp4");
  double fps = 0;
  const auto rows = micromotion::cli::sample_frames(in.string(), 4, -1, &fps);
  EXPECT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(fps, 25);
  const auto few = micromotion::cli::sample_frames(in.string(), 4, 3, &fps);
  EXPECT_EQ(few.size(), 3u);
}

}  // namespace
