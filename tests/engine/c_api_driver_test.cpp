// Runs the C API checks written in C (c_api_test.c) on a real face frame.
#include "engine/c_api_test.h"
#include "engine/engine_test_support.h"
#include "face/face_test_support.h"

#include <micromotion/generator.h>
#include <micromotion/micromotion.h>

#include <gtest/gtest.h>

#include <cmath>
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
