// Region masks (face_region.h) on dlib's ground-truth landmarks of real photos: names, the face
// region is the face mask, each part covers its features and nothing far from them, unions are
// maxima, and a region composite leaves every sample outside the region's mask bit-exact.
#include "face_test_support.h"

#include <micromotion/compositor.h>
#include <micromotion/error.h>
#include <micromotion/face_region.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/native_frame.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace micromotion;

namespace {

constexpr int kSize = 256;
constexpr FaceRegions kPartBits[] = {kRegionEyes, kRegionBrows, kRegionMouth, kRegionNose, kRegionJaw};

struct Face {
  std::string image;
  Landmarks landmarks;  // frame coordinates
  Affine2 to_frame;
  std::vector<Point2d> q;  // landmarks in aligned coordinates
};

// Every face of dlib's testing XML with its FFHQ alignment, as the engine aligns it.
const std::vector<Face>& faces() {
  static const std::vector<Face> all = [] {
    std::vector<Face> out;
    for (const auto& x : facetest::xml_faces(facetest::data("faces/testing_with_face_landmarks.xml"))) {
      const ImageRGB8 photo = load_image(facetest::data("faces/" + x.image).string());
      Face f{x.image, x.parts, ffhq_align(photo, x.parts, {kSize, 0, true}).to_frame, {}};
      const Affine2 inv = f.to_frame.inverse();
      for (const Point2d& p : f.landmarks) f.q.push_back(inv(p));
      out.push_back(std::move(f));
    }
    return out;
  }();
  return all;
}

Point2d mean_of(const std::vector<Point2d>& q, int from, int to) {
  Point2d s{};
  for (int i = from; i <= to; ++i) s = s + q[i];
  return s * (1.0 / (to - from + 1));
}

float at(const FaceMask& m, Point2d p) {
  return m.at(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y)));
}

std::string parse_error(const std::string& text) {
  try {
    parse_face_regions(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(FaceRegion, ParseAndNameRoundTrip) {
  EXPECT_EQ(parse_face_regions("face"), kRegionFace);
  EXPECT_EQ(parse_face_regions("eyes"), kRegionEyes);
  EXPECT_EQ(parse_face_regions("brows"), kRegionBrows);
  EXPECT_EQ(parse_face_regions("mouth"), kRegionMouth);
  EXPECT_EQ(parse_face_regions("nose"), kRegionNose);
  EXPECT_EQ(parse_face_regions("jaw"), kRegionJaw);
  EXPECT_EQ(parse_face_regions("mouth+eyes"), kRegionEyes | kRegionMouth);
  EXPECT_EQ(parse_face_regions("eyes+eyes+mouth"), kRegionEyes | kRegionMouth);  // duplicates are fine
  EXPECT_EQ(face_regions_name(kRegionMouth | kRegionEyes), "eyes+mouth");
  EXPECT_EQ(face_regions_name(parse_face_regions("jaw+nose+mouth+brows+eyes+face")), "face+eyes+brows+mouth+nose+jaw");
  for (FaceRegions r = 1; r < 64; ++r) EXPECT_EQ(parse_face_regions(face_regions_name(r)), r) << r;
  EXPECT_THROW(face_regions_name(0), Error);
  EXPECT_THROW(face_regions_name(64), Error);
}

TEST(FaceRegion, ParseErrorsNameThePartAndListTheValidOnes) {
  const std::string parts = " (parts: face, eyes, brows, mouth, nose, jaw; join with +)";
  EXPECT_EQ(parse_error("eyez"), "region 'eyez': unknown part 'eyez'" + parts);
  EXPECT_EQ(parse_error("eyes+Mouth"), "region 'eyes+Mouth': unknown part 'Mouth'" + parts);
  EXPECT_EQ(parse_error("eyes++mouth"), "region 'eyes++mouth': empty part" + parts);
  EXPECT_EQ(parse_error("+eyes"), "region '+eyes': empty part" + parts);
  EXPECT_EQ(parse_error("eyes+"), "region 'eyes+': empty part" + parts);
  EXPECT_EQ(parse_error("eyes mouth"), "region 'eyes mouth': unknown part 'eyes mouth'" + parts);
  EXPECT_EQ(parse_error(""), "region '': no part named" + parts);
}

TEST(FaceRegion, RefusesBadInput) {
  const Face& f = faces().at(0);
  EXPECT_THROW(region_mask(Landmarks(5), f.to_frame, kSize, kRegionEyes), Error);
  EXPECT_THROW(region_mask(f.landmarks, f.to_frame, 4, kRegionEyes), Error);
  EXPECT_THROW(region_mask(f.landmarks, f.to_frame, kSize, 0), Error);
  EXPECT_THROW(region_mask(f.landmarks, f.to_frame, kSize, 64), Error);
}

TEST(FaceRegion, FaceIsTheFaceMaskBitForBit) {
  for (const Face& f : faces()) {
    for (double feather : {0.02, 0.06, 0.2}) {
      MaskOptions o;
      o.feather = feather;
      const FaceMask face = face_mask(f.landmarks, f.to_frame, kSize, o);
      EXPECT_EQ(region_mask(f.landmarks, f.to_frame, kSize, kRegionFace, o).alpha, face.alpha) << f.image;
      // Every part lies under the face mask, so a union with the face is the face.
      EXPECT_EQ(region_mask(f.landmarks, f.to_frame, kSize, kRegionFace | kRegionMouth, o).alpha, face.alpha);
    }
  }
}

// Each part: ~1 on its features, exactly 0 on the other features, in [0, 1], under the face mask.
TEST(FaceRegion, EachPartCoversItsFeaturesAndNothingFar) {
  ASSERT_GE(faces().size(), 5u);
  for (const Face& f : faces()) {
    const auto& q = f.q;
    const Point2d eye_l = mean_of(q, 36, 41), eye_r = mean_of(q, 42, 47);
    const Point2d brow_l = mean_of(q, 17, 21), brow_r = mean_of(q, 22, 26);
    const Point2d mouth = mean_of(q, 48, 59), nose = mean_of(q, 27, 35);
    Point2d jaw{};  // centroid of the jaw part's points (2-14, 31-35)
    for (int i = 2; i <= 14; ++i) jaw = jaw + q[i];
    for (int i = 31; i <= 35; ++i) jaw = jaw + q[i];
    jaw = jaw * (1.0 / 18);
    struct Expect {
      FaceRegions part;
      std::vector<Point2d> on, off;
    };
    const Expect table[] = {
        {kRegionEyes, {eye_l, eye_r}, {mouth, q[33], brow_l * 0.5 + brow_r * 0.5}},
        {kRegionBrows, {brow_l, brow_r, q[19], q[24]}, {eye_l, eye_r, mouth, nose}},
        {kRegionMouth, {mouth, q[48], q[54]}, {eye_l, eye_r, brow_l, brow_r}},
        {kRegionNose, {nose, q[30]}, {eye_l, eye_r, mouth}},
        {kRegionJaw, {jaw, mouth, q[8] * 0.5 + q[57] * 0.5}, {eye_l, eye_r, brow_l, brow_r}},
    };
    const FaceMask face = face_mask(f.landmarks, f.to_frame, kSize);
    for (const Expect& e : table) {
      const FaceMask m = region_mask(f.landmarks, f.to_frame, kSize, e.part);
      const std::string what = f.image + " " + face_regions_name(e.part);
      ASSERT_EQ(m.size, kSize);
      ASSERT_EQ(m.alpha.size(), face.alpha.size());
      for (const Point2d& p : e.on) EXPECT_GT(at(m, p), 0.9f) << what << " at " << p.x << "," << p.y;
      for (const Point2d& p : e.off) EXPECT_EQ(at(m, p), 0.0f) << what << " at " << p.x << "," << p.y;
      long above_face = 0, out_of_range = 0, covered = 0, face_covered = 0;
      for (size_t i = 0; i < m.alpha.size(); ++i) {
        above_face += m.alpha[i] > face.alpha[i];
        out_of_range += !(m.alpha[i] >= 0.0f && m.alpha[i] <= 1.0f);
        covered += m.alpha[i] > 0;
        face_covered += face.alpha[i] > 0;
      }
      EXPECT_EQ(above_face, 0) << what;
      EXPECT_EQ(out_of_range, 0) << what;
      EXPECT_GT(covered, 0) << what;
      EXPECT_LT(covered, face_covered) << what;
      if (&f == &faces()[0]) {
        std::printf("[region] %s %-5s covers %5.1f%% of the face mask's support\n", f.image.c_str(),
                    face_regions_name(e.part).c_str(), 100.0 * covered / face_covered);
      }
    }
  }
}

TEST(FaceRegion, UnionIsTheMaxOfItsParts) {
  for (const Face& f : faces()) {
    std::vector<FaceMask> part;
    for (FaceRegions p : kPartBits) part.push_back(region_mask(f.landmarks, f.to_frame, kSize, p));
    for (FaceRegions u : {kRegionEyes | kRegionMouth, kRegionBrows | kRegionNose | kRegionJaw,
                          kRegionEyes | kRegionBrows | kRegionMouth | kRegionNose | kRegionJaw}) {
      const FaceMask m = region_mask(f.landmarks, f.to_frame, kSize, u);
      std::vector<float> expect(m.alpha.size(), 0.0f);
      for (size_t k = 0; k < part.size(); ++k) {
        if (!(u & kPartBits[k])) continue;
        for (size_t i = 0; i < expect.size(); ++i) expect[i] = std::max(expect[i], part[k].alpha[i]);
      }
      EXPECT_EQ(m.alpha, expect) << f.image << " " << face_regions_name(u);
    }
  }
}

namespace {

// The key property: composite an edit through a region mask into a native frame of the photo and
// count samples changed where the region's warped mask is 0 (must be none), and the share of
// pixels well inside it (alpha > 0.99) that changed.
struct Outcome {
  long changed_outside = 0;
  long inside = 0, changed_inside = 0;
};

// A constant-colour "edited" face, far from any skin tone, so every blended pixel changes.
ImageRGBf constant_face() {
  ImageRGBf e;
  e.width = e.height = kSize;
  e.pixels.resize(3 * kSize * kSize);
  for (size_t i = 0; i < e.pixels.size(); i += 3) e.pixels[i] = 0.05f, e.pixels[i + 1] = 0.95f, e.pixels[i + 2] = 0.1f;
  return e;
}

void edit(NativeFrame& nf, const Face& f, const FaceMask& mask) {
  const PixelRect r = face_footprint(nf.width, nf.height, f.to_frame, kSize);
  const FrameChange ch = face_change(r, read_rgb(nf, r), constant_face(), nullptr, f.to_frame, kSize, mask);
  apply_change(nf, ch);
}

Outcome composite_rgb(const Face& f, const FaceMask& mask) {
  ImageRGB8 photo = load_image(facetest::data("faces/" + f.image).string());
  const ImageRGB8 before = ImageRGB8::copy_of(photo.view());
  NativeFrame nf = native_view(photo);
  edit(nf, f, mask);
  const auto alpha = alpha_in_frame(photo.width(), photo.height(), f.to_frame, kSize, mask);
  Outcome o;
  for (int y = 0; y < photo.height(); ++y)
    for (int x = 0; x < photo.width(); ++x) {
      const float a = alpha[size_t(y) * photo.width() + x];
      bool changed = false;
      for (int k = 0; k < 3; ++k) changed |= before.pixel(x, y)[k] != photo.pixel(x, y)[k];
      if (a == 0.0f) o.changed_outside += changed;
      if (a > 0.99f) ++o.inside, o.changed_inside += changed;
    }
  return o;
}

// The same on a yuv420p frame made from the photo: luma where the pixel's alpha is 0, a chroma
// sample where all four pixels it covers have alpha 0.
Outcome composite_yuv420p(const Face& f, const FaceMask& mask) {
  const ImageRGB8 photo = load_image(facetest::data("faces/" + f.image).string());
  const int w = photo.width(), h = photo.height();
  std::vector<std::uint8_t> planes[3];
  NativeFrame nf;
  nf.width = w, nf.height = h, nf.format = PixelFormat::yuv420p;
  for (int p = 0; p < 3; ++p) {
    nf.stride[p] = static_cast<std::ptrdiff_t>(plane_row_bytes(nf.format, w, p));
    planes[p].resize(static_cast<size_t>(nf.stride[p]) * plane_rows(nf.format, h, p));
  }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {  // BT.601 limited range, integer approximation
      const std::uint8_t* c = photo.pixel(x, y);
      planes[0][size_t(y) * nf.stride[0] + x] = std::uint8_t(((66 * c[0] + 129 * c[1] + 25 * c[2] + 128) >> 8) + 16);
      if (x % 2 == 0 && y % 2 == 0) {
        planes[1][size_t(y / 2) * nf.stride[1] + x / 2] = std::uint8_t(((-38 * c[0] - 74 * c[1] + 112 * c[2] + 128) >> 8) + 128);
        planes[2][size_t(y / 2) * nf.stride[2] + x / 2] = std::uint8_t(((112 * c[0] - 94 * c[1] - 18 * c[2] + 128) >> 8) + 128);
      }
    }
  const std::vector<std::uint8_t> before[3] = {planes[0], planes[1], planes[2]};
  for (int p = 0; p < 3; ++p) nf.data[p] = planes[p].data();
  edit(nf, f, mask);
  const auto alpha = alpha_in_frame(w, h, f.to_frame, kSize, mask);
  auto a = [&](int x, int y) { return (x < w && y < h) ? alpha[size_t(y) * w + x] : 0.0f; };
  Outcome o;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = size_t(y) * nf.stride[0] + x;
      const bool changed = before[0][i] != planes[0][i];
      if (a(x, y) == 0.0f) o.changed_outside += changed;
      if (a(x, y) > 0.99f) ++o.inside, o.changed_inside += changed;
    }
  for (int p = 1; p < 3; ++p)
    for (int cy = 0; cy < plane_rows(nf.format, h, p); ++cy)
      for (int cx = 0; cx < (w + 1) / 2; ++cx) {
        const size_t i = size_t(cy) * nf.stride[p] + cx;
        const int x = 2 * cx, y = 2 * cy;
        const bool untouched = a(x, y) == 0 && a(x + 1, y) == 0 && a(x, y + 1) == 0 && a(x + 1, y + 1) == 0;
        if (untouched) o.changed_outside += before[p][i] != planes[p][i];
      }
  return o;
}

}  // namespace

TEST(FaceRegion, CompositeChangesNothingOutsideTheRegionMask) {
  const Face& f = faces().at(0);
  for (FaceRegions r : {kRegionMouth, kRegionEyes | kRegionMouth, kRegionBrows, kRegionNose, kRegionJaw}) {
    const FaceMask mask = region_mask(f.landmarks, f.to_frame, kSize, r);
    for (int native = 0; native < 2; ++native) {
      const Outcome o = native ? composite_yuv420p(f, mask) : composite_rgb(f, mask);
      const std::string what = face_regions_name(r) + (native ? " yuv420p" : " rgb24");
      std::printf("[region] %s %-10s %-7s: %ld px inside, %ld changed; %ld samples changed outside\n",
                  f.image.c_str(), face_regions_name(r).c_str(), native ? "yuv420p" : "rgb24", o.inside,
                  o.changed_inside, o.changed_outside);
      EXPECT_EQ(o.changed_outside, 0) << what;
      EXPECT_GT(o.inside, 50) << what;
      EXPECT_GE(o.changed_inside, o.inside * 99 / 100) << what;
    }
  }
}
