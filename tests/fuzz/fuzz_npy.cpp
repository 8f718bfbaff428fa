// The .npy reader.
#include "touch.h"

#include <micromotion/error.h>
#include <micromotion/npy.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mmfuzz::touch(micromotion::read_npy_from_memory(data, size, "fuzz.npy"));
  } catch (const micromotion::Error&) {
  }
  return 0;
}
