// The settings of a render, in one place: the options `render` and `farm slurm` take (one
// registration from the engine's settings table, settings.h: its names in --kebab-case, its
// defaults, ranges, choices and help), the engine options they make, and the argument list that
// hands them on to the farm's tasks; plus render's own encoding options (--codec, --crf).
// Who gets which edit (docs/edits.md): --edits FILE, or --person / --edit / --region / --others /
// --identity-threshold, or --anchor / --strength as the one-edit shorthand for everyone.
#pragma once

#include <micromotion/edit_list.h>
#include <micromotion/engine.h>

#include <cstdint>
#include <set>
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
  std::string edits;                                // an edit-list file
  std::vector<std::string> person, edit, region;    // repeatable, as given
  std::string others;
  double identity_threshold;
  std::string keyframe_every;                       // N or auto (0)
  double keyframe_threshold;
  int reconstruct_at;
  std::set<std::string> given;                      // the settings given on the command line (table names)
  std::string codec;
  int crf = -1;
};

// Registers the table's CLI settings and the encoding options on a subcommand.
void add_render_options(CLI::App& cmd, RenderArgs& a);

// The engine options of everything but the edit list (render_edits fills that in).
EngineOptions engine_options(const RenderArgs& a, double fps);

// The edit list the options say (checked, and every photo a file): --edits FILE read, or built
// from --person, --edit (--strength: the strength of an --edit without one), --region, or the
// --anchor / --strength shorthand. With --edits, --others and --identity-threshold given
// explicitly replace the file's. throws Error naming the option or the file and entry:
// --edits together with --person, --edit, --region, --anchor or --strength; --edit together
// with --anchor; a person given twice; a photo that is not a file; everything edit_list.h refuses.
EditList render_edit_list(const RenderArgs& a);

// render_edit_list resolved (edit_list.h) into options: the micromotions and strength texts,
// edit i of the list. Errors of a file's entry name the file.
ResolvedEdits render_edits(const RenderArgs& a, const EditList& list, EngineOptions& options);

// The options as `render` arguments, every one spelled out (so a task renders with exactly these
// settings whatever its environment's defaults). Paths (a micromotion or checkpoint file, the
// models directory, photos, the edit-list file) are made absolute against the current directory.
// With --edits: the file, and --others / --identity-threshold only when given (the file's own
// otherwise). Without: --person, then --edit (each with its strength) or --anchor / --strength,
// --region, --others, --identity-threshold.
std::vector<std::string> render_arguments(const RenderArgs& a);

}  // namespace micromotion::cli
