// libav* transcoding (see video_transcoder.h).
#include "video_transcoder.h"

#include <micromotion/error.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <map>
#include <memory>
#include <vector>

namespace micromotion::cli {

namespace {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

void check(int code, const std::string& what) {
  if (code < 0) throw Error(what + ": " + av_error(code));
}

struct InputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct OutputDeleter {
  void operator()(AVFormatContext* c) const {
    if (c && c->pb && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

FramePtr new_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) throw Error("out of memory (av_frame_alloc)");
  return f;
}

struct Decoder {
  std::unique_ptr<AVFormatContext, InputDeleter> fmt;
  std::unique_ptr<AVCodecContext, CodecDeleter> codec;
  int stream = -1;

  explicit Decoder(const std::string& path) {
    AVFormatContext* f = nullptr;
    check(avformat_open_input(&f, path.c_str(), nullptr, nullptr), path + ": cannot open as a video");
    fmt.reset(f);
    check(avformat_find_stream_info(f, nullptr), path + ": cannot read stream information");
    const AVCodec* dec = nullptr;
    stream = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
    if (stream < 0 || !dec) throw Error(path + ": no decodable video stream");
    codec.reset(avcodec_alloc_context3(dec));
    check(avcodec_parameters_to_context(codec.get(), f->streams[stream]->codecpar), path + ": decoder parameters");
    codec->thread_count = 0;
    check(avcodec_open2(codec.get(), dec, nullptr), path + ": cannot open the " + dec->name + " decoder");
  }
  AVStream* st() const { return fmt->streams[stream]; }
};

// RGB24 <-> any pixel format, the context cached across frames of one size.
class Converter {
 public:
  void to_rgb(const AVFrame* src, ImageRGB8& dst) {
    dst = ImageRGB8(src->width, src->height);
    auto* ctx = get(src->width, src->height, AVPixelFormat(src->format), AV_PIX_FMT_RGB24);
    uint8_t* data[4] = {dst.data(), nullptr, nullptr, nullptr};
    int lines[4] = {static_cast<int>(dst.stride()), 0, 0, 0};
    sws_scale(ctx, src->data, src->linesize, 0, src->height, data, lines);
  }
  void from_rgb(const ImageRGB8& src, AVFrame* dst) {
    auto* ctx = get(src.width(), src.height(), AV_PIX_FMT_RGB24, AVPixelFormat(dst->format));
    const uint8_t* data[4] = {src.data(), nullptr, nullptr, nullptr};
    int lines[4] = {static_cast<int>(src.stride()), 0, 0, 0};
    sws_scale(ctx, data, lines, 0, src.height(), dst->data, dst->linesize);
  }

 private:
  std::map<std::tuple<int, int, int, int>, std::unique_ptr<SwsContext, SwsDeleter>> cache_;
  SwsContext* get(int w, int h, AVPixelFormat from, AVPixelFormat to) {
    auto& c = cache_[{w, h, int(from), int(to)}];
    if (!c) {
      c.reset(sws_getContext(w, h, from, w, h, to, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
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

}  // namespace

TranscodeResult transcode(const std::string& in, const std::string& out, const TranscodeOptions& options,
                          FrameEditor& editor, const std::atomic<bool>* stop,
                          const std::function<void(const TranscodeProgress&)>& progress) {
  Decoder dec(in);
  AVStream* ist = dec.st();

  AVFormatContext* o = nullptr;
  check(avformat_alloc_output_context2(&o, nullptr, nullptr, out.c_str()), out + ": unknown output format");
  std::unique_ptr<AVFormatContext, OutputDeleter> ofmt(o);

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
  ec->sample_aspect_ratio = dec.codec->sample_aspect_ratio;
  ec->time_base = ist->time_base;
  ec->framerate = av_guess_frame_rate(dec.fmt.get(), ist, nullptr);
  ec->color_range = dec.codec->color_range;
  ec->colorspace = dec.codec->colorspace;
  ec->color_primaries = dec.codec->color_primaries;
  ec->color_trc = dec.codec->color_trc;
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

  // Output streams: the edited video, and every other stream copied.
  std::vector<int> map(dec.fmt->nb_streams, -1);
  AVStream* ost = avformat_new_stream(ofmt.get(), nullptr);
  check(avcodec_parameters_from_context(ost->codecpar, ec.get()), out + ": video stream parameters");
  ost->time_base = ec->time_base;
  ost->avg_frame_rate = ist->avg_frame_rate;
  ost->r_frame_rate = ist->r_frame_rate;
  map[dec.stream] = ost->index;
  for (unsigned i = 0; i < dec.fmt->nb_streams; ++i) {
    if (static_cast<int>(i) == dec.stream) continue;
    AVStream* s = dec.fmt->streams[i];
    const AVMediaType type = s->codecpar->codec_type;
    if (type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE && type != AVMEDIA_TYPE_VIDEO) continue;
    if (avformat_query_codec(ofmt->oformat, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      std::fprintf(stderr, "micromotion: warning: stream %u (%s) cannot go into %s; dropped\n", i,
                   avcodec_get_name(s->codecpar->codec_id), ofmt->oformat->name);
      continue;
    }
    AVStream* c = avformat_new_stream(ofmt.get(), nullptr);
    check(avcodec_parameters_copy(c->codecpar, s->codecpar), out + ": stream copy");
    c->codecpar->codec_tag = 0;
    c->time_base = s->time_base;
    av_dict_copy(&c->metadata, s->metadata, 0);
    map[i] = c->index;
  }
  av_dict_copy(&ofmt->metadata, dec.fmt->metadata, 0);
  if (!(ofmt->oformat->flags & AVFMT_NOFILE))
    check(avio_open(&ofmt->pb, out.c_str(), AVIO_FLAG_WRITE), out + ": cannot write");
  check(avformat_write_header(ofmt.get(), nullptr), out + ": cannot write the header");

  TranscodeResult result;
  result.video_codec = ename;
  result.lossless = lossless;
  Converter conv;
  PacketPtr pkt(av_packet_alloc()), opkt(av_packet_alloc());
  FramePtr frame = new_frame();
  std::map<int64_t, FramePtr> originals;  // decoded frames waiting for their edit, by index
  int64_t next_index = 0;
  TranscodeProgress prog;
  if (ist->nb_frames > 0) prog.frames_total = ist->nb_frames;
  else if (ist->duration > 0 && ist->avg_frame_rate.num > 0)
    prog.frames_total = av_rescale_q(ist->duration, ist->time_base, av_inv_q(ist->avg_frame_rate));
  else if (dec.fmt->duration > 0 && ist->avg_frame_rate.num > 0)
    prog.frames_total = av_rescale_q(dec.fmt->duration, AV_TIME_BASE_Q, av_inv_q(ist->avg_frame_rate));
  if (options.max_frames >= 0 && (prog.frames_total == 0 || options.max_frames < prog.frames_total))
    prog.frames_total = options.max_frames;

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
  auto encode = [&](const EditedFrame& e) {
    auto it = originals.find(e.index);
    if (it == originals.end()) throw Error("internal: edited frame " + std::to_string(e.index) + " has no source");
    FramePtr src = std::move(it->second);
    originals.erase(it);
    FramePtr f = new_frame();
    if (e.unchanged && src->format == ec->pix_fmt) {
      check(av_frame_ref(f.get(), src.get()), "frame copy");
    } else {
      f->format = ec->pix_fmt;
      f->width = ec->width;
      f->height = ec->height;
      check(av_frame_get_buffer(f.get(), 0), "frame buffer");
      if (e.unchanged) {
        ImageRGB8 rgb;
        conv.to_rgb(src.get(), rgb);
        conv.from_rgb(rgb, f.get());
      } else {
        conv.from_rgb(e.image, f.get());
      }
    }
    f->pts = src->best_effort_timestamp != AV_NOPTS_VALUE ? src->best_effort_timestamp : src->pts;
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
      check(r, in + ": decoding");
      if (options.max_frames >= 0 && next_index >= options.max_frames) {
        av_frame_unref(frame.get());
        input_done = true;
        return;
      }
      const int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
      const int64_t start = ist->start_time != AV_NOPTS_VALUE ? ist->start_time : 0;
      const double seconds = ts == AV_NOPTS_VALUE ? double(next_index) * av_q2d(av_inv_q(ec->framerate))
                                                  : double(ts - start) * av_q2d(ist->time_base);
      ImageRGB8 rgb;
      conv.to_rgb(frame.get(), rgb);
      FramePtr keep = new_frame();
      av_frame_move_ref(keep.get(), frame.get());
      originals[next_index] = std::move(keep);
      editor.submit(std::move(rgb), next_index, seconds);
      ++next_index;
      drain(false);
    }
  };

  while (!input_done) {
    if (stop && stop->load()) {
      result.interrupted = true;
      break;
    }
    const int r = av_read_frame(dec.fmt.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    check(r, in + ": reading");
    if (pkt->stream_index == dec.stream) {
      check(avcodec_send_packet(dec.codec.get(), pkt.get()), in + ": decoding");
      av_packet_unref(pkt.get());
      take_decoded();
    } else if (map[pkt->stream_index] >= 0) {
      AVStream* os = ofmt->streams[map[pkt->stream_index]];
      av_packet_rescale_ts(pkt.get(), dec.fmt->streams[pkt->stream_index]->time_base, os->time_base);
      pkt->stream_index = os->index;
      pkt->pos = -1;
      check(av_interleaved_write_frame(ofmt.get(), pkt.get()), out + ": writing a copied stream");
    } else {
      av_packet_unref(pkt.get());
    }
  }
  if (!result.interrupted) {
    avcodec_send_packet(dec.codec.get(), nullptr);
    take_decoded();
  }
  editor.finish();
  drain(true);
  check(avcodec_send_frame(ec.get(), nullptr), out + ": flushing the encoder");
  write_encoded();
  check(av_write_trailer(ofmt.get()), out + ": writing the trailer");
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
        conv.to_rgb(frame.get(), frames.back());
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

}  // namespace micromotion::cli
