// The per-filter inference worker: one thread owning one mm_context.
//
// OBS's video thread must never wait for the engine (a frame takes ~1 s on a CPU), so the
// filter only hands frames over (latest frame wins: a frame is taken only while the worker is
// idle) and reads the newest finished result; both are short mutex sections. The thread holds
// a shared_ptr to the worker state, so the filter may be destroyed while a frame is in flight:
// Worker::retire() asks the thread to stop and parks it; the module joins parked threads when
// they are done and at unload, so no thread outlives the module's code.
#pragma once

#include "frame.hpp"

#include <micromotion/micromotion.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mmobs {

// What filter_video shows (the "output" property).
//   live: every frame is the worker's newest edited frame (with the live engine the worker edits
//     each frame in milliseconds: the newest edit on the current head, at most a frame behind);
//     a frame the worker skipped repeats the newest edited one, so the face never flickers.
//   pass_through: the source's own frame unless a newly edited one has just arrived (nothing
//     repeats; frames are unedited until a result, and whenever the worker falls behind).
//   off: the edit is off, frames pass through and none is handed to the worker.
enum class Output { live = 0, pass_through = 1, off = 2 };

// Everything the user can set; engine fields recreate the context, the rest apply at once.
// Defaults: the settings table's (mm_default_params) and the plugin's own below.
struct Config {
  Config();
  std::string anchor;      // published name or file
  std::string models_dir;  // empty: the engine's lookup ($MICROMOTION_MODELS, ...)
  std::string encoder;
  std::string device;
  std::string dtype;
  int iterations, warm_iterations;
  int faces, mode;         // mm_faces, mm_mode
  double feather;
  double strength;
  int threads;
  // People and edits (docs/edits.md): an edit-list file, or one person's photo(s) for the one edit.
  std::string edits;       // "" : anchor and strength for everyone (or person)
  std::string person;      // "" : no person; else PHOTO[,PHOTO...]
  std::string region;      // "face", "eyes", "eyes+mouth", ...
  int others;              // 0 auto, 1 keep, 2 edit
  double identity_threshold;
  int reconstruct_at;
  int every_n = 1;         // hand over every N-th frame
  Output output = Output::live;
  // The engine's live mode (params->live): mm_process returns at once with each face's newest
  // edit warped onto it, the networks refreshing the edits on the engine's own thread. Always on
  // in OBS; off only in the worker test that compares a frame with the engine's own edit of it.
  bool live = true;
  int min_frame_ms = 0;    // test seam: pad each frame's processing to at least this long

  bool same_engine(const Config& o) const {
    return anchor == o.anchor && models_dir == o.models_dir && encoder == o.encoder && device == o.device &&
           dtype == o.dtype && iterations == o.iterations && warm_iterations == o.warm_iterations &&
           faces == o.faces && mode == o.mode && live == o.live && feather == o.feather && threads == o.threads && edits == o.edits &&
           person == o.person && region == o.region && others == o.others &&
           identity_threshold == o.identity_threshold && reconstruct_at == o.reconstruct_at;
  }
};

struct Result {
  std::shared_ptr<const FrameBuf> frame;  // the edited frame, in the source's format; null: none
                                          // yet, or the newest frame failed (show the live one)
  uint64_t seq = 0;                       // 1, 2, ... per finished frame
};

struct Stats {
  uint64_t submitted = 0;
  uint64_t processed = 0;
  uint64_t failed = 0;
  double last_latency_ms = 0;  // hand-over to result
  double last_engine_ms = 0;   // mm_process (+ padding)
  int last_faces_edited = 0;   // the engine's report of the newest result
  // The live engine's keyframe path (mm_live_status): network runs finished, the newest one's
  // time (hand-over to result) and runs per second.
  long long refreshes = 0;
  double network_ms = 0;
  double refresh_rate = 0;
  int faces_with_edit = 0;
  bool engine_ready = false;
  std::string error;           // last error ("" when fine)
};

class Worker {
public:
  explicit Worker(std::string label);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  static std::shared_ptr<Worker> start(std::string label, const Config& config);
  // The clock of FrameBuf::submitted_ns (steady, ns).
  static uint64_t clock_ns();

  void configure(const Config& config);
  Config config() const;
  void set_label(std::string label);

  // Video thread: true when the worker would take a frame now (idle and none pending).
  bool wants_frame() const { return idle_.load(std::memory_order_acquire); }
  void submit(std::unique_ptr<FrameBuf> frame);
  Result latest() const;
  Stats stats() const;

  // Ask the thread to stop after the frame in flight; it is parked and joined by the module.
  void retire();

  // Module unload: join every retired thread (they finish their frame first).
  static void join_all_retired();

private:
  void run();
  bool ensure_engine(const Config& cfg, uint64_t version);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  Config config_;
  uint64_t config_version_ = 1;
  std::unique_ptr<FrameBuf> pending_;
  Result result_;
  Stats stats_;
  std::string label_;
  std::atomic<bool> idle_{false};
  std::thread thread_;
  std::shared_ptr<std::atomic<bool>> done_;
  bool engine_failed_ = false;  // guarded by mutex_

  // Worker-thread state.
  mm_context* ctx_ = nullptr;
  Config engine_config_;
  uint64_t engine_version_ = 0;  // config_version_ the context (or its failure) belongs to
  double engine_strength_ = 0;
};

}  // namespace mmobs
