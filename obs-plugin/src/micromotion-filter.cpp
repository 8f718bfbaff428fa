// The "Micromotion" async video filter: obs_source_info, properties and the video callback.
//
// filter_video runs on OBS's video thread and never waits for the engine: it copies the frame
// to the worker when the worker is idle (latest frame wins) and overwrites the frame with the
// newest edited one (same format, size, row order, range and matrix: should_paste), or leaves it
// as is while none exists (also after a failed frame: the live frame, never an older edit).
// The engine runs live (mmobs::Config::live): the worker turns each frame out in milliseconds with
// each face's newest edit on its current position, the networks refreshing the edits on the
// engine's own thread; the output property (mmobs::Output) says what a frame without a new
// edited one shows.
#include "worker.hpp"

#include <micromotion/micromotion.h>
#include <obs-module.h>
#include <util/platform.h>

#include <algorithm>
#include <cstdlib>
#include <vector>
#include <atomic>
#include <memory>
#include <string>

using mmobs::Config;
using mmobs::Worker;

namespace {

// Published micromotions (models/directions/); "custom" takes a file.
const char* const kAnchors[] = {"smile", "aging", "angry", "eyesClose", "headsTurn"};

struct Filter {
  obs_source_t* source = nullptr;
  std::shared_ptr<Worker> worker;
  // Read on the video thread, written by update (UI thread).
  std::atomic<int> every_n{1};
  std::atomic<int> output{int(mmobs::Output::live)};
  // Time filter_video spends on the video thread (written there, read by the stats proc).
  std::atomic<uint64_t> video_ns_total{0}, video_ns_max{0}, video_calls{0};
  // Video-thread state.
  uint64_t frames = 0;
  uint64_t last_shown_seq = 0;
  uint64_t stale_seq = 0;  // results up to this one were made before the edit was last off
  int warned_format = -1;
  bool labelled = false;
};

// The settings table's rows OBS shows (mm_setting_info_at), in its order.
template <class F>
void for_each_obs_setting(F&& f) {
  for (int i = 0; i < mm_setting_count(); ++i) {
    const mm_setting_info* row = mm_setting_info_at(i);
    if (row->front_ends & MM_FRONT_END_OBS) f(*row);
  }
}

std::vector<std::string> choices_of(const mm_setting_info& row) {
  std::vector<std::string> out(1);
  for (const char* c = row.choices ? row.choices : ""; *c; ++c) {
    if (*c == '|') out.emplace_back();
    else out.back() += *c;
  }
  return out;
}

// A CHOICE setting's index: stored by name; scenes saved before the table stored some as numbers.
int choice_index(obs_data_t* s, const mm_setting_info& row) {
  obs_data_item_t* item = obs_data_item_byname(s, row.name);
  const bool number = item && obs_data_item_gettype(item) == OBS_DATA_NUMBER;
  obs_data_item_release(&item);
  const std::vector<std::string> c = choices_of(row);
  if (number) return std::clamp(int(obs_data_get_int(s, row.name)), 0, int(c.size()) - 1);
  const auto it = std::find(c.begin(), c.end(), obs_data_get_string(s, row.name));
  return it == c.end() ? 0 : int(it - c.begin());
}

Config read_config(obs_data_t* s) {
  Config c;
  for_each_obs_setting([&](const mm_setting_info& row) {
    const std::string name = row.name;
    if (name == "anchor") {
      const std::string anchor = obs_data_get_string(s, "anchor");
      c.anchor = anchor == "custom" ? obs_data_get_string(s, "anchor_file") : anchor;
    } else if (name == "strength") {
      c.strength = obs_data_get_double(s, "strength");
    } else if (name == "encoder") {
      c.encoder = obs_data_get_string(s, "encoder");
    } else if (name == "iterations") {
      c.iterations = int(obs_data_get_int(s, "iterations"));
    } else if (name == "warm_iterations") {
      c.warm_iterations = int(obs_data_get_int(s, "warm_iterations"));
    } else if (name == "faces") {
      c.faces = choice_index(s, row);
    } else if (name == "mode") {
      c.mode = choice_index(s, row);
    } else if (name == "feather") {
      c.feather = obs_data_get_double(s, "feather");
    } else if (name == "models_dir") {
      c.models_dir = obs_data_get_string(s, "models_dir");
    } else if (name == "device") {
      c.device = obs_data_get_string(s, "device");
    } else if (name == "dtype") {
      c.dtype = choices_of(row)[size_t(choice_index(s, row))];
    } else if (name == "threads") {
      c.threads = int(obs_data_get_int(s, "threads"));
    } else if (name == "edits") {
      c.edits = obs_data_get_string(s, "edits");
    } else if (name == "person") {
      c.person = obs_data_get_string(s, "person");
    } else if (name == "region") {
      c.region = obs_data_get_string(s, "region");
    } else if (name == "others") {
      c.others = choice_index(s, row);
    } else if (name == "identity_threshold") {
      c.identity_threshold = obs_data_get_double(s, "identity_threshold");
    } else if (name == "reconstruct_at") {
      c.reconstruct_at = int(obs_data_get_int(s, "reconstruct_at"));
    } else {
      blog(LOG_WARNING, "[micromotion] the setting '%s' has no place in the OBS filter", row.name);
    }
  });
  c.every_n = std::max<int>(1, int(obs_data_get_int(s, "every_n")));
  const std::string output = obs_data_get_string(s, "output");
  c.output = output == "pass_through" ? mmobs::Output::pass_through
             : output == "off"        ? mmobs::Output::off
                                      : mmobs::Output::live;
  // Scenes saved before live mode had "hold_last" (on by default); off meant pass-through.
  if (!obs_data_has_user_value(s, "output") && obs_data_has_user_value(s, "hold_last") &&
      !obs_data_get_bool(s, "hold_last"))
    c.output = mmobs::Output::pass_through;
  // Test seam, not shown in the UI: pad every frame's processing to at least this long, to
  // check that a slow engine never slows OBS's render loop.
  c.min_frame_ms = int(obs_data_get_int(s, "debug_min_frame_ms"));
  return c;
}

std::string label_of(const Filter* f) {
  obs_source_t* parent = obs_filter_get_parent(f->source);
  std::string label = parent ? obs_source_get_name(parent) : "";
  label += label.empty() ? "" : "/";
  label += obs_source_get_name(f->source);
  return label;
}

const char* mm_get_name(void*) { return obs_module_text("Micromotion"); }

void mm_get_defaults(obs_data_t* s) {
  for_each_obs_setting([&](const mm_setting_info& row) {
    switch (row.type) {
      case MM_SETTING_INT: obs_data_set_default_int(s, row.name, std::atoll(row.default_value)); break;
      case MM_SETTING_NUMBER:
      case MM_SETTING_EXPRESSION: obs_data_set_default_double(s, row.name, std::atof(row.default_value)); break;
      case MM_SETTING_BOOL: obs_data_set_default_bool(s, row.name, std::atoi(row.default_value) != 0); break;
      default: obs_data_set_default_string(s, row.name, row.default_value);
    }
  });
  obs_data_set_default_string(s, "anchor_file", "");
  obs_data_set_default_int(s, "every_n", 1);
  obs_data_set_default_string(s, "output", "live");
  obs_data_set_default_int(s, "debug_min_frame_ms", 0);
}

// Tests (and scripts) read the worker's progress through the filter's proc handler.
void proc_stats(void* data, calldata_t* cd) {
  const auto* f = static_cast<Filter*>(data);
  const mmobs::Stats st = f->worker->stats();
  calldata_set_int(cd, "submitted", static_cast<long long>(st.submitted));
  calldata_set_int(cd, "processed", static_cast<long long>(st.processed));
  calldata_set_int(cd, "failed", static_cast<long long>(st.failed));
  calldata_set_float(cd, "latency_ms", st.last_latency_ms);
  calldata_set_float(cd, "engine_ms", st.last_engine_ms);
  calldata_set_string(cd, "error", st.error.c_str());
  calldata_set_int(cd, "refreshes", st.refreshes);
  calldata_set_float(cd, "network_ms", st.network_ms);
  calldata_set_float(cd, "refresh_rate", st.refresh_rate);
  calldata_set_int(cd, "faces_edited", st.last_faces_edited);
  const uint64_t calls = f->video_calls.load();
  calldata_set_float(cd, "video_ms_avg", calls ? double(f->video_ns_total.load()) / double(calls) / 1e6 : 0.0);
  calldata_set_float(cd, "video_ms_max", double(f->video_ns_max.load()) / 1e6);
}

void* mm_create(obs_data_t* settings, obs_source_t* source) {
  auto* f = new Filter;
  f->source = source;
  const Config c = read_config(settings);
  f->every_n = c.every_n;
  f->output = int(c.output);
  f->worker = Worker::start(obs_source_get_name(source), c);
  proc_handler_add(obs_source_get_proc_handler(source),
                   "void micromotion_stats(out int submitted, out int processed, out int failed, "
                   "out float latency_ms, out float engine_ms, out string error, "
                   "out float video_ms_avg, out float video_ms_max, out int refreshes, out float network_ms, "
                   "out float refresh_rate, out int faces_edited)",
                   proc_stats, f);
  return f;
}

void mm_destroy(void* data) {
  auto* f = static_cast<Filter*>(data);
  // No waiting here (this may be the video or UI thread): the worker finishes the frame in
  // flight on its own, holding its own reference, and the module joins it later.
  f->worker->retire();
  delete f;
}

void mm_update(void* data, obs_data_t* settings) {
  auto* f = static_cast<Filter*>(data);
  const Config c = read_config(settings);
  f->every_n = c.every_n;
  f->output = int(c.output);
  f->worker->configure(c);
}

// A setting's tooltip: the locale's "NAME.help" when it has one, else the table's help.
void add_help(obs_property_t* p, const mm_setting_info& row) {
  const char* text = nullptr;
  if (!obs_module_get_string((std::string(row.name) + ".help").c_str(), &text)) text = row.help;
  obs_property_set_long_description(p, text);
}

bool anchor_modified(obs_properties_t* props, obs_property_t*, obs_data_t* s) {
  const bool custom = std::string(obs_data_get_string(s, "anchor")) == "custom";
  obs_property_set_visible(obs_properties_get(props, "anchor_file"), custom);
  return true;
}

obs_properties_t* mm_get_properties(void* data) {
  auto* f = static_cast<Filter*>(data);
  obs_properties_t* props = obs_properties_create();

  obs_property_t* p = nullptr;
  for_each_obs_setting([&](const mm_setting_info& row) {
    const std::string name = row.name;
    const char* label = obs_module_text(row.name);
    if (name == "anchor") {
      p = obs_properties_add_list(props, row.name, label, OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING);
      for (const char* anchor : kAnchors)
        obs_property_list_add_string(p, obs_module_text(("anchor." + std::string(anchor)).c_str()), anchor);
      obs_property_list_add_string(p, obs_module_text("anchor.custom"), "custom");
      obs_property_set_modified_callback(p, anchor_modified);
      add_help(p, row);
      p = obs_properties_add_path(props, "anchor_file", obs_module_text("anchor_file"), OBS_PATH_FILE,
                                  "Micromotion (*.safetensors *.npy);;All files (*)", nullptr);
      return;
    }
    if (name == "encoder" || name == "device") {  // a list to pick from, or a value typed in (a path, cuda:1)
      p = obs_properties_add_list(props, row.name, label, OBS_COMBO_TYPE_EDITABLE, OBS_COMBO_FORMAT_STRING);
      for (const char* v : name == "encoder" ? std::vector<const char*>{"restyle", "e4e", "psp"}
                                             : std::vector<const char*>{"cpu", "cuda"})
        obs_property_list_add_string(p, obs_module_text((name + "." + v).c_str()), v);
    } else if (name == "models_dir") {
      p = obs_properties_add_path(props, row.name, label, OBS_PATH_DIRECTORY, nullptr, nullptr);
    } else if (name == "edits") {
      p = obs_properties_add_path(props, row.name, label, OBS_PATH_FILE, "Edit list (*.json);;All files (*)", nullptr);
    } else if (name == "person") {  // one photo picked, or several typed in as PHOTO,PHOTO
      p = obs_properties_add_path(props, row.name, label, OBS_PATH_FILE,
                                  "Photos (*.jpg *.jpeg *.png *.bmp *.webp);;All files (*)", nullptr);
    } else if (name == "region") {  // a part to pick, or a union typed in (eyes+mouth)
      p = obs_properties_add_list(props, row.name, label, OBS_COMBO_TYPE_EDITABLE, OBS_COMBO_FORMAT_STRING);
      for (const char* v : {"face", "eyes", "brows", "mouth", "nose", "jaw", "eyes+mouth"})
        obs_property_list_add_string(p, obs_module_text((name + "." + v).c_str()), v);
    } else {
      switch (row.type) {
        case MM_SETTING_INT: p = obs_properties_add_int(props, row.name, label, int(row.min), int(row.max), 1); break;
        case MM_SETTING_NUMBER:
        case MM_SETTING_EXPRESSION:
          p = obs_properties_add_float_slider(props, row.name, label, row.min, row.max, (row.max - row.min) / 200);
          break;
        case MM_SETTING_BOOL: p = obs_properties_add_bool(props, row.name, label); break;
        case MM_SETTING_CHOICE:
          p = obs_properties_add_list(props, row.name, label, OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING);
          for (const std::string& c : choices_of(row))
            obs_property_list_add_string(p, obs_module_text((name + "." + c).c_str()), c.c_str());
          break;
        default: p = obs_properties_add_text(props, row.name, label, OBS_TEXT_DEFAULT);
      }
    }
    add_help(p, row);
  });

  p = obs_properties_add_int(props, "every_n", obs_module_text("every_n"), 1, 120, 1);
  obs_property_set_long_description(p, obs_module_text("every_n.help"));
  p = obs_properties_add_list(props, "output", obs_module_text("output"), OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_STRING);
  for (const char* v : {"live", "pass_through", "off"})
    obs_property_list_add_string(p, obs_module_text((std::string("output.") + v).c_str()), v);
  obs_property_set_long_description(p, obs_module_text("output.help"));

  // What the worker is doing now (the dialog is rebuilt each time it opens).
  std::string status;
  obs_text_info_type status_type = OBS_TEXT_INFO_NORMAL;
  if (f) {
    const mmobs::Stats st = f->worker->stats();
    char buf[256];
    if (!st.error.empty()) {
      status = std::string(obs_module_text("Status.Error")) + " " + st.error;
      status_type = OBS_TEXT_INFO_ERROR;
    } else if (mmobs::Output(f->output.load()) == mmobs::Output::off) {
      status = obs_module_text("Status.Off");
    } else if (st.processed > 0 && st.refreshes > 0) {
      // Numbers appended here, not through a translated format string.
      snprintf(buf, sizeof buf, " %d / %.0f ms / %.2f/s / %.0f ms", st.last_faces_edited, st.network_ms,
               st.refresh_rate, st.last_engine_ms);
      status = obs_module_text("Status.Running") + std::string(buf);
    } else if (st.processed > 0) {
      status = obs_module_text("Status.FirstEdit");
    } else {
      status = obs_module_text("Status.Waiting");
    }
  }
  p = obs_properties_add_text(props, "status", status.c_str(), OBS_TEXT_INFO);
  obs_property_text_set_info_type(p, status_type);
  obs_properties_add_text(props, "sources_note", obs_module_text("SourcesNote"), OBS_TEXT_INFO);
  return props;
}

// A frame's properties that decide how its bytes read as a picture (no planes).
void describe(mmobs::FrameBuf& buf, const obs_source_frame* frame) {
  buf.format = int(frame->format);
  buf.width = frame->width;
  buf.height = frame->height;
  std::copy(frame->color_matrix, frame->color_matrix + 16, buf.color_matrix);
  std::copy(frame->color_range_min, frame->color_range_min + 3, buf.range_min);
  std::copy(frame->color_range_max, frame->color_range_max + 3, buf.range_max);
  buf.full_range = frame->full_range;
  buf.flip = frame->flip;
  buf.timestamp = frame->timestamp;
}

obs_source_frame* filter_frame(Filter* f, obs_source_frame* frame);

obs_source_frame* mm_filter_video(void* data, obs_source_frame* frame) {
  auto* f = static_cast<Filter*>(data);
  const uint64_t t0 = os_gettime_ns();
  obs_source_frame* out = filter_frame(f, frame);
  const uint64_t ns = os_gettime_ns() - t0;
  f->video_ns_total += ns;
  f->video_calls += 1;
  if (ns > f->video_ns_max.load()) f->video_ns_max = ns;
  return out;
}

obs_source_frame* filter_frame(Filter* f, obs_source_frame* frame) {
  if (!mmobs::format_supported(frame->format)) {
    if (f->warned_format != int(frame->format)) {
      blog(LOG_WARNING, "[micromotion] '%s': frames in %s are not supported yet, they pass through unchanged",
           label_of(f).c_str(), mmobs::format_name(frame->format));
      f->warned_format = int(frame->format);
    }
    return frame;
  }
  if (!f->labelled) {  // the parent is known once frames flow
    f->worker->set_label(label_of(f));
    f->labelled = true;
  }
  const auto output = mmobs::Output(f->output.load());
  if (output == mmobs::Output::off) {  // the edit is off: the frame as it came
    f->stale_seq = f->worker->latest().seq;
    return frame;
  }
  if (f->frames++ % uint64_t(f->every_n.load()) == 0 && f->worker->wants_frame()) {
    auto buf = std::make_unique<mmobs::FrameBuf>();
    mmobs::copy_in(*buf, frame->format, frame->width, frame->height, frame->data, frame->linesize, frame->flip);
    describe(*buf, frame);
    buf->submitted_ns = Worker::clock_ns();
    f->worker->submit(std::move(buf));
  }
  const mmobs::Result r = f->worker->latest();
  mmobs::FrameBuf live;
  describe(live, frame);
  if (r.seq > f->stale_seq &&
      mmobs::should_paste(live, r.frame.get(), r.seq, output == mmobs::Output::live, f->last_shown_seq)) {
    mmobs::copy_out(*r.frame, frame->data, frame->linesize);
    f->last_shown_seq = r.seq;
  }
  return frame;
}

}  // namespace

extern "C" void micromotion_register_filter(void) {
  obs_source_info info = {};
  info.id = "micromotion_filter";
  info.type = OBS_SOURCE_TYPE_FILTER;
  // OBS_SOURCE_ASYNC: offered for webcam and media sources only (OBS hides async filters on
  // display, window and game capture, which render on the GPU and have no frames to edit).
  info.output_flags = OBS_SOURCE_VIDEO | OBS_SOURCE_ASYNC;
  info.get_name = mm_get_name;
  info.create = mm_create;
  info.destroy = mm_destroy;
  info.update = mm_update;
  info.get_defaults = mm_get_defaults;
  info.get_properties = mm_get_properties;
  info.filter_video = mm_filter_video;
  obs_register_source(&info);
}
