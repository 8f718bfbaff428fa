// What every libav* user in the CLI shares: error text, the error check, and owning handles
// (unique_ptr deleters) for the libav objects, so that no path leaks one.
#pragma once

#include <micromotion/error.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <memory>
#include <string>

namespace micromotion::cli::libav {

inline std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

// throws micromotion::Error "WHAT: <libav's message>" when code < 0.
inline void check(int code, const std::string& what) {
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
using InputPtr = std::unique_ptr<AVFormatContext, InputDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

// `path` opened and its streams probed.  throws micromotion::Error naming the file otherwise.
inline InputPtr open_input(const std::string& path) {
  AVFormatContext* f = nullptr;
  check(avformat_open_input(&f, path.c_str(), nullptr, nullptr), path + ": cannot open as a video");
  InputPtr fmt(f);
  check(avformat_find_stream_info(f, nullptr), path + ": cannot read stream information");
  return fmt;
}

}  // namespace micromotion::cli::libav
