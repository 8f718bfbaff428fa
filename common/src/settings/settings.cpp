// The settings table (see micromotion/settings.h). One row per engine setting; a front end shows
// the rows whose front_ends bit it has, and the row says why where one does not. Plain data in
// the core layer, so every program (the CLI without the face layer too) reads the same table.
#include <micromotion/error.h>
#include <micromotion/settings.h>

#include <cmath>
#include <cstring>
#include <sstream>

namespace {

constexpr unsigned kAll = MM_FRONT_END_CLI | MM_FRONT_END_FFMPEG | MM_FRONT_END_OBS;
// OBS hands the engine the latest frame whenever it is idle (about one a second on a CPU): there
// is no steady frame rate to track or smooth over, so faces are detected in every frame.
constexpr const char* kObsSparse =
    "not in obs: frames reach the engine sparsely (latest frame wins), so faces are detected in every frame and "
    "landmarks are not smoothed";

// Keyframes are for offline front ends, which can hold frames; OBS always runs live.
constexpr const char* kKeyframesNotLive =
    "not in obs: live video refreshes each face's edit as fast as the networks allow (live)";

const mm_setting_info kSettings[] = {
    {"anchor", MM_SETTING_STRING, "smile", 0, 0, nullptr,
     "micromotion to apply: a published name (aging, angry, eyesClose, headsTurn, smile) or a .safetensors/.npy file",
     "", kAll, nullptr, 0},
    {"strength", MM_SETTING_EXPRESSION, "5", -10, 10, nullptr,
     "edit strength: a number or an expression in t (seconds), n (frame number) and pts (docs/strength.md); "
     "the paper's scale is about 5",
     "", kAll,
     "obs: a constant (the slider's range); the CLI and the filter take expressions too, which are not bounded", 1},
    {"encoder", MM_SETTING_STRING, "restyle", 0, 0, nullptr, "inversion encoder: restyle, e4e, psp or a checkpoint path",
     "", kAll, nullptr, 0},
    {"iterations", MM_SETTING_INT, "-1", -1, 100, nullptr,
     "ReStyle steps for a newly found face (-1: the checkpoint's default)", "steps", kAll, nullptr, 0},
    {"warm_iterations", MM_SETTING_INT, "1", 0, 100, nullptr, "ReStyle steps per frame once a face is tracked",
     "steps", kAll, nullptr, 0},
    {"faces", MM_SETTING_CHOICE, "all", 0, 1, "all|largest", "which faces to edit: every face, or the largest only", "",
     kAll, nullptr, 0},
    {"mode", MM_SETTING_CHOICE, "replace", 0, 1, "replace|delta",
     "how the edited face is pasted back: the regenerated face, or only the edit G(w') - G(w) added", "", kAll,
     nullptr, 0},
    {"feather", MM_SETTING_NUMBER, "0.06", 0, 0.5, nullptr, "width of the face mask's soft edge",
     "fraction of the face size", kAll, nullptr, 0},
    {"models_dir", MM_SETTING_STRING, "", 0, 0, nullptr,
     "models directory (empty: $MICROMOTION_MODELS, then the user and system data directories)", "", kAll, nullptr,
     0},
    {"device", MM_SETTING_STRING, "cpu", 0, 0, nullptr, "where the networks run: cpu, cuda or cuda:N", "", kAll,
     nullptr, 0},
    {"dtype", MM_SETTING_CHOICE, "auto", 0, 2, "fp32|bf16|auto",
     "network precision (auto: bf16 where this CPU runs it faster than fp32, measured once per machine)", "",
     kAll, nullptr, 0},
    {"detect_every", MM_SETTING_INT, "10", 1, 10000, nullptr,
     "run full-frame face detection every N frames (faces are tracked in between)", "frames",
     MM_FRONT_END_CLI | MM_FRONT_END_FFMPEG, kObsSparse, 0},
    {"smooth", MM_SETTING_BOOL, "1", 0, 1, nullptr, "smooth face landmarks over time (one-euro filter)", "",
     MM_FRONT_END_CLI | MM_FRONT_END_FFMPEG, kObsSparse, 0},
    {"queue_depth", MM_SETTING_INT, "2", 1, 32, nullptr, "frames queued for the engine when it runs asynchronously",
     "frames", MM_FRONT_END_FFMPEG,
     "not in cli: render edits one frame at a time; not in obs: the plugin hands over only the latest frame", 0},
    {"frame_rate", MM_SETTING_NUMBER, "25", 0, 1000, nullptr, "frame rate for landmark smoothing (0: 25)",
     "frames per second", 0, "not in any front end: each takes it from the stream", 0},
    {"threads", MM_SETTING_INT, "0", 0, 1024, nullptr,
     "CPU threads for the networks (0: every CPU, or $MICROMOTION_THREADS)", "threads", kAll, nullptr, 0},
    {"edits", MM_SETTING_STRING, "", 0, 0, nullptr,
     "edit-list file (JSON, docs/edits.md): people by reference photos, their edits, regions and others; "
     "replaces anchor and strength", "",
     kAll, nullptr, 0},
    {"person", MM_SETTING_STRING, "", 0, 0, nullptr,
     "a person by reference photos, NAME=PHOTO[,PHOTO...]: only faces matching a person are edited (see others)", "",
     kAll, "cli: NAME=PHOTO[,PHOTO...], repeatable; ffmpeg and obs: the photos of one person; several "
     "people come from the edit-list file (edits)", 0},
    {"edit", MM_SETTING_STRING, "", 0, 0, nullptr,
     "an edit, [NAME/]ANCHOR[=STRENGTH]: a micromotion for one person (or everyone); several add up", "",
     MM_FRONT_END_CLI, "cli: repeatable (anchor and strength are the one-edit shorthand); not in ffmpeg, not in "
     "obs: several edits come from the edit-list file (edits); the filter's edit command changes one's strength", 0},
    {"region", MM_SETTING_STRING, "face", 0, 0, nullptr,
     "where the edit writes: face, eyes, brows, mouth, nose, jaw or a union (eyes+mouth)", "",
     kAll, "cli: [NAME/]REGION, repeatable; ffmpeg and obs: one region for every edited face (per person: "
     "the edit-list file)", 0},
    {"others", MM_SETTING_CHOICE, "auto", 0, 2, "auto|keep|edit",
     "faces that match no person: keep them as they are, or give them the edits for everyone (auto: keep once a "
     "person is named)", "",
     kAll, nullptr, 0},
    {"identity_threshold", MM_SETTING_NUMBER, "0.6", 0.05, 2, nullptr,
     "largest face-recognition distance at which a face is a person (dlib's documented 0.6)", "",
     kAll, nullptr, 0},
    {"keyframe_every", MM_SETTING_INT, "1", 0, 1000, nullptr,
     "run the networks on every K-th frame of a face and interpolate the edit in between (1: every frame; "
     "0 or auto: when the face has changed, at most 8 apart)", "frames",
     MM_FRONT_END_CLI | MM_FRONT_END_FFMPEG, kKeyframesNotLive, 0},
    {"keyframe_threshold", MM_SETTING_NUMBER, "0.04", 0.001, 1, nullptr,
     "with keyframe_every auto: the change of the aligned face since its last keyframe (mean absolute difference) "
     "that makes a new one", "fraction of full scale",
     MM_FRONT_END_CLI | MM_FRONT_END_FFMPEG, kKeyframesNotLive, 0},
    {"live", MM_SETTING_BOOL, "0", 0, 1, nullptr,
     "every frame out at once, each face's newest edit warped onto it, the networks refreshing the edits in the "
     "background (0: every frame waits for its own edit)", "", 0,
      "not in any front end: obs always runs live (its pass-through option shows frames "
     "unedited until a face has a result); render and the filter wait for every keyframe (keyframe_every)", 0},
    {"reconstruct_at", MM_SETTING_INT, "0", 0, 1024, nullptr,
     "resolution of ReStyle's warm-start reconstruction of each face (0: the generator's; 256 costs less, "
     "the result differs slightly)", "pixels",
     kAll, nullptr, 0},
};

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

namespace micromotion {

const std::vector<const mm_setting_info*>& settings_table() {
  static const std::vector<const mm_setting_info*> rows = [] {
    std::vector<const mm_setting_info*> v;
    for (const mm_setting_info& s : kSettings) v.push_back(&s);
    return v;
  }();
  return rows;
}

const mm_setting_info* find_setting(const char* name) {
  if (!name) return nullptr;
  for (const mm_setting_info& s : kSettings)
    if (std::strcmp(s.name, name) == 0) return &s;
  return nullptr;
}

const mm_setting_info& setting(const std::string& name) {
  const mm_setting_info* s = find_setting(name.c_str());
  if (!s) throw Error("internal: no setting '" + name + "' in the settings table");
  return *s;
}

double default_number(const std::string& name) {
  const mm_setting_info& s = setting(name);
  if (s.type == MM_SETTING_CHOICE) {
    const std::vector<std::string> c = choices(s);
    for (size_t i = 0; i < c.size(); ++i)
      if (c[i] == s.default_value) return static_cast<double>(i);
  }
  return std::strtod(s.default_value, nullptr);
}

const char* default_text(const std::string& name) { return setting(name).default_value; }

std::vector<std::string> choices(const mm_setting_info& row) {
  std::vector<std::string> out;
  if (row.type != MM_SETTING_CHOICE || !row.choices) return out;
  std::string item;
  for (const char* p = row.choices;; ++p) {
    if (*p == '|' || !*p) {
      out.push_back(item);
      item.clear();
      if (!*p) break;
    } else {
      item += *p;
    }
  }
  return out;
}

void check_range(const std::string& name, double value) {
  const mm_setting_info& s = setting(name);
  if (!(value >= s.min && value <= s.max))
    throw Error(name + " must be within [" + number_text(s.min) + ", " + number_text(s.max) + "] (got " +
                number_text(value) + ")");
}

void check_choice(const std::string& name, int index) {
  const mm_setting_info& s = setting(name);
  const std::vector<std::string> c = choices(s);
  if (index < 0 || index >= static_cast<int>(c.size())) {
    std::string list;
    for (const auto& x : c) list += (list.empty() ? "" : ", ") + x;
    throw Error(name + " must be one of " + list + " (got " + std::to_string(index) + ")");
  }
}

std::string kebab(const std::string& name) {
  std::string k = name;
  for (char& c : k)
    if (c == '_') c = '-';
  return k;
}

}  // namespace micromotion
