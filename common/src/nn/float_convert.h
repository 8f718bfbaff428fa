// Branch-free float <-> bfloat16 conversions for the hand-written kernels (internal): c10's
// BFloat16 conversion has a NaN branch that keeps channel loops from vectorizing.
// Rounds to nearest even; the values converted here are finite.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>
#include <cstring>

namespace micromotion::nn {

inline float to_f(float v) { return v; }
inline float to_f(c10::BFloat16 v) {
  const uint32_t u = uint32_t(v.x) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <typename T>
inline T from_f(float f);
template <>
inline float from_f<float>(float f) {
  return f;
}
template <>
inline c10::BFloat16 from_f<c10::BFloat16>(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return c10::BFloat16(static_cast<uint16_t>(u >> 16), c10::BFloat16::from_bits());
}

}  // namespace micromotion::nn
