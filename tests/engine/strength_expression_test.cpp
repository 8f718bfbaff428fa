#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using micromotion::StrengthExpression;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The value of `text` at (t, n, pts), which must be finite.
double value(const std::string& text, double t = 0, int64_t n = 0, double pts = kNaN) {
  const StrengthExpression::Evaluation e = StrengthExpression(text).evaluate(t, n, pts);
  EXPECT_FALSE(e.non_finite) << text;
  return e.value;
}

// True when `text` is NaN or infinite at (t, n, pts), i.e. gets strength 0 under the
// non-finite rule (checked).
bool non_finite(const std::string& text, double t = 0, int64_t n = 0, double pts = kNaN) {
  const StrengthExpression::Evaluation e = StrengthExpression(text).evaluate(t, n, pts);
  if (e.non_finite) {
    EXPECT_EQ(e.value, 0) << text;
  }
  return e.non_finite;
}

// The error message for `text` (a failure if it is accepted).
std::string error_of(const std::string& text) {
  try {
    StrengthExpression e(text);
    ADD_FAILURE() << "accepted '" << text << "'";
  } catch (const micromotion::Error& e) {
    return e.what();
  }
  return "";
}

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

// FFmpeg's precedence (libavutil/eval.c: parse_factor takes one sign for the whole power
// chain, strtod takes a number's own sign, '^' is a left-associative loop; a - b is
// a + (-b)). The values are FFmpeg's, checked against av_expr_eval.
TEST(StrengthExpression, FollowsFfmpegPrecedenceAndSigns) {
  EXPECT_EQ(value("-2^2"), -4);     // -(2^2), not (-2)^2
  EXPECT_EQ(value("2^3^2"), 64);    // (2^3)^2, not 2^(3^2) = 512
  EXPECT_EQ(value("2^-1"), 0.5);    // the exponent's sign
  EXPECT_EQ(value("2^--1"), 2);     // and its number's own
  EXPECT_EQ(value("--2^2"), -4);    // -((-2)^2): the second sign is the number's
  EXPECT_EQ(value("1+-2^2"), 5);    // 1 + (-2)^2
  EXPECT_EQ(value("1-2^2"), -3);    // 1 + -(2^2)
  EXPECT_EQ(value("1 - -2^2"), -3); // 1 + -((-2)^2)
  EXPECT_EQ(value("2*-3^2"), -18);
  EXPECT_EQ(value("-(2)^2"), -4);
  EXPECT_EQ(value("(-2)^2"), 4);
  EXPECT_EQ(value("-2^-2"), -0.25);
  EXPECT_EQ(value("-2^2^3"), -64);  // -((2^2)^3)
  EXPECT_EQ(value("2*3^2"), 18);
  EXPECT_EQ(value("2^3*2"), 16);
  EXPECT_EQ(value("2-3*4"), -10);
  EXPECT_EQ(value("1 - 2 - 3"), -4);
  EXPECT_EQ(value("8/2/2"), 2);
  EXPECT_EQ(value("-+2"), -2);
  EXPECT_EQ(value("+-2"), -2);
  EXPECT_EQ(value("2 ^ 10"), 1024);
  EXPECT_EQ(value("(1 + 2) * (3 - 5)"), -6);
}

TEST(StrengthExpression, ReadsNumbersAsFfmpeg) {
  EXPECT_EQ(value("1.5e-3"), 0.0015);
  EXPECT_EQ(value(".5"), 0.5);
  EXPECT_EQ(value("5."), 5);
  EXPECT_EQ(value("2E+1"), 20);
  EXPECT_EQ(value("1e-400"), 0);  // strtod: too small is 0
  EXPECT_TRUE(non_finite("1e400"));  // and too large inf
  EXPECT_EQ(value("isinf(1e400)"), 1);
  EXPECT_EQ(value("0x1F"), 31);  // av_strtod's hexadecimal integers
  EXPECT_EQ(value("0X10 * 2"), 32);
  EXPECT_EQ(value("-0x10"), -16);
  EXPECT_EQ(value("isinf(inf) + isinf(INF) + isinf(Infinity) + isnan(nan) + isnan(NAN)"), 5);
  EXPECT_TRUE(non_finite("min(-inf, 2)"));
  EXPECT_EQ(value("max(-inf, 2)"), 2);
}

TEST(StrengthExpression, HasTheVariablesTNAndPtsAndFfmpegsConstants) {
  EXPECT_EQ(value("PI"), 3.141592653589793);
  EXPECT_EQ(value("E"), 2.718281828459045);
  EXPECT_EQ(value("PHI"), 1.618033988749895);
  EXPECT_TRUE(StrengthExpression("2*PI + E - PHI").constant());
  const StrengthExpression t("t"), n("n"), pts("pts");
  EXPECT_EQ(t(1.5, 7, 90000), 1.5);
  EXPECT_EQ(n(1.5, 7, 90000), 7);
  EXPECT_EQ(pts(1.5, 7, 90000), 90000);
  EXPECT_EQ(pts.evaluate(1.5, 7, -3).value, -3);
  for (const StrengthExpression* e : {&t, &n, &pts}) EXPECT_FALSE(e->constant()) << e->text();
  EXPECT_FALSE(StrengthExpression("0*pts").constant());
  // pts unknown: NaN, also where it is not given.
  EXPECT_TRUE(pts.evaluate(1.5, 7, kNaN).non_finite);
  EXPECT_TRUE(pts.evaluate(1.5, 7).non_finite);
  EXPECT_EQ(pts(1.5, 7), 0);
  const StrengthExpression guarded("if(isnan(pts), 2, pts/90000)");
  EXPECT_EQ(guarded(0, 0), 2);
  EXPECT_EQ(guarded(0, 0, 45000), 0.5);
  EXPECT_EQ(value("n*2 + t", 0.25, 3), 6.25);
}

// Every function, with FFmpeg's definitions (eval.c's eval_expr; the values checked against
// av_expr_eval of FFmpeg 5.1's libavutil).
TEST(StrengthExpression, EvaluatesEveryFunctionAsFfmpeg) {
  const std::vector<std::pair<const char*, double>> exact = {
      {"sqrt(16)", 4}, {"abs(-3)", 3}, {"abs(3)", 3}, {"exp(0)", 1}, {"log(1)", 0},
      {"floor(-1.5)", -2}, {"floor(1.5)", 1}, {"ceil(-1.5)", -1}, {"ceil(1.2)", 2},
      {"round(2.5)", 3}, {"round(-2.5)", -3}, {"round(1.4)", 1}, {"trunc(-1.7)", -1}, {"trunc(1.7)", 1},
      {"sgn(-2)", -1}, {"sgn(0)", 0}, {"sgn(5)", 1}, {"sgn(0/0)", 0},
      {"min(2, 3)", 2}, {"max(2, 3)", 3}, {"min(0/0, 1)", 1}, {"max(0/0, 1)", 1},
      {"clip(5, 0, 1)", 1}, {"clip(-1, 0, 1)", 0}, {"clip(0.5, 0, 1)", 0.5}, {"clip(2, 2, 2)", 2},
      {"clamp(5, 0, 1)", 1}, {"clamp(0.25, 0, 1)", 0.25},
      {"lt(1, 2)", 1}, {"lt(2, 2)", 0}, {"lte(2, 2)", 1}, {"lte(3, 2)", 0},
      {"gt(3, 2)", 1}, {"gt(2, 2)", 0}, {"gte(2, 2)", 1}, {"gte(1, 2)", 0},
      {"eq(2, 2)", 1}, {"eq(2, 3)", 0}, {"lt(0/0, 1)", 0}, {"eq(0/0, 0/0)", 0},
      {"if(1, 2)", 2}, {"if(0, 2)", 0}, {"if(0, 2, 3)", 3}, {"if(-1, 2, 3)", 2}, {"if(0/0, 2, 3)", 2},
      {"if(1, 2, 0/0)", 2}, {"if(0, 1/0, 3)", 3},
      {"ifnot(0, 2)", 2}, {"ifnot(1, 2)", 0}, {"ifnot(0, 2, 3)", 2}, {"ifnot(5, 2, 3)", 3}, {"ifnot(0/0, 2, 3)", 3},
      {"between(3, 2, 4)", 1}, {"between(2, 2, 4)", 1}, {"between(4, 2, 4)", 1}, {"between(5, 2, 4)", 0},
      {"between(1, 2, 4)", 0}, {"between(3, 4, 2)", 0}, {"between(0/0, 0, 1)", 0},
      {"not(0)", 1}, {"not(3)", 0}, {"not(0/0)", 0},
      {"pow(2, 10)", 1024}, {"pow(4, 0.5)", 2}, {"pow(2, -1)", 0.5},
      {"mod(5.5, 2)", 1.5}, {"mod(-1, 3)", 2}, {"mod(5, -3)", -1}, {"mod(7, 7)", 0}, {"mod(-7.5, 2)", 0.5},
      {"hypot(3, 4)", 5}, {"squish(0)", 0.5}, {"gauss(0)", 0.3989422804014327},
      {"isnan(0/0)", 1}, {"isnan(1)", 0}, {"isinf(1/0)", 1}, {"isinf(-1/0)", 1}, {"isinf(0/0)", 0}, {"isinf(1)", 0},
      {"lerp(2, 4, 0.25)", 2.5}, {"lerp(2, 4, 2)", 6}, {"lerp(0, 10, 0.5)", 5},
      {"atan2(0, 1)", 0}, {"acos(1)", 0}, {"sin(0)", 0}, {"cos(0)", 1}, {"sinh(0)", 0}, {"cosh(0)", 1},
      {"tanh(0)", 0}, {"asin(0)", 0}, {"atan(0)", 0}, {"tan(0)", 0},
      // Division by zero is x*inf whatever the zero's sign (IEEE: 1/-0 = -inf).
      {"min(1/-0, 3)", 3}, {"max(-1/0, -3)", -3}, {"min(5/t, 3)", 3},
  };
  for (const auto& [text, expected] : exact) EXPECT_DOUBLE_EQ(value(text), expected) << text;
  const double pi = 3.141592653589793;
  const std::vector<std::pair<const char*, double>> near = {
      {"sin(PI/2)", 1}, {"cos(PI)", -1}, {"tan(PI/4)", 1}, {"asin(1)", pi / 2}, {"acos(-1)", pi},
      {"atan(1)", pi / 4}, {"atan2(1, -1)", 3 * pi / 4}, {"atan2(-1, 0)", -pi / 2},
      {"sinh(1)", 1.1752011936438014}, {"cosh(1)", 1.5430806348152437}, {"tanh(1)", 0.7615941559557649},
      {"exp(1)", 2.718281828459045}, {"log(E)", 1}, {"log(100)/log(10)", 2},
      {"squish(1)", 0.017986209962091559}, {"gauss(1)", 0.24197072451914337},
      {"hypot(1e200, 1e200)/1e200", 1.4142135623730951}, {"lerp(0, 10, t)", 3},
  };
  for (const auto& [text, expected] : near) EXPECT_NEAR(value(text, 0.3), expected, 1e-12) << text;
  // NaN results: the non-finite rule.
  for (const char* text : {"clip(1, 2, 0)", "clamp(1, 2, 0)", "clip(0/0, 0, 1)", "clip(1, 0/0, 2)",
                           "clip(1, 0, 0/0)", "min(1, 0/0)", "max(1, 0/0)", "mod(5, 0)", "sqrt(-1)",
                           "log(0)", "pow(-8, 1/3)", "asin(2)", "0/0", "1/0"})
    EXPECT_TRUE(non_finite(text)) << text;
  // Arguments are expressions.
  EXPECT_DOUBLE_EQ(value("max(min(t, 2) * 3, abs(n - 10))", 1, 4), 6);
}

// FFmpeg evaluates -squish(x), -gauss(x) and -lerp(...) without the sign (eval.c's cases
// for them ignore the node's sign): its 1-gauss(t) is 1+gauss(t). Refused here.
TEST(StrengthExpression, RefusesTheSignsFfmpegDrops) {
  for (const char* text : {"-squish(0)", "1-gauss(t)", "2^-lerp(0, 1, t)", "-(gauss(0))", "3 - squish(t)*2", "2*squish(0) - lerp(0, 1, 0.5)*1",
                           "-(-squish(0))"}) {
    const std::string err = error_of(text);
    EXPECT_NE(err.find("FFmpeg ignores a minus sign"), std::string::npos) << err;
    EXPECT_NE(err.find("column"), std::string::npos) << err;
  }
  EXPECT_NE(error_of("1 - gauss(t)").find("at column 3"), std::string::npos);
  EXPECT_DOUBLE_EQ(value("(-1)*squish(0)"), -0.5);
  EXPECT_DOUBLE_EQ(value("1-1*squish(0)"), 0.5);
  EXPECT_DOUBLE_EQ(value("-(squish(0)+0)"), -0.5);
  EXPECT_DOUBLE_EQ(value("-squish(0)^1"), -0.5);  // the sign is the power's
  EXPECT_DOUBLE_EQ(value("+squish(0)"), 0.5);
  EXPECT_DOUBLE_EQ(value("2*squish(0) - 1*lerp(0, 1, 0.5)"), 1 - 0.5);
}

TEST(StrengthExpression, ErrorsNameTheProblem) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"", "empty expression at column 1"},
      {"   ", "empty expression"},
      {"foo(2)", "unknown function 'foo' at column 1"},
      {"Sin(1)", "unknown function 'Sin' (names are case-sensitive: sin)"},
      {"x + 1", "unknown variable 'x' (variables t, n, pts; constants PI, E, PHI) at column 1"},
      {"2*pi", "unknown variable 'pi' (names are case-sensitive: PI) at column 3"},
      {"T", "unknown variable 'T'"},
      {"min(1)", "min takes 2 arguments, min(x, y), not 1 at column 6"},
      {"sin(1, 2)", "sin takes 1 argument, sin(x), not more at column 6"},
      {"clip(t, 0)", "clip takes 3 arguments, clip(x, min, max), not 2"},
      {"between(t, 1, 2, 3)", "between takes 3 arguments"},
      {"if(t)", "if takes 2 or 3 arguments, if(x, y) or if(x, y, z), not 1"},
      {"ifnot(t, 1, 2, 3)", "ifnot takes 2 or 3 arguments"},
      {"lerp(1, 2)", "lerp takes 3 arguments"},
      {"sin()", "unexpected ')' at column 5"},
      {"sin 2", "'(' expected after sin"},
      {"1 2", "unexpected '2' at column 3"},
      {"t)", "unexpected ')' at column 2"},
      {"5*t t", "unexpected 't' at column 5"},
      {"1,2", "unexpected ','"},
      {"1;2", "';' (FFmpeg's sequencing of expressions) is not supported"},
      {"t; 2", "';'"},
      {"min(1;2, 3)", "';'"},
      {"(1;2)", "';'"},
      {"2n", "SI postfixes"},
      {"1k", "SI postfixes"},
      {"1Gi", "SI postfixes"},
      {"8B", "SI postfixes"},
      {"3dB", "SI postfixes"},
      {"1E", "SI postfixes"},
      {"5t", "unexpected 't' after a number"},
      {"1.5.2", "unexpected '.' after a number"},
      {"0x", "hexadecimal number without digits"},
      {".", "bad number"},
      {"st(0, 1)", "FFmpeg's function 'st' is not supported"},
      {"while(0, 1)", "FFmpeg's function 'while' is not supported"},
      {"random(0)", "FFmpeg's function 'random' is not supported"},
      {"gcd(4, 6)", "FFmpeg's function 'gcd' is not supported"},
      {"1+-t", "two signs in a row are only allowed before a number"},
      {"--t", "two signs in a row"},
      {"1 - -sin(t)", "two signs in a row"},
      {"2^--t", "two signs in a row"},
      {"if(0, 1, ---2)", "more than two signs in a row inside the arguments of if or ifnot"},
      {"ifnot(t, min(1, +++2), 0)", "more than two signs in a row inside the arguments of if or ifnot"},
      {"(1", "missing ')'"},
      {"min(1 2)", "',' or ')' expected in the arguments of min"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string err = error_of(text);
    EXPECT_NE(err.find(expected), std::string::npos) << "'" << text << "': " << err;
    EXPECT_NE(err.find("strength expression '" + std::string(text) + "'"), std::string::npos) << err;
    EXPECT_NE(err.find("column"), std::string::npos) << err;
  }
  // Two signs before a number are FFmpeg's too (strtod's sign); more, outside if/ifnot.
  EXPECT_EQ(value("if(0, 1, --2)"), 2);
  EXPECT_EQ(value("1 - -2"), 3);
  EXPECT_EQ(value("min(---2, 0)"), -2);
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
  double plus = 0, sum = 0, minus = 0, product = 0, difference = 0, power = 0, exponent = 0;
  const std::string err = on_small_stack([&] {
    plus = StrengthExpression(std::string(131072, '+') + "1")(0, 0);
    std::string chain = "1";
    for (int i = 1; i < 1000000; ++i) chain += "+1";
    sum = StrengthExpression(chain)(0, 0);
    minus = StrengthExpression(std::string(1000001, '-') + "2")(0, 0);
    std::string prod = "t";
    for (int i = 0; i < 100000; ++i) prod += "*1/1";
    product = StrengthExpression(prod)(3, 0);
    std::string differences = "1";
    for (int i = 1; i < 1000000; ++i) differences += "-1";
    difference = StrengthExpression(differences)(0, 0);
    std::string powers = "2";
    for (int i = 0; i < 100000; ++i) powers += "^1";
    power = StrengthExpression(powers)(0, 0);
    exponent = StrengthExpression("2^" + std::string(100001, '-') + "1")(0, 0);
  });
  EXPECT_EQ(err, "");
  EXPECT_EQ(plus, 1);
  EXPECT_EQ(sum, 1000000);
  EXPECT_EQ(minus, -2);
  EXPECT_EQ(product, 3);
  EXPECT_EQ(difference, -999998);
  EXPECT_EQ(power, 2);
  EXPECT_EQ(exponent, 0.5);
}

TEST(StrengthExpression, NestingIsLimitedTo64Levels) {
  auto nest = [](int k) { return std::string(k, '(') + "t" + std::string(k, ')'); };
  EXPECT_EQ(StrengthExpression(nest(63))(2, 0), 2);
  std::string err = on_small_stack([&] { StrengthExpression e(nest(100000)); });
  EXPECT_NE(err.find("nesting deeper than 64 levels at column 66"), std::string::npos) << err;
  std::string calls;  // "abs(abs(...abs(t", built by appending (prepending is quadratic: 30 s under ASan)
  for (int i = 0; i < 100000; ++i) calls += "abs(";
  calls += "t";
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
  // pts unknown (NaN): 'pts' alone is non-finite, a guarded use is not.
  const StrengthExpression pts("pts");
  const auto unknown = pts.evaluate(1, 25, kNaN);
  EXPECT_EQ(unknown.value, 0);
  EXPECT_TRUE(unknown.non_finite);
  EXPECT_TRUE(pts.evaluate(1, 25).non_finite);
  EXPECT_EQ(pts(1, 25), 0);
  EXPECT_FALSE(StrengthExpression("ifnot(isnan(pts), pts, 5)").evaluate(1, 25).non_finite);
  EXPECT_TRUE(StrengthExpression("t").evaluate(kNaN, 0).non_finite);  // t unknown (FFmpeg's filter)
  EXPECT_TRUE(StrengthExpression("-inf").evaluate(0, 0).non_finite);
  EXPECT_TRUE(StrengthExpression("nan").evaluate(0, 0).non_finite);
  EXPECT_TRUE(StrengthExpression("clip(t, 1, 0)").evaluate(0, 0).non_finite);
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

// docs/strength.md: every recipe (an indented line under "## Recipes", followed by its
// line of explanation) parses and is finite at a few (t, n); every function of the grammar
// table parses with the arguments it shows.
std::string strength_doc() {
  std::ifstream in(std::string(MM_SOURCE_DIR) + "/docs/strength.md");
  EXPECT_TRUE(in) << MM_SOURCE_DIR << "/docs/strength.md";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(StrengthExpression, EveryRecipeInTheDocsParsesAndIsFinite) {
  const std::vector<std::string> lines = lines_of(strength_doc());
  std::vector<std::string> recipes;
  bool in_recipes = false;
  for (size_t k = 0; k < lines.size(); ++k) {
    const std::string& line = lines[k];
    if (line.rfind("## ", 0) == 0) in_recipes = line == "## Recipes";
    if (!in_recipes || line.rfind("    ", 0) != 0) continue;
    recipes.push_back(line.substr(4));
    // One line of explanation after it (a blank line between).
    size_t next = k + 1;
    while (next < lines.size() && lines[next].empty()) ++next;
    ASSERT_LT(next, lines.size()) << line;
    EXPECT_NE(lines[next].rfind(" ", 0), 0u) << "no explanation after " << line;
  }
  for (const char* required : {"5", "5*t/4", "5*clip(min(t, 6-t), 0, 1)", "if(between(t, 2, 4), 5, 0)",
                               "3*sin(2*PI*t/5)", "if(lt(n, 50), 0, 5)", "5*gt(t, 1)", "min(5, 2*t)"}) {
    EXPECT_NE(std::find(recipes.begin(), recipes.end(), required), recipes.end()) << required;
  }
  for (const std::string& recipe : recipes) {
    std::string err;
    try {
      const StrengthExpression e(recipe);
      for (const auto& [t, n] : std::vector<std::pair<double, int64_t>>{{0, 0}, {0.5, 12}, {1, 25}, {2.5, 62},
                                                                       {3, 75}, {5.5, 137}, {60, 1500}}) {
        const auto v = e.evaluate(t, n);
        EXPECT_FALSE(v.non_finite) << recipe << " at t = " << t;
        EXPECT_TRUE(std::isfinite(v.value)) << recipe;
      }
    } catch (const micromotion::Error& x) {
      err = x.what();
    }
    EXPECT_EQ(err, "") << recipe;
  }
  // What the explanations say, for a few.
  const StrengthExpression fade("5*clip(min(t, 6-t), 0, 1)");
  EXPECT_EQ(fade(0, 0), 0);
  EXPECT_EQ(fade(0.5, 0), 2.5);
  EXPECT_EQ(fade(3, 0), 5);
  EXPECT_EQ(fade(5.5, 0), 2.5);
  EXPECT_EQ(fade(6, 0), 0);
  const StrengthExpression window("if(between(t, 2, 4), 5, 0)");
  EXPECT_EQ(window(1.9, 0), 0);
  EXPECT_EQ(window(2, 0), 5);
  EXPECT_EQ(window(4, 0), 5);
  EXPECT_EQ(window(4.1, 0), 0);
  const StrengthExpression from50("if(lt(n, 50), 0, 5)");
  EXPECT_EQ(from50(0, 49), 0);
  EXPECT_EQ(from50(0, 50), 5);
  EXPECT_NEAR(StrengthExpression("3*sin(2*PI*t/5)")(1.25, 0), 3, 1e-12);
  EXPECT_EQ(StrengthExpression("5*gt(t, 1)")(1, 0), 0);
  EXPECT_EQ(StrengthExpression("5*gt(t, 1)")(1.01, 0), 5);
  EXPECT_EQ(StrengthExpression("min(5, 2*t)")(1, 0), 2);
  EXPECT_EQ(StrengthExpression("min(5, 2*t)")(3, 0), 5);
  EXPECT_EQ(StrengthExpression("5*t/4")(4, 0), 5);
}

TEST(StrengthExpression, EveryFunctionInTheDocsGrammarParses) {
  int functions = 0;
  for (const std::string& line : lines_of(strength_doc())) {
    // "| `name(a, b)` | ... |"
    if (line.rfind("| `", 0) != 0) continue;
    const size_t open = line.find('('), close = line.find(")` |");
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    const std::string name = line.substr(3, open - 3);
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) continue;
    std::string call = name + "(";
    const std::string args = line.substr(open + 1, close - open - 1);
    for (size_t k = 0, count = 0; k <= args.size(); ++k)
      if (k == args.size() || args[k] == ',') call += (count++ ? ", " : "") + std::string("0.5");
    call += ")";
    std::string err;
    try {
      const StrengthExpression e(call);
      EXPECT_TRUE(e.constant()) << call;
    } catch (const micromotion::Error& x) {
      err = x.what();
    }
    EXPECT_EQ(err, "") << line;
    ++functions;
  }
  EXPECT_EQ(functions, 42);  // 40 names, if and ifnot with 2 and with 3 arguments
}

}  // namespace
