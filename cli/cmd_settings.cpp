// `micromotion settings`: the engine's settings table (settings.h), as a table or as JSON.
#include "commands.h"

#include <micromotion/settings.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace micromotion::cli {

namespace {

const char* type_name(mm_setting_type t) {
  switch (t) {
    case MM_SETTING_STRING: return "string";
    case MM_SETTING_INT: return "int";
    case MM_SETTING_NUMBER: return "number";
    case MM_SETTING_BOOL: return "bool";
    case MM_SETTING_CHOICE: return "choice";
    case MM_SETTING_EXPRESSION: return "expression";
  }
  return "?";
}

bool numeric(const mm_setting_info& s) {
  return s.type == MM_SETTING_INT || s.type == MM_SETTING_NUMBER || s.type == MM_SETTING_EXPRESSION;
}

nlohmann::json row_json(const mm_setting_info& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["type"] = type_name(s.type);
  switch (s.type) {
    case MM_SETTING_INT: j["default"] = static_cast<int>(default_number(s.name)); break;
    case MM_SETTING_NUMBER: j["default"] = default_number(s.name); break;
    case MM_SETTING_BOOL: j["default"] = default_number(s.name) != 0; break;
    default: j["default"] = s.default_value;
  }
  j["min"] = numeric(s) ? nlohmann::json(s.min) : nlohmann::json(nullptr);
  j["max"] = numeric(s) ? nlohmann::json(s.max) : nlohmann::json(nullptr);
  j["choices"] = s.type == MM_SETTING_CHOICE ? nlohmann::json(choices(s)) : nlohmann::json(nullptr);
  j["help"] = s.help;
  j["units"] = s.units;
  nlohmann::json fe = nlohmann::json::array();
  if (s.front_ends & MM_FRONT_END_CLI) fe.push_back("cli");
  if (s.front_ends & MM_FRONT_END_FFMPEG) fe.push_back("ffmpeg");
  if (s.front_ends & MM_FRONT_END_OBS) fe.push_back("obs");
  j["front_ends"] = fe;
  j["note"] = s.note ? nlohmann::json(s.note) : nlohmann::json(nullptr);
  j["runtime"] = s.runtime != 0;
  return j;
}

void print_table() {
  fmt::print("{:<16} {:<10} {:<8} {:<16} {:<18} {}\n", "setting", "type", "default", "range", "front ends", "help");
  for (const mm_setting_info* s : settings_table()) {
    std::string range;
    if (s->type == MM_SETTING_CHOICE) {
      range = s->choices;
    } else if (numeric(*s)) {
      range = fmt::format("{:g} .. {:g}", s->min, s->max);
    }
    std::string fe;
    if (s->front_ends & MM_FRONT_END_CLI) fe += "cli ";
    if (s->front_ends & MM_FRONT_END_FFMPEG) fe += "ffmpeg ";
    if (s->front_ends & MM_FRONT_END_OBS) fe += "obs ";
    if (s->runtime) fe += "(live)";
    fmt::print("{:<16} {:<10} {:<8} {:<16} {:<18} {}{}{}\n", s->name, type_name(s->type),
               *s->default_value ? s->default_value : "\"\"", range, fe.empty() ? "-" : fe, s->help,
               *s->units ? std::string(" [") + s->units + "]" : std::string(),
               s->note ? std::string("; ") + s->note : std::string());
  }
  fmt::print("\nThe CLI spells them --kebab-case (render, farm slurm; --threads before the command), the FFmpeg\n"
             "filter and OBS as they are. (live): may change while running.\n");
}

}  // namespace

void add_settings(CLI::App& app) {
  auto* cmd = app.add_subcommand("settings", "Print the engine's settings: name, type, default, range, front ends, help");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "as a JSON array of rows {name, type, default, min, max, choices, help, units, "
                                 "front_ends, note, runtime}");
  cmd->callback([json] {
    if (!*json) {
      print_table();
      return;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const mm_setting_info* s : settings_table()) rows.push_back(row_json(*s));
    fmt::print("{}\n", rows.dump(2));
  });
}

}  // namespace micromotion::cli
