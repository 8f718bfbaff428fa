// A recursive-descent parser that emits a postfix program, run on a small value stack per
// frame. Recursion happens only on parentheses and function arguments, and is bounded;
// left-associative chains and runs of unary signs are loops.
//
// The language is FFmpeg's libavutil/eval.c (see the header); where this file computes
// something FFmpeg's way rather than the obvious way, the comment says "FFmpeg". The parser
// follows eval.c's structure: parse_subexpr (a '+' or '-' between terms is the sign of the
// next term's first factor, summed), parse_term, parse_factor (one sign for the whole power
// chain, signs inside operands), parse_primary.
#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>
#include <vector>

namespace micromotion {

namespace {
constexpr int kMaxNesting = 64;  // parentheses and function calls
constexpr size_t kQuoted = 80;   // bytes of the text an error quotes
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// FFmpeg's constants (libavutil/mathematics.h: M_PI, M_E, M_PHI).
constexpr double kPi = 3.14159265358979323846;
constexpr double kE = 2.7182818284590452354;
constexpr double kPhi = 1.61803398874989484820;
}  // namespace

struct StrengthExpression::Program {
  enum Op : uint8_t {
    Number, T, N, Pts,
    Neg, Add, Sub, Mul, Div, Pow,
    // one argument
    Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Tanh, Exp, Log, Sqrt, Abs,
    Floor, Ceil, Round, Trunc, Sgn, Not, IsNan, IsInf, Squish, Gauss,
    // two
    Atan2, Min, Max, Lt, Lte, Gt, Gte, Eq, Mod, Hypot, If2, IfNot2,
    // three
    Clip, If3, IfNot3, Between, Lerp,
  };
  struct Instr {
    Op op;
    double value;  // Number
  };
  std::vector<Instr> code;
  size_t max_stack = 0;
  bool uses_variables = false;

  double run(double t, int64_t n, double pts) const {
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
      // x: the top value (replaced by the result); for two or three arguments a, b[, c]
      // are the arguments, the result replaces a.
      switch (in.op) {
        case Number: s[top++] = in.value; break;
        case T: s[top++] = t; break;
        case N: s[top++] = double(n); break;
        case Pts: s[top++] = pts; break;
        case Neg: s[top - 1] = -s[top - 1]; break;
        case Sin: s[top - 1] = std::sin(s[top - 1]); break;
        case Cos: s[top - 1] = std::cos(s[top - 1]); break;
        case Tan: s[top - 1] = std::tan(s[top - 1]); break;
        case Asin: s[top - 1] = std::asin(s[top - 1]); break;
        case Acos: s[top - 1] = std::acos(s[top - 1]); break;
        case Atan: s[top - 1] = std::atan(s[top - 1]); break;
        case Sinh: s[top - 1] = std::sinh(s[top - 1]); break;
        case Cosh: s[top - 1] = std::cosh(s[top - 1]); break;
        case Tanh: s[top - 1] = std::tanh(s[top - 1]); break;
        case Exp: s[top - 1] = std::exp(s[top - 1]); break;
        case Log: s[top - 1] = std::log(s[top - 1]); break;
        case Sqrt: s[top - 1] = std::sqrt(s[top - 1]); break;
        case Abs: s[top - 1] = std::fabs(s[top - 1]); break;
        case Floor: s[top - 1] = std::floor(s[top - 1]); break;
        case Ceil: s[top - 1] = std::ceil(s[top - 1]); break;
        case Round: s[top - 1] = std::round(s[top - 1]); break;
        case Trunc: s[top - 1] = std::trunc(s[top - 1]); break;
        case Sgn: {  // FFmpeg: FFDIFFSIGN(x, 0)
          const double x = s[top - 1];
          s[top - 1] = double(int(x > 0) - int(x < 0));
          break;
        }
        case Not: s[top - 1] = s[top - 1] == 0 ? 1.0 : 0.0; break;
        case IsNan: s[top - 1] = std::isnan(s[top - 1]) ? 1.0 : 0.0; break;
        case IsInf: s[top - 1] = std::isinf(s[top - 1]) ? 1.0 : 0.0; break;
        case Squish: s[top - 1] = 1 / (1 + std::exp(4 * s[top - 1])); break;
        case Gauss: {
          const double d = s[top - 1];
          s[top - 1] = std::exp(-d * d / 2) / std::sqrt(2 * kPi);
          break;
        }
        default: {
          if (in.op >= Clip) {
            const double a = s[top - 3], b = s[top - 2], c = s[top - 1];
            top -= 2;
            s[top - 1] = three(in.op, a, b, c);
          } else {
            const double a = s[top - 2], b = s[top - 1];
            --top;
            s[top - 1] = two(in.op, a, b);
          }
          break;
        }
      }
    }
    return s[0];
  }

  static double two(Op op, double d, double d2) {
    switch (op) {
      case Add: return d + d2;
      case Sub: return d - d2;
      case Mul: return d * d2;
      case Div: return d2 != 0 ? d / d2 : d * kInf;  // FFmpeg: the sign of a zero divisor is ignored
      case Pow: return std::pow(d, d2);
      case Atan2: return std::atan2(d, d2);
      case Min: return d < d2 ? d : d2;  // FFmpeg's, NaN included
      case Max: return d > d2 ? d : d2;
      case Lt: return d < d2 ? 1.0 : 0.0;
      case Lte: return d <= d2 ? 1.0 : 0.0;
      case Gt: return d > d2 ? 1.0 : 0.0;
      case Gte: return d >= d2 ? 1.0 : 0.0;
      case Eq: return d == d2 ? 1.0 : 0.0;
      case Mod: return d - std::floor(d2 != 0 ? d / d2 : d * kInf) * d2;  // FFmpeg
      case Hypot: return std::hypot(d, d2);
      case If2: return d != 0 ? d2 : 0.0;  // NaN is true, as C's `if (x)`
      case IfNot2: return d == 0 ? d2 : 0.0;
      default: return kNaN;  // not reached
    }
  }
  static double three(Op op, double x, double y, double z) {
    switch (op) {
      case Clip: {
        // FFmpeg: NaN for a NaN argument or min > max; else av_clipd, x86's (SSE2 maxsd then
        // minsd; it differs from the C fallback only in the sign of a zero: clip(0, 0, -0)).
        if (std::isnan(x) || std::isnan(y) || std::isnan(z) || y > z) return kNaN;
        const double m = x > y ? x : y;
        return m < z ? m : z;
      }
      case If3: return x != 0 ? y : z;
      case IfNot3: return x == 0 ? y : z;
      case Between: return x >= y && x <= z ? 1.0 : 0.0;
      case Lerp: return x + (y - x) * z;
      default: return kNaN;  // not reached
    }
  }
};

namespace {

using Program = StrengthExpression::Program;

struct Function {
  const char* name;
  int min_args, max_args;
  Program::Op op, op_max;  // op for min_args arguments, op_max for max_args
  const char* usage;
};

// FFmpeg's functions (eval.c's parse_primary), arities as its verify_expr checks them.
const Function kFunctions[] = {
    {"sin", 1, 1, Program::Sin, Program::Sin, "sin(x)"},
    {"cos", 1, 1, Program::Cos, Program::Cos, "cos(x)"},
    {"tan", 1, 1, Program::Tan, Program::Tan, "tan(x)"},
    {"asin", 1, 1, Program::Asin, Program::Asin, "asin(x)"},
    {"acos", 1, 1, Program::Acos, Program::Acos, "acos(x)"},
    {"atan", 1, 1, Program::Atan, Program::Atan, "atan(x)"},
    {"atan2", 2, 2, Program::Atan2, Program::Atan2, "atan2(y, x)"},
    {"sinh", 1, 1, Program::Sinh, Program::Sinh, "sinh(x)"},
    {"cosh", 1, 1, Program::Cosh, Program::Cosh, "cosh(x)"},
    {"tanh", 1, 1, Program::Tanh, Program::Tanh, "tanh(x)"},
    {"exp", 1, 1, Program::Exp, Program::Exp, "exp(x)"},
    {"log", 1, 1, Program::Log, Program::Log, "log(x)"},
    {"sqrt", 1, 1, Program::Sqrt, Program::Sqrt, "sqrt(x)"},
    {"abs", 1, 1, Program::Abs, Program::Abs, "abs(x)"},
    {"floor", 1, 1, Program::Floor, Program::Floor, "floor(x)"},
    {"ceil", 1, 1, Program::Ceil, Program::Ceil, "ceil(x)"},
    {"round", 1, 1, Program::Round, Program::Round, "round(x)"},
    {"trunc", 1, 1, Program::Trunc, Program::Trunc, "trunc(x)"},
    {"sgn", 1, 1, Program::Sgn, Program::Sgn, "sgn(x)"},
    {"min", 2, 2, Program::Min, Program::Min, "min(x, y)"},
    {"max", 2, 2, Program::Max, Program::Max, "max(x, y)"},
    {"clip", 3, 3, Program::Clip, Program::Clip, "clip(x, min, max)"},
    {"clamp", 3, 3, Program::Clip, Program::Clip, "clamp(x, min, max)"},
    {"lt", 2, 2, Program::Lt, Program::Lt, "lt(x, y)"},
    {"lte", 2, 2, Program::Lte, Program::Lte, "lte(x, y)"},
    {"gt", 2, 2, Program::Gt, Program::Gt, "gt(x, y)"},
    {"gte", 2, 2, Program::Gte, Program::Gte, "gte(x, y)"},
    {"eq", 2, 2, Program::Eq, Program::Eq, "eq(x, y)"},
    {"if", 2, 3, Program::If2, Program::If3, "if(x, y) or if(x, y, z)"},
    {"ifnot", 2, 3, Program::IfNot2, Program::IfNot3, "ifnot(x, y) or ifnot(x, y, z)"},
    {"between", 3, 3, Program::Between, Program::Between, "between(x, min, max)"},
    {"not", 1, 1, Program::Not, Program::Not, "not(x)"},
    {"pow", 2, 2, Program::Pow, Program::Pow, "pow(x, y)"},
    {"mod", 2, 2, Program::Mod, Program::Mod, "mod(x, y)"},
    {"hypot", 2, 2, Program::Hypot, Program::Hypot, "hypot(x, y)"},
    {"squish", 1, 1, Program::Squish, Program::Squish, "squish(x)"},
    {"gauss", 1, 1, Program::Gauss, Program::Gauss, "gauss(x)"},
    {"isnan", 1, 1, Program::IsNan, Program::IsNan, "isnan(x)"},
    {"isinf", 1, 1, Program::IsInf, Program::IsInf, "isinf(x)"},
    {"lerp", 3, 3, Program::Lerp, Program::Lerp, "lerp(x, y, z)"},
};

// FFmpeg's functions that are not pure functions of their arguments, or work on integers.
const char* const kRefusedFunctions[] = {"st",    "ld",    "while", "taylor", "root",   "random",
                                         "randomi", "print", "time",  "gcd",    "bitand", "bitor"};

const char* const kVariables[] = {"t", "n", "pts", "PI", "E", "PHI"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }  // FFmpeg's IS_IDENTIFIER_CHAR
// ASCII only, whatever the C locale (a host program may have set one: OBS, FFmpeg).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }
int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (lower(c) >= 'a' && lower(c) <= 'f') return lower(c) - 'a' + 10;
  return -1;
}
bool same_ignoring_case(const std::string& a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (lower(a[k]) != lower(b[k])) return false;
  return true;
}

// A decimal literal (digits, '.', exponent: already checked) as strtod reads it, but
// independent of the C locale: from_chars, with strtod's results where it is out of range
// (+inf for too large, 0 for too small).
double decimal(const char* begin, const char* end) {
  double v = 0;
  const auto r = std::from_chars(begin, end, v, std::chars_format::general);
  if (r.ec != std::errc::result_out_of_range) return v;
  // Out of range: the power of ten of the first nonzero digit, plus the exponent, tells
  // which way (it is beyond +-300 here).
  bool found = false, in_fraction = false, found_in_integer = false;
  long long integer_digits = 0, fraction_zeros = 0;
  const char* p = begin;
  for (; p != end && *p != 'e' && *p != 'E'; ++p) {
    if (*p == '.') {
      in_fraction = true;
    } else if (found) {
      if (!in_fraction) ++integer_digits;
    } else if (*p != '0') {
      found = true;
      found_in_integer = !in_fraction;
      integer_digits = 1;
    } else if (in_fraction) {
      ++fraction_zeros;
    }
  }
  if (!found) return 0;
  const long long magnitude = found_in_integer ? integer_digits - 1 : -(fraction_zeros + 1);
  long long exponent = 0;
  if (p != end) {
    ++p;
    bool negative = false;
    if (*p == '+' || *p == '-') negative = *p++ == '-';
    for (; p != end; ++p) exponent = std::min<long long>(exponent * 10 + (*p - '0'), 1LL << 40);
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent > 0 ? kInf : 0.0;
}

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  std::shared_ptr<const Program> parse() {
    skip();
    if (i_ == s_.size()) fail("empty expression");
    expr();
    skip();
    if (i_ != s_.size()) unexpected();
    return std::make_shared<const Program>(std::move(p_));
  }

 private:
  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;
  int in_if_ = 0;  // inside the arguments of if or ifnot (see operand_signs)
  size_t stack_ = 0;  // values the program has on its stack at this point
  Program p_;

  static std::string shown(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", u);
    return hex;
  }
  static std::string shown(const std::string& name) {
    std::string out;
    for (size_t k = 0; k < name.size() && k < 16; ++k) out += shown(name[k]);
    if (name.size() > 16) out += "…";
    return out;
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(i_, what); }
  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    std::string text;
    for (size_t k = 0; k < s_.size() && k < kQuoted; ++k) text += shown(s_[k]);
    if (s_.size() > kQuoted) text += "…";
    throw Error("strength expression '" + text + "': " + what + " at column " + std::to_string(at + 1) +
                " (the grammar: docs/strength.md)");
  }
  [[noreturn]] void unexpected() const {
    if (i_ >= s_.size()) fail("unexpected end");
    if (s_[i_] == ';') fail("';' (FFmpeg's sequencing of expressions) is not supported: a strength is one expression");
    fail("unexpected '" + shown(s_[i_]) + "'");
  }
  void skip() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool at(char c) {
    skip();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool eat(char c) {
    if (!at(c)) return false;
    ++i_;
    return true;
  }

  // Emits an instruction taking `pops` values and leaving one.
  void emit(Program::Op op, int pops, double value = 0) {
    p_.code.push_back({op, value});
    stack_ = stack_ - static_cast<size_t>(pops) + 1;
    p_.max_stack = std::max(p_.max_stack, stack_);
  }
  Program::Op last() const { return p_.code.back().op; }
  // Negates the value on top of the stack (the last instruction's): folded into a number,
  // cancelled against a negation (both exact).
  void negate(size_t sign_at) {
    const Program::Op op = last();
    if (op == Program::Squish || op == Program::Gauss || op == Program::Lerp)
      fail_at(sign_at, "FFmpeg ignores a minus sign right before squish, gauss or lerp (its 1-gauss(t) is 1+gauss(t)); "
                       "write (-1)*" + std::string(op == Program::Squish ? "squish" : op == Program::Gauss ? "gauss" : "lerp") +
                       "(...)");
    if (op == Program::Number) {
      p_.code.back().value = -p_.code.back().value;
    } else if (op == Program::Neg) {
      p_.code.pop_back();
    } else {
      emit(Program::Neg, 1);
    }
  }
  // At most one sign (FFmpeg's parse_pow); true for '-'.
  bool sign(size_t& sign_at) {
    skip();
    sign_at = i_;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) return s_[i_++] == '-';
    return false;
  }
  // The signs after that one, which belong to the operand: FFmpeg reads one more, and only
  // as a number's own sign (strtod's, so "--2^2" is -((-2)^2)). micromotion reads any
  // number of them before a number (their parity counts: the "+++...+1" of any length of
  // the contract), except inside the arguments of if and ifnot: FFmpeg does not fail on an
  // if/ifnot argument it cannot read, it drops it (if(0, 1, ---2) would be if(0, 1)).
  bool operand_signs(size_t& sign_at) {
    size_t count = 0;
    bool negative = false;
    for (;;) {
      skip();
      if (i_ >= s_.size() || (s_[i_] != '+' && s_[i_] != '-')) break;
      if (count++ == 0) sign_at = i_;
      negative ^= s_[i_++] == '-';
    }
    if (count == 0) return false;
    if (!number_ahead())
      fail_at(sign_at, "two signs in a row are only allowed before a number, as in FFmpeg: write -(-t), or 1-t for 1+-t");
    if (count > 1 && in_if_ > 0)
      fail_at(sign_at, "more than two signs in a row inside the arguments of if or ifnot (FFmpeg would drop the argument)");
    return negative;
  }
  // Whether a number (as strtod reads it, so inf and nan too) starts at i_.
  bool number_ahead() const {
    if (i_ >= s_.size()) return false;
    if (is_digit(s_[i_]) || s_[i_] == '.') return true;
    size_t j = i_;
    while (j < s_.size() && is_name_char(s_[j])) ++j;
    const std::string name = s_.substr(i_, j - i_);
    return same_ignoring_case(name, "inf") || same_ignoring_case(name, "infinity") || same_ignoring_case(name, "nan");
  }

  // FFmpeg's parse_subexpr: "a - b" is a + (-b), the '-' being the first sign of b's first
  // factor (a + (-b) == a - b exactly; emitted as Sub).
  void expr() {
    term();
    while (at('+') || at('-')) {
      term();
      if (last() == Program::Neg) {
        p_.code.pop_back();
        emit(Program::Sub, 2);
      } else {
        emit(Program::Add, 2);
      }
    }
  }
  void term() {
    factor();
    for (;;) {
      if (eat('*')) factor(), emit(Program::Mul, 2);
      else if (eat('/')) factor(), emit(Program::Div, 2);
      else break;
    }
  }
  // FFmpeg's parse_factor: one sign for the whole power chain (-2^2 = -(2^2)), then the
  // operand's own signs (operand_signs), the chain, each exponent with its sign.
  void factor() {
    size_t chain_at = 0, operand_at = 0;
    const bool chain_negative = sign(chain_at);
    const bool operand_negative = operand_signs(operand_at);
    operand();
    if (!at('^')) {
      if (chain_negative != operand_negative) negate(chain_negative ? chain_at : operand_at);
      return;
    }
    if (operand_negative) negate(operand_at);
    while (eat('^')) {
      size_t exponent_at = 0, own_at = 0;
      const bool exponent_negative = sign(exponent_at);
      const bool own_negative = operand_signs(own_at);
      operand();
      if (exponent_negative != own_negative) negate(exponent_negative ? exponent_at : own_at);
      emit(Program::Pow, 2);
    }
    if (chain_negative) negate(chain_at);
  }
  // Parentheses and function arguments: the only recursion, bounded.
  void nested() {
    if (++depth_ > kMaxNesting) fail("nesting deeper than " + std::to_string(kMaxNesting) + " levels");
    expr();
    --depth_;
  }
  void operand() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    const char c = s_[i_];
    if (c == '(') {
      ++i_;
      nested();
      if (!eat(')')) {
        if (i_ < s_.size() && (s_[i_] == ';' || s_[i_] == ',')) unexpected();
        fail("missing ')'");
      }
      return;
    }
    if (is_digit(c) || c == '.') return number();
    if (is_name_start(c)) return name();
    unexpected();
  }
  void number() {
    const size_t begin = i_;
    size_t j = i_;
    double v = 0;
    if (s_[j] == '0' && j + 1 < s_.size() && (s_[j + 1] == 'x' || s_[j + 1] == 'X')) {
      // FFmpeg's av_strtod: strtoul(s, 16), i.e. an unsigned long, saturating.
      j += 2;
      unsigned long long u = 0;
      bool overflow = false;
      const size_t digits = j;
      for (; j < s_.size() && hex_digit(s_[j]) >= 0; ++j) {
        const unsigned d = unsigned(hex_digit(s_[j]));
        if (u > (std::numeric_limits<unsigned long long>::max() - d) / 16) overflow = true;
        else u = u * 16 + d;
      }
      if (j == digits) fail("hexadecimal number without digits");
      v = overflow ? double(std::numeric_limits<unsigned long long>::max()) : double(u);
    } else {
      while (j < s_.size() && is_digit(s_[j])) ++j;
      const bool integer_digits = j > begin;
      bool fraction_digits = false;
      if (j < s_.size() && s_[j] == '.') {
        ++j;
        for (; j < s_.size() && is_digit(s_[j]); ++j) fraction_digits = true;
      }
      if (!integer_digits && !fraction_digits) fail("bad number");
      if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
        size_t k = j + 1;
        if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
        if (k < s_.size() && is_digit(s_[k])) {
          while (k < s_.size() && is_digit(s_[k])) ++k;
          j = k;
        }
      }
      v = decimal(s_.data() + begin, s_.data() + j);
    }
    i_ = j;
    if (i_ < s_.size() && (is_name_char(s_[i_]) || s_[i_] == '.')) {
      const char c = s_[i_];
      if (std::strchr("yzafpnumcdhkKMGTPEZYB", c) != nullptr)
        fail("FFmpeg's SI postfixes after a number ('" + shown(c) +
             "': 1k = 1000, 2n = 2e-9, 1Gi, 8B, 3dB) are not supported; write the value, or '*' for a product");
      fail("unexpected '" + shown(c) + "' after a number (write '*' for a product)");
    }
    emit(Program::Number, 0, v);
  }
  void variable(Program::Op op) {
    emit(op, 0);
    p_.uses_variables = true;
  }
  void name() {
    const size_t begin = i_;
    size_t j = i_;
    while (j < s_.size() && is_name_char(s_[j])) ++j;
    const std::string name = s_.substr(i_, j - i_);
    i_ = j;
    if (name == "t") return variable(Program::T);
    if (name == "n") return variable(Program::N);
    if (name == "pts") return variable(Program::Pts);
    if (name == "PI") return emit(Program::Number, 0, kPi);
    if (name == "E") return emit(Program::Number, 0, kE);
    if (name == "PHI") return emit(Program::Number, 0, kPhi);
    // C's strtod (which FFmpeg tries first) reads these, in any case.
    if (same_ignoring_case(name, "inf") || same_ignoring_case(name, "infinity")) return emit(Program::Number, 0, kInf);
    if (same_ignoring_case(name, "nan")) return emit(Program::Number, 0, kNaN);
    const Function* f = nullptr;
    for (const Function& g : kFunctions)
      if (name == g.name) f = &g;
    if (f == nullptr) unknown(name, begin);
    if (!eat('(')) fail("'(' expected after " + name);
    const bool is_if = f->op == Program::If2 || f->op == Program::IfNot2;
    in_if_ += is_if;
    int count = 0;
    for (;;) {
      nested();
      ++count;
      if (at(',')) {
        if (count == f->max_args) fail(arity(*f, "more"));
        ++i_;
        continue;
      }
      if (eat(')')) break;
      if (i_ < s_.size() && s_[i_] == ';') unexpected();
      fail("',' or ')' expected in the arguments of " + name);
    }
    if (count < f->min_args) fail_at(i_ - 1, arity(*f, std::to_string(count)));
    in_if_ -= is_if;
    emit(count == f->min_args ? f->op : f->op_max, count);
  }
  static std::string arity(const Function& f, const std::string& got) {
    std::string n = std::to_string(f.min_args);
    if (f.max_args != f.min_args) n += " or " + std::to_string(f.max_args);
    return std::string(f.name) + " takes " + n + (f.max_args == 1 ? " argument" : " arguments") + ", " + f.usage +
           ", not " + got;
  }
  [[noreturn]] void unknown(const std::string& name, size_t begin) {
    const bool call = at('(');
    std::string hint;
    if (call) {
      for (const char* r : kRefusedFunctions)
        if (name == r)
          fail_at(begin, "FFmpeg's function '" + name +
                             "' is not supported (a strength is a pure function of t, n and pts: no state, "
                             "side effects or integer operations)");
      for (const Function& g : kFunctions)
        if (same_ignoring_case(name, g.name)) hint = " (names are case-sensitive: " + std::string(g.name) + ")";
      fail_at(begin, "unknown function '" + shown(name) + "'" + hint);
    }
    hint = " (variables t, n, pts; constants PI, E, PHI)";
    for (const char* v : kVariables)
      if (same_ignoring_case(name, v)) hint = " (names are case-sensitive: " + std::string(v) + ")";
    fail_at(begin, "unknown variable '" + shown(name) + "'" + hint);
  }
};

}  // namespace

StrengthExpression::StrengthExpression(const std::string& text) : text_(text), program_(Parser(text_).parse()) {}

StrengthExpression::Evaluation StrengthExpression::evaluate(double t, int64_t n, double pts) const {
  const double v = program_->run(t, n, pts);
  if (!std::isfinite(v)) return {0.0, true};
  return {v, false};
}

bool StrengthExpression::constant() const { return !program_->uses_variables; }

}  // namespace micromotion
