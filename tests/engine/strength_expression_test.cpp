#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
