// Python values read from pickles: a tagged variant with reference semantics for containers.
#include <micromotion/error.h>
#include <micromotion/shape_text.h>
#include <micromotion/value.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <sstream>

namespace micromotion {

const Value* Dict::find(std::string_view key) const {
  for (const auto& kv : items)
    if (kv.first.is(Value::Kind::String) && kv.first.as_string() == key) return &kv.second;
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Dict*>(this)->find(key));
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.v_ = b;
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.v_ = i;
  return v;
}
Value Value::real(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.v_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.v_ = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::List;
  v.v_ = std::make_shared<List>(List{std::move(items)});
  return v;
}
Value Value::tuple(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::Tuple;
  return v;
}
Value Value::dict(std::string type_name) {
  Value v;
  v.kind_ = Kind::Dict;
  auto d = std::make_shared<Dict>();
  d->type_name = std::move(type_name);
  v.v_ = std::move(d);
  return v;
}
Value Value::tensor(at::Tensor t) {
  Value v;
  v.kind_ = Kind::Tensor;
  v.v_ = std::move(t);
  return v;
}

const char* Value::kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

void Value::expect(Kind k) const {
  if (kind_ != k)
    throw Error(std::string("expected a ") + kind_name(k) + ", found a " + kind_name(kind_));
}

bool Value::as_bool() const {
  expect(Kind::Bool);
  return std::get<bool>(v_);
}
int64_t Value::as_int() const {
  if (kind_ == Kind::Bool) return std::get<bool>(v_) ? 1 : 0;
  expect(Kind::Int);
  return std::get<int64_t>(v_);
}
double Value::as_float() const {
  if (kind_ == Kind::Int) return static_cast<double>(std::get<int64_t>(v_));
  expect(Kind::Float);
  return std::get<double>(v_);
}
const std::string& Value::as_string() const {
  expect(Kind::String);
  return *std::get<StringPtr>(v_);
}
const std::vector<Value>& Value::as_list() const {
  if (kind_ != Kind::Tuple) expect(Kind::List);
  return std::get<ListPtr>(v_)->items;
}
std::vector<Value>& Value::as_list() {
  if (kind_ != Kind::Tuple) expect(Kind::List);
  return std::get<ListPtr>(v_)->items;
}
const Dict& Value::as_dict() const {
  expect(Kind::Dict);
  return *std::get<DictPtr>(v_);
}
Dict& Value::as_dict() {
  expect(Kind::Dict);
  return *std::get<DictPtr>(v_);
}
const at::Tensor& Value::as_tensor() const {
  expect(Kind::Tensor);
  return std::get<at::Tensor>(v_);
}

bool Value::same_key(const Value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::None: return true;
    case Kind::Bool: return std::get<bool>(v_) == std::get<bool>(other.v_);
    case Kind::Int: return std::get<int64_t>(v_) == std::get<int64_t>(other.v_);
    case Kind::Float: return std::get<double>(v_) == std::get<double>(other.v_);
    case Kind::String: return *std::get<StringPtr>(v_) == *std::get<StringPtr>(other.v_);
    case Kind::List:
    case Kind::Tuple: return std::get<ListPtr>(v_) == std::get<ListPtr>(other.v_);
    case Kind::Dict: return std::get<DictPtr>(v_) == std::get<DictPtr>(other.v_);
    case Kind::Tensor: return std::get<at::Tensor>(v_).is_same(std::get<at::Tensor>(other.v_));
  }
  return false;
}

std::string quoted_for_message(std::string_view text, size_t max_len) {
  std::string out = "'";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == max_len) {
      out += "…";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out + "'";
}

namespace {
std::string tensor_repr(const at::Tensor& t) {
  return "tensor" + shape_text(t.sizes()) + " " + c10::toString(t.scalar_type());
}
}  // namespace

std::string Value::repr(int max_depth) const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::None: return "None";
    case Kind::Bool: return std::get<bool>(v_) ? "True" : "False";
    case Kind::Int: return std::to_string(std::get<int64_t>(v_));
    case Kind::Float: os << std::get<double>(v_); return os.str();
    case Kind::String: return quoted_for_message(*std::get<StringPtr>(v_), 64);
    case Kind::Tensor: return tensor_repr(std::get<at::Tensor>(v_));
    case Kind::List:
    case Kind::Tuple: {
      const auto& items = as_list();
      const char* open = kind_ == Kind::List ? "[" : "(";
      const char* close = kind_ == Kind::List ? "]" : ")";
      if (max_depth <= 0) return std::string(open) + "… " + std::to_string(items.size()) + " items" + close;
      os << open;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i == 8) {
          os << ", … " << items.size() << " items";
          break;
        }
        os << (i ? ", " : "") << items[i].repr(max_depth - 1);
      }
      os << close;
      return os.str();
    }
    case Kind::Dict: {
      const auto& d = as_dict();
      if (max_depth <= 0) return "{… " + std::to_string(d.items.size()) + " entries}";
      os << "{";
      for (size_t i = 0; i < d.items.size(); ++i) {
        if (i == 8) {
          os << ", … " << d.items.size() << " entries";
          break;
        }
        os << (i ? ", " : "") << d.items[i].first.repr(0) << ": " << d.items[i].second.repr(max_depth - 1);
      }
      os << "}";
      return os.str();
    }
  }
  return "?";
}

}  // namespace micromotion
