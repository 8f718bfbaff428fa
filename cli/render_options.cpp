// The render settings (see render_options.h).
#include "render_options.h"

#include <micromotion/error.h>
#include <micromotion/face_region.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/settings.h>
#include <micromotion/value.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdlib>
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
  std::vector<std::string>* texts = nullptr;  // repeatable
  std::string* integer_or_auto = nullptr;     // an INT row that also takes "auto" (0)
};

// keyframe_every's text: "auto" is 0.
int integer_or_auto(const std::string& text) {
  if (text == "auto") return 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || v < -1000000 || v > 1000000) throw Error("not an integer or auto: " + text);
  return static_cast<int>(v);
}

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
      {"edits", {&a.edits}},
      {"person", {nullptr, nullptr, nullptr, nullptr, nullptr, &a.person}},
      {"edit", {nullptr, nullptr, nullptr, nullptr, nullptr, &a.edit}},
      {"region", {nullptr, nullptr, nullptr, nullptr, nullptr, &a.region}},
      {"others", {&a.others}},
      {"identity_threshold", {nullptr, nullptr, &a.identity_threshold}},
      {"keyframe_every", {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, &a.keyframe_every}},
      {"keyframe_threshold", {nullptr, nullptr, &a.keyframe_threshold}},
      {"reconstruct_at", {nullptr, &a.reconstruct_at}},
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
      smooth(default_number("smooth") != 0),
      others(default_text("others")),
      identity_threshold(default_number("identity_threshold")),
      keyframe_every(default_text("keyframe_every")),
      keyframe_threshold(default_number("keyframe_threshold")),
      reconstruct_at(static_cast<int>(default_number("reconstruct_at"))) {}

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
    if (b.texts) {
      // Repeatable, one value each time (IN and OUT stay positional).
      o = cmd.add_option(names, *b.texts, help_of(*s))->allow_extra_args(false);
      if (*s->default_value) o->default_str(s->default_value);
    } else if (b.integer_or_auto) {
      const int lo = int(s->min), hi = int(s->max);
      o = cmd.add_option(names, *b.integer_or_auto, help_of(*s))
              ->check(CLI::Validator(
                  [lo, hi](std::string& v) -> std::string {
                    try {
                      const int n = integer_or_auto(v);
                      if (n >= lo && n <= hi) return "";
                    } catch (const Error&) {
                    }
                    return "Value " + v + " not an integer in [" + std::to_string(lo) + " - " + std::to_string(hi) +
                           "] or auto";
                  },
                  "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "] or auto"));
    } else if (b.flag) {
      o = cmd.add_flag(names + ",!--no-" + kebab(s->name), *b.flag, help_of(*s) + " (--no-" + kebab(s->name) + ": off)");
    } else if (b.integer) {
      o = cmd.add_option(names, *b.integer, help_of(*s))->check(CLI::Range(int(s->min), int(s->max)));
    } else if (b.number) {
      o = cmd.add_option(names, *b.number, help_of(*s))->check(CLI::Range(s->min, s->max));
    } else {
      o = cmd.add_option(names, *b.text, help_of(*s));
      if (s->type == MM_SETTING_CHOICE) o->check(CLI::IsMember(choices(*s)));
    }
    if (!b.texts) o->capture_default_str();
    // Which settings were given: --edits refuses the edit options beside it, and the farm's
    // arguments keep a list file's own others and identity threshold.
    if (!b.flag) o->each([&a, name = std::string(s->name)](const std::string&) { a.given.insert(name); });
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
  o.keyframe_every = integer_or_auto(a.keyframe_every);
  o.keyframe_threshold = a.keyframe_threshold;
  o.reconstruct_at = a.reconstruct_at;
  return o;
}

namespace {

// A micromotion is looked up by name when it is a bare name (find_micromotion): else a path.
bool is_path(const std::string& anchor) {
  return anchor.find('/') != std::string::npos || anchor.find('.') != std::string::npos;
}

std::string absolute(const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); }

std::vector<PersonReference> people_of(const RenderArgs& a) {
  std::vector<PersonReference> people;
  for (const std::string& text : a.person) {
    PersonReference p = parse_person_arg(text);
    for (const PersonReference& q : people)
      if (q.name == p.name) throw Error("--person " + text + ": the person '" + p.name + "' is given twice");
    people.push_back(std::move(p));
  }
  return people;
}

}  // namespace

EditList render_edit_list(const RenderArgs& a) {
  EditList list;
  std::vector<std::string> person_where;
  if (!a.edits.empty()) {
    std::string clash;
    for (const char* name : {"person", "edit", "region", "anchor", "strength"})
      if (a.given.count(name)) clash += (clash.empty() ? "--" : ", --") + kebab(name);
    if (!clash.empty())
      throw Error("--edits " + a.edits + " is the whole edit list: it takes no " + clash +
                  " (put every edit in the file, docs/edits.md)");
    list = read_edit_list(a.edits);
    if (a.given.count("others")) list.others = parse_others(a.others);
    if (a.given.count("identity_threshold")) list.identity_threshold = a.identity_threshold;
    for (size_t i = 0; i < list.people.size(); ++i)
      person_where.push_back(a.edits + ": people[" + std::to_string(i) + "] (" + list.people[i].name + ")");
  } else {
    if (!a.edit.empty() && a.given.count("anchor"))
      throw Error("--edit and --anchor together: --anchor (with --strength) is the one-edit shorthand for everyone; "
                  "give every edit as --edit [NAME/]ANCHOR[=STRENGTH]");
    list.people = people_of(a);
    for (const std::string& text : a.person) person_where.push_back("--person " + text);
    if (a.edit.empty()) {
      list.edits.push_back(EditSpec{"", a.anchor, a.strength, "--anchor " + a.anchor});
    } else {
      for (const std::string& text : a.edit) {
        EditSpec e = parse_edit_arg(text, list.people);
        if (e.strength.empty() && a.given.count("strength")) e.strength = a.strength;
        list.edits.push_back(std::move(e));
      }
    }
    for (const std::string& text : a.region) list.regions.push_back(parse_region_arg(text, list.people));
    list.others = parse_others(a.others);
    list.identity_threshold = a.identity_threshold;
  }
  check_edit_list(list);
  // A missing photo is found now, before any model is loaded (a photo without a face is found
  // when the engine embeds them).
  for (size_t i = 0; i < list.people.size(); ++i)
    for (const std::string& photo : list.people[i].photos) {
      std::error_code ec;
      if (!fs::is_regular_file(photo, ec))
        throw Error(person_where[i] + ": photo " + quoted_for_message(photo, 256) + ": no such file");
    }
  return list;
}

ResolvedEdits render_edits(const RenderArgs& a, const EditList& list, EngineOptions& options) {
  try {
    return resolve_edit_list(list, options);
  } catch (const Error& e) {
    if (a.edits.empty()) throw;
    throw Error(a.edits + ": " + e.what());
  }
}

std::vector<std::string> render_arguments(const RenderArgs& a) {
  const bool encoder_is_path = a.encoder != "restyle" && a.encoder != "e4e" && a.encoder != "psp";
  std::vector<std::string> v = {"--encoder", encoder_is_path ? absolute(a.encoder) : a.encoder,
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
  // A setting the table does not show in the CLI is no option of render: the task gets its default.
  auto shown = [](const char* setting) {
    const mm_setting_info* s = find_setting(setting);
    return s && (s->front_ends & MM_FRONT_END_CLI);
  };
  if (shown("keyframe_every")) add("--keyframe-every", a.keyframe_every);
  if (shown("keyframe_threshold")) add("--keyframe-threshold", fmt::format("{:.17g}", a.keyframe_threshold));
  if (shown("reconstruct_at")) add("--reconstruct-at", std::to_string(a.reconstruct_at));
  // Who gets which edit.
  if (!a.edits.empty()) {
    add("--edits", absolute(a.edits));
    if (a.given.count("others")) add("--others", a.others);
    if (a.given.count("identity_threshold")) add("--identity-threshold", fmt::format("{:.17g}", a.identity_threshold));
  } else {
    const std::vector<PersonReference> people = people_of(a);
    for (const PersonReference& p : people) {
      std::string photos;
      for (const std::string& photo : p.photos) photos += (photos.empty() ? "" : ",") + absolute(photo);
      add("--person", p.name + "=" + photos);
    }
    if (a.edit.empty()) {
      add("--anchor", is_path(a.anchor) ? absolute(a.anchor) : a.anchor);
      add("--strength", a.strength);
    }
    for (const std::string& text : a.edit) {
      const EditSpec e = parse_edit_arg(text, people);
      add("--edit", (e.person.empty() ? "" : e.person + "/") + (is_path(e.anchor) ? absolute(e.anchor) : e.anchor) +
                        "=" + (e.strength.empty() ? a.strength : e.strength));
    }
    for (const std::string& text : a.region) add("--region", text);
    if (shown("others")) add("--others", a.others);
    if (shown("identity_threshold")) add("--identity-threshold", fmt::format("{:.17g}", a.identity_threshold));
  }
  if (!a.models_dir.empty()) add("--models-dir", absolute(a.models_dir));
  if (!a.codec.empty()) add("--codec", a.codec);
  if (a.crf >= 0) add("--crf", std::to_string(a.crf));
  return v;
}

}  // namespace micromotion::cli
