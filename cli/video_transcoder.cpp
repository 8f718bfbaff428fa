// libav* transcoding (see video_transcoder.h).
#include "video_transcoder.h"

#include "av_native_frame.h"
#include "libav_handles.h"

#include <micromotion/error.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

namespace micromotion::cli {

namespace {

using namespace libav;  // NOLINT: the handles and checks of libav_handles.h

// Container tag of a segment: "PTS NUM DEN", its first frame's time in the input's time base.
constexpr const char* kSegmentStartTag = "micromotion_segment_start";

void warn(const std::string& text) { std::fprintf(stderr, "micromotion: warning: %s\n", text.c_str()); }

struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

FramePtr new_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("out of memory (av_frame_alloc)");
  return f;
}

// "at 1.240 s" for a timestamp of a stream (relative to its start), for warnings.
std::string at_time(int64_t ts, const AVStream* st) {
  if (ts == AV_NOPTS_VALUE) return "at an unknown time";
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "at %.3f s", double(ts - start) * av_q2d(st->time_base));
  return buf;
}

// Clockwise degrees (0, 90, 180, 270) that turn the stored picture into the displayed one: the
// rule of ffmpeg's autorotate (fftools get_rotation). Matrices that are not a quarter turn (or
// mirror) are ignored with a warning: the frame is edited as stored.
int display_rotation(const AVStream* st, const std::string& path) {
  const uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!m) return 0;
  const int32_t* matrix = reinterpret_cast<const int32_t*>(m);
  const double angle = av_display_rotation_get(matrix);
  if (std::isnan(angle)) return 0;
  double theta = -std::round(angle);
  theta -= 360 * std::floor(theta / 360 + 0.9 / 360);
  const int quarter = static_cast<int>(std::lround(theta / 90)) % 4;
  const bool mirrored = (int64_t(matrix[0]) * matrix[4] - int64_t(matrix[1]) * matrix[3]) < 0;
  if (std::fabs(theta - quarter * 90) > 1 || mirrored) {
    warn(path + ": display matrix is not a quarter turn; faces are looked for in the frame as stored");
    return 0;
  }
  return quarter * 90;
}

struct Decoder {
  std::unique_ptr<AVFormatContext, InputDeleter> fmt;
  std::unique_ptr<AVCodecContext, CodecDeleter> codec;
  int stream = -1;
  int rotation = 0;

  explicit Decoder(const std::string& path) {
    fmt = open_input(path);
    AVFormatContext* f = fmt.get();
    const AVCodec* dec = nullptr;
    stream = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
    if (stream < 0 || !dec) throw Error(path + ": no decodable video stream");
    codec.reset(avcodec_alloc_context3(dec));
    check(avcodec_parameters_to_context(codec.get(), f->streams[stream]->codecpar), path + ": decoder parameters");
    codec->thread_count = 0;
    // Slice threads only: with frame threads a damaged packet's error comes out frames later,
    // and the warning could not name its time. Decoding is a small part of a frame's cost here.
    codec->thread_type = FF_THREAD_SLICE;
    check(avcodec_open2(codec.get(), dec, nullptr), path + ": cannot open the " + dec->name + " decoder");
    if (codec->width <= 0 || codec->height <= 0) throw Error(path + ": the video stream has no frame size");
    rotation = display_rotation(st(), path);
  }
  AVStream* st() const { return fmt->streams[stream]; }
};

// Any size and pixel format to any other (RGB24 for the analysis commands; for render only a
// size change or a pixel format the engine does not edit), the contexts cached per pair of
// geometries. The destination size is always the destination's own, so a frame whose size
// changed mid-stream is scaled, never written past the end of a buffer.
class Converter {
 public:
  // src converted to RGB at w x h.
  void to_rgb(const AVFrame* src, ImageRGB8& dst, int w, int h) {
    dst = ImageRGB8(w, h);
    auto* ctx = get(src->width, src->height, AVPixelFormat(src->format), w, h, AV_PIX_FMT_RGB24);
    uint8_t* data[4] = {dst.data(), nullptr, nullptr, nullptr};
    int lines[4] = {static_cast<int>(dst.stride()), 0, 0, 0};
    sws_scale(ctx, src->data, src->linesize, 0, src->height, data, lines);
  }
  // src into dst's buffers (dst->width x dst->height, dst->format).
  void convert(const AVFrame* src, AVFrame* dst) {
    auto* ctx = get(src->width, src->height, AVPixelFormat(src->format), dst->width, dst->height,
                    AVPixelFormat(dst->format));
    sws_scale(ctx, src->data, src->linesize, 0, src->height, dst->data, dst->linesize);
  }

 private:
  std::map<std::tuple<int, int, int, int, int, int>, std::unique_ptr<SwsContext, SwsDeleter>> cache_;
  SwsContext* get(int sw, int sh, AVPixelFormat from, int dw, int dh, AVPixelFormat to) {
    auto& c = cache_[{sw, sh, int(from), dw, dh, int(to)}];
    if (!c) {
      c.reset(sws_getContext(sw, sh, from, dw, dh, to, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                             nullptr, nullptr));
      if (!c) throw Error(std::string("cannot convert between ") + av_get_pix_fmt_name(from) + " and " +
                          av_get_pix_fmt_name(to));
    }
    return c.get();
  }
};

bool is_lossless(AVCodecID id) {
  const AVCodecDescriptor* d = avcodec_descriptor_get(id);
  return d && (d->props & AV_CODEC_PROP_LOSSLESS) && !(d->props & AV_CODEC_PROP_LOSSY);
}

// Stream side data (display matrix, mastering display, content light level, ...) carried over.
// A re-encoded stream does not take the input's buffer model (CPB properties): its encoder's is
// different.
void copy_side_data(const AVStream* from, AVStream* to, bool reencoded, const std::string& out) {
  for (int i = 0; i < from->nb_side_data; ++i) {
    const AVPacketSideData& sd = from->side_data[i];
    if (reencoded && sd.type == AV_PKT_DATA_CPB_PROPERTIES) continue;
    uint8_t* d = av_stream_new_side_data(to, sd.type, sd.size);
    if (!d) throw Error(out + ": out of memory copying stream side data");
    std::memcpy(d, sd.data, sd.size);
  }
}

// ffmpeg's rule for stream copy: keep the input's codec tag when the muxer knows it for this
// codec, or has no tag of its own for the codec (a timecode track's 'tmcd', for instance).
uint32_t copied_codec_tag(const AVOutputFormat* of, const AVCodecParameters* p) {
  unsigned int tag = 0;
  if (!p->codec_tag) return 0;
  if (!of->codec_tag || av_codec_get_id(of->codec_tag, p->codec_tag) == p->codec_id ||
      !av_codec_get_tag2(of->codec_tag, p->codec_id, &tag))
    return p->codec_tag;
  return 0;
}

bool is_matroska(const AVOutputFormat* of) { return std::strcmp(of->name, "matroska") == 0; }
bool is_mov_family(const AVOutputFormat* of) {
  return std::strcmp(of->name, "mov") == 0 || std::strcmp(of->name, "mp4") == 0;
}

// Whether the output container can hold a copy of the stream: what the muxer says it supports,
// plus the two kinds it takes without a codec tag of its own (fonts and other attachments in
// Matroska, timecode tracks in QuickTime / MP4). A muxer that cannot tell (MPEG-TS) gets a try.
bool container_takes(const AVOutputFormat* of, const AVStream* s) {
  const AVCodecParameters* p = s->codecpar;
  if (p->codec_type == AVMEDIA_TYPE_ATTACHMENT) return is_matroska(of);
  if (p->codec_type == AVMEDIA_TYPE_DATA && p->codec_tag == MKTAG('t', 'm', 'c', 'd')) return is_mov_family(of);
  const int q = avformat_query_codec(of, p->codec_id, FF_COMPLIANCE_NORMAL);
  return q == 1 || (q < 0 && p->codec_id != AV_CODEC_ID_NONE);
}

void copy_chapters(const AVFormatContext* from, AVFormatContext* to, const std::string& out) {
  if (from->nb_chapters == 0) return;
  to->chapters = static_cast<AVChapter**>(av_calloc(from->nb_chapters, sizeof(AVChapter*)));
  if (!to->chapters) throw Error(out + ": out of memory copying chapters");
  for (unsigned i = 0; i < from->nb_chapters; ++i) {
    const AVChapter* c = from->chapters[i];
    auto* d = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
    if (!d) throw Error(out + ": out of memory copying chapters");
    to->chapters[to->nb_chapters++] = d;  // owned by `to` from here (avformat_free_context frees it)
    d->id = c->id;
    d->time_base = c->time_base;
    d->start = c->start;
    d->end = c->end;
    av_dict_copy(&d->metadata, c->metadata, 0);
  }
}

// Every stream of `from` but `skip` that the output container can hold, copied (parameters,
// codec tag, time base, rates, disposition, metadata, side data); map[i] is its output index, -1
// for a stream not copied (warned). Then the container's metadata and chapters.
void add_copied_streams(const AVFormatContext* from, int skip, AVFormatContext* to, std::vector<int>& map,
                        const std::string& out) {
  for (unsigned i = 0; i < from->nb_streams; ++i) {
    if (static_cast<int>(i) == skip) continue;
    AVStream* s = from->streams[i];
    if (!container_takes(to->oformat, s)) {
      warn("stream " + std::to_string(i) + " (" + av_get_media_type_string(s->codecpar->codec_type) + ", " +
           avcodec_get_name(s->codecpar->codec_id) + ") cannot go into " + to->oformat->name + "; dropped");
      continue;
    }
    AVStream* c = avformat_new_stream(to, nullptr);
    if (!c) throw Error(out + ": out of memory (stream)");
    check(avcodec_parameters_copy(c->codecpar, s->codecpar), out + ": stream copy");
    c->codecpar->codec_tag = copied_codec_tag(to->oformat, s->codecpar);
    c->time_base = s->time_base;
    c->avg_frame_rate = s->avg_frame_rate;
    c->r_frame_rate = s->r_frame_rate;
    c->sample_aspect_ratio = s->codecpar->sample_aspect_ratio;
    c->disposition = s->disposition;
    av_dict_copy(&c->metadata, s->metadata, 0);
    copy_side_data(s, c, false, out);
    map[i] = c->index;
  }
  av_dict_copy(&to->metadata, from->metadata, 0);
  copy_chapters(from, to, out);
}

// The video stream's description in the output, from the input's video stream: rates,
// disposition, metadata (less the input's encoder tag) and side data (display matrix, HDR).
void describe_video_stream(const AVStream* ist, AVStream* ost, const std::string& out) {
  ost->avg_frame_rate = ist->avg_frame_rate;
  ost->r_frame_rate = ist->r_frame_rate;
  ost->disposition = ist->disposition;
  av_dict_copy(&ost->metadata, ist->metadata, 0);
  av_dict_set(&ost->metadata, "encoder", nullptr, 0);  // the input's encoder did not make this stream
  copy_side_data(ist, ost, true, out);
}

// A packet of a copied stream, rescaled and written (consumed). A packet whose timestamps the
// muxer refuses (out of order) is dropped with a warning; any other write error throws.
void write_copied_packet(const AVFormatContext* ifmt, AVFormatContext* ofmt, int out_stream, AVPacket* pkt,
                         const std::string& in, const std::string& out) {
  AVStream* os = ofmt->streams[out_stream];
  const int si = pkt->stream_index;
  av_packet_rescale_ts(pkt, ifmt->streams[si]->time_base, os->time_base);
  pkt->stream_index = os->index;
  pkt->pos = -1;
  const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  const int w = av_interleaved_write_frame(ofmt, pkt);
  if (w == AVERROR(EINVAL)) {  // out-of-order timestamps: the packet is lost, the rest goes on
    warn(in + ": packet of stream " + std::to_string(si) + " " + at_time(ts, os) + " cannot be written (" +
         av_error(w) + "); dropped");
  } else {
    check(w, out + ": writing a copied stream");
  }
}

}  // namespace

TranscodeResult transcode(const std::string& in, const std::string& out, const TranscodeOptions& options,
                          FrameEditor& editor, const std::atomic<bool>* stop,
                          const std::function<void(const TranscodeProgress&)>& progress) {
  Decoder dec(in);
  AVStream* ist = dec.st();
  const VideoIndex* segment = options.index;
  if (segment && segment->stream != dec.stream) throw Error("internal: the index is of another stream of " + in);
  const std::string& target = options.write_path.empty() ? out : options.write_path;

  AVFormatContext* o = nullptr;
  check(avformat_alloc_output_context2(&o, nullptr, nullptr, out.c_str()), out + ": unknown output format");
  std::unique_ptr<AVFormatContext, OutputDeleter> ofmt(o);
  if (ofmt->oformat->flags & AVFMT_NOFILE)
    throw Error(out + ": the " + ofmt->oformat->name + " format writes several files; render writes one video file");

  // The video encoder: the input's codec unless told otherwise.
  const AVCodec* enc = nullptr;
  if (!options.codec.empty()) {
    enc = avcodec_find_encoder_by_name(options.codec.c_str());
    if (!enc) throw Error("--codec " + options.codec + ": no such encoder in this FFmpeg");
  } else {
    enc = avcodec_find_encoder(ist->codecpar->codec_id);
    if (!enc)
      throw Error(in + ": no encoder for its video codec " + avcodec_get_name(ist->codecpar->codec_id) +
                  "; pass --codec NAME (e.g. libx264)");
  }
  std::unique_ptr<AVCodecContext, CodecDeleter> ec(avcodec_alloc_context3(enc));
  ec->width = dec.codec->width;
  ec->height = dec.codec->height;
  ec->sample_aspect_ratio = av_guess_sample_aspect_ratio(dec.fmt.get(), ist, nullptr);
  ec->time_base = ist->time_base;
  ec->framerate = av_guess_frame_rate(dec.fmt.get(), ist, nullptr);
  ec->color_range = dec.codec->color_range;
  ec->colorspace = dec.codec->colorspace;
  ec->color_primaries = dec.codec->color_primaries;
  ec->color_trc = dec.codec->color_trc;
  ec->chroma_sample_location = dec.codec->chroma_sample_location;
  ec->field_order = ist->codecpar->field_order;
  // Interlaced input stays interlaced (field-coded), as the frames' flags say.
  if (ec->field_order != AV_FIELD_PROGRESSIVE && ec->field_order != AV_FIELD_UNKNOWN)
    ec->flags |= AV_CODEC_FLAG_INTERLACED_DCT | AV_CODEC_FLAG_INTERLACED_ME;
  ec->pix_fmt = dec.codec->pix_fmt;
  if (enc->pix_fmts) {
    bool supported = false;
    for (const AVPixelFormat* p = enc->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) supported = supported || *p == ec->pix_fmt;
    if (!supported) ec->pix_fmt = avcodec_find_best_pix_fmt_of_list(enc->pix_fmts, dec.codec->pix_fmt, 0, nullptr);
  }
  const bool lossless = options.codec.empty() && is_lossless(ist->codecpar->codec_id);
  const std::string ename = enc->name;
  if (ename == "libx264" || ename == "libx265") {
    av_opt_set(ec->priv_data, "crf", std::to_string(options.crf >= 0 ? options.crf : 18).c_str(), 0);
    av_opt_set(ec->priv_data, "preset", "medium", 0);
  } else if (ename == "libvpx-vp9" || ename == "libaom-av1") {
    av_opt_set(ec->priv_data, "crf", std::to_string(options.crf >= 0 ? options.crf : 24).c_str(), 0);
    ec->bit_rate = 0;
  } else if (!lossless) {
    const int64_t rate = ist->codecpar->bit_rate > 0 ? ist->codecpar->bit_rate : dec.fmt->bit_rate;
    if (rate > 0) ec->bit_rate = rate;
    if (ist->codecpar->codec_id == AV_CODEC_ID_MJPEG || ist->codecpar->codec_id == AV_CODEC_ID_MPEG4) {
      ec->flags |= AV_CODEC_FLAG_QSCALE;
      ec->global_quality = FF_QP2LAMBDA * 2;
    }
  }
  if (ofmt->oformat->flags & AVFMT_GLOBALHEADER) ec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  ec->thread_count = 0;
  check(avcodec_open2(ec.get(), enc, nullptr), out + ": cannot open the " + ename + " encoder");

  // Output streams: the edited video, and every other stream copied, in the input's order of
  // kinds (the video first, as before). Disposition, metadata and side data go with each.
  std::vector<int> map(dec.fmt->nb_streams, -1);
  AVStream* ost = avformat_new_stream(ofmt.get(), nullptr);
  if (!ost) throw Error(out + ": out of memory (stream)");
  check(avcodec_parameters_from_context(ost->codecpar, ec.get()), out + ": video stream parameters");
  ost->time_base = ec->time_base;
  ost->sample_aspect_ratio = ec->sample_aspect_ratio;
  describe_video_stream(ist, ost, out);
  map[dec.stream] = ost->index;
  // A segment holds the video alone: merge takes every other stream from the input.
  if (!segment) add_copied_streams(dec.fmt.get(), dec.stream, ofmt.get(), map, out);
  // A container that cannot store a negative decode time (NUT, Matroska) shifts every time of a
  // B-frame stream forward; the first frame's true time lets merge undo that.
  if (segment) {
    const std::string first = std::to_string(segment->pts[static_cast<size_t>(options.segment.begin)]) + " " +
                              std::to_string(ist->time_base.num) + " " + std::to_string(ist->time_base.den);
    av_dict_set(&ofmt->metadata, kSegmentStartTag, first.c_str(), 0);
  }
  check(avio_open(&ofmt->pb, target.c_str(), AVIO_FLAG_WRITE), target + ": cannot write");
  check(avformat_write_header(ofmt.get(), nullptr), out + ": cannot write the header");

  TranscodeResult result;
  result.video_codec = ename;
  result.lossless = lossless;
  result.rotation = dec.rotation;
  Converter conv;
  PacketPtr pkt(av_packet_alloc()), opkt(av_packet_alloc());
  FramePtr frame = new_frame();
  std::map<int64_t, FramePtr> originals;  // decoded frames waiting for their edit, by index
  int64_t next_index = 0, last_pts = AV_NOPTS_VALUE, last_sent = AV_NOPTS_VALUE;
  std::set<int> late_streams;  // streams that appeared after the header, warned once
  TranscodeProgress prog;
  if (ist->nb_frames > 0) prog.frames_total = ist->nb_frames;
  else if (ist->duration > 0 && ist->avg_frame_rate.num > 0)
    prog.frames_total = av_rescale_q(ist->duration, ist->time_base, av_inv_q(ist->avg_frame_rate));
  else if (dec.fmt->duration > 0 && ist->avg_frame_rate.num > 0)
    prog.frames_total = av_rescale_q(dec.fmt->duration, AV_TIME_BASE_Q, av_inv_q(ist->avg_frame_rate));
  if (options.max_frames >= 0 && (prog.frames_total == 0 || options.max_frames < prog.frames_total))
    prog.frames_total = options.max_frames;
  if (segment) {
    prog.frames_total = options.segment.end - options.segment.begin;
    // Start decoding at the keyframe at or before the pre-roll (by its time). A failed seek
    // leaves the position at the start: slower, still right.
    const auto& kf = segment->keyframes;
    auto it = std::upper_bound(kf.begin(), kf.end(), options.segment.preroll_begin);
    const int64_t key = it == kf.begin() ? 0 : *(it - 1);
    const int64_t key_pts = segment->pts[static_cast<size_t>(key)];
    if (key > 0 && avformat_seek_file(dec.fmt.get(), dec.stream, INT64_MIN, key_pts, key_pts, 0) >= 0)
      avcodec_flush_buffers(dec.codec.get());
  }
  bool first_in_segment = true;

  auto write_encoded = [&]() {
    for (;;) {
      const int r = avcodec_receive_packet(ec.get(), opkt.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      check(r, out + ": encoding");
      av_packet_rescale_ts(opkt.get(), ec->time_base, ost->time_base);
      opkt->stream_index = ost->index;
      check(av_interleaved_write_frame(ofmt.get(), opkt.get()), out + ": writing video");
    }
  };
  auto encode = [&](EditedFrame& e) {
    auto it = originals.find(e.index);
    if (it == originals.end()) throw Error("internal: edited frame " + std::to_string(e.index) + " has no source");
    FramePtr src = std::move(it->second);
    originals.erase(it);
    if (segment && e.index < options.segment.begin) return;  // pre-roll: edited, not written
    const int64_t ts = src->best_effort_timestamp != AV_NOPTS_VALUE ? src->best_effort_timestamp : src->pts;
    if (!e.error.empty()) {
      warn(in + ": frame " + std::to_string(e.index) + " " + at_time(ts, ist) + ": the edit failed (" + e.error +
           "); kept unedited");
      ++result.failed_edits;
    }
    FramePtr f = new_frame();
    if (src->format == ec->pix_fmt) {
      check(av_frame_ref(f.get(), src.get()), "frame copy");
    } else {  // the encoder takes another format than the one edited
      f->format = ec->pix_fmt;
      f->width = ec->width;
      f->height = ec->height;
      check(av_frame_get_buffer(f.get(), 0), "frame buffer");
      check(av_frame_copy_props(f.get(), src.get()), "frame properties");
      conv.convert(src.get(), f.get());
    }
    // Presentation times only move forward (a timestamp jump back, as in joined MPEG-TS files,
    // would make the encoder and muxer refuse the frame): a late frame follows its predecessor.
    f->pts = ts == AV_NOPTS_VALUE || (last_pts != AV_NOPTS_VALUE && ts <= last_pts)
                 ? (last_pts == AV_NOPTS_VALUE ? 0 : last_pts + 1)
                 : ts;
    last_pts = f->pts;
    f->pict_type = AV_PICTURE_TYPE_NONE;
    f->color_range = ec->color_range;
    check(avcodec_send_frame(ec.get(), f.get()), out + ": encoding");
    write_encoded();
    ++prog.frames_done;
    if (progress) progress(prog);
  };
  auto drain = [&](bool wait) {
    while (auto e = editor.receive(wait)) encode(*e);
  };
  bool input_done = false;
  auto take_decoded = [&]() {
    for (;;) {
      const int r = avcodec_receive_frame(dec.codec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) {  // a frame the decoder gave up on: skipped, the next ones still come
        warn(in + ": cannot decode the video frame of the packet " + at_time(last_sent, ist) + " (" + av_error(r) +
             "); skipped");
        ++result.skipped;
        return;
      }
      if (options.max_frames >= 0 && next_index >= options.max_frames) {
        av_frame_unref(frame.get());
        input_done = true;
        return;
      }
      const int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
      if (segment) {  // frames are known by their time: the frame number is the index's
        const int64_t n = ts == AV_NOPTS_VALUE ? -1 : segment->frame_at(ts);
        if (n < 0) {
          warn(in + ": a decoded frame " + at_time(ts, ist) + " is not in the index; skipped");
          av_frame_unref(frame.get());
          continue;
        }
        if (n < options.segment.preroll_begin) {
          av_frame_unref(frame.get());
          continue;
        }
        if (n >= options.segment.end) {
          av_frame_unref(frame.get());
          input_done = true;
          return;
        }
        if (first_in_segment) {
          first_in_segment = false;
          if (n > options.segment.begin)
            throw Error(in + ": seeking for frame " + std::to_string(options.segment.preroll_begin) +
                        " landed at frame " + std::to_string(n) + "; this file cannot be rendered in segments");
          if (n > options.segment.preroll_begin)
            warn(in + ": the pre-roll starts at frame " + std::to_string(n) + ", not " +
                 std::to_string(options.segment.preroll_begin) + " (frames before it did not decode)");
        }
        next_index = n;
      }
      const int64_t start = ist->start_time != AV_NOPTS_VALUE ? ist->start_time : 0;
      const double seconds = ts == AV_NOPTS_VALUE ? double(next_index) * av_q2d(av_inv_q(ec->framerate))
                                                  : double(ts - start) * av_q2d(ist->time_base);
      if (frame->width != ec->width || frame->height != ec->height) {
        if (result.resized == 0)
          warn(in + ": the video changes size " + at_time(ts, ist) + " (" + std::to_string(ec->width) + "x" +
               std::to_string(ec->height) + " to " + std::to_string(frame->width) + "x" +
               std::to_string(frame->height) + "); frames are scaled to the first size");
        ++result.resized;
      }
      // The frame the editor edits in place: the decoded one (copied when the decoder still
      // holds it), or, for another size or a format the engine does not edit, its conversion
      // (to the closest format it does edit).
      const AVPixelFormat edit_fmt = edit_format(AVPixelFormat(frame->format));
      if (edit_fmt == AV_PIX_FMT_NONE) throw Error(in + ": decoded frames have no pixel format the engine can edit");
      if (edit_fmt != frame->format && !result.converted) {
        warn(in + ": frames in " + av_get_pix_fmt_name(AVPixelFormat(frame->format)) + " are edited as " +
             av_get_pix_fmt_name(edit_fmt) + " (the engine does not edit " +
             av_get_pix_fmt_name(AVPixelFormat(frame->format)) + " as it is)");
        result.converted = true;
      }
      if (result.pixel_format.empty()) result.pixel_format = av_get_pix_fmt_name(edit_fmt);
      FramePtr keep = new_frame();
      if (frame->width == ec->width && frame->height == ec->height && frame->format == edit_fmt) {
        av_frame_move_ref(keep.get(), frame.get());
        check(av_frame_make_writable(keep.get()), "frame copy");
      } else {
        keep->format = edit_fmt;
        keep->width = ec->width;
        keep->height = ec->height;
        check(av_frame_get_buffer(keep.get(), 0), "frame buffer");
        check(av_frame_copy_props(keep.get(), frame.get()), "frame properties");
        conv.convert(frame.get(), keep.get());
        av_frame_unref(frame.get());
      }
      NativeFrame view = native_view(keep.get(), dec.rotation);
      originals[next_index] = std::move(keep);
      editor.submit(view, next_index, seconds, ts == AV_NOPTS_VALUE ? std::nan("") : double(ts));
      ++next_index;
      drain(false);
    }
  };
  // A packet the decoder refuses (damaged data) is skipped, as ffmpeg does.
  auto send = [&](const AVPacket* p) {
    if (p) last_sent = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
    const int r = avcodec_send_packet(dec.codec.get(), p);
    if (r < 0 && r != AVERROR_EOF) {
      const int64_t ts = !p ? AV_NOPTS_VALUE : p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
      warn(in + ": damaged video packet " + at_time(ts, ist) + " (" + av_error(r) + "); skipped");
      ++result.skipped;
    }
  };

  while (!input_done) {
    if (stop && stop->load()) {
      result.interrupted = true;
      break;
    }
    const int r = av_read_frame(dec.fmt.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    if (r == AVERROR(EAGAIN)) continue;
    if (r < 0) {  // what was read is kept: the file is finished as far as the input goes
      result.read_error = av_error(r);
      warn(in + ": read error after " + std::to_string(next_index) + " frames (" + result.read_error +
           "); the rest of the input is lost, the output is finished there");
      break;
    }
    const auto si = static_cast<size_t>(pkt->stream_index);
    if (si >= map.size()) {
      if (late_streams.insert(pkt->stream_index).second)
        warn(in + ": stream " + std::to_string(pkt->stream_index) + " starts mid-file; not copied");
      av_packet_unref(pkt.get());
    } else if (pkt->stream_index == dec.stream) {
      send(pkt.get());
      av_packet_unref(pkt.get());
      take_decoded();
    } else if (map[si] >= 0) {
      write_copied_packet(dec.fmt.get(), ofmt.get(), map[si], pkt.get(), in, out);
    } else {
      av_packet_unref(pkt.get());
    }
  }
  if (!result.interrupted && !input_done) {
    send(nullptr);
    take_decoded();
    // take_decoded returns after a frame it could not decode: keep going until the end.
    for (int64_t before = -1; before != result.skipped && !input_done;) {
      before = result.skipped;
      take_decoded();
    }
  }
  editor.finish();
  drain(true);
  check(avcodec_send_frame(ec.get(), nullptr), out + ": flushing the encoder");
  write_encoded();
  check(av_write_trailer(ofmt.get()), out + ": writing the trailer");
  check(avio_closep(&ofmt->pb), target + ": closing");
  result.frames = prog.frames_done;
  return result;
}

std::vector<ImageRGB8> decode_frames(const std::string& in, int64_t step, int64_t max_frames, double* fps) {
  Decoder dec(in);
  if (fps) *fps = av_q2d(av_guess_frame_rate(dec.fmt.get(), dec.st(), nullptr));
  std::vector<ImageRGB8> frames;
  Converter conv;
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame = new_frame();
  int64_t index = 0;
  auto take = [&]() {
    for (;;) {
      const int r = avcodec_receive_frame(dec.codec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      check(r, in + ": decoding");
      if (index++ % std::max<int64_t>(1, step) == 0 && static_cast<int64_t>(frames.size()) < max_frames) {
        frames.emplace_back();
        conv.to_rgb(frame.get(), frames.back(), frame->width, frame->height);
      }
      av_frame_unref(frame.get());
    }
  };
  while (static_cast<int64_t>(frames.size()) < max_frames) {
    const int r = av_read_frame(dec.fmt.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    check(r, in + ": reading");
    if (pkt->stream_index == dec.stream) check(avcodec_send_packet(dec.codec.get(), pkt.get()), in + ": decoding");
    av_packet_unref(pkt.get());
    take();
  }
  avcodec_send_packet(dec.codec.get(), nullptr);
  take();
  return frames;
}

std::vector<ImageRGB8> sample_frames(const std::string& in, int count, int64_t max_frames, double* fps) {
  Decoder dec(in);
  if (fps) *fps = av_q2d(av_guess_frame_rate(dec.fmt.get(), dec.st(), nullptr));
  struct Kept {
    int64_t index;
    ImageRGB8 image;
  };
  std::vector<Kept> kept;
  const size_t n = static_cast<size_t>(std::max(1, count));
  int64_t stride = 1, index = 0;
  bool done = false;
  const int width = dec.codec->width, height = dec.codec->height;  // the decoder's change with the stream
  Converter conv;
  PacketPtr pkt(av_packet_alloc());
  FramePtr frame = new_frame();
  auto take = [&]() {
    for (;;) {
      const int r = avcodec_receive_frame(dec.codec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      if (r < 0) return;  // damaged: skipped
      if (max_frames >= 0 && index >= max_frames) {
        done = true;
        av_frame_unref(frame.get());
        return;
      }
      if (index % stride == 0) {
        ImageRGB8 rgb;
        conv.to_rgb(frame.get(), rgb, width, height);
        kept.push_back({index, turned_rgb8(rgb.view(), dec.rotation)});
        if (kept.size() > 2 * n) {  // twice as many as needed: keep every other one, and from now on
          std::vector<Kept> half;
          for (auto& k : kept)
            if (k.index % (2 * stride) == 0) half.push_back(std::move(k));
          kept = std::move(half);
          stride *= 2;
        }
      }
      ++index;
      av_frame_unref(frame.get());
    }
  };
  while (!done) {
    const int r = av_read_frame(dec.fmt.get(), pkt.get());
    if (r < 0 && r != AVERROR(EAGAIN)) break;
    if (r == 0 && pkt->stream_index == dec.stream) avcodec_send_packet(dec.codec.get(), pkt.get());
    av_packet_unref(pkt.get());
    take();
  }
  if (!done) {
    avcodec_send_packet(dec.codec.get(), nullptr);
    for (int i = 0; i < 64 && !done; ++i) take();  // past frames the decoder gave up on
  }
  std::vector<ImageRGB8> out;
  for (size_t r = 0; r < std::min(n, kept.size()); ++r) out.push_back(std::move(kept[r * kept.size() / std::min(n, kept.size())].image));
  return out;
}



namespace {

struct Input {
  std::unique_ptr<AVFormatContext, InputDeleter> fmt;
  int video = -1;
  explicit Input(const std::string& path) {
    fmt = open_input(path);
    AVFormatContext* f = fmt.get();
    video = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (video < 0) throw Error(path + ": no video stream");
  }
  AVStream* st() const { return fmt->streams[video]; }
};

// What one segment holds, from a first pass over its packets.
struct SegmentFile {
  std::string path;
  int64_t first = -1, last = -1, count = 0;  // frame numbers of IN
  int64_t shift = 0;  // what the segment's muxer added to its times (segment time base)
};

// The muxer's shift of a segment: its earliest frame time less the true one its tag records
// (0 without the tag: a file from elsewhere is taken at its word).
int64_t segment_shift(const AVFormatContext* f, const AVStream* vs, int64_t earliest_pts) {
  const AVDictionaryEntry* e = av_dict_get(f->metadata, kSegmentStartTag, nullptr, 0);
  long long pts = 0;
  int num = 0, den = 0;
  if (!e || std::sscanf(e->value, "%lld %d %d", &pts, &num, &den) != 3 || num <= 0 || den <= 0) return 0;
  return earliest_pts - av_rescale_q(pts, AVRational{num, den}, vs->time_base);
}

std::string frames_text(const VideoIndex& idx, int64_t a, int64_t b) {
  const double tb = double(idx.tb_num) / idx.tb_den, t0 = double(idx.pts[0]);
  auto at = [&](int64_t n) { return (double(idx.pts[static_cast<size_t>(n)]) - t0) * tb; };
  char buf[96];
  if (a == b) std::snprintf(buf, sizeof buf, "frame %lld (%.3f s)", static_cast<long long>(a), at(a));
  else std::snprintf(buf, sizeof buf, "frames %lld-%lld (%.3f-%.3f s)", static_cast<long long>(a),
                     static_cast<long long>(b), at(a), at(b));
  return buf;
}

// The codec settings two segments must share to be joined: the first that differs, or "".
std::string codec_difference(const AVCodecParameters* a, const AVCodecParameters* b) {
  auto num = [](const char* what, int64_t x, int64_t y) {
    return x == y ? std::string() : std::string(what) + " " + std::to_string(x) + " vs " + std::to_string(y);
  };
  if (a->codec_id != b->codec_id)
    return std::string("codec ") + avcodec_get_name(a->codec_id) + " vs " + avcodec_get_name(b->codec_id);
  if (a->format != b->format) {
    const char* x = av_get_pix_fmt_name(AVPixelFormat(a->format));
    const char* y = av_get_pix_fmt_name(AVPixelFormat(b->format));
    return std::string("pixel format ") + (x ? x : "?") + " vs " + (y ? y : "?");
  }
  for (const std::string& d : {num("width", a->width, b->width), num("height", a->height, b->height),
                               num("profile", a->profile, b->profile), num("level", a->level, b->level),
                               num("colour range", a->color_range, b->color_range),
                               num("colour space", a->color_space, b->color_space),
                               num("field order", a->field_order, b->field_order)})
    if (!d.empty()) return d;
  if (a->extradata_size != b->extradata_size ||
      (a->extradata_size > 0 && std::memcmp(a->extradata, b->extradata, size_t(a->extradata_size)) != 0))
    return "codec headers (extradata, " + std::to_string(a->extradata_size) + " vs " +
           std::to_string(b->extradata_size) + " bytes): other encoder settings";
  return "";
}

}  // namespace

MergeResult merge_segments(const std::string& in, const std::string& out, const std::vector<std::string>& segments,
                           const std::string& write_path) {
  if (segments.empty()) throw Error("merge: no segments given");
  const VideoIndex idx = index_video(in);
  const AVRational in_tb{idx.tb_num, idx.tb_den};

  // Pass 1: which frames of IN each segment holds; the codec settings they share.
  std::vector<SegmentFile> segs;
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> first_par(
      nullptr, [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  std::string first_path;
  int64_t reorder = 0;
  PacketPtr pkt(av_packet_alloc());
  for (const std::string& path : segments) {
    Input s(path);
    const AVStream* vs = s.st();
    if (!first_par) {
      first_par.reset(avcodec_parameters_alloc());
      if (!first_par) throw Error("out of memory");
      check(avcodec_parameters_copy(first_par.get(), vs->codecpar), path + ": stream parameters");
      first_path = path;
    } else if (const std::string d = codec_difference(vs->codecpar, first_par.get()); !d.empty()) {
      throw Error("merge: " + path + " has other codec settings than " + first_path + " (" + d +
                  "); render every segment with the same options");
    }
    SegmentFile f;
    f.path = path;
    bool first_packet = true;
    std::vector<int64_t> times;
    for (;;) {
      const int r = av_read_frame(s.fmt.get(), pkt.get());
      if (r == AVERROR_EOF) break;
      if (r == AVERROR(EAGAIN)) continue;
      check(r, path + ": reading");
      if (pkt->stream_index == s.video) {
        if (first_packet && !(pkt->flags & AV_PKT_FLAG_KEY))
          throw Error("merge: " + path + " does not start with a keyframe; it cannot be joined without re-encoding");
        first_packet = false;
        if (pkt->pts == AV_NOPTS_VALUE) throw Error("merge: " + path + " has a video packet without a time");
        times.push_back(pkt->pts);
      }
      av_packet_unref(pkt.get());
    }
    if (!times.empty()) f.shift = segment_shift(s.fmt.get(), vs, *std::min_element(times.begin(), times.end()));
    {  // reorder depth: how many frames a packet comes before its display position at most
      std::vector<int64_t> shown = times;
      std::sort(shown.begin(), shown.end());
      for (size_t k = 0; k < times.size(); ++k) {
        const auto rank = std::lower_bound(shown.begin(), shown.end(), times[k]) - shown.begin();
        reorder = std::max<int64_t>(reorder, static_cast<int64_t>(k) - rank);
      }
    }
    for (const int64_t pts : times) {
      const int64_t n = idx.frame_at(av_rescale_q(pts - f.shift, vs->time_base, in_tb));
      if (n < 0)
        throw Error("merge: " + path + " holds a frame " + at_time(pts - f.shift, vs) + " that " + in +
                    " does not have; it is not a segment of " + in);
      f.first = f.first < 0 ? n : std::min(f.first, n);
      f.last = std::max(f.last, n);
      ++f.count;
    }
    if (f.count == 0) throw Error("merge: " + path + " holds no video frames");
    segs.push_back(f);
  }
  std::stable_sort(segs.begin(), segs.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.first < b.first; });
  MergeResult result;
  int64_t next = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const SegmentFile& f = segs[i];
    if (f.first > next)
      throw Error("merge: " + frames_text(idx, next, f.first - 1) + " of " + in + " are missing: in no segment " +
                  (i == 0 ? "(the first given, " + f.path + ", starts after them)"
                          : "(between " + segs[i - 1].path + " and " + f.path + ")"));
    if (f.first < next)
      throw Error("merge: " + segs[i - 1].path + " and " + f.path + " overlap: both hold " +
                  frames_text(idx, f.first, std::min(next - 1, f.last)));
    result.holes += f.last - f.first + 1 - f.count;
    next = f.last + 1;
  }
  if (next < idx.frames())
    throw Error("merge: " + frames_text(idx, next, idx.frames() - 1) + " of " + in + " are missing: in no segment (" +
                segs.back().path + " ends before them)");
  if (result.holes)
    warn(std::to_string(result.holes) + " frames inside the segments are not there (skipped as damaged when rendered)");

  // The output: the segments' video with IN's description of it, IN's other streams.
  Input src(in);
  const std::string& target = write_path.empty() ? out : write_path;
  AVFormatContext* o = nullptr;
  check(avformat_alloc_output_context2(&o, nullptr, nullptr, out.c_str()), out + ": unknown output format");
  std::unique_ptr<AVFormatContext, OutputDeleter> ofmt(o);
  if (ofmt->oformat->flags & AVFMT_NOFILE)
    throw Error(out + ": the " + ofmt->oformat->name + " format writes several files; merge writes one video file");
  AVStream* ost = avformat_new_stream(ofmt.get(), nullptr);
  if (!ost) throw Error(out + ": out of memory (stream)");
  check(avcodec_parameters_copy(ost->codecpar, first_par.get()), out + ": video stream parameters");
  ost->codecpar->codec_tag = copied_codec_tag(ofmt->oformat, first_par.get());
  ost->time_base = in_tb;
  ost->sample_aspect_ratio = first_par->sample_aspect_ratio;
  describe_video_stream(src.st(), ost, out);
  std::vector<int> map(src.fmt->nb_streams, -1);
  add_copied_streams(src.fmt.get(), src.video, ofmt.get(), map, out);
  check(avio_open(&ofmt->pb, target.c_str(), AVIO_FLAG_WRITE), target + ": cannot write");
  check(avformat_write_header(ofmt.get(), nullptr), out + ": cannot write the header");

  // Pass 2: packets of both sides in time order (by dts), so the muxer interleaves without
  // holding much: the current segment's video, IN's other streams.
  PacketPtr other(av_packet_alloc());
  bool other_ready = false, other_done = false;
  auto next_other = [&]() {
    while (!other_ready && !other_done) {
      const int r = av_read_frame(src.fmt.get(), other.get());
      if (r == AVERROR(EAGAIN)) continue;
      if (r < 0) {
        if (r != AVERROR_EOF) warn(in + ": read error (" + av_error(r) + "); the streams copied from it end there");
        other_done = true;
        return;
      }
      const auto si = static_cast<size_t>(other->stream_index);
      if (si < map.size() && map[si] >= 0) other_ready = true;
      else av_packet_unref(other.get());
    }
  };
  auto other_first = [&](int64_t dts) {  // whether the pending copied packet goes before video at dts
    const int64_t t = other->dts != AV_NOPTS_VALUE ? other->dts : other->pts;
    return t == AV_NOPTS_VALUE || av_compare_ts(t, src.fmt->streams[other->stream_index]->time_base, dts, in_tb) <= 0;
  };
  int64_t last_dts = AV_NOPTS_VALUE, written = 0;
  const int64_t delay = std::max<int64_t>(reorder, first_par->video_delay);
  for (const SegmentFile& f : segs) {
    Input s(f.path);
    const AVRational stb = s.st()->time_base;
    for (;;) {
      const int r = av_read_frame(s.fmt.get(), pkt.get());
      if (r == AVERROR_EOF) break;
      if (r == AVERROR(EAGAIN)) continue;
      check(r, f.path + ": reading");
      if (pkt->stream_index != s.video) {
        av_packet_unref(pkt.get());
        continue;
      }
      // IN's frame time for the frame (exact whatever the segment's container rounded it to).
      // Decode times are made anew for the joined stream (a container may have dropped or
      // shifted them): the k-th packet decodes at the time of frame k - delay, which no packet
      // displays before, with delay the deepest reordering of any segment.
      const int64_t n = idx.frame_at(av_rescale_q(pkt->pts - f.shift, stb, in_tb));
      if (n < 0) throw Error("merge: " + f.path + " changed while merging");
      const int64_t pts = idx.pts[static_cast<size_t>(n)];
      const int64_t back = written - delay;
      const int64_t dts = back >= 0 ? idx.pts[static_cast<size_t>(std::min(back, idx.frames() - 1))]
                                    : idx.pts[0] + back * std::max<int64_t>(1, idx.spacing);
      if (dts > pts || (last_dts != AV_NOPTS_VALUE && dts <= last_dts))
        throw Error("merge: " + f.path + ": the decode order does not fit after the previous segment at " +
                    frames_text(idx, n, n));
      last_dts = dts;
      ++written;
      pkt->duration = av_rescale_q(pkt->duration, stb, in_tb);
      pkt->pts = pts;
      pkt->dts = dts;
      while (true) {
        next_other();
        if (!other_ready || !other_first(dts)) break;
        write_copied_packet(src.fmt.get(), ofmt.get(), map[static_cast<size_t>(other->stream_index)], other.get(), in, out);
        other_ready = false;
      }
      av_packet_rescale_ts(pkt.get(), in_tb, ost->time_base);
      pkt->stream_index = ost->index;
      pkt->pos = -1;
      check(av_interleaved_write_frame(ofmt.get(), pkt.get()), out + ": writing video");
      ++result.frames;
    }
    ++result.segments;
  }
  for (next_other(); other_ready; next_other()) {
    write_copied_packet(src.fmt.get(), ofmt.get(), map[static_cast<size_t>(other->stream_index)], other.get(), in, out);
    other_ready = false;
  }
  check(av_write_trailer(ofmt.get()), out + ": writing the trailer");
  check(avio_closep(&ofmt->pb), target + ": closing");
  return result;
}

}  // namespace micromotion::cli
