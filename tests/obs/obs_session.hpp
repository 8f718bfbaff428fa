// A headless libobs session for the plugin tests: X display (Xvfb), OpenGL, one canvas the
// size of the clip (RGBA output, so captured frames are the canvas pixels), modules loaded one
// by one (loading every module headless crashes in the UI plugins), a media source in a scene,
// and a raw video callback that captures frames.
#pragma once

#include <obs.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace obstest {

struct Frame {
  std::vector<uint8_t> rgba;  // width * height * 4, tightly packed
  uint64_t timestamp = 0;
};

struct FilterStats {
  long long submitted = 0, processed = 0, failed = 0;
  double latency_ms = 0, engine_ms = 0;
  double video_ms_avg = 0, video_ms_max = 0;  // filter_video on OBS's video thread
  long long refreshes = 0;                      // the live engine's network runs (mm_live_status)
  double network_ms = 0, refresh_rate = 0;
  int faces_edited = 0;                         // in the newest frame out
  std::string error;
};

class Session {
public:
  // Starts libobs with a width x height canvas at fps; empty error() when it worked.
  Session(int width, int height, int fps);
  ~Session();
  const std::string& error() const { return error_; }

  bool load_module(const std::string& bin, const std::string& data);
  // A looping media source on file, shown full canvas in the output scene.
  obs_source_t* add_media_source(const std::string& file);
  obs_source_t* add_filter(obs_source_t* source, obs_data_t* settings);
  static FilterStats stats(obs_source_t* filter);

  // Captures every canvas frame into frames() while on.
  void capture(bool on);
  std::vector<Frame> take_frames();
  long callbacks() const { return callbacks_.load(); }

  int width() const { return width_; }
  int height() const { return height_; }

private:
  static void on_frame(void* param, struct video_data* frame);

  int width_, height_;
  std::string error_;
  void* display_ = nullptr;
  bool started_ = false;
  obs_scene_t* scene_ = nullptr;
  std::vector<obs_source_t*> sources_;
  std::mutex mutex_;
  bool capturing_ = false;
  std::vector<Frame> frames_;
  std::atomic<long> callbacks_{0};
};

// The media clip of the face test data, the system's obs-ffmpeg module, our build's plugin.
std::string system_plugin(const std::string& name);
std::string system_plugin_data(const std::string& name);

}  // namespace obstest
