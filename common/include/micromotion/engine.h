// micromotion/engine.h — the per-frame engine: every face of every frame of one stream.
//
// Per frame: track faces (FaceTracker) -> smooth landmarks (one-euro, per track) -> FFHQ-align
// to 256 -> invert (ReStyle warm-started from the same track's previous latent, or e4e / pSp)
// -> w' = w + sum_i s_i d_i -> synthesize all faces of the frame in one batch, stopping at the
// smallest ToRGB resolution that covers the largest face on screen -> map (x + 1) / 2, clamped
// (never a per-frame min-max, which flickers) -> composite with the feathered face mask
// (replace, or delta: frame + G(w') - G(w)).
//
// Engine(options, motions)
//   requires: motions not empty.
//   ensures:  the encoder (options.encoder: restyle | e4e | psp, looked up as
//             restyle_psp_ffhq_encode.pt / e4e_ffhq_encode.pt / psp_ffhq_encode.pt in the model
//             directories, or a path) is loaded once; every motion fits its decoder.
//   throws:   micromotion::Error naming a missing model file and where to get it, a direction of
//             the wrong shape, a bad option.
//   The overload taking an Encoder uses it instead of loading one.
// process(frame, strengths, report)
//   requires: strengths.size() == number of motions (strength i scales motions[i]'s direction;
//             of a rank-k basis only the first vector is used); frame passes check_frame.
//   ensures:  frame edited in place, in its own format (native_frame.h): the tracker sees the
//             frame as 8-bit RGB, the face is blended at float precision and written back at
//             the frame's bit depth, only samples the edit changes are written; a frame where
//             no face is found, every sample outside the faces' masks, and alpha stay
//             bit-exact. report (when not null): the faces found and, per edited face, its
//             track, the box of every sample written and the synthesis resolution.
//   The ImageView overload returns an edited RGB copy.
// Two rates (DESIGN.md section 8). Per frame: track, match people, smooth, align (the transform
//   only), composite each face's edit warped to this frame's alignment. Per keyframe: invert +
//   edit + synthesize, giving the edit in aligned coordinates (delta: G(w') and G(w); replace:
//   G(w')). A face's keyframes are its track's first frame, every keyframe_every-th frame after
//   (0: auto, when its aligned face changed by more than keyframe_threshold, at most
//   kMaxAutoKeyframeGap apart) and when its person changes. With keyframe_every 1 every frame is
//   a keyframe: exactly the per-frame pipeline above.
//   process(): no look-ahead, a frame between keyframes gets the previous keyframe's edit;
//   add()/take() and submit()/receive(): interpolated between the keyframes before and after.
//   options.live: process() returns at once with each face's newest edit warped onto it, while
//   the networks work on the newest frame's faces on the engine's own thread whenever free
//   (live_status() says how fast); before a face's first edit it passes through.
// People (options.people): a face's person is matched by PersonMatcher; its edits are those for
//   its person and for everyone (edit_person), its mask the person's region (or options.region).
//   A face without edits is left bit-exact and not reported.
// submit / receive / finish: the same, asynchronously, on a worker thread, frames in order.
//   submit blocks while options.queue_depth frames are waiting; receive(wait) returns the next
//   finished frame (or nothing: none ready and !wait, or the stream is finished and drained);
//   finish() says no more frames come (flush). latency() = frames submitted and not received.
//   An error on the worker is rethrown by receive.
// Thread-safety: one Engine per stream. process() must not run concurrently with anything else
// on the same Engine; submit() and receive() may be called from two different threads.
#pragma once

#include <micromotion/compositor.h>
#include <micromotion/face_region.h>
#include <micromotion/face_tracker.h>
#include <micromotion/image.h>
#include <micromotion/motion.h>
#include <micromotion/native_frame.h>
#include <micromotion/person_matcher.h>
#include <micromotion/settings.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace micromotion {

enum class EditMode { replace, delta };
enum class FaceSelection { all, largest };

// Defaults: the settings table's (settings.h), except max_resolution (not a setting).
struct EngineOptions {
  EngineOptions();
  std::string models_dir;            // "" : $MICROMOTION_MODELS, user data dir, system dir
  std::string encoder;               // restyle | e4e | psp | path of an encoder checkpoint
  int iterations;                    // ReStyle steps for a new track; -1: the checkpoint's
  int warm_iterations;               // ReStyle steps once the track has a latent (video mode)
  FaceSelection faces;
  EditMode mode;
  std::string device;                // cpu | cuda | cuda:N
  std::string dtype;                 // fp32 | bf16
  double frame_rate;                 // for landmark smoothing
  bool smooth_landmarks;
  int max_resolution = 0;            // cap on the synthesis resolution (0: the generator's)
  int queue_depth;                   // frames waiting before submit() blocks
  TrackerOptions tracker;
  MaskOptions mask;

  // People and edits (edit_list.h). motions[i] is edit i: edit_person[i] is its person's name
  // ("" or missing: everyone). With people, each face track is matched to a person
  // (person_matcher.h); a face gets the sum of the edits for its person and for everyone, one
  // synthesis; a face of no person gets the edits for everyone when others_edited, else none.
  std::vector<PersonReference> people;
  std::vector<std::string> edit_person;
  bool others_edited = true;
  FaceRegions region = kRegionFace;              // where edits write ...
  std::map<std::string, FaceRegions> person_region;  // ... or, for a person, this
  PersonMatcherOptions matcher;

  // Two rates (DESIGN.md section 8): the networks run on keyframes, every frame is composited.
  int keyframe_every;         // K >= 1; 0: auto (on change, at most kMaxAutoKeyframeGap apart)
  double keyframe_threshold;  // auto: mean |change| of the aligned face that makes a keyframe
  bool live;                  // keyframes in the background on the newest frame (see Engine)
  int reconstruct_at;         // ReStyle warm-start reconstruction resolution; 0: full
};

constexpr int kMaxAutoKeyframeGap = 8;

struct FaceReport {
  int track_id = 0;         // stable over the frames of one track, never reused
  std::string person;       // the track's person ("" : none, or no people defined)
  bool keyframe = false;    // the networks ran for this face in this frame
  PixelRect box;            // frame pixels every sample written for this face lies in (empty: none changed)
  int resolution = 0;       // synthesis resolution
};

struct FrameReport {
  int faces_found = 0;      // tracks seen in this frame
  int faces_edited = 0;
  int keyframes = 0;        // faces the networks ran for in this frame (live: handed over)
  int resolution = 0;       // synthesis resolution used (0: no face)
  double seconds = 0;       // processing time of this frame (with its networks, when offline)
  std::vector<FaceReport> faces;  // one per edited face, in track order
};

struct EngineFrame {
  FrameBuffer frame;        // edited in place by the worker
  std::vector<double> strengths;
  int64_t tag = 0;          // caller's id (e.g. pts), returned with the result
  FrameReport report;
};

// A frame add() took, done: edited in place (or, with error set, left as it came).
struct TakenFrame {
  int64_t tag = 0;
  FrameReport report;
  std::string error;
};

// The live keyframe path (options.live), for status displays.
struct LiveStatus {
  int64_t refreshes = 0;          // keyframe jobs finished
  double network_seconds = 0;     // the newest job's time, hand-over to result
  double refresh_rate = 0;        // jobs per second over the last few
  int faces_with_edit = 0;        // live tracks that have an edit to show
};

class Encoder;

class Engine {
 public:
  Engine(const EngineOptions& options, std::vector<Micromotion> motions);
  // The same with an encoder already in memory (options.encoder, device and dtype are then
  // ignored): benchmarks with random full-size networks, embedding applications.
  Engine(const EngineOptions& options, std::vector<Micromotion> motions, Encoder encoder);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void process(NativeFrame& frame, const std::vector<double>& strengths, FrameReport* report = nullptr);
  ImageRGB8 process(const ImageView& frame, const std::vector<double>& strengths, FrameReport* report = nullptr);

  // Forget every track, smoothed landmark and warm start (a cut, or a new stream). Not while
  // frames are queued.
  void reset();
  // The stream's frame rate, for landmark smoothing (a front end learns it after loading the
  // models). Smoothing starts afresh. Not while frames are queued.
  void set_frame_rate(double frame_rate);

  // Offline with look-ahead, on the caller's thread: add() tracks the frame and runs the
  // networks for its keyframe faces; take() returns the next frame (in order) whose faces have
  // the keyframes on both sides they are interpolated between, edited in place; flush() says no
  // more frames come, after which take() returns every held frame. The frame must stay valid
  // until take() returns its tag. An error in a frame's tracking or networks is that frame's:
  // take() returns it unedited with the message. With keyframe_every 1 nothing is held.
  void add(NativeFrame& frame, const std::vector<double>& strengths, int64_t tag);
  std::optional<TakenFrame> take();
  void flush();
  int held() const;  // frames added and not yet taken

  LiveStatus live_status() const;

  void submit(EngineFrame frame);
  std::optional<EngineFrame> receive(bool wait = true);
  void finish();
  int latency() const;

  const std::vector<Micromotion>& motions() const;
  int generator_resolution() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every field of options the settings table bounds (queue_depth, iterations, warm_iterations,
// feather, detect_every, frame_rate), against the table: throws Error naming the first one
// outside its range. The Engine constructors call it; front ends call it first to fail before
// the models are loaded.
void check_engine_options(const EngineOptions& options);

// "replace" / "delta", "all" / "largest": throws Error on anything else.
EditMode parse_edit_mode(const std::string& text);
FaceSelection parse_face_selection(const std::string& text);

}  // namespace micromotion
