// The safetensors reader (micromotion files come from outside).
#include "touch.h"

#include <micromotion/error.h>
#include <micromotion/safetensors.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const micromotion::SafeTensors st = micromotion::read_safetensors_from_memory(data, size, "fuzz.safetensors");
    for (const auto& [name, t] : st.tensors) mmfuzz::touch(t);
  } catch (const micromotion::Error&) {
  }
  return 0;
}
