// Runs the C API checks written in C (c_api_test.c) on a real face frame.
#include "engine/c_api_test.h"
#include "engine/engine_test_support.h"

#include <gtest/gtest.h>

TEST(CApi, FromC) {
  const auto frames = enginetest::clip_frames("gaps", 0, 1);
  ASSERT_EQ(frames.size(), 1u);
  char message[1024];
  const int ok = mm_c_api_check(enginetest::test_models().c_str(), frames[0].data(), frames[0].width(),
                                frames[0].height(), message, sizeof message);
  EXPECT_EQ(ok, 1) << message;
}
