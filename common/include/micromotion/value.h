// micromotion/value.h — a Python value read from a pickle (checkpoint files).
//
// Contract
//   - A Value is one of: None, bool, int, float, str, list, tuple, dict, tensor.
//   - list, tuple and dict have reference semantics (pickle memoises and mutates
//     them); copying a Value copies the reference. Loaded graphs are acyclic.
//   - dict keeps insertion order (an OrderedDict is a dict with type_name
//     "collections.OrderedDict"; an argparse.Namespace is read as a dict with
//     type_name "argparse.Namespace").
//   - Accessors (as_int, as_dict, ...) throw micromotion::Error naming the
//     expected and the actual kind when the kind does not match.
//   - Strings are immutable and shared: copying a Value never copies string bytes (a
//     pickle can reference one memoised string many times).
//   - repr(max_depth) visits at most 8 items per container and max_depth levels, and
//     shows at most 64 bytes of a string (escaped): its size is bounded whatever the value.
//   - Freeing a Value recurses once per nesting level: values built by load_checkpoint
//     are at most 64 levels deep.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace micromotion {

class Value;

struct List {
  std::vector<Value> items;
};

struct Dict {
  std::string type_name = "dict";
  std::vector<std::pair<Value, Value>> items;

  // The value for a string key, or nullptr.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
};

class Value {
 public:
  enum class Kind { None, Bool, Int, Float, String, List, Tuple, Dict, Tensor };

  Value() = default;
  static Value none() { return Value(); }
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value real(double d);
  static Value string(std::string s);
  static Value list(std::vector<Value> items = {});
  static Value tuple(std::vector<Value> items = {});
  static Value dict(std::string type_name = "dict");
  static Value tensor(at::Tensor t);

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  static const char* kind_name(Kind k);

  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;  // accepts int too
  const std::string& as_string() const;
  const std::vector<Value>& as_list() const;   // list or tuple
  std::vector<Value>& as_list();
  const Dict& as_dict() const;
  Dict& as_dict();
  const at::Tensor& as_tensor() const;

  // Same kind and same scalar/string payload (containers and tensors: same object).
  bool same_key(const Value& other) const;
  // Short text for messages and `inspect` ("'abc'", "12", "tensor[3, 4] float32", ...).
  std::string repr(int max_depth = 2) const;

 private:
  using ListPtr = std::shared_ptr<List>;
  using DictPtr = std::shared_ptr<Dict>;
  Kind kind_ = Kind::None;
  using StringPtr = std::shared_ptr<const std::string>;
  std::variant<std::monostate, bool, int64_t, double, StringPtr, ListPtr, DictPtr, at::Tensor> v_;
  void expect(Kind k) const;
};

// Text read from a file, made safe to put in an error message: in single quotes, at most
// `max_len` bytes of it (then "…"), every byte outside printable ASCII written as \xNN.
// Messages name what a file holds this way, never by echoing its raw bytes.
std::string quoted_for_message(std::string_view text, size_t max_len = 48);

}  // namespace micromotion
