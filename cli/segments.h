// Splitting a video into segments of frames for a render farm: the boundaries every task and the
// merge compute the same way from the input alone (its frame count and keyframes), and the
// pre-roll each segment runs through the engine before its first written frame.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micromotion::cli {

struct SegmentNumber {
  int index = 0;  // 1-based
  int count = 0;
};

// "I/N" with 1 <= I <= N <= 100000.  throws micromotion::Error quoting the text otherwise.
SegmentNumber parse_segment(const std::string& text);

struct SegmentRange {
  int64_t begin = 0;          // first frame written (presentation order, 0-based)
  int64_t end = 0;            // one past the last frame written
  int64_t preroll_begin = 0;  // first frame run through the engine (begin - P, at least 0)
};

// Frame ranges of the N segments of a video of `frames` frames whose keyframes (presentation-order
// frame numbers, sorted) are `keyframes`.
//   requires: frames >= count >= 1.
//   ensures:  the ranges cover 0..frames-1 in order, without overlap, none empty. Boundary k sits
//             at floor(k * frames / count) (equal frame counts), moved to the nearest keyframe
//             when one is within a twentieth of a segment of it (a segment starting on a keyframe
//             decodes nothing before its pre-roll), never so far that a segment becomes empty.
//   throws:   micromotion::Error when count > frames (a segment would hold no frame).
std::vector<SegmentRange> segment_ranges(int64_t frames, const std::vector<int64_t>& keyframes, int count,
                                         int64_t preroll);

}  // namespace micromotion::cli
