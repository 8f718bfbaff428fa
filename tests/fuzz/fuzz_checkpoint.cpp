// Whole checkpoint files: zip directory, LibTorch's container, the pickle, storages.
#include "touch.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    micromotion::Value v = micromotion::load_checkpoint_from_memory(data, size, "fuzz.pt");
    mmfuzz::touch_all(v);
    (void)v.repr(4);
    if (v.is(micromotion::Value::Kind::Dict)) (void)micromotion::tensors_of(v);
  } catch (const micromotion::Error&) {
  }
  return 0;
}
