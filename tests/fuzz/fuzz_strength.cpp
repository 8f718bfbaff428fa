// The strength-expression parser and evaluator (--strength text comes from users and
// scripts). Checks the contract too: the value is always finite, 0 when flagged
// non-finite, the same for every (t, n, pts) when constant(), and the same on every call.
#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace {
bool same(const micromotion::StrengthExpression::Evaluation& a, const micromotion::StrengthExpression::Evaluation& b) {
  return a.non_finite == b.non_finite && std::memcmp(&a.value, &b.value, sizeof a.value) == 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const micromotion::StrengthExpression e(std::string(reinterpret_cast<const char*>(data), size));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    bool first = true;
    micromotion::StrengthExpression::Evaluation reference;
    for (double t : {0.0, 0.5, -1.0, 1e300, nan})
      for (int64_t n : {int64_t(0), int64_t(7), int64_t(-1)})
        for (double pts : {nan, 0.0, 90000.0, -3.5}) {
          const auto v = e.evaluate(t, n, pts);
          if (!std::isfinite(v.value)) std::abort();
          if (v.non_finite && v.value != 0) std::abort();
          if (!same(v, e.evaluate(t, n, pts))) std::abort();
          if (e(t, n, pts) != v.value) std::abort();
          if (first) reference = v, first = false;
          else if (e.constant() && !same(v, reference)) std::abort();
        }
    if (!same(e.evaluate(0.5, 7), e.evaluate(0.5, 7, nan))) std::abort();
  } catch (const micromotion::Error&) {
  }
  return 0;
}
