// The pickle interpreter alone, with storages served from memory: every byte of input
// reaches the opcode loop (no zip wrapper for the mutator to break).
#include "io/pickle.h"
#include "touch.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto storages = [](const std::string& key, c10::ScalarType dtype, int64_t numel, const std::string&) {
    // A real archive would hold the bytes; refuse what the input could not justify.
    if (numel > (1 << 16)) throw micromotion::Error("storage " + micromotion::quoted_for_message(key) + " too large for this input");
    return at::zeros({numel}, at::TensorOptions().dtype(dtype));
  };
  try {
    micromotion::Value v = micromotion::io::unpickle(data, size, storages, "fuzz.pkl");
    mmfuzz::touch_all(v);
    (void)v.repr(4);
    if (v.is(micromotion::Value::Kind::Dict)) (void)micromotion::tensors_of(v);
  } catch (const micromotion::Error&) {
  }
  return 0;
}
