#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

#include <pthread.h>

#include <cmath>
#include <functional>
#include <string>

namespace {

using micromotion::StrengthExpression;

TEST(StrengthExpression, EvaluatesArithmeticInTAndN) {
  EXPECT_DOUBLE_EQ(StrengthExpression("5")(3, 4), 5);
  EXPECT_DOUBLE_EQ(StrengthExpression("5*t/4")(2, 0), 2.5);
  EXPECT_DOUBLE_EQ(StrengthExpression("1 + 2 * 3 - 4 / 2")(0, 0), 5);
  EXPECT_DOUBLE_EQ(StrengthExpression("(1 + 2) * -n")(0, 3), -9);
  EXPECT_DOUBLE_EQ(StrengthExpression("min(5, 2*t) + max(0, n - 10)")(4, 12), 7);
  EXPECT_DOUBLE_EQ(StrengthExpression("clamp(t, 0, 1)")(3, 0), 1);
  EXPECT_NEAR(StrengthExpression("3*sin(t)")(1, 0), 3 * std::sin(1.0), 1e-12);
  EXPECT_DOUBLE_EQ(StrengthExpression("-2.5e-1")(0, 0), -0.25);
  EXPECT_TRUE(StrengthExpression("2*3").constant());
  EXPECT_FALSE(StrengthExpression("2*t").constant());
}

TEST(StrengthExpression, RejectsBadTextWithItsColumn) {
  for (const char* bad : {"", "5*", "(1", "foo(2)", "min(1)", "t n", "1 $ 2", "sin 2"}) {
    try {
      StrengthExpression e(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const micromotion::Error& e) {
      EXPECT_NE(std::string(e.what()).find("column"), std::string::npos) << e.what();
    }
  }
  std::string deep(200, '(');
  EXPECT_THROW(StrengthExpression e(deep + "1" + std::string(200, ')')), micromotion::Error);
}

// Runs f on a thread with a 256 KB stack: parsing and evaluating must not recurse on the
// length of the text. Returns the micromotion::Error message, or "".
std::string on_small_stack(const std::function<void()>& f) {
  struct Job {
    const std::function<void()>* f;
    std::string error;
  } job{&f, ""};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  // AddressSanitizer's redzones make every frame several times larger: the 64 levels of
  // nesting the parser allows then need more than 256 KB (the length of the text still never
  // adds a frame, which is what this checks).
#if defined(__SANITIZE_ADDRESS__)
  pthread_attr_setstacksize(&attr, 4 * 1024 * 1024);
#else
  pthread_attr_setstacksize(&attr, 256 * 1024);
#endif
  pthread_t th;
  auto body = [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    try {
      (*j->f)();
    } catch (const micromotion::Error& e) {
      j->error = e.what();
    }
    return nullptr;
  };
  EXPECT_EQ(pthread_create(&th, &attr, body, &job), 0);
  pthread_join(th, nullptr);
  pthread_attr_destroy(&attr);
  return job.error;
}

TEST(StrengthExpression, LongChainsParseAndEvaluateWithoutRecursion) {
  // 31d6ff2 crashed on 131 k unary '+' and on 65 k "1+1+...".
  double plus = 0, sum = 0, minus = 0, product = 0;
  const std::string err = on_small_stack([&] {
    plus = StrengthExpression(std::string(131072, '+') + "1")(0, 0);
    std::string chain = "1";
    for (int i = 1; i < 1000000; ++i) chain += "+1";
    sum = StrengthExpression(chain)(0, 0);
    minus = StrengthExpression(std::string(1000001, '-') + "2")(0, 0);
    std::string prod = "t";
    for (int i = 0; i < 100000; ++i) prod += "*1/1";
    product = StrengthExpression(prod)(3, 0);
  });
  EXPECT_EQ(err, "");
  EXPECT_EQ(plus, 1);
  EXPECT_EQ(sum, 1000000);
  EXPECT_EQ(minus, -2);
  EXPECT_EQ(product, 3);
}

TEST(StrengthExpression, NestingIsLimitedTo64Levels) {
  auto nest = [](int k) { return std::string(k, '(') + "t" + std::string(k, ')'); };
  EXPECT_EQ(StrengthExpression(nest(63))(2, 0), 2);
  std::string err = on_small_stack([&] { StrengthExpression e(nest(100000)); });
  EXPECT_NE(err.find("nesting deeper than 64 levels at column 66"), std::string::npos) << err;
  std::string calls = "t";
  for (int i = 0; i < 100000; ++i) calls = "abs(" + calls;
  err = on_small_stack([&] { StrengthExpression e(calls); });
  EXPECT_NE(err.find("nesting deeper than 64 levels"), std::string::npos) << err;
  // The message quotes at most 80 bytes of the text.
  EXPECT_LT(err.size(), 300u) << err;
  EXPECT_NE(err.find("strength expression 'abs(abs("), std::string::npos) << err;
}

TEST(StrengthExpression, NonFiniteValueMeansNoEditAndIsReported) {
  const StrengthExpression e("5/t");
  const auto at0 = e.evaluate(0, 0);
  EXPECT_EQ(at0.value, 0);
  EXPECT_TRUE(at0.non_finite);
  EXPECT_EQ(e(0, 0), 0);
  const auto at1 = e.evaluate(2, 0);
  EXPECT_EQ(at1.value, 2.5);
  EXPECT_FALSE(at1.non_finite);
  EXPECT_TRUE(StrengthExpression("0/0").evaluate(1, 1).non_finite);
  EXPECT_TRUE(StrengthExpression("-1/(n-n)").evaluate(1, 1).non_finite);
  // Only the final value counts: an infinity that ends finite is fine.
  const auto clamped = StrengthExpression("min(5/t, 3)").evaluate(0, 0);
  EXPECT_EQ(clamped.value, 3);
  EXPECT_FALSE(clamped.non_finite);
}

TEST(StrengthExpression, ControlBytesInTheTextAreEscaped) {
  try {
    StrengthExpression e(std::string("1 \x1b[2J", 7));
    ADD_FAILURE();
  } catch (const micromotion::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\x1b'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unexpected '\\x1b' at column 3"), std::string::npos) << e.what();
  }
}

}  // namespace
