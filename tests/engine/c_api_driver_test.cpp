// Runs the C API checks written in C (c_api_test.c) on a real face frame.
#include "engine/c_api_test.h"
#include "engine/engine_test_support.h"
#include "engine/native_reference.h"
#include "face/face_test_support.h"

#include <micromotion/generator.h>
#include <micromotion/image.h>
#include <micromotion/micromotion.h>
#include <micromotion/native_frame.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <string>
#include <vector>

TEST(CApi, FromC) {
  const auto frames = enginetest::clip_frames("gaps", 0, 1);
  ASSERT_EQ(frames.size(), 1u);
  char message[1024];
  const int ok = mm_c_api_check(enginetest::test_models().c_str(), frames[0].data(), frames[0].width(),
                                frames[0].height(), message, sizeof message);
  EXPECT_EQ(ok, 1) << message;
}

// mm_create with dtype "bf16": without AVX-512, NULL at once and the message naming the
// requirement and the fix in the error buffer (what the FFmpeg filter and OBS log); with it,
// a context.
TEST(CApi, Bf16NeedsAvx512) {
  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models();
  p.models_dir = models.c_str();
  p.encoder = "e4e";
  p.dtype = "bf16";
  char error[512] = "";
  mm_context* ctx = mm_create(&p, error, sizeof error);
  if (micromotion::bf16_supported(c10::kCPU)) {
    EXPECT_NE(ctx, nullptr) << error;
  } else {
    EXPECT_EQ(ctx, nullptr);
    EXPECT_STREQ(error,
                 "dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this one lacks: use "
                 "dtype fp32");
  }
  mm_destroy(ctx);
}

// The non-finite rule through the C API: a strength that is NaN or infinite is strength 0 (no
// micromotion); in delta mode that is the frame as it came, and a finite strength edits it.
TEST(CApi, NonFiniteStrengthLeavesTheFrameUnedited) {
  const auto frames = enginetest::clip_frames("gaps", 0, 1);
  ASSERT_EQ(frames.size(), 1u);
  const micromotion::ImageRGB8& img = frames[0];
  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models();
  p.models_dir = models.c_str();
  p.encoder = "e4e";
  p.mode = MM_MODE_DELTA;
  char error[512] = "";
  mm_context* ctx = mm_create(&p, error, sizeof error);
  ASSERT_NE(ctx, nullptr) << error;
  std::vector<uint8_t> out(img.stride() * static_cast<size_t>(img.height()));
  mm_frame in{}, res{};
  in.data[0] = const_cast<uint8_t*>(img.data());
  in.width = res.width = img.width();
  in.height = res.height = img.height();
  in.stride[0] = res.stride[0] = static_cast<ptrdiff_t>(img.stride());
  in.format = res.format = MM_PIXEL_RGB24;
  res.data[0] = out.data();
  std::vector<uint8_t> zero;
  for (const double s : {0.0, std::nan(""), HUGE_VAL, -HUGE_VAL, 5.0}) {
    ASSERT_EQ(mm_set_strength(ctx, s), 0);
    ASSERT_EQ(mm_process(ctx, &in, &res, nullptr), 0) << mm_error(ctx);
    if (s == 0.0) {
      zero = out;
      continue;
    }
    if (std::isfinite(s)) {
      const micromotion::ImageView edited{out.data(), img.width(), img.height(),
                                          static_cast<std::ptrdiff_t>(img.stride())};
      EXPECT_GT(facetest::diff(img.view(), edited).max, 5) << "strength " << s << " must edit the face";
    } else {
      EXPECT_TRUE(out == zero) << "strength " << s << " must be strength 0";
    }
  }
  mm_destroy(ctx);
}

// Every format through mm_process, against the engine's RGB edit of the same picture: the
// native frame's face holds that edit converted with the frame's own matrix, range and depth
// (nativeref, written independently of the library) within 4 levels at 10 bits, and at 8 bits
// within 1 level but for the rounding of the reference itself: the RGB edit is rounded to 8-bit
// RGB, half a level, which the native edit is not (it is computed from the generator's float
// output and the frame's own samples), so a sample may be off by up to 1.5 (measured max 1.23,
// 0.06 % of the samples beyond 1); RGB formats hold it exactly. Every
// changed sample lies in a reported face box; alpha, padding and every sample outside the faces
// are bit-exact. Two contexts see the same pictures in the same order (the RGB one the frame as
// the engine's tracker sees it), so their tracking, inversion and synthesis are the same.
namespace fs = std::filesystem;

TEST(CApi, NativeFramesHoldTheRgbEditInTheirOwnFormat) {
  const fs::path face = facetest::data("faces/2008_001009.jpg");
  ASSERT_FALSE(face.empty());
  const micromotion::ImageRGB8 photo = micromotion::load_image(face.string());
  const int w = photo.width(), h = photo.height();
  std::vector<uint8_t> packed(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y) std::memcpy(&packed[size_t(y) * w * 3], photo.row(y), size_t(w) * 3);

  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models();
  p.models_dir = models.c_str();
  p.detect_every = 1;
  p.smooth = 0;
  p.dtype = "fp32";  // the bounds are fp32's; the default "auto" may pick bf16
  // The networks run once, on the first (rgb24) frame, in both contexts; every later format takes
  // the per-frame path with that edit, which is where the formats differ (conversion in and out).
  p.keyframe_every = 1000;
  char error[1024] = "";
  mm_context* rgb_ctx = mm_create(&p, error, sizeof error);
  ASSERT_NE(rgb_ctx, nullptr) << error;
  mm_context* native_ctx = mm_create(&p, error, sizeof error);
  ASSERT_NE(native_ctx, nullptr) << error;

  int n = 0;
  for (const nativeref::Layout& l : nativeref::layouts()) {
    // Matrices and ranges in turn, BT.2020 full range among the 10-bit ones.
    const mm_color_matrix m = l.depth > 8 && n % 2 ? MM_MATRIX_BT2020 : mm_color_matrix(n % 3);
    const mm_color_range r = mm_color_range((n / 2) % 2);
    ++n;
    SCOPED_TRACE(std::string(mm_pixel_format_name(l.format)) +
                 (l.rgb ? "" : std::string(m == MM_MATRIX_BT709 ? " BT.709" : m == MM_MATRIX_BT2020 ? " BT.2020" : " BT.601") +
                                   (r == MM_RANGE_FULL ? " full" : " limited")));
    std::vector<uint8_t> storage[4];
    mm_frame f = nativeref::make_frame(packed.data(), w, h, l, m, r, storage);
    std::vector<uint8_t> before[4];
    for (int k = 0; k < 4; ++k) before[k] = storage[k];
    mm_frame orig = f;
    for (int k = 0; k < l.planes; ++k) orig.data[k] = before[k].data();

    // The RGB path: the frame as the engine's tracker sees it, edited as rgb24.
    micromotion::NativeFrame view;
    for (int k = 0; k < 4; ++k) view.data[size_t(k)] = f.data[k], view.stride[size_t(k)] = f.stride[k];
    view.width = w;
    view.height = h;
    view.format = static_cast<micromotion::PixelFormat>(l.format);
    view.matrix = static_cast<micromotion::ColorMatrix>(m);
    view.range = static_cast<micromotion::ColorRange>(r);
    micromotion::ImageRGB8 scratch;
    const micromotion::ImageView seen = micromotion::rgb8_view(view, scratch);
    std::vector<uint8_t> rgb(size_t(w) * h * 3), edited(rgb.size());
    for (int y = 0; y < h; ++y) std::memcpy(&rgb[size_t(y) * w * 3], seen.row(y), size_t(w) * 3);
    mm_frame fr{};
    fr.data[0] = rgb.data();
    fr.stride[0] = 3 * w;
    fr.width = w;
    fr.height = h;
    fr.format = MM_PIXEL_RGB24;
    fr.index = n;
    mm_frame fe = fr;
    fe.data[0] = edited.data();
    ASSERT_EQ(mm_process(rgb_ctx, &fr, &fe, nullptr), 0) << mm_error(rgb_ctx);

    f.index = n;
    mm_report report{};
    ASSERT_EQ(mm_process(native_ctx, &f, &f, &report), 0) << mm_error(native_ctx);
    ASSERT_GE(report.faces_edited, 1);
    ASSERT_EQ(report.faces_reported, report.faces_edited);
    const auto in_a_box = [&](int x0, int y0, int x1, int y1) {
      for (int i = 0; i < report.faces_reported; ++i) {
        const mm_face_report& b = report.faces[i];
        if (x0 < b.x + b.width && x1 > b.x && y0 < b.y + b.height && y1 > b.y) return true;
      }
      return false;
    };

    const auto rgb_changed = [&](int x, int y) {
      return std::memcmp(&rgb[(size_t(y) * w + x) * 3], &edited[(size_t(y) * w + x) * 3], 3) != 0;
    };
    // Stride padding is never written.
    for (int k = 0; k < l.planes; ++k)
      for (int y = 0; y < mm_plane_rows(l.format, h, k); ++y) {
        const size_t row = mm_plane_row_bytes(l.format, w, k);
        EXPECT_EQ(std::memcmp(f.data[k] + f.stride[k] * y + row, orig.data[k] + orig.stride[k] * y + row, 16), 0)
            << "padding of plane " << k << " row " << y;
      }
    const double tol = l.depth > 8 ? 4.0 : 1.5;
    long outside = 0, alpha = 0, far = 0, beyond_one = 0, checked = 0;
    double err_sum = 0, err_max = 0;
    for (int k = 0; k < 4; ++k) {
      if (l.c[k].plane < 0) continue;
      const bool ch = nativeref::chroma(l, k);
      const int sx = ch ? l.sx : 0, sy = ch ? l.sy : 0;
      for (int y = 0; y < nativeref::comp_height(l, k, h); ++y)
        for (int x = 0; x < nativeref::comp_width(l, k, w); ++x) {
          const int got = nativeref::get(f, l, k, x, y), was = nativeref::get(orig, l, k, x, y);
          const int x0 = x << sx, y0 = y << sy, x1 = std::min(w, (x + 1) << sx), y1 = std::min(h, (y + 1) << sy);
          if (got != was) {
            outside += !in_a_box(x0, y0, x1, y1);
            alpha += k == 3;
          }
          if (k == 3) continue;
          // The reference: the RGB edit of the pixels this sample covers, converted.
          bool any = false;
          double want = 0;
          for (int yy = y0; yy < y1; ++yy)
            for (int xx = x0; xx < x1; ++xx) {
              any |= rgb_changed(xx, yy);
              double c[3], yuv[3];
              for (int j = 0; j < 3; ++j) c[j] = edited[(size_t(yy) * w + xx) * 3 + j] / 255.0;
              if (l.rgb) {
                want += c[k] * ((1 << l.depth) - 1);
              } else {
                nativeref::rgb_to_yuv(c, m, r, l.depth, yuv);
                want += yuv[k];
              }
            }
          if (!any) continue;
          want /= double((x1 - x0) * (y1 - y0));
          const double err = std::abs(got - want);
          ++checked;
          err_sum += err;
          err_max = std::max(err_max, err);
          far += err > (l.rgb ? 0.0 : tol);
          beyond_one += err > 1.0;
        }
    }
    EXPECT_EQ(outside, 0) << "samples changed outside the reported boxes";
    EXPECT_EQ(alpha, 0) << "alpha changed";
    EXPECT_GT(checked, 1000);
    EXPECT_EQ(far, 0) << "of " << checked << " samples the RGB edit changed: max error " << err_max;
    if (l.depth == 8) {
      EXPECT_LE(beyond_one, checked / 500) << "samples more than 1 level off";
    }
    EXPECT_LE(err_sum / double(std::max(1L, checked)), l.depth > 8 ? 1.0 : 0.4) << "mean error";
    std::printf("[native] %s: %ld samples, mean error %.3f, max %.2f\n", mm_pixel_format_name(l.format), checked,
                err_sum / double(std::max(1L, checked)), err_max);
  }
  mm_destroy(rgb_ctx);
  mm_destroy(native_ctx);
}

// Every recipe of docs/strength.md through the C API: mm_set_strength_expr takes it, and the
// strength each frame got (the report) is the expression at the frame's t, n and pts; a bad
// expression is refused with the parser's message and the previous one stays.
TEST(CApi, EveryStrengthRecipeIsTheFramesStrength) {
  const std::vector<std::string> recipes = enginetest::strength_recipes();
  ASSERT_GE(recipes.size(), 8u);
  mm_params p = mm_default_params();
  const std::string models = enginetest::test_models();
  p.models_dir = models.c_str();
  p.encoder = "e4e";
  p.strength_expr = "5*t/4";
  char error[1024] = "";
  mm_context* ctx = mm_create(&p, error, sizeof error);
  ASSERT_NE(ctx, nullptr) << error;
  std::vector<uint8_t> gray(32 * 32 * 3, 128);  // no face: only the strength is computed
  mm_frame f{};
  f.data[0] = gray.data();
  f.stride[0] = 32 * 3;
  f.width = f.height = 32;
  f.format = MM_PIXEL_RGB24;
  const struct {
    double t;
    int64_t n, pts;
  } at[] = {{0, 0, 0}, {0.52, 13, 520}, {2.5, 62, 2500}, {3.04, 76, INT64_MIN}, {5.6, 140, 5600}, {61, 1525, 61000}};
  for (const std::string& recipe : recipes) {
    SCOPED_TRACE(recipe);
    ASSERT_EQ(mm_check_strength_expr(recipe.c_str(), error, sizeof error), 0) << error;
    ASSERT_EQ(mm_set_strength_expr(ctx, recipe.c_str()), 0) << mm_error(ctx);
    const micromotion::StrengthExpression e(recipe);
    for (const auto& a : at) {
      f.time = a.t;
      f.index = a.n;
      f.pts = a.pts;
      mm_report r{};
      ASSERT_EQ(mm_process(ctx, &f, &f, &r), 0) << mm_error(ctx);
      const auto want = e.evaluate(a.t, a.n, a.pts == INT64_MIN ? std::nan("") : double(a.pts));
      EXPECT_EQ(r.strength, want.value) << "t = " << a.t;
      EXPECT_EQ(r.strength_non_finite, int(want.non_finite));
    }
  }
  // pts itself, and unknown: NaN, strength 0 with the flag.
  ASSERT_EQ(mm_set_strength_expr(ctx, "pts/1000"), 0) << mm_error(ctx);
  mm_report r{};
  f.pts = 2500;
  ASSERT_EQ(mm_process(ctx, &f, &f, &r), 0);
  EXPECT_EQ(r.strength, 2.5);
  f.pts = INT64_MIN;
  ASSERT_EQ(mm_process(ctx, &f, &f, &r), 0);
  EXPECT_EQ(r.strength, 0);
  EXPECT_EQ(r.strength_non_finite, 1);
  // A bad expression: refused, the parser's message, the old one kept.
  EXPECT_EQ(mm_set_strength_expr(ctx, "5*("), -1);
  EXPECT_NE(std::string(mm_error(ctx)).find("5*("), std::string::npos) << mm_error(ctx);
  EXPECT_EQ(mm_check_strength_expr("clip(t, 1)", error, sizeof error), -1);
  EXPECT_NE(std::string(error).find("clip"), std::string::npos) << error;
  f.pts = 4000;
  ASSERT_EQ(mm_process(ctx, &f, &f, &r), 0);
  EXPECT_EQ(r.strength, 4.0);
  mm_destroy(ctx);
}
