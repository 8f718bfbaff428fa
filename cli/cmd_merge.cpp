// `micromotion merge`: join the segments of a render (render --segment I/N) into one file.
#include "commands.h"
#include "output_file.h"
#include "video_transcoder.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <memory>

namespace micromotion::cli {

namespace {

struct MergeArgs {
  std::string in, out;
  std::vector<std::string> segments;
  bool overwrite = false;
};

void merge(const MergeArgs& a) {
  check_output(a.in, a.out, a.overwrite, "OUT");
  for (const auto& s : a.segments) check_output(s, a.out, a.overwrite, "OUT");  // OUT is none of the segments
  SignalScope signals;  // a signal removes the partial file and ends the process
  PartialOutput partial(a.out);
  const MergeResult r = merge_segments(a.in, a.out, a.segments, partial.path().string());
  partial.commit();
  fmt::print("wrote {}: {} frames from {} segments, the other streams from {}\n", a.out, r.frames, r.segments, a.in);
}

}  // namespace

void add_merge(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "merge", "Join the segments of a render (render --segment I/N) into one file, without re-encoding");
  auto a = std::make_shared<MergeArgs>();
  cmd->add_option("IN", a->in, "the input video the segments were rendered from (its other streams, chapters and "
                               "metadata go into OUT, as a whole render would)")
      ->required();
  cmd->add_option("OUT", a->out, "output video; written beside OUT and renamed when complete")->required();
  cmd->add_option("SEGMENT", a->segments, "the segments, in any order; together they must hold every frame of IN "
                                          "exactly once, with the same codec settings")
      ->required();
  cmd->add_flag("-y,--overwrite", a->overwrite, "replace OUT if it exists");
  cmd->callback([a] { merge(*a); });
}

}  // namespace micromotion::cli
