// micromotion/strength_expression.h — a micromotion's strength as a function of time.
//
// Grammar: numbers, the variables t (seconds) and n (frame index), + - * / with the usual
// precedence, unary minus and plus, parentheses, and the functions sin cos abs min max
// clamp (clamp(x, lo, hi)). Example: "5*t/4", "min(5, 2*t)", "3*sin(t)".
//
// StrengthExpression(text)
//   throws: micromotion::Error quoting (the first 80 bytes of) the text and the column of
//           the problem; also for parentheses or function calls nested deeper than 64
//           levels. Parsing and evaluation never recurse on the length of the text: a
//           chain "1+1+...+1" or "+++...+1" of any length is parsed and evaluated in
//           loops (the expression is compiled to a stack program, not a tree).
// evaluate(t, n)
//   ensures: THE NON-FINITE RULE, the same in every front end: when the value is NaN or
//            infinite (e.g. "5/t" at t = 0, "0/0"), the strength is 0 for that frame (no
//            micromotion: in delta mode the frame as it came), and `non_finite` is set so the caller can warn (once). Otherwise
//            the value as computed in double precision (intermediate infinities that end
//            in a finite value, like min(5/t, 3) at t = 0 = 3, are fine).
// operator()(t, n)
//   ensures: evaluate(t, n).value: always a finite number.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace micromotion {

class StrengthExpression {
 public:
  explicit StrengthExpression(const std::string& text);

  struct Evaluation {
    double value = 0;         // finite
    bool non_finite = false;  // the expression gave NaN or +-inf, value is 0
  };
  Evaluation evaluate(double t, int64_t n) const;
  double operator()(double t, int64_t n) const { return evaluate(t, n).value; }
  const std::string& text() const { return text_; }
  bool constant() const;  // no t or n

  struct Program;

 private:
  std::string text_;
  std::shared_ptr<const Program> program_;
};

}  // namespace micromotion
