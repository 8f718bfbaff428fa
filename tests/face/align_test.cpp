// FFHQ alignment against the reference fixtures (../shared/fixtures/align): every intermediate of
// the reference and the aligned pixels.
#include "face_test_support.h"

#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>

#include "face/pil_resample.h"

#include <cmath>

using namespace micromotion;

namespace {

void expect_quad_near(const Quad& got, const Quad& want, double tol, const std::string& what) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(got[i].x, want[i].x, tol) << what << " corner " << i;
    EXPECT_NEAR(got[i].y, want[i].y, tol) << what << " corner " << i;
  }
}

TEST(FaceAlign, GeometryMatchesEveryReferenceIntermediate) {
  const auto cases = facetest::align_cases();
  ASSERT_EQ(cases.size(), 4u);
  int padded_cases = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    const ImageRGB8 img = load_image(facetest::data("faces/" + c.image).string());
    const Quad quad = ffhq_quad(c.landmarks);
    expect_quad_near(quad, c.quad, 1e-3, "quad");
    const AlignGeometry g = ffhq_geometry(quad, img.width(), img.height(), {256, 256, true});
    EXPECT_NEAR(g.qsize, c.qsize, 1e-9 * c.qsize);
    EXPECT_EQ(g.shrink, c.shrink);
    EXPECT_EQ(g.crop, c.crop);
    EXPECT_EQ(g.pad, c.pad);
    EXPECT_EQ(g.padded, c.padded);
    expect_quad_near(g.quad_final, c.quad_final, 1e-3, "quad_final");
    padded_cases += g.padded;
  }
  EXPECT_EQ(padded_cases, 1) << "the fixtures exercise the padding branch once";
}

TEST(FaceAlign, PixelsMatchReference) {
  for (const auto& c : facetest::align_cases()) {
    SCOPED_TRACE(c.image);
    const auto path = facetest::data("faces/" + c.image);
    ASSERT_FALSE(path.empty());
    // The very photo the reference aligned (dlib 19.24's examples/faces).
    const auto sum = facetest::run("sha256sum " + path.string());
    ASSERT_EQ(sum.status, 0) << sum.output;
    EXPECT_EQ(sum.output.substr(0, 64), c.sha256);
    const ImageRGB8 img = load_image(path.string());
    const AlignedFace a = ffhq_align(img, c.landmarks, {256, 256, true});
    const std::string stem = c.image.substr(0, c.image.size() - 4);
    const ImageRGB8 ref = load_image(facetest::fixture("align/" + stem + "_aligned256.png").string());
    const facetest::ImageDiff d = facetest::diff(a.image, ref);
    std::printf("[align] %s: mean |d| %.4f, max |d| %d (padded %d)\n", c.image.c_str(), d.mean, d.max,
                int(a.geometry.padded));
    EXPECT_LE(d.mean, 1.0);
    EXPECT_LE(d.max, 8);
  }
}

// to_frame maps aligned pixels back to where they were sampled: the aligned crop agrees with
// the frame sampled at to_frame(p), and the eyes land where FFHQ puts them.
TEST(FaceAlign, ToFrameIsTheInverseWarp) {
  const auto cases = facetest::align_cases();
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    const ImageRGB8 img = load_image(facetest::data("faces/" + c.image).string());
    const AlignedFace a = ffhq_align(img, c.landmarks, {256, 256, true});
    double sum = 0;
    int n = 0;
    for (int v = 16; v < 240; v += 8) {
      for (int u = 16; u < 240; u += 8) {
        const Point2d p = a.to_frame({double(u), double(v)});
        const int x = int(std::floor(p.x)), y = int(std::floor(p.y));
        if (x < 0 || y < 0 || x + 1 >= img.width() || y + 1 >= img.height()) continue;
        const double fx = p.x - x, fy = p.y - y;
        for (int k = 0; k < 3; ++k) {
          const double s = (img.pixel(x, y)[k] * (1 - fx) + img.pixel(x + 1, y)[k] * fx) * (1 - fy) +
                           (img.pixel(x, y + 1)[k] * (1 - fx) + img.pixel(x + 1, y + 1)[k] * fx) * fy;
          sum += std::abs(s - a.image.pixel(u, v)[k]);
          ++n;
        }
      }
    }
    ASSERT_GT(n, 1000);
    EXPECT_LT(sum / n, 1.5) << "aligned pixels vs the frame sampled through to_frame";
    // Eye centres: FFHQ-aligned faces have them on one horizontal line in the upper half.
    const Affine2 inv = a.to_frame.inverse();
    Point2d l{}, r{};
    for (int i = 36; i < 42; ++i) l = l + inv(c.landmarks[i]) * (1.0 / 6);
    for (int i = 42; i < 48; ++i) r = r + inv(c.landmarks[i]) * (1.0 / 6);
    EXPECT_NEAR(l.y, r.y, 256 * 0.03);
    EXPECT_GT(l.y, 256 * 0.3);
    EXPECT_LT(l.y, 256 * 0.5);
    EXPECT_LT(l.x, r.x);
  }
}

// The shrink branch (a face much larger than the output): an upscaled frame aligns to the same
// face, and to_frame accounts for the resize.
TEST(FaceAlign, ShrinkBranchKeepsGeometry) {
  const auto cases = facetest::align_cases();
  ASSERT_FALSE(cases.empty());
  const auto& c = cases[2];  // 2008_001009: qsize 141
  const ImageRGB8 img = load_image(facetest::data("faces/" + c.image).string());
  const ImageRGB8 big = pil_resize_lanczos(img, img.width() * 3, img.height() * 3);
  Landmarks lm = c.landmarks;
  for (Point2d& p : lm) p = {(p.x + 0.5) * 3 - 0.5, (p.y + 0.5) * 3 - 0.5};
  const AlignedFace small = ffhq_align(img, c.landmarks, {64, 64, true});
  const AlignedFace large = ffhq_align(big, lm, {64, 64, true});
  EXPECT_EQ(large.geometry.shrink, 3);
  EXPECT_EQ(large.geometry.shrunk_size[0], img.width());
  const facetest::ImageDiff d = facetest::diff(small.image, large.image);
  std::printf("[align] shrink x3 vs direct: mean |d| %.3f, max %d\n", d.mean, d.max);
  EXPECT_LT(d.mean, 4.0);
  for (const Point2d p : {Point2d{0, 0}, Point2d{63, 0}, Point2d{31.5, 40}}) {
    const Point2d a = small.to_frame(p), b = large.to_frame(p);
    EXPECT_NEAR((a.x + 0.5) * 3 - 0.5, b.x, 1.6);
    EXPECT_NEAR((a.y + 0.5) * 3 - 0.5, b.y, 1.6);
  }
}

TEST(FaceAlign, TransformSizeLargerThanOutput) {
  const auto cases = facetest::align_cases();
  ASSERT_FALSE(cases.empty());
  const ImageRGB8 img = load_image(facetest::data("faces/" + cases[0].image).string());
  const AlignedFace a = ffhq_align(img, cases[0].landmarks, {128, 256, true});
  const AlignedFace ref = ffhq_align(img, cases[0].landmarks, {256, 256, true});
  ASSERT_EQ(a.image.width(), 128);
  EXPECT_LT(facetest::diff(a.image, pil_resize_lanczos(ref.image, 128, 128)).mean, 0.5);
  const Point2d p = a.to_frame({10, 20}), q = ref.to_frame({20.5, 40.5});
  EXPECT_NEAR(p.x, q.x, 1e-9);
  EXPECT_NEAR(p.y, q.y, 1e-9);
}

TEST(FaceResample, LanczosKeepsFlatImagesAndMeans) {
  ImageRGB8 flat(37, 23, 140);
  const ImageRGB8 r = pil_resize_lanczos(flat, 11, 50);
  for (int y = 0; y < r.height(); ++y)
    for (int x = 0; x < 3 * r.width(); ++x) ASSERT_EQ(r.row(y)[x], 140);
  // Downscaling stripes by an even factor averages them.
  ImageRGB8 stripes(64, 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 64; ++x)
      for (int k = 0; k < 3; ++k) stripes.pixel(x, y)[k] = (x % 2) ? 200 : 100;
  const ImageRGB8 s = pil_resize_lanczos(stripes, 16, 8);
  for (int x = 2; x < 14; ++x) EXPECT_NEAR(s.pixel(x, 4)[0], 150, 1);
}

// Alignment shrinks only the region it crops; that must equal shrinking the whole image.
TEST(FaceResample, RegionEqualsCropOfFullResize) {
  const ImageRGB8 img = load_image(facetest::data("faces/2008_001322.jpg").string());
  const ImageRGB8 full = pil_resize_lanczos(img, 166, 125);
  const ImageRGB8 part = detail::pil_resize_lanczos_region(img, 166, 125, 40, 17, 131, 99);
  ASSERT_EQ(part.width(), 91);
  ASSERT_EQ(part.height(), 82);
  EXPECT_TRUE(part == ImageRGB8::copy_of(crop_view(full, 40, 17, 91, 82)));
  const ImageRGB8 wide = pil_resize_lanczos(img, 500, 90);  // vertical pass only
  EXPECT_TRUE(detail::pil_resize_lanczos_region(img, 500, 90, 3, 5, 60, 70) ==
              ImageRGB8::copy_of(crop_view(wide, 3, 5, 57, 65)));
}

TEST(FaceResample, QuadIdentityCopiesAndOutsideIsBlack) {
  ImageRGB8 img(20, 10);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 20; ++x) img.pixel(x, y)[0] = static_cast<std::uint8_t>(x * 10 + y);
  // Corners of the whole image in PIL's continuous coordinates: an exact copy.
  const ImageRGB8 same = pil_transform_quad(img, 20, 10, Quad{Point2d{0, 0}, {0, 10}, {20, 10}, {20, 0}});
  EXPECT_TRUE(same == img);
  // Shifted half out of the image: the outside part is filled with 0.
  const ImageRGB8 moved = pil_transform_quad(img, 20, 10, Quad{Point2d{10, 0}, {10, 10}, {30, 10}, {30, 0}});
  EXPECT_EQ(moved.pixel(0, 5)[0], img.pixel(10, 5)[0]);
  EXPECT_EQ(moved.pixel(15, 5)[0], 0);
}

TEST(FaceAlign, ErrorsAreExplicit) {
  ImageRGB8 img(100, 100);
  try {
    ffhq_align(img, Landmarks(5), {});
    FAIL() << "5 landmarks accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("68"), std::string::npos) << e.what();
  }
  const auto cases = facetest::align_cases();
  ASSERT_FALSE(cases.empty());
  EXPECT_THROW(ffhq_align(img, cases[0].landmarks, {256, 128, true}), Error);
  EXPECT_THROW(ffhq_align(ImageView{}, cases[0].landmarks, {}), Error);
}

}  // namespace
