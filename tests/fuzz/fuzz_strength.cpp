// The strength-expression parser and evaluator (--strength text comes from users and
// scripts). Checks the contract too: the value is always finite.
#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const micromotion::StrengthExpression e(std::string(reinterpret_cast<const char*>(data), size));
    for (double t : {0.0, 0.5, -1.0, 1e300})
      for (int64_t n : {int64_t(0), int64_t(7)})
        if (!std::isfinite(e(t, n))) std::abort();
    (void)e.constant();
  } catch (const micromotion::Error&) {
  }
  return 0;
}
