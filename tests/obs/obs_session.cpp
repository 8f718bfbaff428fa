#include "obs_session.hpp"

#include <obs-nix-platform.h>

#include <X11/Xlib.h>

#include <cstring>

namespace obstest {

std::string system_plugin(const std::string& name) { return std::string(MM_OBS_SYSTEM_PLUGINS) + "/" + name + ".so"; }
std::string system_plugin_data(const std::string& name) { return std::string(MM_OBS_SYSTEM_DATA) + "/" + name; }

Session::Session(int width, int height, int fps) : width_(width), height_(height) {
  Display* display = XOpenDisplay(nullptr);
  if (!display) {
    error_ = "no X display (run under xvfb-run -a)";
    return;
  }
  display_ = display;
  obs_set_nix_platform(OBS_NIX_PLATFORM_X11_EGL);
  obs_set_nix_platform_display(display);
  if (!obs_startup("en-US", nullptr, nullptr)) {
    error_ = "obs_startup failed";
    return;
  }
  started_ = true;
  obs_audio_info ai = {};
  ai.samples_per_sec = 48000;
  ai.speakers = SPEAKERS_STEREO;
  if (!obs_reset_audio(&ai)) {
    error_ = "obs_reset_audio failed";
    return;
  }
  obs_video_info vi = {};
  vi.graphics_module = "libobs-opengl";
  vi.fps_num = uint32_t(fps);
  vi.fps_den = 1;
  vi.base_width = vi.output_width = uint32_t(width);
  vi.base_height = vi.output_height = uint32_t(height);
  // I444 on the GPU (full chroma), RGBA for the callback by libobs's scaler: an RGBA canvas
  // output reads back as zeros with Mesa's llvmpipe.
  vi.output_format = VIDEO_FORMAT_I444;
  vi.gpu_conversion = true;
  vi.colorspace = VIDEO_CS_709;
  vi.range = VIDEO_RANGE_FULL;
  vi.scale_type = OBS_SCALE_BICUBIC;
  const int rv = obs_reset_video(&vi);
  if (rv != OBS_VIDEO_SUCCESS) {
    error_ = "obs_reset_video failed: " + std::to_string(rv);
    return;
  }
  scene_ = obs_scene_create("mm-test-scene");
  obs_set_output_source(0, obs_scene_get_source(scene_));
  video_scale_info to_rgba = {};
  to_rgba.format = VIDEO_FORMAT_RGBA;
  to_rgba.width = uint32_t(width);
  to_rgba.height = uint32_t(height);
  to_rgba.range = VIDEO_RANGE_FULL;
  to_rgba.colorspace = VIDEO_CS_709;
  obs_add_raw_video_callback(&to_rgba, on_frame, this);
}

Session::~Session() {
  if (started_) {
    obs_remove_raw_video_callback(on_frame, this);
    obs_set_output_source(0, nullptr);
    for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) {
      obs_source_remove(*it);
      obs_source_release(*it);
    }
    if (scene_) obs_scene_release(scene_);
    obs_shutdown();
  }
  if (display_) XCloseDisplay(static_cast<Display*>(display_));
}

bool Session::load_module(const std::string& bin, const std::string& data) {
  obs_module_t* module = nullptr;
  const int r = obs_open_module(&module, bin.c_str(), data.c_str());
  if (r != MODULE_SUCCESS) {
    error_ = "obs_open_module(" + bin + ") = " + std::to_string(r);
    return false;
  }
  if (!obs_init_module(module)) {
    error_ = "obs_init_module(" + bin + ") failed";
    return false;
  }
  return true;
}

obs_source_t* Session::add_media_source(const std::string& file) {
  obs_data_t* s = obs_data_create();
  obs_data_set_bool(s, "is_local_file", true);
  obs_data_set_string(s, "local_file", file.c_str());
  obs_data_set_bool(s, "looping", true);
  obs_data_set_bool(s, "hw_decode", false);
  obs_data_set_bool(s, "close_when_inactive", false);
  obs_data_set_bool(s, "restart_on_activate", false);
  obs_source_t* source = obs_source_create("ffmpeg_source", "mm-test-clip", s, nullptr);
  obs_data_release(s);
  if (!source) return nullptr;
  sources_.push_back(source);
  obs_scene_add(scene_, source);
  return source;
}

obs_source_t* Session::add_filter(obs_source_t* source, obs_data_t* settings) {
  obs_source_t* filter = obs_source_create("micromotion_filter", "Micromotion", settings, nullptr);
  if (!filter) return nullptr;
  obs_source_filter_add(source, filter);
  return filter;  // the caller releases it (the source holds its own reference)
}

FilterStats Session::stats(obs_source_t* filter) {
  FilterStats st;
  calldata_t cd = {};
  if (proc_handler_call(obs_source_get_proc_handler(filter), "micromotion_stats", &cd)) {
    st.submitted = calldata_int(&cd, "submitted");
    st.processed = calldata_int(&cd, "processed");
    st.failed = calldata_int(&cd, "failed");
    st.latency_ms = calldata_float(&cd, "latency_ms");
    st.engine_ms = calldata_float(&cd, "engine_ms");
    st.video_ms_avg = calldata_float(&cd, "video_ms_avg");
    st.video_ms_max = calldata_float(&cd, "video_ms_max");
    st.refreshes = calldata_int(&cd, "refreshes");
    st.network_ms = calldata_float(&cd, "network_ms");
    st.refresh_rate = calldata_float(&cd, "refresh_rate");
    st.faces_edited = int(calldata_int(&cd, "faces_edited"));
    const char* e = calldata_string(&cd, "error");
    st.error = e ? e : "";
  } else {
    st.error = "micromotion_stats: no such proc";
  }
  calldata_free(&cd);
  return st;
}

void Session::capture(bool on) {
  std::lock_guard<std::mutex> lock(mutex_);
  capturing_ = on;
}

std::vector<Frame> Session::take_frames() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Frame> out;
  out.swap(frames_);
  return out;
}

void Session::on_frame(void* param, struct video_data* frame) {
  auto* self = static_cast<Session*>(param);
  self->callbacks_.fetch_add(1);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (!self->capturing_) return;
  Frame f;
  f.timestamp = frame->timestamp;
  f.rgba.resize(size_t(self->width_) * self->height_ * 4);
  for (int y = 0; y < self->height_; ++y)
    std::memcpy(f.rgba.data() + size_t(y) * self->width_ * 4, frame->data[0] + size_t(y) * frame->linesize[0],
                size_t(self->width_) * 4);
  self->frames_.push_back(std::move(f));
}

}  // namespace obstest
