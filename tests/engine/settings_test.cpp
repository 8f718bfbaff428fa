// The engine's settings table (micromotion/settings.h, mm_setting_info in micromotion.h): the
// table is consistent, mm_default_params / EngineOptions / mm_create take their defaults and
// checks from it, `micromotion settings --json` is it, the CLI's render options are its rows,
// and the FFmpeg page's option table matches it. (The filter's AVOptions and the OBS properties
// are checked against it in test_ffmpeg and test_obs.)
#include "engine/engine_test_support.h"
#include "test_support.h"

#include <micromotion/engine.h>
#include <micromotion/micromotion.h>
#include <micromotion/settings.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

namespace {

bool numeric(const mm_setting_info& s) { return s.type == MM_SETTING_INT || s.type == MM_SETTING_NUMBER; }

TEST(Settings, TableIsConsistent) {
  ASSERT_GT(mm_setting_count(), 10);
  EXPECT_EQ(mm_setting_info_at(-1), nullptr);
  EXPECT_EQ(mm_setting_info_at(mm_setting_count()), nullptr);
  EXPECT_EQ(mm_setting_find("no_such_setting"), nullptr);
  EXPECT_EQ(mm_setting_find(nullptr), nullptr);
  std::map<std::string, int> seen;
  for (int i = 0; i < mm_setting_count(); ++i) {
    const mm_setting_info& s = *mm_setting_info_at(i);
    SCOPED_TRACE(s.name);
    EXPECT_EQ(mm_setting_find(s.name), &s);
    EXPECT_EQ(seen[s.name]++, 0) << "named twice";
    EXPECT_TRUE(std::regex_match(s.name, std::regex("[a-z][a-z0-9_]*"))) << "not snake_case";
    ASSERT_NE(s.help, nullptr);
    EXPECT_GT(std::strlen(s.help), 10u);
    EXPECT_EQ(std::strchr(s.help, '\n'), nullptr) << "help is one line";
    ASSERT_NE(s.default_value, nullptr);
    ASSERT_NE(s.units, nullptr);
    if (numeric(s) || s.type == MM_SETTING_EXPRESSION) {
      EXPECT_LT(s.min, s.max);
      char* end = nullptr;
      const double d = std::strtod(s.default_value, &end);
      EXPECT_EQ(*end, '\0') << "default is not a number";
      EXPECT_GE(d, s.min);
      EXPECT_LE(d, s.max);
      if (s.type == MM_SETTING_INT) {
        EXPECT_EQ(d, std::floor(d));
      }
    }
    if (s.type == MM_SETTING_CHOICE) {
      const auto c = micromotion::choices(s);
      ASSERT_GE(c.size(), 2u);
      EXPECT_NE(std::find(c.begin(), c.end(), s.default_value), c.end()) << "default not among the choices";
    } else {
      EXPECT_EQ(s.choices, nullptr);
    }
    if (s.type == MM_SETTING_BOOL) {
      EXPECT_TRUE(!std::strcmp(s.default_value, "0") || !std::strcmp(s.default_value, "1"));
    }
    // A front end that does not show it: the note says why.
    for (const auto& [bit, fe] : {std::pair{MM_FRONT_END_CLI, "cli"}, {MM_FRONT_END_FFMPEG, "ffmpeg"}, {MM_FRONT_END_OBS, "obs"}}) {
      if (s.front_ends & unsigned(bit)) continue;
      ASSERT_NE(s.note, nullptr) << "not in " << fe << " and no reason given";
      const std::string note = s.note;
      EXPECT_TRUE(note.find(std::string("not in ") + fe) != std::string::npos || note.find("not in any front end") != std::string::npos)
          << "the note does not say why not in " << fe << ": " << note;
    }
  }
}

TEST(Settings, DefaultsAndChecksComeFromTheTable) {
  using micromotion::default_number;
  const mm_params p = mm_default_params();
  EXPECT_STREQ(p.anchor, micromotion::default_text("anchor"));
  EXPECT_EQ(p.strength, default_number("strength"));
  EXPECT_EQ(p.strength_expr, nullptr);
  EXPECT_EQ(p.models_dir, nullptr);
  EXPECT_STREQ(p.encoder, micromotion::default_text("encoder"));
  EXPECT_EQ(p.iterations, default_number("iterations"));
  EXPECT_EQ(p.warm_iterations, default_number("warm_iterations"));
  EXPECT_EQ(int(p.faces), default_number("faces"));
  EXPECT_EQ(int(p.mode), default_number("mode"));
  EXPECT_STREQ(p.device, micromotion::default_text("device"));
  EXPECT_STREQ(p.dtype, micromotion::default_text("dtype"));
  EXPECT_EQ(p.frame_rate, default_number("frame_rate"));
  EXPECT_EQ(p.queue_depth, default_number("queue_depth"));
  EXPECT_EQ(p.feather, default_number("feather"));
  EXPECT_EQ(p.detect_every, default_number("detect_every"));
  EXPECT_EQ(p.smooth, default_number("smooth"));
  EXPECT_EQ(p.threads, default_number("threads"));

  const micromotion::EngineOptions o;
  EXPECT_EQ(o.encoder, p.encoder);
  EXPECT_EQ(o.iterations, p.iterations);
  EXPECT_EQ(o.warm_iterations, p.warm_iterations);
  EXPECT_EQ(int(o.faces), int(p.faces));
  EXPECT_EQ(int(o.mode), int(p.mode));
  EXPECT_EQ(o.device, p.device);
  EXPECT_EQ(o.dtype, p.dtype);
  EXPECT_EQ(o.frame_rate, p.frame_rate);
  EXPECT_EQ(o.queue_depth, p.queue_depth);
  EXPECT_EQ(o.mask.feather, p.feather);
  EXPECT_EQ(o.tracker.detect_every, p.detect_every);
  EXPECT_EQ(o.smooth_landmarks, p.smooth != 0);

  // Just outside each numeric row's range: refused before any model is read, naming the field
  // and the table's range.
  struct Field {
    const char* name;
    std::function<void(mm_params&, double)> set;
  };
  const Field fields[] = {
      {"iterations", [](mm_params& q, double v) { q.iterations = int(v); }},
      {"warm_iterations", [](mm_params& q, double v) { q.warm_iterations = int(v); }},
      {"feather", [](mm_params& q, double v) { q.feather = v; }},
      {"detect_every", [](mm_params& q, double v) { q.detect_every = int(v); }},
      {"queue_depth", [](mm_params& q, double v) { q.queue_depth = int(v); }},
      {"frame_rate", [](mm_params& q, double v) { q.frame_rate = v; }},
      {"threads", [](mm_params& q, double v) { q.threads = int(v); }},
  };
  for (const Field& f : fields) {
    const mm_setting_info& row = *mm_setting_find(f.name);
    const double step = row.type == MM_SETTING_INT ? 1 : 0.01;
    for (const double v : {row.min - step, row.max + step}) {
      mm_params q = mm_default_params();
      q.models_dir = "/nonexistent";
      f.set(q, v);
      char error[512] = "";
      mm_context* ctx = mm_create(&q, error, sizeof error);
      EXPECT_EQ(ctx, nullptr) << f.name << " " << v << " accepted";
      mm_destroy(ctx);
      std::ostringstream range;
      range << f.name << " must be within [" << row.min << ", " << row.max << "]";
      EXPECT_NE(std::string(error).find(range.str()), std::string::npos) << error;
    }
  }
  mm_params q = mm_default_params();
  q.mode = static_cast<mm_mode>(7);
  char error[512] = "";
  EXPECT_EQ(mm_create(&q, error, sizeof error), nullptr);
  EXPECT_NE(std::string(error).find("mode must be one of replace, delta (got 7)"), std::string::npos) << error;
  q = mm_default_params();
  q.dtype = "fp64";
  EXPECT_EQ(mm_create(&q, error, sizeof error), nullptr);
  EXPECT_NE(std::string(error).find("dtype must be one of fp32, bf16, auto (got 'fp64')"), std::string::npos) << error;
}

// `micromotion settings --json` is the table, row for row.
TEST(Settings, SettingsCommandPrintsTheTable) {
  const auto r = mmtest::run(mmtest::cli() + " settings --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json rows = nlohmann::json::parse(r.output);
  ASSERT_TRUE(rows.is_array());
  ASSERT_EQ(int(rows.size()), mm_setting_count());
  for (int i = 0; i < mm_setting_count(); ++i) {
    const mm_setting_info& s = *mm_setting_info_at(i);
    const nlohmann::json& j = rows[size_t(i)];
    SCOPED_TRACE(s.name);
    for (const char* key : {"name", "type", "default", "min", "max", "choices", "help", "front_ends", "runtime"})
      EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["name"], s.name);
    EXPECT_EQ(j["help"], s.help);
    EXPECT_EQ(j["runtime"], s.runtime != 0);
    if (numeric(s)) {
      EXPECT_EQ(j["min"].get<double>(), s.min);
      EXPECT_EQ(j["max"].get<double>(), s.max);
      EXPECT_EQ(j["default"].get<double>(), std::stod(s.default_value));
    } else if (s.type == MM_SETTING_BOOL) {
      EXPECT_EQ(j["default"].get<bool>(), std::stoi(s.default_value) != 0);
    } else {
      EXPECT_EQ(j["default"], s.default_value);
    }
    if (s.type == MM_SETTING_CHOICE) {
      EXPECT_EQ(j["choices"].get<std::vector<std::string>>(), micromotion::choices(s));
    }
    std::vector<std::string> fe;
    if (s.front_ends & MM_FRONT_END_CLI) fe.push_back("cli");
    if (s.front_ends & MM_FRONT_END_FFMPEG) fe.push_back("ffmpeg");
    if (s.front_ends & MM_FRONT_END_OBS) fe.push_back("obs");
    EXPECT_EQ(j["front_ends"].get<std::vector<std::string>>(), fe);
  }
  const auto text = mmtest::run(mmtest::cli() + " settings");
  ASSERT_EQ(text.status, 0) << text.output;
  for (int i = 0; i < mm_setting_count(); ++i)
    EXPECT_NE(text.output.find(mm_setting_info_at(i)->name), std::string::npos) << mm_setting_info_at(i)->name;
}

// The help line of an option in CLI11's --help output: "  --name,--alias TYPE:CHECK=DEFAULT  help".
std::string option_block(const std::string& help, const std::string& flag) {
  const size_t at = help.find("  " + flag + " ");
  const size_t at2 = help.find("  " + flag + ",");
  const size_t start = std::min(at, at2);
  if (start == std::string::npos) return "";
  size_t end = help.find("\n  -", start + 2);
  return help.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// Every CLI row is a render option --kebab-case with the row's default, range or choices and
// help (threads: the program's own --threads, before the command).
TEST(Settings, RenderOptionsAreTheTable) {
  const auto render = mmtest::run(mmtest::cli() + " render --help");
  ASSERT_EQ(render.status, 0) << render.output;
  const auto top = mmtest::run(mmtest::cli() + " --help");
  ASSERT_EQ(top.status, 0) << top.output;
  for (const mm_setting_info* s : micromotion::settings_table()) {
    SCOPED_TRACE(s->name);
    const std::string flag = "--" + micromotion::kebab(s->name);
    const std::string block = option_block(std::string(s->name) == "threads" ? top.output : render.output, flag);
    if (!(s->front_ends & MM_FRONT_END_CLI)) {
      EXPECT_EQ(block, "") << "an option, but the table says the CLI does not show it";
      continue;
    }
    ASSERT_NE(block, "") << flag << " is not an option";
    std::string flat = std::regex_replace(block, std::regex(R"(\s+)"), " ");
    EXPECT_NE(flat.find(std::regex_replace(s->help, std::regex(R"(\s+)"), " ")), std::string::npos) << flat;
    if (numeric(*s)) {
      std::ostringstream range;
      range << "in [" << s->min << " - " << s->max << "]";
      EXPECT_NE(flat.find(range.str()), std::string::npos) << flat;
    }
    if (s->type == MM_SETTING_CHOICE) {
      std::string set = "{";
      for (const auto& c : micromotion::choices(*s)) set += (set.size() > 1 ? "," : "") + c;
      EXPECT_NE(flat.find(set + "}"), std::string::npos) << flat;
    }
    if (s->type == MM_SETTING_BOOL) {
      EXPECT_NE(flat.find("--no-" + micromotion::kebab(s->name)), std::string::npos) << flat;
    } else if (*s->default_value) {
      EXPECT_NE(flat.find(std::string("=") + s->default_value + " "), std::string::npos) << "default: " << flat;
    }
  }
}

// docs/ffmpeg.md's option table: a row for every setting the filter shows, with its default.
TEST(Settings, FfmpegPageMatchesTheTable) {
  std::ifstream f(std::string(MM_SOURCE_DIR) + "/docs/ffmpeg.md");
  ASSERT_TRUE(f);
  std::map<std::string, std::string> documented;
  std::string line;
  const std::regex row(R"(^\| `([a-z_]+)`[^|]*\| (`([^`]*)`)? *\|.*)");
  while (std::getline(f, line)) {
    std::smatch m;
    if (std::regex_match(line, m, row)) documented[m[1]] = m[3];
  }
  for (const mm_setting_info* s : micromotion::settings_table()) {
    if (!(s->front_ends & MM_FRONT_END_FFMPEG)) continue;
    SCOPED_TRACE(s->name);
    ASSERT_TRUE(documented.count(s->name)) << "no row in docs/ffmpeg.md";
    EXPECT_EQ(documented[s->name], s->default_value);
  }
}

}  // namespace
