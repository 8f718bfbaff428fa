// Tracking on the ffmpeg-made clips, and landmark smoothing against a known motion.
#include "face_test_support.h"

#include <micromotion/error.h>
#include <micromotion/face_tracker.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/landmark_smoother.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <vector>

using namespace micromotion;

namespace {

TEST(FaceTracker, TwoFaceClipKeepsStableIds) {
  const auto frames = facetest::load_clip("two_faces");
  ASSERT_EQ(frames.size(), 40u);
  const TrackerOptions options;
  FaceTracker tracker(options);
  std::map<int, FaceBox> last;
  std::set<int> ids_seen;
  std::vector<std::set<int>> ids_per_frame;
  int min_faces = 100;
  for (size_t n = 0; n < frames.size(); ++n) {
    const auto faces = tracker.update(frames[n]);
    min_faces = std::min(min_faces, int(faces.size()));
    ids_per_frame.emplace_back();
    for (const auto& f : faces) {
      ids_seen.insert(f.id);
      EXPECT_TRUE(ids_per_frame.back().insert(f.id).second) << "frame " << n << ": id " << f.id << " given twice";
      ASSERT_EQ(f.landmarks.size(), 68u);
      if (last.count(f.id)) {
        // The faces drift by 1 px/frame and HOG boxes snap to pyramid levels (a few px): a track
        // never jumps to another face (the nearest is > 100 px away).
        EXPECT_LT(std::abs(f.box.center_x() - last[f.id].center_x()), 25) << "frame " << n << " id " << f.id;
        EXPECT_LT(std::abs(f.box.center_y() - last[f.id].center_y()), 25) << "frame " << n << " id " << f.id;
      }
      last[f.id] = f.box;
    }
  }
  std::printf("[track] two_faces: %zu ids over 40 frames, at least %d faces per frame, %d full detections\n",
              ids_seen.size(), min_faces, tracker.full_detections());
  // The clip shows both photos side by side: at least one face on each side, every frame.
  EXPECT_GE(min_faces, 2);
  // Stable ids: every frame shows the same faces under the same ids as the first frame, so no
  // track was dropped and replaced by a new id (and no face appeared under a second id).
  for (size_t n = 1; n < ids_per_frame.size(); ++n)
    EXPECT_EQ(ids_per_frame[n], ids_per_frame[0]) << "frame " << n << " has other ids than frame 0";
  EXPECT_EQ(ids_seen.size(), ids_per_frame[0].size()) << "ids were dropped and replaced over the clip";
  bool left = false, right = false;
  for (const auto& [id, b] : last) {
    left |= b.center_x() < 300;
    right |= b.center_x() >= 300;
  }
  EXPECT_TRUE(left && right);
  EXPECT_LE(tracker.full_detections(), 6) << "full-frame detection only every detect_every frames";
}

TEST(FaceTracker, FramesWithoutFacesEndTracksAndNewFacesGetNewIds) {
  const auto frames = facetest::load_clip("gaps");
  ASSERT_EQ(frames.size(), 30u);
  TrackerOptions o;
  o.detect_every = 5;
  FaceTracker tracker(o);
  std::set<int> first_ids, last_ids;
  for (int n = 0; n < 30; ++n) {
    const auto faces = tracker.update(frames[n]);
    if (n == 9) {
      for (const auto& f : faces) first_ids.insert(f.id);
    }
    if (n >= 10 + o.max_missed + 1 && n < 20) {
      EXPECT_TRUE(faces.empty()) << "frame " << n << " has no face";
    }
    if (n >= 10 && n < 20) {
      for (const auto& f : faces) EXPECT_FALSE(f.found) << "frame " << n;
    }
    if (n >= 20 + o.detect_every) {
      EXPECT_FALSE(faces.empty()) << "frame " << n;
    }
    if (n == 29) {
      for (const auto& f : faces) last_ids.insert(f.id);
    }
  }
  ASSERT_FALSE(first_ids.empty());
  ASSERT_FALSE(last_ids.empty());
  for (int id : last_ids) EXPECT_EQ(first_ids.count(id), 0u) << "ids are never reused";
}

// The pan/zoom clip: the true landmarks of the annotated face follow a known map per frame.
struct KnownMotion {
  std::vector<Affine2> photo_to_frame;
};

KnownMotion pan_zoom_motion() {
  KnownMotion m;
  std::ifstream in(facetest::data("clips/pan_zoom/motion.json"));
  const auto j = nlohmann::json::parse(in);
  const double sw = j["source_size"][0], sh = j["source_size"][1];
  for (const auto& f : j["frames"]) {
    const double kx = f["scaled"][0].get<double>() / sw, ky = f["scaled"][1].get<double>() / sh;
    const double ox = f["offset"][0], oy = f["offset"][1];
    m.photo_to_frame.push_back({kx, 0, 0.5 * kx - 0.5 - ox, 0, ky, 0.5 * ky - 0.5 - oy});
  }
  return m;
}

std::vector<Point2d> quad_points(const Quad& q) { return {q.begin(), q.end()}; }

// RMS of the residual after removing its best constant + linear-in-time fit per coordinate:
// the frame-to-frame error a viewer sees as jitter, independent of a fixed landmark bias.
double jitter(const std::vector<std::vector<Point2d>>& est, const std::vector<std::vector<Point2d>>& truth,
              size_t skip) {
  double total = 0;
  int count = 0;
  for (size_t k = 0; k < est[0].size(); ++k) {
    for (int axis = 0; axis < 2; ++axis) {
      std::vector<double> r;
      for (size_t t = skip; t < est.size(); ++t) {
        r.push_back(axis ? est[t][k].y - truth[t][k].y : est[t][k].x - truth[t][k].x);
      }
      const double n = r.size();
      double st = 0, sr = 0, stt = 0, str = 0;
      for (size_t i = 0; i < r.size(); ++i) {
        st += i;
        sr += r[i];
        stt += double(i) * i;
        str += i * r[i];
      }
      const double b = (n * str - st * sr) / (n * stt - st * st), a = (sr - b * st) / n;
      for (size_t i = 0; i < r.size(); ++i) {
        const double e = r[i] - (a + b * i);
        total += e * e;
        ++count;
      }
    }
  }
  return std::sqrt(total / count);
}

TEST(FaceSmoothing, ReducesJitterAgainstKnownMotion) {
  const auto frames = facetest::load_clip("pan_zoom");
  ASSERT_EQ(frames.size(), 60u);
  const KnownMotion motion = pan_zoom_motion();
  ASSERT_EQ(motion.photo_to_frame.size(), 60u);
  Landmarks truth_photo;
  for (const auto& c : facetest::align_cases()) {
    if (c.image == "2008_001009.jpg") truth_photo = c.landmarks;
  }
  ASSERT_EQ(truth_photo.size(), 68u);

  const TrackerOptions options;
  FaceTracker tracker(options);
  std::vector<std::vector<Point2d>> raw, truth;
  std::vector<int> ids;
  for (size_t n = 0; n < frames.size(); ++n) {
    Landmarks t = truth_photo;
    for (Point2d& p : t) p = motion.photo_to_frame[n](p);
    const Quad tq = ffhq_quad(t);
    const auto faces = tracker.update(frames[n]);
    const TrackedFace* face = nullptr;  // the track over the annotated face
    for (const auto& f : faces) {
      if (f.found && distance(ffhq_quad(f.landmarks)[0], tq[0]) < 0.3 * distance(tq[0], tq[3])) face = &f;
    }
    ASSERT_NE(face, nullptr) << "frame " << n;
    raw.push_back(quad_points(ffhq_quad(face->landmarks)));
    ids.push_back(face->id);
    truth.push_back(quad_points(tq));
  }
  EXPECT_EQ(ids.front(), ids.back()) << "one track for the whole clip";
  const size_t warmup = 5;  // the causal filter starts from the first measurement
  auto one_euro = [&](const OneEuroOptions& o) {
    OneEuroSmoother euro(o);
    std::vector<std::vector<Point2d>> out;
    for (size_t t = 0; t < raw.size(); ++t) out.push_back(euro.update(0, raw[t]));
    return out;
  };
  // Lag: mean offset of the smoothed quad from the raw one while the face moves.
  auto offset = [&](const std::vector<std::vector<Point2d>>& s) {
    double lag = 0;
    for (size_t t = warmup; t < raw.size(); ++t)
      for (size_t k = 0; k < 4; ++k) lag += distance(s[t][k], raw[t][k]);
    return lag / (4.0 * (raw.size() - warmup));
  };
  const double j_raw = jitter(raw, truth, warmup);
  const auto causal = one_euro(OneEuroOptions{});
  const double j_euro = jitter(causal, truth, warmup), lag = offset(causal);
  const auto lookahead = gaussian_smooth(raw, 2.0, 6);
  const double j_gauss = jitter(lookahead, truth, warmup);
  std::printf("[jitter] pan_zoom quad residual (detrended RMS, px; face quad ~%.0f px): raw %.3f, "
              "one-euro (defaults) %.3f (mean offset from raw %.2f px), gaussian sigma 2 / 13 taps %.3f\n",
              distance(truth[0][0], truth[0][3]), j_raw, j_euro, lag, j_gauss);
  for (double mc : {0.1, 0.3, 1.0}) {
    for (double beta : {1.0, 4.0, 16.0}) {
      const auto s = one_euro(OneEuroOptions{25.0, mc, beta, 1.0});
      std::printf("[jitter]   one-euro min_cutoff %.1f Hz, beta %4.1f: residual %.3f px, offset from raw %.2f px\n", mc,
                  beta, jitter(s, truth, warmup), offset(s));
    }
  }
  EXPECT_LT(j_euro, 0.8 * j_raw);
  EXPECT_LT(j_gauss, 0.8 * j_raw);
  EXPECT_LT(lag, 2.5) << "less than 1.5 % of the face size";
}

TEST(FaceSmoothing, StillHeadGivesStillQuad) {
  const auto frames = facetest::load_clip("gaps");
  ASSERT_GE(frames.size(), 10u);
  const TrackerOptions options;
  FaceTracker tracker(options);
  OneEuroSmoother euro;
  std::vector<Point2d> first;
  double raw_motion = 0, smooth_motion = 0;
  std::vector<Point2d> prev_raw, prev_s;
  for (int n = 0; n < 10; ++n) {  // frames 0-9: the same still photo, re-encoded
    const auto faces = tracker.update(frames[n]);
    ASSERT_FALSE(faces.empty());
    const auto q = quad_points(ffhq_quad(faces[0].landmarks));
    const auto s = euro.update(faces[0].id, q);
    if (n > 0) {
      for (int k = 0; k < 4; ++k) {
        raw_motion = std::max(raw_motion, distance(q[k], prev_raw[k]));
        smooth_motion = std::max(smooth_motion, distance(s[k], prev_s[k]));
      }
    }
    prev_raw = q;
    prev_s = s;
  }
  std::printf("[jitter] still clip: max frame-to-frame corner motion raw %.3f px, one-euro %.3f px\n", raw_motion,
              smooth_motion);
  EXPECT_LE(smooth_motion, raw_motion);
  EXPECT_LT(smooth_motion, 0.5);
}

TEST(FaceSmoothing, FilterBasics) {
  OneEuroSmoother f;
  const std::vector<Point2d> a{{0, 0}, {10, 0}, {10, 10}, {0, 10}};
  EXPECT_EQ(f.update(1, a)[2].x, 10);  // first sample passes through
  auto b = a;
  for (auto& p : b) p = p + Point2d{1, 0};
  const auto s = f.update(1, b);
  EXPECT_GT(s[0].x, 0);
  EXPECT_LT(s[0].x, 1);
  // A rigid translation stays rigid (one cutoff for the whole set).
  EXPECT_NEAR(s[1].x - s[0].x, 10, 1e-12);
  EXPECT_EQ(f.update(2, b)[0].x, 1);  // tracks are independent
  EXPECT_THROW(OneEuroSmoother(OneEuroOptions{0, 1, 1, 1}), Error);
  const auto g = gaussian_smooth({a, b, a}, 1.0, 1);
  EXPECT_NEAR(g[1][0].x, std::exp(-0.0) / (1 + 2 * std::exp(-0.5)), 1e-12);
  EXPECT_THROW(gaussian_smooth({a, {}}, 1.0, 1), Error);
}

}  // namespace
