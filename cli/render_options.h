// The settings of a render, in one place: the options `render` and `farm slurm` take (one
// registration, the same names, checks and help), the engine options they make, and the
// argument list that hands them on to the farm's tasks.
#pragma once

#include <micromotion/engine.h>

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace micromotion::cli {

struct RenderArgs {
  std::string anchor, strength, encoder = "restyle", faces = "all", mode = "replace", models, device = "cpu",
                                dtype = "fp32", codec;
  int iters = -1, warm_iters = 1, crf = -1, detect_every = EngineOptions().tracker.detect_every;
  double feather = EngineOptions().mask.feather;
  bool no_smooth = false;
};

// Registers the edit and encoding options on a subcommand (--anchor required).
void add_render_options(CLI::App& cmd, RenderArgs& a);

EngineOptions engine_options(const RenderArgs& a, double fps);

// The options as `render` arguments, every one spelled out (so a task renders with exactly these
// settings whatever its environment's defaults). Paths (a micromotion or checkpoint file, the
// models directory) are made absolute against the current directory.
std::vector<std::string> render_arguments(const RenderArgs& a);

}  // namespace micromotion::cli
