// A recursive-descent parser into a small tree evaluated per frame.
#include <micromotion/error.h>
#include <micromotion/strength_expression.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace micromotion {

struct StrengthExpression::Node {
  enum Kind { Number, T, N, Neg, Add, Sub, Mul, Div, Call } kind = Number;
  double value = 0;
  std::string function;
  std::vector<std::shared_ptr<const Node>> args;

  double eval(double t, int64_t n) const {
    switch (kind) {
      case Number: return value;
      case T: return t;
      case N: return double(n);
      case Neg: return -args[0]->eval(t, n);
      case Add: return args[0]->eval(t, n) + args[1]->eval(t, n);
      case Sub: return args[0]->eval(t, n) - args[1]->eval(t, n);
      case Mul: return args[0]->eval(t, n) * args[1]->eval(t, n);
      case Div: return args[0]->eval(t, n) / args[1]->eval(t, n);
      case Call: break;
    }
    std::vector<double> a;
    for (const auto& x : args) a.push_back(x->eval(t, n));
    if (function == "sin") return std::sin(a[0]);
    if (function == "cos") return std::cos(a[0]);
    if (function == "abs") return std::abs(a[0]);
    if (function == "min") return std::min(a[0], a[1]);
    if (function == "max") return std::max(a[0], a[1]);
    return std::clamp(a[0], std::min(a[1], a[2]), std::max(a[1], a[2]));  // clamp
  }
  bool uses_variables() const {
    if (kind == T || kind == N) return true;
    return std::any_of(args.begin(), args.end(), [](const auto& x) { return x->uses_variables(); });
  }
};

namespace {

using NodePtr = std::shared_ptr<const StrengthExpression::Node>;
using Node = StrengthExpression::Node;

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  NodePtr parse() {
    NodePtr e = expr();
    skip();
    if (i_ != s_.size()) fail("unexpected '" + std::string(1, s_[i_]) + "'");
    return e;
  }

 private:
  const std::string& s_;
  size_t i_ = 0;
  int depth_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("strength expression '" + s_ + "': " + what + " at column " + std::to_string(i_ + 1) +
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
  static NodePtr make(Node::Kind k, std::vector<NodePtr> args = {}) {
    auto n = std::make_shared<Node>();
    n->kind = k;
    n->args = std::move(args);
    return n;
  }
  NodePtr expr() {
    if (++depth_ > 64) fail("nesting too deep");
    NodePtr left = term();
    for (;;) {
      if (eat('+')) left = make(Node::Add, {left, term()});
      else if (eat('-')) left = make(Node::Sub, {left, term()});
      else break;
    }
    --depth_;
    return left;
  }
  NodePtr term() {
    NodePtr left = unary();
    for (;;) {
      if (eat('*')) left = make(Node::Mul, {left, unary()});
      else if (eat('/')) left = make(Node::Div, {left, unary()});
      else break;
    }
    return left;
  }
  NodePtr unary() {
    if (eat('-')) {
      if (++depth_ > 64) fail("nesting too deep");
      NodePtr x = make(Node::Neg, {unary()});
      --depth_;
      return x;
    }
    if (eat('+')) return unary();
    return primary();
  }
  NodePtr primary() {
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    if (eat('(')) {
      NodePtr e = expr();
      if (!eat(')')) fail("missing ')'");
      return e;
    }
    const char c = s_[i_];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.c_str() + i_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) fail("bad number");
      i_ += static_cast<size_t>(end - begin);
      auto n = std::make_shared<Node>();
      n->value = v;
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      size_t j = i_;
      while (j < s_.size() && std::isalnum(static_cast<unsigned char>(s_[j]))) ++j;
      const std::string name = s_.substr(i_, j - i_);
      if (name == "t" || name == "n") {
        i_ = j;
        return make(name == "t" ? Node::T : Node::N);
      }
      int arity = 0;
      if (name == "sin" || name == "cos" || name == "abs") arity = 1;
      else if (name == "min" || name == "max") arity = 2;
      else if (name == "clamp") arity = 3;
      else fail("unknown name '" + name + "'");
      i_ = j;
      if (!eat('(')) fail("'(' expected after " + name);
      auto n = std::make_shared<Node>();
      n->kind = Node::Call;
      n->function = name;
      for (int k = 0; k < arity; ++k) {
        if (k > 0 && !eat(',')) fail(name + " takes " + std::to_string(arity) + " arguments");
        n->args.push_back(expr());
      }
      if (!eat(')')) fail("')' expected after the arguments of " + name);
      return n;
    }
    fail("unexpected '" + std::string(1, c) + "'");
  }
};

}  // namespace

StrengthExpression::StrengthExpression(const std::string& text) : text_(text), root_(Parser(text_).parse()) {}

double StrengthExpression::operator()(double t, int64_t n) const { return root_->eval(t, n); }

bool StrengthExpression::constant() const { return !root_->uses_variables(); }

}  // namespace micromotion
