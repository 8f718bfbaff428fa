// The settings of a render, in one place: the options `render` and `farm slurm` take (one
// registration from the engine's settings table, settings.h: its names in --kebab-case, its
// defaults, ranges, choices and help), the engine options they make, and the argument list that
// hands them on to the farm's tasks; plus render's own encoding options (--codec, --crf).
#pragma once

#include <micromotion/engine.h>

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace micromotion::cli {

// Defaults: the settings table's.
struct RenderArgs {
  RenderArgs();
  std::string anchor, strength, encoder, faces, mode, models_dir, device, dtype;
  int iterations, warm_iterations, detect_every;
  double feather;
  bool smooth;
  std::string codec;
  int crf = -1;
};

// Registers the table's CLI settings and the encoding options on a subcommand.
void add_render_options(CLI::App& cmd, RenderArgs& a);

EngineOptions engine_options(const RenderArgs& a, double fps);

// The options as `render` arguments, every one spelled out (so a task renders with exactly these
// settings whatever its environment's defaults). Paths (a micromotion or checkpoint file, the
// models directory) are made absolute against the current directory.
std::vector<std::string> render_arguments(const RenderArgs& a);

}  // namespace micromotion::cli
