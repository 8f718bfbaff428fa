// micromotion/strength_expression.h — a micromotion's strength as a function of time.
//
// Grammar: numbers, the variables t (seconds) and n (frame index), + - * / with the usual
// precedence, unary minus, parentheses, and the functions sin cos abs min max clamp
// (clamp(x, lo, hi)). Example: "5*t/4", "min(5, 2*t)", "3*sin(t)".
//
// StrengthExpression(text)
//   throws: micromotion::Error quoting the text and the column of the problem.
// operator()(t, n)
//   ensures: the value (division by zero gives inf/nan as in C; callers clamp if they must).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace micromotion {

class StrengthExpression {
 public:
  explicit StrengthExpression(const std::string& text);
  double operator()(double t, int64_t n) const;
  const std::string& text() const { return text_; }
  bool constant() const;  // no t or n

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace micromotion
