// Packet-level index of a video stream (see video_index.h).
#include "video_index.h"

#include <micromotion/error.h>

#include "libav_handles.h"

#include <algorithm>
#include <memory>

namespace micromotion::cli {

using libav::av_error;

int64_t VideoIndex::frame_at(int64_t t) const {
  if (pts.empty()) return -1;
  const auto it = std::lower_bound(pts.begin(), pts.end(), t);
  int64_t best = -1;
  int64_t dist = 0;
  for (auto c : {it, it == pts.begin() ? pts.end() : it - 1}) {
    if (c == pts.end()) continue;
    const int64_t d = *c > t ? *c - t : t - *c;
    if (best < 0 || d < dist) {
      best = c - pts.begin();
      dist = d;
    }
  }
  if (pts.size() < 2) return dist == 0 ? best : -1;
  return 2 * dist < spacing ? best : -1;
}

VideoIndex index_video(const std::string& path) {
  const libav::InputPtr fmt = libav::open_input(path);
  AVFormatContext* f = fmt.get();
  int r = 0;
  VideoIndex index;
  index.stream = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index.stream < 0) throw Error(path + ": no video stream");
  const AVStream* st = f->streams[index.stream];
  index.tb_num = st->time_base.num;
  index.tb_den = st->time_base.den;
  std::vector<std::pair<int64_t, bool>> frames;  // (pts, keyframe)
  libav::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw Error("out of memory (av_packet_alloc)");
  for (;;) {
    r = av_read_frame(f, pkt.get());
    if (r == AVERROR_EOF) break;
    if (r == AVERROR(EAGAIN)) continue;
    if (r < 0) throw Error(path + ": read error after " + std::to_string(frames.size()) + " video frames: " + av_error(r));
    if (pkt->stream_index == index.stream && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
      if (pkt->pts == AV_NOPTS_VALUE)
        throw Error(path + ": video packets without timestamps (a raw stream?); remux it into a container "
                    "(e.g. ffmpeg -i IN -c copy OUT.mkv) to split it into segments");
      frames.emplace_back(pkt->pts, (pkt->flags & AV_PKT_FLAG_KEY) != 0);
    }
    av_packet_unref(pkt.get());
  }
  std::sort(frames.begin(), frames.end());
  frames.erase(std::unique(frames.begin(), frames.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               frames.end());
  index.pts.reserve(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    index.pts.push_back(frames[i].first);
    if (frames[i].second) index.keyframes.push_back(static_cast<int64_t>(i));
  }
  index.spacing = INT64_MAX;
  for (size_t i = 1; i < index.pts.size(); ++i) index.spacing = std::min(index.spacing, index.pts[i] - index.pts[i - 1]);
  if (index.pts.empty()) throw Error(path + ": the video stream has no frames");
  return index;
}

}  // namespace micromotion::cli
