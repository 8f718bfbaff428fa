// Putting faces back: round trip through the aligned crop, untouched pixels outside the mask,
// delta mode.
#include "face_test_support.h"

#include <micromotion/compositor.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace micromotion;

namespace {

facetest::AlignCase case_for(const std::string& image) {
  for (const auto& c : facetest::align_cases()) {
    if (c.image == image) return c;
  }
  ADD_FAILURE() << "no align case " << image;
  return {};
}

// Counts pixels changed where the blend weight is 0 (must be none) and the largest change where
// it is 1 minus the largest change where it is 0.
struct Check {
  long changed_outside = 0;
  int max_inside = 0;
  double mean_inside = 0;
  long inside = 0;
};

Check compare(const ImageRGB8& before, const ImageRGB8& after, const std::vector<float>& alpha) {
  Check c;
  double sum = 0;
  for (int y = 0; y < before.height(); ++y) {
    for (int x = 0; x < before.width(); ++x) {
      const float a = alpha[size_t(y) * before.width() + x];
      for (int k = 0; k < 3; ++k) {
        const int d = std::abs(int(before.pixel(x, y)[k]) - int(after.pixel(x, y)[k]));
        if (a == 0.0f) {
          c.changed_outside += d != 0;
        } else {
          c.max_inside = std::max(c.max_inside, d);
          sum += d;
          ++c.inside;
        }
      }
    }
  }
  c.mean_inside = c.inside ? sum / c.inside : 0;
  return c;
}

// A frame whose content is linear in x and y (bilinear resampling reproduces it), with a face's
// landmarks: the round trip frame -> aligned crop -> frame is exact to 1 LSB.
TEST(FaceCompositor, RoundTripOnLinearFrameWithin1Lsb) {
  const auto c = case_for("2008_001009.jpg");
  ASSERT_EQ(c.landmarks.size(), 68u);
  ImageRGB8 frame(360, 480);
  for (int y = 0; y < 480; ++y)
    for (int x = 0; x < 360; ++x) {
      std::uint8_t* p = frame.pixel(x, y);
      p[0] = static_cast<std::uint8_t>(20 + (x * 200) / 359);
      p[1] = static_cast<std::uint8_t>(10 + (y * 230) / 479);
      p[2] = 77;
    }
  const AlignedFace a = ffhq_align(frame, c.landmarks, {256, 256, true});
  const FaceMask mask = face_mask(c.landmarks, a.to_frame, 256);
  ImageRGB8 out = frame;
  composite(out, a.image, a.to_frame, 256, mask);
  const auto alpha = alpha_in_frame(360, 480, a.to_frame, 256, mask);
  const Check k = compare(frame, out, alpha);
  std::printf("[composite] linear frame round trip: %ld samples inside, max |d| %d, mean %.3f\n", k.inside,
              k.max_inside, k.mean_inside);
  EXPECT_GT(k.inside, 3 * 5000);
  EXPECT_EQ(k.changed_outside, 0);
  EXPECT_LE(k.max_inside, 1);
  EXPECT_LT(k.mean_inside, 0.6);
}

TEST(FaceCompositor, RoundTripOnPhotoAndUntouchedOutside) {
  const auto c = case_for("2008_001009.jpg");
  const ImageRGB8 frame = load_image(facetest::data("faces/" + c.image).string());
  const AlignedFace a = ffhq_align(frame, c.landmarks, {256, 256, true});
  const FaceMask mask = face_mask(c.landmarks, a.to_frame, 256);
  ImageRGB8 out = frame;
  composite(out, a.image, a.to_frame, 256, mask);
  const auto alpha = alpha_in_frame(frame.width(), frame.height(), a.to_frame, 256, mask);
  const Check k = compare(frame, out, alpha);
  std::printf("[composite] photo round trip (identity generator): mean |d| %.3f inside the mask, max %d\n",
              k.mean_inside, k.max_inside);
  EXPECT_EQ(k.changed_outside, 0);
  EXPECT_LT(k.mean_inside, 2.0);  // two bilinear resamplings of a textured photo

  // The mask follows the face: inside the landmark outline (plus forehead), zero at the corners of
  // the aligned square, full at the eyes and nose.
  EXPECT_EQ(mask.at(0, 0), 0.0f);
  EXPECT_EQ(mask.at(255, 255), 0.0f);
  EXPECT_EQ(mask.at(0, 255), 0.0f);
  const Affine2 inv = a.to_frame.inverse();
  for (int i : {30, 39, 42, 51}) {
    const Point2d p = inv(c.landmarks[i]);
    EXPECT_FLOAT_EQ(mask.at(int(p.x), int(p.y)), 1.0f) << "landmark " << i;
  }
  // Every touched pixel lies within the face's landmark extent, grown by the forehead allowance
  // (the brows are lifted along the tilted face's up direction, so also sideways).
  double l = 1e9, t = 1e9, r = -1e9, b = -1e9;
  for (const Point2d& p : c.landmarks) {
    l = std::min(l, p.x), t = std::min(t, p.y), r = std::max(r, p.x), b = std::max(b, p.y);
  }
  const double h = b - t, w = r - l;
  for (int y = 0; y < frame.height(); ++y)
    for (int x = 0; x < frame.width(); ++x)
      if (alpha[size_t(y) * frame.width() + x] > 0) {
        ASSERT_TRUE(x >= l - 0.2 * w && x <= r + 0.2 * w && y >= t - 0.5 * h && y <= b + 2) << x << "," << y;
      }
}

TEST(FaceCompositor, ReplaceWritesTheGeneratedFaceWithFeather) {
  const auto c = case_for("2008_001322.jpg");
  const ImageRGB8 frame = load_image(facetest::data("faces/" + c.image).string());
  const AlignedFace a = ffhq_align(frame, c.landmarks, {256, 256, true});
  MaskOptions mo;
  mo.feather = 0.1;
  const FaceMask mask = face_mask(c.landmarks, a.to_frame, 256, mo);
  // A 1024² "generator" output (pure green): reduced to the on-screen size before sampling.
  ImageRGB8 green(1024, 1024);
  for (int y = 0; y < 1024; ++y)
    for (int x = 0; x < 1024; ++x) green.pixel(x, y)[1] = 255;
  ImageRGB8 out = frame;
  composite(out, green, a.to_frame, 256, mask);
  const auto alpha = alpha_in_frame(frame.width(), frame.height(), a.to_frame, 256, mask);
  int full = 0, partial = 0;
  for (int y = 0; y < frame.height(); ++y)
    for (int x = 0; x < frame.width(); ++x) {
      const float al = alpha[size_t(y) * frame.width() + x];
      const std::uint8_t* p = out.pixel(x, y);
      if (al == 1.0f) {
        ++full;
        ASSERT_EQ(p[0], 0);
        ASSERT_EQ(p[1], 255);
      } else if (al > 0.0f) {
        ++partial;
        const double want = frame.pixel(x, y)[1] + (255 - frame.pixel(x, y)[1]) * al;
        ASSERT_NEAR(p[1], want, 1.0);
      } else {
        ASSERT_EQ(std::memcmp(p, frame.pixel(x, y), 3), 0);
      }
    }
  EXPECT_GT(full, 1000);
  EXPECT_GT(partial, 300) << "the feather is a band, not a hard edge";
}

TEST(FaceCompositor, DeltaModeKeepsTheFrameAndAddsTheEdit) {
  const auto c = case_for("2008_002079.jpg");  // the padded case: face near the border
  const ImageRGB8 frame = load_image(facetest::data("faces/" + c.image).string());
  const AlignedFace a = ffhq_align(frame, c.landmarks, {256, 256, true});
  const FaceMask mask = face_mask(c.landmarks, a.to_frame, 256);
  // G(w') == G(w): nothing changes, bit for bit, even inside the mask.
  ImageRGB8 g(256, 256);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x)
      for (int k = 0; k < 3; ++k) g.pixel(x, y)[k] = static_cast<std::uint8_t>((x * 7 + y * 13 + k * 50) % 200);
  ImageRGB8 out = frame;
  composite_delta(out, g, g, a.to_frame, 256, mask);
  EXPECT_TRUE(out == frame);
  // G(w') = G(w) + 30: the frame (not the generated face) plus 30 where the mask is full.
  ImageRGB8 e = g;
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 3 * 256; ++x) e.row(y)[x] = static_cast<std::uint8_t>(g.row(y)[x] + 30);
  composite_delta(out, e, g, a.to_frame, 256, mask);
  const auto alpha = alpha_in_frame(frame.width(), frame.height(), a.to_frame, 256, mask);
  int full = 0;
  for (int y = 0; y < frame.height(); ++y)
    for (int x = 0; x < frame.width(); ++x) {
      const float al = alpha[size_t(y) * frame.width() + x];
      for (int k = 0; k < 3; ++k) {
        const int f = frame.pixel(x, y)[k], o = out.pixel(x, y)[k];
        if (al == 0.0f) {
          ASSERT_EQ(o, f);
        } else if (al == 1.0f) {
          ASSERT_EQ(o, std::min(255, f + 30)) << x << "," << y;
        } else {
          ASSERT_NEAR(o, std::min(255.0, f + 30.0 * al), 1.0);
        }
      }
      full += al == 1.0f;
    }
  EXPECT_GT(full, 500);
  ImageRGB8 small(128, 128);
  EXPECT_THROW(composite_delta(out, small, g, a.to_frame, 256, mask), Error);
  EXPECT_THROW(composite(out, ImageRGB8(100, 50), a.to_frame, 256, mask), Error);
  EXPECT_THROW(face_mask(Landmarks(5), a.to_frame, 256), Error);
}

// face_mask as first written: every pixel of the aligned square, the even-odd point-in-polygon
// test, the distance to every edge with hypot. face_mask (rows, crossings, the edges near each
// row, squared distances) must agree with it to 1e-5.
FaceMask reference_face_mask(const Landmarks& lm, const Affine2& to_frame, int aligned_size, const MaskOptions& options) {
  const Affine2 inv = to_frame.inverse();
  std::vector<Point2d> q(68);
  for (size_t i = 0; i < 68; ++i) q[i] = inv(lm[i]);
  Point2d brow{};
  for (int i = 17; i < 27; ++i) brow = brow + q[i] * 0.1;
  const Point2d up = brow - q[8];
  std::vector<Point2d> poly(q.begin(), q.begin() + 17);
  for (int i = 26; i >= 17; --i) poly.push_back(q[i] + up * options.forehead);
  auto inside = [&](Point2d p) {
    bool in = false;
    for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
      const Point2d a = poly[i], b = poly[j];
      if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) in = !in;
    }
    return in;
  };
  auto seg = [](Point2d p, Point2d a, Point2d b) {
    const Point2d ab = b - a, ap = p - a;
    const double len2 = ab.x * ab.x + ab.y * ab.y;
    const double t = len2 > 0 ? std::clamp((ap.x * ab.x + ap.y * ab.y) / len2, 0.0, 1.0) : 0.0;
    const Point2d c = a + ab * t;
    return std::hypot(p.x - c.x, p.y - c.y);
  };
  FaceMask m;
  m.size = aligned_size;
  m.alpha.assign(static_cast<size_t>(aligned_size) * aligned_size, 0.0f);
  const double feather = std::max(1.0, options.feather * aligned_size);
  for (int y = 0; y < aligned_size; ++y)
    for (int x = 0; x < aligned_size; ++x) {
      const Point2d p{static_cast<double>(x), static_cast<double>(y)};
      if (!inside(p)) continue;
      double d = 1e300;
      for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) d = std::min(d, seg(p, poly[j], poly[i]));
      const double t = std::min(1.0, d / feather);
      m.alpha[static_cast<size_t>(y) * aligned_size + x] = static_cast<float>(t * t * (3.0 - 2.0 * t));
    }
  return m;
}

// Seeded: the test faces' landmarks with noise (up to self-intersecting outlines), their FFHQ
// transforms turned and scaled, several sizes, feathers and foreheads.
TEST(FaceMask, FastMaskMatchesReference) {
  std::mt19937 rng(20261203);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  int cases = 0;
  long inside = 0, soft = 0;
  for (const auto& c : facetest::align_cases()) {
    for (int trial = 0; trial < 6; ++trial) {
      const double noise = trial < 3 ? trial : 4.0 + 20.0 * uni(rng);
      std::normal_distribution<double> gauss(0.0, noise);
      Landmarks lm = c.landmarks;
      for (auto& p : lm) p = {p.x + gauss(rng), p.y + gauss(rng)};
      Affine2 t = ffhq_to_frame(ffhq_geometry(ffhq_quad(lm), 4000, 4000, {256, 0, true}), 4000, 4000, {256, 0, true});
      if (trial % 2) {  // turn and rescale about the aligned centre
        const double ang = (uni(rng) - 0.5), s = 0.7 + 0.6 * uni(rng);
        const Affine2 r{s * std::cos(ang), -s * std::sin(ang), 0, s * std::sin(ang), s * std::cos(ang), 0};
        const Point2d centre = t({128, 128});
        Affine2 u = t;
        u.a = r.a * t.a + r.b * t.c, u.b = r.a * t.b + r.b * t.d;
        u.c = r.c * t.a + r.d * t.c, u.d = r.c * t.b + r.d * t.d;
        const Point2d moved = u({128, 128});
        u.tx += centre.x - moved.x, u.ty += centre.y - moved.y;
        t = u;
      }
      const int sizes[] = {64, 256, 203};
      const int size = sizes[trial % 3];
      // to_frame maps the 256 square; other sizes scale it.
      Affine2 ts = t;
      const double k = 256.0 / size;
      ts.a *= k, ts.b *= k, ts.c *= k, ts.d *= k;
      MaskOptions mo;
      mo.feather = std::vector<double>{0.0, 0.06, 0.2, 0.5}[static_cast<size_t>(trial) % 4];
      mo.forehead = std::vector<double>{0.35, 0.0, 0.8}[static_cast<size_t>(trial + 1) % 3];
      SCOPED_TRACE(c.image + " trial " + std::to_string(trial));
      const FaceMask fast = face_mask(lm, ts, size, mo), ref = reference_face_mask(lm, ts, size, mo);
      ASSERT_EQ(fast.size, ref.size);
      ASSERT_EQ(fast.alpha.size(), ref.alpha.size());
      float worst = 0;
      for (size_t i = 0; i < ref.alpha.size(); ++i) {
        worst = std::max(worst, std::abs(fast.alpha[i] - ref.alpha[i]));
        EXPECT_EQ(fast.alpha[i] > 0, ref.alpha[i] > 0) << "pixel " << i;  // the same pixels inside
        inside += ref.alpha[i] > 0;
        soft += ref.alpha[i] > 0 && ref.alpha[i] < 1;
      }
      EXPECT_LE(worst, 1e-5f);
      ++cases;
    }
  }
  EXPECT_GE(cases, 6);
  EXPECT_GT(soft, 1000) << "the feathered edge was exercised";
  EXPECT_GT(inside, soft);
}

}  // namespace
