// Segment boundaries (see segments.h).
#include "segments.h"

#include <micromotion/error.h>

#include <algorithm>
#include <cstdlib>

namespace micromotion::cli {

SegmentNumber parse_segment(const std::string& text) {
  const std::string why = "--segment '" + text.substr(0, 40) + "': expected I/N, the I-th of N segments (1 <= I <= N)";
  const size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= text.size()) throw Error(why);
  auto number = [&](const std::string& s) {
    if (s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) throw Error(why);
    return std::atoi(s.c_str());
  };
  SegmentNumber n{number(text.substr(0, slash)), number(text.substr(slash + 1))};
  if (n.count < 1 || n.count > 100000 || n.index < 1 || n.index > n.count) throw Error(why);
  return n;
}

std::vector<SegmentRange> segment_ranges(int64_t frames, const std::vector<int64_t>& keyframes, int count,
                                         int64_t preroll) {
  if (count < 1 || frames < count)
    throw Error("cannot split " + std::to_string(frames) + " frames into " + std::to_string(count) +
                " segments: each segment needs a frame");
  std::vector<int64_t> bound(static_cast<size_t>(count) + 1);
  const int64_t reach = frames / count / 20;  // how far a boundary may move to a keyframe
  for (int k = 0; k <= count; ++k) {
    const int64_t nominal = static_cast<int64_t>(k) * frames / count;
    int64_t b = nominal;
    if (k > 0 && k < count && reach > 0) {
      auto it = std::lower_bound(keyframes.begin(), keyframes.end(), nominal);
      int64_t best = -1;
      if (it != keyframes.end() && *it - nominal <= reach) best = *it;
      if (it != keyframes.begin() && nominal - *(it - 1) <= reach && (best < 0 || nominal - *(it - 1) < best - nominal))
        best = *(it - 1);
      if (best >= 0) b = best;
    }
    bound[static_cast<size_t>(k)] = b;
  }
  // Moves stay within a twentieth of a segment, so the order holds; keep it strict regardless.
  for (int k = 1; k <= count; ++k)
    bound[static_cast<size_t>(k)] = std::max(bound[static_cast<size_t>(k)], bound[static_cast<size_t>(k) - 1] + 1);
  std::vector<SegmentRange> out;
  for (int k = 0; k < count; ++k) {
    SegmentRange r;
    r.begin = bound[static_cast<size_t>(k)];
    r.end = bound[static_cast<size_t>(k) + 1];
    r.preroll_begin = std::max<int64_t>(0, r.begin - std::max<int64_t>(0, preroll));
    out.push_back(r);
  }
  return out;
}

}  // namespace micromotion::cli
