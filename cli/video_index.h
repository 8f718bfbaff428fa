// The frames of a video stream from its packets alone (nothing decoded): their presentation
// times in order and which are keyframes. What `render --segment` and `merge` compute segment
// boundaries and frame numbers from, so that every task agrees without talking to the others.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micromotion::cli {

struct VideoIndex {
  int stream = -1;                // the video stream render edits (libav's best video stream)
  int tb_num = 0, tb_den = 1;     // that stream's time base
  std::vector<int64_t> pts;       // presentation times of its frames, ascending (frame n is pts[n])
  std::vector<int64_t> keyframes; // frame numbers of the keyframes, ascending
  int64_t spacing = 0;            // the smallest distance between two frames' times
  int64_t frames() const { return static_cast<int64_t>(pts.size()); }
  // The frame whose time is nearest to `t` (in the stream's time base) when within half the
  // smallest frame spacing, else -1.
  int64_t frame_at(int64_t t) const;
};

// requires: `path` is a video file.  ensures: one pass over the packets; memory 16 bytes a frame;
// packets marked discard (before an edit list's start) are not frames.
// throws: micromotion::Error naming the file when it cannot be read, has no video stream, or has
// video packets without timestamps (a raw elementary stream: remux it into a container first).
VideoIndex index_video(const std::string& path);

}  // namespace micromotion::cli
