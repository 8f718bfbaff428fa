#include "worker.hpp"

#include <micromotion/micromotion.h>
#include <util/base.h>

#include <chrono>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mmobs {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// Threads that were asked to stop; joined once done (or at module unload).
struct Retired {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};
// Never destroyed: a thread still parked at process exit (a host that skips module unload)
// must not make a static destructor call std::terminate.
std::mutex& g_retired_mutex = *new std::mutex;
std::vector<Retired>& g_retired = *new std::vector<Retired>;

void reap_finished_locked() {
  for (auto it = g_retired.begin(); it != g_retired.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = g_retired.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

Config::Config() {
  const mm_params p = mm_default_params();
  anchor = p.anchor;
  models_dir = p.models_dir ? p.models_dir : "";
  encoder = p.encoder;
  device = p.device;
  dtype = p.dtype;
  iterations = p.iterations;
  warm_iterations = p.warm_iterations;
  faces = p.faces;
  mode = p.mode;
  feather = p.feather;
  strength = p.strength;
  threads = p.threads;
  edits = p.edits ? p.edits : "";
  person = p.person ? p.person : "";
  region = p.region ? p.region : "face";
  others = p.others;
  identity_threshold = p.identity_threshold;
  reconstruct_at = p.reconstruct_at;
}

uint64_t Worker::clock_ns() { return now_ns(); }

Worker::Worker(std::string label) : label_(std::move(label)) {}

Worker::~Worker() {
  // Normally the thread was retired; this only guards against a worker dropped without it.
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
  }
}

std::shared_ptr<Worker> Worker::start(std::string label, const Config& config) {
  auto w = std::make_shared<Worker>(std::move(label));
  w->config_ = config;
  auto done = std::make_shared<std::atomic<bool>>(false);
  w->done_ = done;
  // The thread keeps the worker alive until it has finished its last frame.
  w->thread_ = std::thread([w, done]() mutable {
    w->run();
    w.reset();
    done->store(true);
  });
  return w;
}

void Worker::configure(const Config& config) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    config_ = config;
    ++config_version_;
  }
  cv_.notify_all();
}

Config Worker::config() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return config_;
}

void Worker::set_label(std::string label) {
  std::lock_guard<std::mutex> lock(mutex_);
  label_ = std::move(label);
}

void Worker::submit(std::unique_ptr<FrameBuf> frame) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = std::move(frame);  // latest frame wins
    ++stats_.submitted;
    idle_.store(false, std::memory_order_release);
  }
  cv_.notify_all();
}

Result Worker::latest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return result_;
}

Stats Worker::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Worker::retire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> lock(g_retired_mutex);
  reap_finished_locked();
  if (thread_.joinable()) g_retired.push_back({std::move(thread_), done_});
}

void Worker::join_all_retired() {
  std::vector<Retired> all;
  {
    std::lock_guard<std::mutex> lock(g_retired_mutex);
    all.swap(g_retired);
  }
  for (auto& r : all) r.thread.join();
}

bool Worker::ensure_engine(const Config& cfg, uint64_t version) {
  if (engine_version_ == version) return ctx_ != nullptr;
  if (ctx_ && cfg.same_engine(engine_config_)) {  // only filter-side fields changed
    engine_version_ = version;
    return true;
  }
  if (ctx_) {
    mm_destroy(ctx_);
    ctx_ = nullptr;
  }
  mm_params p = mm_default_params();
  p.anchor = cfg.anchor.c_str();
  p.strength = cfg.strength;
  p.models_dir = cfg.models_dir.empty() ? nullptr : cfg.models_dir.c_str();
  p.encoder = cfg.encoder.c_str();
  p.device = cfg.device.c_str();
  p.dtype = cfg.dtype.c_str();
  p.iterations = cfg.iterations;
  p.warm_iterations = cfg.warm_iterations;
  p.faces = static_cast<mm_faces>(cfg.faces);
  p.mode = static_cast<mm_mode>(cfg.mode);
  p.feather = cfg.feather;
  p.threads = cfg.threads;
  p.edits = cfg.edits.empty() ? nullptr : cfg.edits.c_str();
  p.person = cfg.person.empty() ? nullptr : cfg.person.c_str();
  p.region = cfg.region.empty() ? nullptr : cfg.region.c_str();
  p.others = cfg.others;
  p.identity_threshold = cfg.identity_threshold;
  p.reconstruct_at = cfg.reconstruct_at;
  // Live: frames out at once with the newest edit; the networks run on the engine's thread.
  p.live = cfg.live ? 1 : 0;
  // Frames reach the engine unevenly (latest frame wins: a busy worker skips frames): detect
  // faces on every frame and do not smooth landmarks over time, both of which assume a steady
  // frame rate (the settings table's detect_every and smooth rows say so).
  p.detect_every = 1;
  p.smooth = 0;
  char error[1024] = "";
  const auto t0 = Clock::now();
  ctx_ = mm_create(&p, error, sizeof error);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  engine_config_ = cfg;
  engine_version_ = version;
  engine_strength_ = cfg.strength;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!ctx_) {
    stats_.engine_ready = false;
    stats_.error = error[0] ? error : "mm_create failed";
    engine_failed_ = true;
    result_ = Result{nullptr, result_.seq};  // the source passes through while misconfigured
    blog(LOG_WARNING, "[micromotion] '%s': cannot start the engine, frames pass through unchanged: %s",
         label_.c_str(), stats_.error.c_str());
    return false;
  }
  engine_failed_ = false;
  stats_.engine_ready = true;
  stats_.error.clear();
  blog(LOG_INFO, "[micromotion] '%s': engine ready in %.0f ms (%s%s%s, encoder %s, %s/%s, mode %s, feather %.2f%s)",
       label_.c_str(), ms, cfg.edits.empty() ? "anchor '" : "edit list '",
       cfg.edits.empty() ? cfg.anchor.c_str() : cfg.edits.c_str(), "'", cfg.encoder.c_str(), cfg.device.c_str(),
       cfg.dtype.c_str(), cfg.mode == 1 ? "delta" : "replace", cfg.feather, cfg.live ? ", live" : "");
  return true;
}

void Worker::run() {
  // Inference must not starve OBS's video and audio threads of CPU: run below their priority
  // (per thread on Linux; the engine's OpenMP threads, created from here, inherit it).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);

  bool warned_colour = false, first_edit = false;
  uint64_t first_frame_ns = 0;
  uint64_t window_start = now_ns(), window_frames = 0;
  double window_latency = 0, window_engine = 0;

  for (;;) {
    std::unique_ptr<FrameBuf> frame;
    Config cfg;
    uint64_t version = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        // While the engine cannot start with these settings, frames are not even copied.
        const bool blocked = engine_failed_ && engine_version_ == config_version_;
        idle_.store(!pending_ && !blocked && !stop_, std::memory_order_release);
        if (stop_ || pending_) break;
        cv_.wait(lock);
      }
      if (stop_) break;
      frame = std::move(pending_);
      cfg = config_;
      version = config_version_;
    }
    const auto t0 = Clock::now();
    if (!ensure_engine(cfg, version)) continue;
    if (cfg.strength != engine_strength_) {
      mm_set_strength(ctx_, cfg.strength);
      engine_strength_ = cfg.strength;
    }

    // In place, natively: the engine writes only the samples of the faces it edits.
    const Colour colour = colour_of(*frame);
    if (!colour.exact && !warned_colour) {
      blog(LOG_WARNING, "[micromotion] '%s': the source's colour matrix is not BT.601, BT.709 or BT.2020; faces are "
           "edited with the closest (%s)", label_.c_str(),
           colour.matrix == MM_MATRIX_BT709 ? "BT.709" : colour.matrix == MM_MATRIX_BT2020 ? "BT.2020" : "BT.601");
      warned_colour = true;
    }
    mm_frame native = engine_frame(*frame, colour);
    native.index = int64_t(stats().submitted);
    mm_report report{};
    if (mm_process(ctx_, &native, &native, &report) != 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::string err = mm_error(ctx_);
      if (err != stats_.error)
        blog(LOG_WARNING, "[micromotion] '%s': a frame failed, shown unedited: %s", label_.c_str(), err.c_str());
      stats_.error = err;
      ++stats_.failed;
      // The newest result is older than this frame: holding it would show a stale face over the
      // live picture (and for as long as frames keep failing). Show the live frame instead.
      result_ = Result{nullptr, result_.seq};
      continue;
    }

    if (cfg.min_frame_ms > 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_until(lock, t0 + std::chrono::milliseconds(cfg.min_frame_ms), [&] { return stop_; });
      if (stop_) break;
    }

    const uint64_t done = now_ns();
    const double engine_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const double latency_ms = double(done - frame->submitted_ns) / 1e6;
    if (!first_frame_ns) first_frame_ns = frame->submitted_ns;
    mm_live_info live{};
    const bool have_live = cfg.live && mm_live_status(ctx_, &live) == 0;
    std::string label;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      result_.frame = std::shared_ptr<const FrameBuf>(std::move(frame));
      ++result_.seq;
      ++stats_.processed;
      stats_.last_latency_ms = latency_ms;
      stats_.last_engine_ms = engine_ms;
      stats_.last_faces_edited = report.faces_edited;
      if (have_live) {
        stats_.refreshes = live.refreshes;
        stats_.network_ms = live.network_seconds * 1e3;
        stats_.refresh_rate = live.refresh_rate;
        stats_.faces_with_edit = live.faces_with_edit;
      }
      stats_.error.clear();
      label = label_;
      if (stats_.processed == 1) window_start = done;  // rate and latency windows start with the first frame
    }
    if (!first_edit && report.faces_edited > 0) {
      first_edit = true;
      blog(LOG_INFO, "[micromotion] '%s': first edited frame (a face has its first edit), %.0f ms after the first frame",
           label.c_str(), double(done - first_frame_ns) / 1e6);
    }
    ++window_frames;
    window_latency += latency_ms;
    window_engine += engine_ms;
    const double window_s = double(done - window_start) / 1e9;
    if (window_s >= 10.0) {
      blog(LOG_INFO, "[micromotion] '%s': %.1f frames/s out, %.0f ms a frame (hand-over to result), engine %.0f ms/frame; "
           "networks: %.0f ms, %.2f refreshes/s", label.c_str(), double(window_frames) / window_s,
           window_latency / double(window_frames), window_engine / double(window_frames),
           have_live ? live.network_seconds * 1e3 : 0.0, have_live ? live.refresh_rate : 0.0);
      window_start = done;
      window_frames = 0;
      window_latency = window_engine = 0;
    }
  }
  idle_.store(false);
  mm_destroy(ctx_);
  ctx_ = nullptr;
}

}  // namespace mmobs
