// A recursive-descent parser that emits a postfix program, run on a small value stack per
// frame. Recursion happens only on parentheses and function arguments, and is bounded;
// left-associative chains and runs of unary signs are loops.
#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace micromotion {

namespace {
constexpr int kMaxNesting = 64;  // parentheses and function calls
}  // namespace

struct StrengthExpression::Program {
  enum Op : uint8_t { Number, T, N, Neg, Add, Sub, Mul, Div, Sin, Cos, Abs, Min, Max, Clamp };
  struct Instr {
    Op op;
    double value;  // Number
  };
  std::vector<Instr> code;
  size_t max_stack = 0;
  bool uses_variables = false;

  double run(double t, int64_t n) const {
    // Small programs (nearly all) evaluate without allocating.
    double local[32] = {};
    std::vector<double> heap;
    double* s = local;
    if (max_stack > 32) {
      heap.resize(max_stack);
      s = heap.data();
    }
    size_t top = 0;  // number of values on the stack
    for (const Instr& in : code) {
      switch (in.op) {
        case Number: s[top++] = in.value; break;
        case T: s[top++] = t; break;
        case N: s[top++] = double(n); break;
        case Neg: s[top - 1] = -s[top - 1]; break;
        case Add: s[top - 2] += s[top - 1]; --top; break;
        case Sub: s[top - 2] -= s[top - 1]; --top; break;
        case Mul: s[top - 2] *= s[top - 1]; --top; break;
        case Div: s[top - 2] /= s[top - 1]; --top; break;
        case Sin: s[top - 1] = std::sin(s[top - 1]); break;
        case Cos: s[top - 1] = std::cos(s[top - 1]); break;
        case Abs: s[top - 1] = std::abs(s[top - 1]); break;
        case Min: s[top - 2] = std::min(s[top - 2], s[top - 1]); --top; break;
        case Max: s[top - 2] = std::max(s[top - 2], s[top - 1]); --top; break;
        case Clamp: {
          const double x = s[top - 3], a = s[top - 2], b = s[top - 1];
          s[top - 3] = std::clamp(x, std::min(a, b), std::max(a, b));
          top -= 2;
          break;
        }
      }
    }
    return s[0];
  }
};

namespace {

using Program = StrengthExpression::Program;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  std::shared_ptr<const Program> parse() {
    expr();
    skip();
    if (i_ != s_.size()) fail("unexpected '" + shown(s_[i_]) + "'");
    return std::make_shared<const Program>(std::move(p_));
  }

 private:
  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;
  size_t stack_ = 0;  // values the program has on its stack at this point
  Program p_;

  static std::string shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", u);
    return hex;
  }
  [[noreturn]] void fail(const std::string& what) const {
    std::string text;
    for (size_t k = 0; k < s_.size() && k < 80; ++k) text += shown(s_[k]);
    if (s_.size() > 80) text += "…";
    throw Error("strength expression '" + text + "': " + what + " at column " + std::to_string(i_ + 1) +
                " (numbers, t, n, + - * /, parentheses, sin cos abs min max clamp)");
  }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // Emits an instruction taking `pops` values and leaving one.
  void emit(Program::Op op, int pops, double value = 0) {
    p_.code.push_back({op, value});
    stack_ = stack_ - static_cast<size_t>(pops) + 1;
    p_.max_stack = std::max(p_.max_stack, stack_);
  }
  void expr() {
    term();
    for (;;) {
      if (eat('+')) term(), emit(Program::Add, 2);
      else if (eat('-')) term(), emit(Program::Sub, 2);
      else break;
    }
  }
  void term() {
    unary();
    for (;;) {
      if (eat('*')) unary(), emit(Program::Mul, 2);
      else if (eat('/')) unary(), emit(Program::Div, 2);
      else break;
    }
  }
  void unary() {
    bool negate = false;  // -(-x) == x exactly, so only the parity of the signs matters
    for (;;) {
      if (eat('-')) negate = !negate;
      else if (eat('+')) continue;
      else break;
    }
    primary();
    if (negate) emit(Program::Neg, 1);
  }
  // Parentheses and function arguments: the only recursion, bounded.
  void nested() {
    if (++depth_ > kMaxNesting) fail("nesting deeper than " + std::to_string(kMaxNesting) + " levels");
    expr();
    --depth_;
  }
  void primary() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    if (eat('(')) {
      nested();
      if (!eat(')')) fail("missing ')'");
      return;
    }
    const char c = s_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.c_str() + i_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) fail("bad number");
      i_ += static_cast<size_t>(end - begin);
      emit(Program::Number, 0, v);
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t j = i_;
      while (j < s_.size() && std::isalnum(static_cast<unsigned char>(s_[j]))) ++j;
      const std::string name = s_.substr(i_, j - i_);
      if (name == "t" || name == "n") {
        i_ = j;
        emit(name == "t" ? Program::T : Program::N, 0);
        p_.uses_variables = true;
        return;
      }
      int arity = 0;
      Program::Op op;
      if (name == "sin") arity = 1, op = Program::Sin;
      else if (name == "cos") arity = 1, op = Program::Cos;
      else if (name == "abs") arity = 1, op = Program::Abs;
      else if (name == "min") arity = 2, op = Program::Min;
      else if (name == "max") arity = 2, op = Program::Max;
      else if (name == "clamp") arity = 3, op = Program::Clamp;
      else fail("unknown name '" + (name.size() <= 16 ? name : name.substr(0, 16) + "…") + "'");
      i_ = j;
      if (!eat('(')) fail("'(' expected after " + name);
      for (int k = 0; k < arity; ++k) {
        if (k > 0 && !eat(',')) fail(name + " takes " + std::to_string(arity) + " arguments");
        nested();
      }
      if (!eat(')')) fail("')' expected after the arguments of " + name);
      emit(op, arity);
      return;
    }
    fail("unexpected '" + shown(c) + "'");
  }
};

}  // namespace

StrengthExpression::StrengthExpression(const std::string& text) : text_(text), program_(Parser(text_).parse()) {}

StrengthExpression::Evaluation StrengthExpression::evaluate(double t, int64_t n) const {
  const double v = program_->run(t, n);
  if (!std::isfinite(v)) return {0.0, true};
  return {v, false};
}

bool StrengthExpression::constant() const { return !program_->uses_variables; }

}  // namespace micromotion
