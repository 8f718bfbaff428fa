// The "Micromotion" async video filter: obs_source_info, properties and the video callback.
//
// filter_video runs on OBS's video thread and never waits for the engine: it copies the frame
// to the worker when the worker is idle (latest frame wins) and overwrites the frame with the
// newest edited one (same format, size, row order, range and matrix: should_paste), or leaves it
// as is while none exists (also after a failed frame: the live frame, never an older edit).
#include "worker.hpp"

#include <micromotion/micromotion.h>
#include <obs-module.h>
#include <util/platform.h>

#include <algorithm>
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
  std::atomic<bool> hold_last{true};
  // Time filter_video spends on the video thread (written there, read by the stats proc).
  std::atomic<uint64_t> video_ns_total{0}, video_ns_max{0}, video_calls{0};
  // Video-thread state.
  uint64_t frames = 0;
  uint64_t last_shown_seq = 0;
  int warned_format = -1;
  bool labelled = false;
};

Config read_config(obs_data_t* s) {
  Config c;
  const std::string anchor = obs_data_get_string(s, "anchor");
  c.anchor = anchor == "custom" ? obs_data_get_string(s, "anchor_file") : anchor;
  c.strength = obs_data_get_double(s, "strength");
  c.encoder = obs_data_get_string(s, "encoder");
  c.every_n = std::max<int>(1, int(obs_data_get_int(s, "every_n")));
  c.mode = int(obs_data_get_int(s, "mode"));
  c.feather = obs_data_get_double(s, "feather");
  c.models_dir = obs_data_get_string(s, "models_dir");
  c.device = obs_data_get_string(s, "device");
  c.dtype = obs_data_get_string(s, "dtype");
  c.hold_last = obs_data_get_bool(s, "hold_last");
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
  obs_data_set_default_string(s, "anchor", "smile");
  obs_data_set_default_string(s, "anchor_file", "");
  obs_data_set_default_double(s, "strength", 5.0);
  obs_data_set_default_string(s, "encoder", "restyle");
  obs_data_set_default_int(s, "every_n", 1);
  obs_data_set_default_int(s, "mode", MM_MODE_REPLACE);
  obs_data_set_default_double(s, "feather", 0.06);
  obs_data_set_default_string(s, "models_dir", "");
  obs_data_set_default_string(s, "device", "cpu");
  obs_data_set_default_string(s, "dtype", "fp32");
  obs_data_set_default_bool(s, "hold_last", true);
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
  const uint64_t calls = f->video_calls.load();
  calldata_set_float(cd, "video_ms_avg", calls ? double(f->video_ns_total.load()) / double(calls) / 1e6 : 0.0);
  calldata_set_float(cd, "video_ms_max", double(f->video_ns_max.load()) / 1e6);
}

void* mm_create(obs_data_t* settings, obs_source_t* source) {
  auto* f = new Filter;
  f->source = source;
  const Config c = read_config(settings);
  f->every_n = c.every_n;
  f->hold_last = c.hold_last;
  f->worker = Worker::start(obs_source_get_name(source), c);
  proc_handler_add(obs_source_get_proc_handler(source),
                   "void micromotion_stats(out int submitted, out int processed, out int failed, "
                   "out float latency_ms, out float engine_ms, out string error, "
                   "out float video_ms_avg, out float video_ms_max)",
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
  f->hold_last = c.hold_last;
  f->worker->configure(c);
}

bool anchor_modified(obs_properties_t* props, obs_property_t*, obs_data_t* s) {
  const bool custom = std::string(obs_data_get_string(s, "anchor")) == "custom";
  obs_property_set_visible(obs_properties_get(props, "anchor_file"), custom);
  return true;
}

obs_properties_t* mm_get_properties(void* data) {
  auto* f = static_cast<Filter*>(data);
  obs_properties_t* props = obs_properties_create();

  obs_property_t* p = obs_properties_add_list(props, "anchor", obs_module_text("Anchor"), OBS_COMBO_TYPE_LIST,
                                              OBS_COMBO_FORMAT_STRING);
  for (const char* name : kAnchors) {
    const std::string key = std::string("Anchor.") + name;
    obs_property_list_add_string(p, obs_module_text(key.c_str()), name);
  }
  obs_property_list_add_string(p, obs_module_text("Anchor.Custom"), "custom");
  obs_property_set_modified_callback(p, anchor_modified);
  obs_properties_add_path(props, "anchor_file", obs_module_text("AnchorFile"), OBS_PATH_FILE,
                          "Micromotion (*.safetensors *.npy);;All files (*)", nullptr);

  obs_properties_add_float_slider(props, "strength", obs_module_text("Strength"), -10.0, 10.0, 0.1);

  p = obs_properties_add_list(props, "encoder", obs_module_text("Encoder"), OBS_COMBO_TYPE_LIST,
                              OBS_COMBO_FORMAT_STRING);
  obs_property_list_add_string(p, obs_module_text("Encoder.ReStyle"), "restyle");
  obs_property_list_add_string(p, obs_module_text("Encoder.e4e"), "e4e");
  obs_property_list_add_string(p, obs_module_text("Encoder.pSp"), "psp");

  p = obs_properties_add_int(props, "every_n", obs_module_text("EveryN"), 1, 120, 1);
  obs_property_set_long_description(p, obs_module_text("EveryN.Description"));

  p = obs_properties_add_list(props, "mode", obs_module_text("Mode"), OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_INT);
  obs_property_list_add_int(p, obs_module_text("Mode.Replace"), MM_MODE_REPLACE);
  obs_property_list_add_int(p, obs_module_text("Mode.Delta"), MM_MODE_DELTA);

  obs_properties_add_float_slider(props, "feather", obs_module_text("Feather"), 0.0, 0.5, 0.01);

  p = obs_properties_add_bool(props, "hold_last", obs_module_text("HoldLast"));
  obs_property_set_long_description(p, obs_module_text("HoldLast.Description"));

  obs_properties_add_path(props, "models_dir", obs_module_text("ModelsDir"), OBS_PATH_DIRECTORY, nullptr, nullptr);

  p = obs_properties_add_list(props, "device", obs_module_text("Device"), OBS_COMBO_TYPE_LIST,
                              OBS_COMBO_FORMAT_STRING);
  obs_property_list_add_string(p, obs_module_text("Device.CPU"), "cpu");
  obs_property_list_add_string(p, obs_module_text("Device.CUDA"), "cuda");

  p = obs_properties_add_list(props, "dtype", obs_module_text("Dtype"), OBS_COMBO_TYPE_LIST,
                              OBS_COMBO_FORMAT_STRING);
  obs_property_list_add_string(p, obs_module_text("Dtype.fp32"), "fp32");
  obs_property_list_add_string(p, obs_module_text("Dtype.bf16"), "bf16");

  // What the worker is doing now (the dialog is rebuilt each time it opens).
  std::string status;
  obs_text_info_type status_type = OBS_TEXT_INFO_NORMAL;
  if (f) {
    const mmobs::Stats st = f->worker->stats();
    char buf[256];
    if (!st.error.empty()) {
      status = std::string(obs_module_text("Status.Error")) + " " + st.error;
      status_type = OBS_TEXT_INFO_ERROR;
    } else if (st.processed > 0) {
      // Numbers appended here, not through a translated format string.
      snprintf(buf, sizeof buf, " %llu / %.0f ms", static_cast<unsigned long long>(st.processed), st.last_latency_ms);
      status = obs_module_text("Status.Running") + std::string(buf);
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
  if (mmobs::should_paste(live, r.frame.get(), r.seq, f->hold_last.load(), f->last_shown_seq)) {
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
