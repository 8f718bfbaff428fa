// micromotion/strength_expression.h — a micromotion's strength as a function of time.
//
// ONE language for every front end (the CLI's `render --strength`, the C API, the FFmpeg
// filter): the expressions of FFmpeg's libavutil/eval.c that make sense for a strength,
// with FFmpeg's meaning. Whatever is accepted here means what av_expr_eval computes for it
// (FFmpeg 5.1 and later, the filter's variables t, n, pts); what FFmpeg reads differently
// or not at all is refused with an error, never given another meaning. docs/strength.md
// has the same grammar as a table, and recipes.
//
// Grammar (spaces are allowed between tokens, never inside a number or a name; names are
// case-sensitive, as in FFmpeg):
//   expression := term { ('+' | '-') term }
//   term       := factor { ('*' | '/') factor }
//   factor     := [sign] power                     sign := '+' | '-'
//   power      := operand { '^' [sign] operand }   left-associative: 2^3^2 = (2^3)^2 = 64
//   operand    := sign* number | variable | constant | '(' expression ')'
//               | function '(' expression { ',' expression } ')'
// Signs, as FFmpeg: a factor takes one sign, which applies to its whole power (-2^2 = -4);
// a number may carry a sign of its own after that one (strtod's), which binds tighter than
// '^' (--2^2 = -((-2)^2) = -4, 1+-2^2 = 1+(-2)^2 = 5); an exponent takes one sign and its
// number one more (2^-1 = 0.5, 2^--1 = 2). a - b is a + (-b): the '-' is the sign of b's
// first factor (1-2^2 = -3). Two signs before anything but a number are refused, as FFmpeg
// does (1+-t, --t: write 1-t, -(-t)). Beyond FFmpeg: before a number, a run of signs of any
// length (their parity counts), except inside the arguments of if and ifnot, where FFmpeg
// drops an argument it cannot read instead of failing (so a longer run is refused there).
// Numbers: decimal, C's strtod syntax without the sign: 5, 1.5, .5, 5., 1.5e-3, 2E+3;
// 0x hexadecimal integers (0x1F = 31); inf, infinity, nan (any case). FFmpeg's SI postfixes
// (1k, 2n = 2e-9, 1Gi, 8B, 3dB) are refused: "2n" is not 2*n.
// Variables: t (seconds), n (frame number), pts (the frame's timestamp in its stream's time
// base; NaN when unknown). Constants: PI, E, PHI (golden ratio), as M_PI, M_E, M_PHI.
// Operators: + - * / ^; x/0 is x*inf as in FFmpeg (1/0 = inf, 1/-0 = inf, 0/0 = NaN).
// Functions (FFmpeg's names, arities and formulas; "true" is nonzero, NaN included):
//   sin(x)                 sine, radians
//   cos(x)                 cosine
//   tan(x)                 tangent
//   asin(x)                arc sine
//   acos(x)                arc cosine
//   atan(x)                arc tangent
//   atan2(y, x)            the angle of the point (x, y): atan2(1, -1) = 3*PI/4
//   sinh(x)                hyperbolic sine
//   cosh(x)                hyperbolic cosine
//   tanh(x)                hyperbolic tangent
//   exp(x)                 e^x
//   log(x)                 natural logarithm
//   sqrt(x)                square root
//   abs(x)                 absolute value
//   floor(x)               round down
//   ceil(x)                round up
//   round(x)               to the nearest integer, halves away from zero: round(-2.5) = -3
//   trunc(x)               round towards zero
//   sgn(x)                 1, -1, or 0 (also for NaN)
//   min(x, y)              x < y ? x : y (min(NaN, 1) = 1, min(1, NaN) = NaN)
//   max(x, y)              x > y ? x : y (max(NaN, 1) = 1, max(1, NaN) = NaN)
//   clip(x, min, max)      x limited to [min, max]; NaN if an argument is NaN or min > max
//   clamp(x, min, max)     micromotion's older name of clip, the same function
//   lt(x, y)               1 if x < y, else 0
//   lte(x, y)              1 if x <= y, else 0
//   gt(x, y)               1 if x > y, else 0
//   gte(x, y)              1 if x >= y, else 0
//   eq(x, y)               1 if x == y, else 0
//   if(x, y)               y if x is true, else 0
//   if(x, y, z)            y if x is true, else z
//   ifnot(x, y)            y if x is 0, else 0
//   ifnot(x, y, z)         y if x is 0, else z
//   between(x, min, max)   1 if min <= x <= max, else 0
//   not(x)                 1 if x is 0, else 0
//   pow(x, y)              x^y
//   mod(x, y)              x - floor(x/y)*y, the sign of y: mod(-1, 3) = 2; NaN for y = 0
//   hypot(x, y)            sqrt(x*x + y*y), without overflow
//   squish(x)              1/(1 + exp(4*x))
//   gauss(x)               exp(-x*x/2)/sqrt(2*PI)
//   isnan(x)               1 if x is NaN, else 0
//   isinf(x)               1 if x is +-inf, else 0
//   lerp(x, y, z)          x + (y - x)*z
// Refused, with an error that says so: ';' (FFmpeg's sequencing), FFmpeg's functions with
// state or side effects (st ld while taylor root random randomi print time) and its integer
// ones (gcd bitand bitor), and a minus sign applied directly to squish, gauss or lerp (or to
// a parenthesis whose value is one): FFmpeg drops that sign (its 1-gauss(t) is 1+gauss(t));
// write (-1)*gauss(t).
//
// StrengthExpression(text)
//   throws: micromotion::Error quoting (the first 80 bytes of) the text and the column of
//           the problem (unknown names, wrong argument counts naming the function and its
//           count, ...); also for parentheses or function calls nested deeper than 64
//           levels. Parsing and evaluation never recurse on the length of the text: a
//           chain "1+1+...+1" or "+++...+1" of any length is parsed and evaluated in
//           loops (the expression is compiled to a stack program, not a tree).
// evaluate(t, n, pts)
//   expects: pts NaN when the timestamp is unknown.
//   ensures: THE NON-FINITE RULE, the same in every front end: when the value is NaN or
//            infinite (e.g. "5/t" at t = 0, "0/0", "pts" with pts unknown), the strength is
//            0 for that frame (no micromotion: in delta mode the frame as it came), and
//            `non_finite` is set so the caller can warn (once). Otherwise the value as
//            computed in double precision (intermediate infinities that end in a finite
//            value, like min(5/t, 3) at t = 0 = 3, are fine).
// evaluate(t, n)
//   ensures: evaluate(t, n, NaN).
// operator()(t, n[, pts])
//   ensures: evaluate(t, n[, pts]).value: always a finite number.
// constant()
//   ensures: true when the text uses none of t, n, pts (the value is the same every frame).
#pragma once

#include <cstdint>
#include <limits>
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
  Evaluation evaluate(double t, int64_t n, double pts) const;
  Evaluation evaluate(double t, int64_t n) const { return evaluate(t, n, std::numeric_limits<double>::quiet_NaN()); }
  double operator()(double t, int64_t n) const { return evaluate(t, n).value; }
  double operator()(double t, int64_t n, double pts) const { return evaluate(t, n, pts).value; }
  const std::string& text() const { return text_; }
  bool constant() const;  // no t, n or pts

  struct Program;

 private:
  std::string text_;
  std::shared_ptr<const Program> program_;
};

}  // namespace micromotion
