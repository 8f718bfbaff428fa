// The .npy reader.
#include <micromotion/error.h>
#include <micromotion/npy.h>

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    at::Tensor t = micromotion::read_npy_from_memory(data, size, "fuzz.npy");
    (void)t.sum();
  } catch (const micromotion::Error&) {
  }
  return 0;
}
