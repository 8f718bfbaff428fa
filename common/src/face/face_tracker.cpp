#include <micromotion/error.h>
#include <micromotion/face_tracker.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace micromotion {
namespace {

// Runs f(i, worker) for i in [0, n) on up to `threads` threads (worker 0 is the caller); the first
// exception is rethrown after all workers stop.
template <typename F>
void parallel_for_each(int n, int threads, const F& f) {
  threads = std::max(1, std::min(threads, n));
  if (threads == 1) {
    for (int i = 0; i < n; ++i) f(i, 0);
    return;
  }
  std::atomic<int> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    try {
      for (int i; (i = next++) < n;) f(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

struct FaceTracker::Impl {
  TrackerOptions options;
  FaceDetector detector;
  std::vector<FaceDetector> helpers;  // one more detector per extra thread (detectors keep scratch state)
  LandmarkPredictor predictor;
  struct Track {
    TrackedFace face;
    int missed = 0;
  };
  std::vector<Track> tracks;
  int next_id = 0;
  long frame_index = 0;
  long last_full = -1;
  int width = 0, height = 0;
  int full_count = 0;

  explicit Impl(const TrackerOptions& o) : options(o), detector(o.detector), predictor(o.landmark_model) {
    for (int i = 1; i < o.threads; ++i) helpers.emplace_back(o.detector);
  }

  FaceDetector& detector_for(int worker) { return worker == 0 ? detector : helpers[worker - 1]; }

  void full_detection(const ImageView& frame) {
    ++full_count;
    last_full = frame_index;
    std::vector<FaceBox> dets = detector.detect(frame);
    std::vector<bool> used(tracks.size(), false);
    for (const FaceBox& d : dets) {
      int best = -1;
      double best_iou = options.match_iou;
      for (size_t t = 0; t < tracks.size(); ++t) {
        const double v = iou(d, tracks[t].face.box);
        if (!used[t] && v >= best_iou) {
          best = static_cast<int>(t);
          best_iou = v;
        }
      }
      if (best >= 0) {
        used[best] = true;
        Track& tr = tracks[best];
        tr.face.detected = true;
        // A track the window search missed is re-found here; one it found keeps that box.
        // Detecting every frame, every box is that frame's detection: no box depends on an
        // earlier frame, so a render split into segments finds exactly the boxes of a whole one.
        if (!tr.face.found || options.detect_every == 1) {
          tr.face.box = d;
          tr.face.found = true;
          tr.missed = 0;
        }
        continue;
      }
      Track tr;
      tr.face.id = next_id++;
      tr.face.box = d;
      tr.face.found = true;
      tr.face.detected = true;
      tracks.push_back(tr);
      used.push_back(true);
    }
  }

  std::vector<TrackedFace> update(const ImageView& frame) {
    if (frame.empty()) throw Error("face tracker: empty frame");
    bool need_full = frame.width != width || frame.height != height || last_full < 0 ||
                     frame_index - last_full >= options.detect_every;
    width = frame.width;
    height = frame.height;

    std::vector<char> lost(tracks.size(), 0);
    const bool search = options.detect_every > 1;  // detecting every frame, the window search adds nothing
    for (Track& tr : tracks) tr.face.found = tr.face.detected = false;
    parallel_for_each(search ? static_cast<int>(tracks.size()) : 0, options.threads, [&](int i, int worker) {
      Track& tr = tracks[i];
      const std::vector<FaceBox> near = detector_for(worker).detect_near(frame, tr.face.box, options.search_margin,
                                                                         options.search_face_size);
      const FaceBox* best = nullptr;
      double best_iou = 0.1;  // the face moved less than its size since the last frame
      for (const FaceBox& b : near) {
        const double v = iou(b, tr.face.box);
        if (v > best_iou) {
          best_iou = v;
          best = &b;
        }
      }
      if (best) {
        tr.face.box = *best;
        tr.face.found = true;
        tr.missed = 0;
      } else {
        ++tr.missed;
        lost[i] = 1;
      }
    });
    if (!search)  // a track the full detection does not find this frame is missed
      for (size_t i = 0; i < tracks.size(); ++i) {
        ++tracks[i].missed;
        lost[i] = 1;
      }
    // A lost track: look at the whole frame now.
    if (std::find(lost.begin(), lost.end(), 1) != lost.end()) need_full = true;
    if (need_full) full_detection(frame);

    // Drop tracks unseen too long, and duplicates that converged on the same face (keep the older).
    tracks.erase(std::remove_if(tracks.begin(), tracks.end(),
                                [this](const Track& t) { return !t.face.found && t.missed > options.max_missed; }),
                 tracks.end());
    std::sort(tracks.begin(), tracks.end(), [](const Track& a, const Track& b) { return a.face.id < b.face.id; });
    for (size_t i = 0; i < tracks.size(); ++i) {
      for (size_t j = i + 1; j < tracks.size();) {
        if (iou(tracks[i].face.box, tracks[j].face.box) > 0.5) {
          tracks.erase(tracks.begin() + static_cast<std::ptrdiff_t>(j));
        } else {
          ++j;
        }
      }
    }

    parallel_for_each(static_cast<int>(tracks.size()), options.threads, [&](int i, int) {
      Track& tr = tracks[i];
      if (tr.face.found) tr.face.landmarks = predictor.predict(frame, tr.face.box);
    });
    std::vector<TrackedFace> out;
    for (Track& tr : tracks) {
      ++tr.face.age;
      out.push_back(tr.face);
    }
    ++frame_index;
    return out;
  }
};

FaceTracker::FaceTracker(const TrackerOptions& options) {
  if (options.detect_every < 1) throw Error("face tracker: detect_every must be >= 1");
  if (options.max_missed < 0) throw Error("face tracker: max_missed must be >= 0");
  if (options.threads < 1) throw Error("face tracker: threads must be >= 1");
  impl_ = std::make_unique<Impl>(options);
}
FaceTracker::~FaceTracker() = default;
FaceTracker::FaceTracker(FaceTracker&&) noexcept = default;
FaceTracker& FaceTracker::operator=(FaceTracker&&) noexcept = default;

std::vector<TrackedFace> FaceTracker::update(const ImageView& frame) { return impl_->update(frame); }

void FaceTracker::reset() {
  impl_->tracks.clear();
  impl_->last_full = -1;
  impl_->frame_index = 0;
}

int FaceTracker::full_detections() const { return impl_->full_count; }

}  // namespace micromotion
