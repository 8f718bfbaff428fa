// The render settings (see render_options.h).
#include "render_options.h"

#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/settings.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <map>

namespace micromotion::cli {

namespace fs = std::filesystem;

namespace {

// Where each of the table's CLI settings lands in RenderArgs (threads is the program's global
// --threads, main.cpp), and the older spellings still accepted.
struct Binding {
  std::string* text = nullptr;
  int* integer = nullptr;
  double* number = nullptr;
  bool* flag = nullptr;
  const char* alias = nullptr;
};

std::map<std::string, Binding> bindings(RenderArgs& a) {
  return {
      {"anchor", {&a.anchor}},
      {"strength", {&a.strength}},
      {"encoder", {&a.encoder}},
      {"iterations", {nullptr, &a.iterations, nullptr, nullptr, "--iters"}},
      {"warm_iterations", {nullptr, &a.warm_iterations, nullptr, nullptr, "--warm-iters"}},
      {"faces", {&a.faces}},
      {"mode", {&a.mode}},
      {"feather", {nullptr, nullptr, &a.feather}},
      {"models_dir", {&a.models_dir, nullptr, nullptr, nullptr, "--models"}},
      {"device", {&a.device}},
      {"dtype", {&a.dtype}},
      {"detect_every", {nullptr, &a.detect_every}},
      {"smooth", {nullptr, nullptr, nullptr, &a.smooth}},
  };
}

std::string help_of(const mm_setting_info& s) {
  std::string h = s.help;
  if (*s.units) h += std::string(" (") + s.units + ")";
  return h;
}

}  // namespace

RenderArgs::RenderArgs()
    : anchor(default_text("anchor")),
      strength(default_text("strength")),
      encoder(default_text("encoder")),
      faces(default_text("faces")),
      mode(default_text("mode")),
      models_dir(default_text("models_dir")),
      device(default_text("device")),
      dtype(default_text("dtype")),
      iterations(static_cast<int>(default_number("iterations"))),
      warm_iterations(static_cast<int>(default_number("warm_iterations"))),
      detect_every(static_cast<int>(default_number("detect_every"))),
      feather(default_number("feather")),
      smooth(default_number("smooth") != 0) {}

void add_render_options(CLI::App& cmd, RenderArgs& a) {
  const std::map<std::string, Binding> bound = bindings(a);
  for (const mm_setting_info* s : settings_table()) {
    if (!(s->front_ends & MM_FRONT_END_CLI) || std::string(s->name) == "threads") continue;
    const auto it = bound.find(s->name);
    if (it == bound.end()) throw Error(std::string("internal: the CLI has no place for the setting ") + s->name);
    const Binding& b = it->second;
    std::string names = "--" + kebab(s->name);
    if (b.alias) names += std::string(",") + b.alias;
    CLI::Option* o = nullptr;
    if (b.flag) {
      o = cmd.add_flag(names + ",!--no-" + kebab(s->name), *b.flag, help_of(*s) + " (--no-" + kebab(s->name) + ": off)");
    } else if (b.integer) {
      o = cmd.add_option(names, *b.integer, help_of(*s))->check(CLI::Range(int(s->min), int(s->max)));
    } else if (b.number) {
      o = cmd.add_option(names, *b.number, help_of(*s))->check(CLI::Range(s->min, s->max));
    } else {
      o = cmd.add_option(names, *b.text, help_of(*s));
      if (s->type == MM_SETTING_CHOICE) o->check(CLI::IsMember(choices(*s)));
    }
    o->capture_default_str();
  }
  cmd.add_option("--codec", a.codec, "video encoder (default: the input's codec)");
  cmd.add_option("--crf", a.crf, "quality for x264/x265/vpx (default: 18; lossless inputs stay lossless)");
}

EngineOptions engine_options(const RenderArgs& a, double fps) {
  EngineOptions o;
  o.models_dir = a.models_dir;
  o.encoder = a.encoder;
  o.iterations = a.iterations;
  o.warm_iterations = a.warm_iterations;
  o.faces = parse_face_selection(a.faces);
  o.mode = parse_edit_mode(a.mode);
  o.device = a.device;
  o.dtype = a.dtype;
  o.mask.feather = a.feather;
  o.tracker.detect_every = a.detect_every;
  o.smooth_landmarks = a.smooth;
  if (fps > 0) o.frame_rate = fps;
  return o;
}

std::vector<std::string> render_arguments(const RenderArgs& a) {
  auto absolute = [](const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); };
  const bool anchor_is_path = a.anchor.find('/') != std::string::npos || a.anchor.find('.') != std::string::npos;
  const bool encoder_is_path = a.encoder != "restyle" && a.encoder != "e4e" && a.encoder != "psp";
  std::vector<std::string> v = {"--anchor", anchor_is_path ? absolute(a.anchor) : a.anchor,
                                "--strength", a.strength,
                                "--encoder", encoder_is_path ? absolute(a.encoder) : a.encoder,
                                "--iterations", std::to_string(a.iterations),
                                "--warm-iterations", std::to_string(a.warm_iterations),
                                "--faces", a.faces,
                                "--mode", a.mode,
                                "--feather", fmt::format("{:.17g}", a.feather),
                                "--detect-every", std::to_string(a.detect_every),
                                a.smooth ? "--smooth" : "--no-smooth",
                                "--device", a.device,
                                "--dtype", a.dtype};
  auto add = [&v](const char* name, const std::string& value) {
    v.push_back(name);
    v.push_back(value);
  };
  if (!a.models_dir.empty()) add("--models-dir", absolute(a.models_dir));
  if (!a.codec.empty()) add("--codec", a.codec);
  if (a.crf >= 0) add("--crf", std::to_string(a.crf));
  return v;
}

}  // namespace micromotion::cli
