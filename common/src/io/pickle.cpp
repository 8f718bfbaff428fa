// A strict pickle interpreter: the protocol-2 subset torch.save emits, an allow-list of
// globals, and every length, index and size checked before use. Untrusted files never
// reach Python semantics we do not model: anything unknown is an error.
#include "io/pickle.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace micromotion::io {

namespace {

// torch.save's pickler batches APPENDS/SETITEMS by 1000, so real stacks stay small.
constexpr size_t kMaxStack = 1u << 18;  // items on the stack, and MARKs
constexpr int kMaxDepth = 64;           // nesting of containers in the result, and of raw tuples
constexpr int kMaxDims = 16;
// The memory budget: what the pickle makes may cost at most this many bytes per byte of
// pickle, plus a constant. Every allocation the file controls is charged (containers,
// their elements, memo entries, tensors) and copies are charged like creations, so a
// small file cannot make a large value by reusing a memoised one many times. Real
// torch.save pickles cost ~20 bytes per byte.
constexpr uint64_t kBudgetPerByte = 32;
// The fuzz build (tests/fuzz/CMakeLists.txt) lowers the constant so a mutated input that
// runs into the budget is cheap to run; the per-byte rule and every check stay the same.
#ifdef MICROMOTION_PICKLE_BUDGET_BASE
constexpr uint64_t kBudgetBase = MICROMOTION_PICKLE_BUDGET_BASE;
#else
constexpr uint64_t kBudgetBase = 32u << 20;
#endif
constexpr uint64_t kCostContainer = 96;  // the Value, its shared block and its containers_ entry
constexpr uint64_t kCostElement = 48;    // one Value in a list or tuple
constexpr uint64_t kCostPair = 96;       // one dict entry
constexpr uint64_t kCostMemo = 96;       // one new memo entry
constexpr uint64_t kCostTensor = 512;    // a TensorImpl with sizes and strides

// A class reference pushed by GLOBAL; only allow-listed names get this far.
struct Global {
  std::string module, name;
  std::string full() const { return module + "." + name; }
};
struct Mark {};
struct Item;
// A tuple holding class references (e.g. the persistent id of a storage); never escapes
// into the result. Not tracked in containers_, so its nesting is bounded instead
// (depth: 1 + the deepest RawTuple among its items), which bounds the recursion of
// freeing one.
struct RawTuple {
  std::vector<Item> items;
  int depth = 1;
};

// Globals and raw tuples are shared, so DUP, GET and PUT copy a pointer, not names.
struct Item {
  std::variant<Value, std::shared_ptr<const Global>, Mark, std::shared_ptr<const RawTuple>> v;
  bool is_value() const { return std::holds_alternative<Value>(v); }
  bool is_mark() const { return std::holds_alternative<Mark>(v); }
  bool is_global() const { return std::holds_alternative<std::shared_ptr<const Global>>(v); }
  bool is_raw_tuple() const { return std::holds_alternative<std::shared_ptr<const RawTuple>>(v); }
  const Global& global() const { return *std::get<std::shared_ptr<const Global>>(v); }
};

// The items of a tuple argument (a Value tuple or a RawTuple), read in place: REDUCE
// and BINPERSID never copy a tuple, however large.
class TupleView {
 public:
  explicit TupleView(const Item& it) {
    if (it.is_raw_tuple())
      raw_ = &std::get<std::shared_ptr<const RawTuple>>(it.v)->items;
    else
      values_ = &std::get<Value>(it.v).as_list();
  }
  size_t size() const { return raw_ ? raw_->size() : values_->size(); }
  // The value at i, or nullptr when it is a class reference.
  const Value* value(size_t i) const {
    if (!raw_) return &(*values_)[i];
    return (*raw_)[i].is_value() ? &std::get<Value>((*raw_)[i].v) : nullptr;
  }
  const Global* global(size_t i) const { return raw_ && (*raw_)[i].is_global() ? &(*raw_)[i].global() : nullptr; }

 private:
  const std::vector<Item>* raw_ = nullptr;
  const std::vector<Value>* values_ = nullptr;
};

const std::unordered_set<std::string>& allowed_globals() {
  static const std::unordered_set<std::string> names = {
      "collections.OrderedDict",
      "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state",
      "argparse.Namespace",
      "torch.FloatStorage",
      "torch.DoubleStorage",
      "torch.HalfStorage",
      "torch.BFloat16Storage",
      "torch.LongStorage",
      "torch.IntStorage",
      "torch.ShortStorage",
      "torch.CharStorage",
      "torch.ByteStorage",
      "torch.BoolStorage",
  };
  return names;
}

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'F': return "FLOAT";
    case 'P': return "PERSID";
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x8b: return "LONG4";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
  }
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const StorageLoader& storages, const std::string& name)
      : p_(data), size_(size), budget_(kBudgetPerByte * size + kBudgetBase), storages_(storages), name_(name) {}

  ~Unpickler() { dismantle({}); }

  Value run() {
    while (true) {
      op_pos_ = pos_;
      uint8_t op = u8();
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1 || !stack_.back().is_value())
      fail("the pickle did not leave exactly one value on the stack");
    Value result = std::get<Value>(stack_.back().v);
    stack_.clear();
    memo_.clear();
    // Containers the result does not reach (popped, overwritten, only memoised) may be
    // nested without bound: take them apart flat; the result's own are at most
    // kMaxDepth deep, so freeing it later recurses at most that far.
    dismantle(check_structure(result));
    return result;
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint64_t budget_;
  uint64_t spent_ = 0;
  const StorageLoader& storages_;
  std::string name_;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Item> memo_;
  std::unordered_map<std::string, at::Tensor> storage_cache_;
  // Every container made, so a failed or hostile pickle (cycles, deep chains) is taken
  // apart without recursion or leaks.
  std::vector<Value> containers_;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(name_ + ": " + what + " (at byte " + std::to_string(op_pos_) + ")");
  }

  // Charges `bytes` (times `count`) against the budget before they are allocated.
  void charge(uint64_t bytes, uint64_t count = 1) {
    if (count > budget_ / bytes || spent_ + bytes * count > budget_)
      fail("the pickle builds more data than its " + std::to_string(size_) +
           " bytes can justify (a corrupt or hostile file)");
    spent_ += bytes * count;
  }

  void need(size_t n) const {
    if (n > size_ - pos_) fail("truncated pickle: needs " + std::to_string(n) + " more bytes");
  }
  uint8_t u8() {
    need(1);
    return p_[pos_++];
  }
  uint32_t u16() {
    need(2);
    uint32_t v = p_[pos_] | (p_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    need(4);
    uint32_t v = uint32_t(p_[pos_]) | (uint32_t(p_[pos_ + 1]) << 8) | (uint32_t(p_[pos_ + 2]) << 16) |
                 (uint32_t(p_[pos_ + 3]) << 24);
    pos_ += 4;
    return v;
  }
  std::string bytes(size_t n) {
    need(n);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  std::string line() {
    size_t start = pos_;
    while (pos_ < size_ && p_[pos_] != '\n') {
      if (pos_ - start > 256) fail("GLOBAL name longer than 256 bytes");
      ++pos_;
    }
    if (pos_ >= size_) fail("truncated pickle: unterminated GLOBAL name");
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  void push(Item it) {
    if (stack_.size() >= kMaxStack) fail("pickle stack deeper than " + std::to_string(kMaxStack));
    stack_.push_back(std::move(it));
  }
  void push(Value v) { push(Item{std::move(v)}); }
  Item pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail("pickle stack underflow");
    Item it = std::move(stack_.back());
    stack_.pop_back();
    return it;
  }
  Value pop_value(const char* what) {
    Item it = pop();
    if (!it.is_value()) fail(std::string(what) + " expects a value, found a class reference or mark");
    return std::get<Value>(std::move(it.v));
  }
  Item& top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<Item> pop_to_mark() {
    if (marks_.empty()) fail("MARK expected on the stack");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  Value track(Value v) {
    charge(kCostContainer);
    containers_.push_back(v);
    return v;
  }

  // A tuple of values, or a RawTuple when a class reference is among the items.
  Item make_tuple(std::vector<Item> items) {
    bool all_values = true;
    int depth = 1;
    for (auto& it : items) {
      if (it.is_mark()) fail("MARK inside a tuple");
      all_values = all_values && it.is_value();
      if (it.is_raw_tuple()) depth = std::max(depth, 1 + std::get<std::shared_ptr<const RawTuple>>(it.v)->depth);
    }
    charge(kCostElement, items.size());
    if (!all_values) {
      if (depth > kMaxDepth) fail("tuples holding class references nested deeper than " + std::to_string(kMaxDepth));
      charge(kCostContainer);
      return Item{std::make_shared<const RawTuple>(RawTuple{std::move(items), depth})};
    }
    std::vector<Value> vals;
    vals.reserve(items.size());
    for (auto& it : items) vals.push_back(std::get<Value>(std::move(it.v)));
    return Item{track(Value::tuple(std::move(vals)))};
  }

  std::vector<Value> values_of(std::vector<Item> items, const char* what) {
    charge(kCostElement, items.size());
    std::vector<Value> vals;
    vals.reserve(items.size());
    for (auto& it : items) {
      if (!it.is_value()) fail(std::string(what) + ": only plain values may be stored in containers");
      vals.push_back(std::get<Value>(std::move(it.v)));
    }
    return vals;
  }

  void setitem(Value& target, Value key, Value value) {
    charge(kCostPair);
    if (!target.is(Value::Kind::Dict)) fail("SETITEM(S) on a " + std::string(Value::kind_name(target.kind())));
    if (!(key.is(Value::Kind::String) || key.is(Value::Kind::Int) || key.is(Value::Kind::Bool) ||
          key.is(Value::Kind::Float) || key.is(Value::Kind::None) || key.is(Value::Kind::Tuple)))
      fail(std::string("unhashable dict key of kind ") + Value::kind_name(key.kind()));
    auto& items = target.as_dict().items;
    // Keys are almost always fresh; a linear duplicate check would be quadratic on
    // large state dicts, so only replace when the last key matches (pickle never
    // repeats a key it wrote).
    if (!items.empty() && items.back().first.same_key(key)) {
      items.back().second = std::move(value);
      return;
    }
    items.emplace_back(std::move(key), std::move(value));
  }

  uint32_t get_index(uint8_t op) {
    return op == 'h' ? u8() : u32();
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        uint8_t proto = u8();
        if (proto > 5) fail("pickle protocol above 5 is not supported");
        return;
      }
      case 0x95: {  // FRAME (protocol 4): an 8-byte length we do not need
        need(8);
        pos_ += 8;
        return;
      }
      case '(':  // MARK
        marks_.push_back(stack_.size());
        if (marks_.size() > kMaxStack) fail("too many MARKs");
        return;
      case '0':  // POP
        if (!marks_.empty() && marks_.back() == stack_.size()) {
          marks_.pop_back();
          return;
        }
        pop();
        return;
      case '1':  // POP_MARK
        pop_to_mark();
        return;
      case '2':  // DUP
        push(top());
        return;
      case 'N': push(Value::none()); return;
      case 0x88: push(Value::boolean(true)); return;
      case 0x89: push(Value::boolean(false)); return;
      case 'J': push(Value::integer(static_cast<int32_t>(u32()))); return;
      case 'K': push(Value::integer(u8())); return;
      case 'M': push(Value::integer(u16())); return;
      case 0x8a: {  // LONG1: little-endian two's complement, n bytes
        uint8_t n = u8();
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes does not fit 64 bits");
        need(n);
        uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= uint64_t(p_[pos_ + i]) << (8 * i);
        if (n > 0 && n < 8 && (p_[pos_ + n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);
        pos_ += n;
        push(Value::integer(static_cast<int64_t>(v)));
        return;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p_[pos_ + i];
        pos_ += 8;
        double d;
        std::memcpy(&d, &bits, 8);
        push(Value::real(d));
        return;
      }
      case 'X': push(Value::string(bytes(u32()))); return;     // BINUNICODE
      case 0x8c: push(Value::string(bytes(u8()))); return;     // SHORT_BINUNICODE
      case 'T': {                                               // BINSTRING (py2 str)
        uint32_t n = u32();
        if (n & 0x80000000u) fail("negative BINSTRING length");
        push(Value::string(bytes(n)));
        return;
      }
      case 'U': push(Value::string(bytes(u8()))); return;  // SHORT_BINSTRING
      case ']': push(track(Value::list())); return;        // EMPTY_LIST
      case ')': push(track(Value::tuple())); return;       // EMPTY_TUPLE
      case '}': push(track(Value::dict())); return;        // EMPTY_DICT
      case 'l': push(track(Value::list(values_of(pop_to_mark(), "LIST")))); return;
      case 't': push(make_tuple(pop_to_mark())); return;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        size_t n = op - 0x84u;
        std::vector<Item> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push(make_tuple(std::move(items)));
        return;
      }
      case 'd': {  // DICT
        auto items = values_of(pop_to_mark(), "DICT");
        if (items.size() % 2) fail("DICT with an odd number of items");
        Value d = track(Value::dict());
        for (size_t i = 0; i < items.size(); i += 2) setitem(d, items[i], items[i + 1]);
        push(d);
        return;
      }
      case 'a': {  // APPEND
        Value v = pop_value("APPEND");
        Item& t = top();
        if (!t.is_value() || !std::get<Value>(t.v).is(Value::Kind::List)) fail("APPEND to something not a list");
        charge(kCostElement);
        std::get<Value>(t.v).as_list().push_back(std::move(v));
        return;
      }
      case 'e': {  // APPENDS
        auto items = values_of(pop_to_mark(), "APPENDS");
        Item& t = top();
        if (!t.is_value() || !std::get<Value>(t.v).is(Value::Kind::List)) fail("APPENDS to something not a list");
        auto& list = std::get<Value>(t.v).as_list();
        for (auto& v : items) list.push_back(std::move(v));
        return;
      }
      case 's': {  // SETITEM
        Value v = pop_value("SETITEM");
        Value k = pop_value("SETITEM");
        Item& t = top();
        if (!t.is_value()) fail("SETITEM on a class reference");
        setitem(std::get<Value>(t.v), std::move(k), std::move(v));
        return;
      }
      case 'u': {  // SETITEMS
        auto items = values_of(pop_to_mark(), "SETITEMS");
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        Item& t = top();
        if (!t.is_value()) fail("SETITEMS on a class reference");
        for (size_t i = 0; i < items.size(); i += 2) setitem(std::get<Value>(t.v), items[i], items[i + 1]);
        return;
      }
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string name = line();
        push_global(module, name);
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        Value name = pop_value("STACK_GLOBAL");
        Value module = pop_value("STACK_GLOBAL");
        if (!name.is(Value::Kind::String) || !module.is(Value::Kind::String)) fail("STACK_GLOBAL expects two strings");
        push_global(module.as_string(), name.as_string());
        return;
      }
      case 'R': {  // REDUCE
        Item args = pop();
        Item callable = pop();
        if (!callable.is_global()) fail("REDUCE on something that is not an allowed class or function");
        push(reduce(callable.global(), args));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        Item args = pop();
        Item cls = pop();
        if (!cls.is_global()) fail("NEWOBJ on something that is not a class");
        const Global& g = cls.global();
        if (g.full() != "argparse.Namespace" && g.full() != "collections.OrderedDict")
          fail("NEWOBJ of '" + g.full() + "' is not supported");
        (void)args;
        push(track(Value::dict(g.full())));
        return;
      }
      case 'b': {  // BUILD: obj.__setstate__(state)
        Item state = pop();
        Item& obj = top();
        if (!obj.is_value()) fail("BUILD on a class reference");
        Value& target = std::get<Value>(obj.v);
        if (!target.is(Value::Kind::Dict)) fail(std::string("BUILD on a ") + Value::kind_name(target.kind()));
        if (target.as_dict().type_name == "argparse.Namespace") {
          if (!state.is_value() || !std::get<Value>(state.v).is(Value::Kind::Dict))
            fail("argparse.Namespace state is not a dict");
          for (auto& kv : std::get<Value>(state.v).as_dict().items) setitem(target, kv.first, kv.second);
        }
        // An OrderedDict's state is its attributes (a state dict's _metadata): not data.
        return;
      }
      case 'Q': {  // BINPERSID
        Item pid = pop();
        push(persistent_load(pid));
        return;
      }
      case 'q':
      case 'r': {  // BINPUT / LONG_BINPUT
        uint32_t idx = op == 'q' ? u8() : u32();
        memo_put(idx);
        return;
      }
      case 0x94: {  // MEMOIZE
        memo_put(static_cast<uint32_t>(memo_.size()));
        return;
      }
      case 'h':
      case 'j': {  // BINGET / LONG_BINGET
        uint32_t idx = get_index(op);
        auto it = memo_.find(idx);
        if (it == memo_.end()) fail("memo entry " + std::to_string(idx) + " read before it was written");
        push(it->second);
        return;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex + " (" + opcode_name(op) + ")");
      }
    }
  }

  void memo_put(uint32_t idx) {
    const Item& it = top();
    auto found = memo_.find(idx);
    if (found != memo_.end()) {
      found->second = it;
      return;
    }
    charge(kCostMemo);
    memo_.emplace(idx, it);
  }

  void push_global(const std::string& module, const std::string& name) {
    std::string full = module + "." + name;
    if (!allowed_globals().count(full))
      fail("refusing global " + quoted_for_message(full, 80) + ": checkpoints may only reference tensors, storages, "
           "OrderedDict and argparse.Namespace");
    push(Item{std::make_shared<const Global>(Global{module, name})});
  }

  bool is_tuple(const Item& it) const {
    return it.is_raw_tuple() || (it.is_value() && std::get<Value>(it.v).is(Value::Kind::Tuple));
  }

  Value arg_value(const TupleView& args, size_t i, const char* fn) {
    const Value* v = i < args.size() ? args.value(i) : nullptr;
    if (!v) fail(std::string(fn) + ": argument " + std::to_string(i) + " missing or not a value");
    return *v;
  }

  Item reduce(const Global& g, const Item& args_item) {
    if (!is_tuple(args_item)) fail("REDUCE arguments are not a tuple");
    const TupleView args(args_item);
    const std::string f = g.full();
    if (f == "collections.OrderedDict") {
      Value d = track(Value::dict("collections.OrderedDict"));
      if (args.size() > 0) {  // OrderedDict([(k, v), ...])
        Value items = arg_value(args, 0, "OrderedDict");
        if (!items.is(Value::Kind::List) && !items.is(Value::Kind::Tuple)) fail("OrderedDict argument is not a list");
        for (const auto& kv : items.as_list()) {
          if (!kv.is(Value::Kind::Tuple) || kv.as_list().size() != 2) fail("OrderedDict item is not a pair");
          setitem(d, kv.as_list()[0], kv.as_list()[1]);
        }
      }
      return Item{d};
    }
    if (f == "argparse.Namespace") return Item{track(Value::dict("argparse.Namespace"))};
    if (f == "torch._utils._rebuild_tensor_v2") return Item{rebuild_tensor(args)};
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      Value data = arg_value(args, 0, "_rebuild_parameter");
      if (!data.is(Value::Kind::Tensor)) fail("_rebuild_parameter of something that is not a tensor");
      return Item{data};
    }
    fail(quoted_for_message(f, 80) + " cannot be called");
  }

  static bool mul_ok(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
  static bool add_ok(int64_t a, int64_t b, int64_t& out) { return !__builtin_add_overflow(a, b, &out); }

  std::vector<int64_t> int_tuple(const Value& v, const char* what) {
    if (!v.is(Value::Kind::Tuple) && !v.is(Value::Kind::List)) fail(std::string(what) + " is not a tuple");
    const auto& items = v.as_list();
    if (items.size() > static_cast<size_t>(kMaxDims)) fail(std::string(what) + " has too many dimensions");
    std::vector<int64_t> out;
    for (const auto& x : items) {
      if (!x.is(Value::Kind::Int)) fail(std::string(what) + " holds a non-integer");
      out.push_back(x.as_int());
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  Value rebuild_tensor(const TupleView& args) {
    if (args.size() < 4) fail("_rebuild_tensor_v2 needs at least 4 arguments");
    Value storage = arg_value(args, 0, "_rebuild_tensor_v2");
    if (!storage.is(Value::Kind::Tensor)) fail("_rebuild_tensor_v2: first argument is not a storage");
    Value off = arg_value(args, 1, "_rebuild_tensor_v2");
    if (!off.is(Value::Kind::Int)) fail("_rebuild_tensor_v2: storage offset is not an integer");
    int64_t offset = off.as_int();
    auto sizes = int_tuple(arg_value(args, 2, "_rebuild_tensor_v2"), "tensor size");
    auto strides = int_tuple(arg_value(args, 3, "_rebuild_tensor_v2"), "tensor stride");
    if (sizes.size() != strides.size()) fail("tensor size and stride have different lengths");
    const at::Tensor& flat = storage.as_tensor();
    const int64_t available = flat.numel();
    if (offset < 0 || offset > available) fail("tensor storage offset " + std::to_string(offset) + " is outside its storage");
    int64_t numel = 1, last = offset;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (sizes[i] < 0 || strides[i] < 0) fail("negative tensor size or stride");
      if (!mul_ok(numel, sizes[i], numel)) fail("tensor size overflows");
    }
    if (numel > 0) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        int64_t span;
        if (!mul_ok(sizes[i] - 1, strides[i], span) || !add_ok(last, span, last)) fail("tensor extent overflows");
      }
      if (last >= available)
        fail("tensor of " + std::to_string(numel) + " elements reaches element " + std::to_string(last) +
             " of a storage holding " + std::to_string(available));
    }
    charge(kCostTensor);
    at::Tensor t = at::empty({0}, flat.options());
    t.set_(flat.storage(), offset, sizes, strides);
    return Value::tensor(t);
  }

  Item persistent_load(const Item& pid) {
    if (!is_tuple(pid)) fail("persistent id is not a tuple");
    const TupleView f(pid);
    if (f.size() != 5) fail("persistent id does not have 5 fields ('storage', type, key, location, size)");
    if (!f.value(0) || !f.value(0)->is(Value::Kind::String) || f.value(0)->as_string() != "storage")
      fail("persistent id is not a storage");
    if (!f.global(1)) fail("storage type is not a class");
    const Global& g = *f.global(1);
    c10::ScalarType dtype = storage_dtype(g.name);
    if (g.module != "torch" || dtype == c10::ScalarType::Undefined)
      fail("unknown storage type " + quoted_for_message(g.full(), 80));
    Value key = arg_value(f, 2, "persistent id");
    Value location = arg_value(f, 3, "persistent id");
    Value numel = arg_value(f, 4, "persistent id");
    if (!key.is(Value::Kind::String) || !location.is(Value::Kind::String) || !numel.is(Value::Kind::Int))
      fail("malformed storage persistent id");
    if (numel.as_int() < 0) fail("negative storage size");
    auto cached = storage_cache_.find(key.as_string());
    if (cached != storage_cache_.end()) {
      if (cached->second.scalar_type() != dtype || cached->second.numel() != numel.as_int())
        fail("storage " + quoted_for_message(key.as_string()) + " is referenced with two different types or sizes");
      charge(kCostTensor);
      return Item{Value::tensor(cached->second)};
    }
    charge(kCostTensor);
    at::Tensor flat = storages_(key.as_string(), dtype, numel.as_int(), location.as_string());
    storage_cache_.emplace(key.as_string(), flat);
    return Item{Value::tensor(flat)};
  }

  // The result must be a tree or DAG of bounded depth: deeper nesting or a cycle would
  // make every later traversal (and destruction) recurse without bound. Each shared
  // container is visited once. Returns the containers the result reaches.
  std::unordered_set<const void*> check_structure(const Value& root) {
    struct Frame {
      const Value* v;
      size_t next;
      int depth;
    };
    std::unordered_set<const void*> done, on_path;
    std::vector<Frame> stack{{&root, 0, 0}};
    auto id = [](const Value* v) -> const void* {
      if (v->is(Value::Kind::Dict)) return &v->as_dict();
      return &v->as_list();
    };
    auto is_container = [](const Value* v) {
      return v->is(Value::Kind::List) || v->is(Value::Kind::Tuple) || v->is(Value::Kind::Dict);
    };
    if (!is_container(&root)) return done;
    on_path.insert(id(&root));
    while (!stack.empty()) {
      Frame& fr = stack.back();
      const Value* child = nullptr;
      if (fr.v->is(Value::Kind::Dict)) {
        const auto& items = fr.v->as_dict().items;
        size_t i = fr.next / 2;
        if (i < items.size()) child = fr.next % 2 ? &items[i].second : &items[i].first;
      } else {
        const auto& items = fr.v->as_list();
        if (fr.next < items.size()) child = &items[fr.next];
      }
      if (!child) {
        on_path.erase(id(fr.v));
        done.insert(id(fr.v));
        stack.pop_back();
        continue;
      }
      ++fr.next;
      if (!is_container(child)) continue;
      const void* cid = id(child);
      if (on_path.count(cid)) fail("the pickle contains a container that includes itself");
      if (done.count(cid)) continue;
      if (fr.depth + 1 > kMaxDepth) fail("containers nested deeper than " + std::to_string(kMaxDepth));
      on_path.insert(cid);
      stack.push_back({child, 0, fr.depth + 1});
    }
    return done;
  }

  // Frees every container except those in `keep` (the result's), without recursion.
  void dismantle(const std::unordered_set<const void*>& keep) {
    stack_.clear();
    memo_.clear();
    // Move every container's children into one flat list before anything is freed, so
    // freeing never recurses and cycles are broken.
    std::vector<Value> grave;
    for (auto& c : containers_) {
      if (keep.count(c.is(Value::Kind::Dict) ? static_cast<const void*>(&c.as_dict())
                                             : static_cast<const void*>(&c.as_list())))
        continue;
      if (c.is(Value::Kind::Dict)) {
        for (auto& kv : c.as_dict().items) {
          grave.push_back(std::move(kv.first));
          grave.push_back(std::move(kv.second));
        }
        c.as_dict().items.clear();
      } else {
        auto& items = c.as_list();
        for (auto& v : items) grave.push_back(std::move(v));
        items.clear();
        items.shrink_to_fit();
      }
    }
    grave.clear();
    containers_.clear();
  }
};

// ---------------------------------------------------------------- writer

class Pickler {
 public:
  explicit Pickler(std::vector<at::Tensor>& storages) : storages_(storages) {}

  std::string run(const Value& v) {
    out_ += "\x80\x02";
    save(v, 0);
    out_ += '.';
    return std::move(out_);
  }

 private:
  std::string out_;
  std::vector<at::Tensor>& storages_;

  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void str(const std::string& s) {
    out_ += 'X';
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      out_ += '\x8a';
      out_ += '\x08';
      for (int i = 0; i < 8; ++i) out_ += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
    }
  }
  void global(const char* module, const char* name) {
    out_ += 'c';
    out_ += module;
    out_ += '\n';
    out_ += name;
    out_ += '\n';
  }

  void save(const Value& v, int depth) {
    if (depth > kMaxDepth) throw Error("value nested too deeply to save");
    switch (v.kind()) {
      case Value::Kind::None: out_ += 'N'; return;
      case Value::Kind::Bool: out_ += v.as_bool() ? '\x88' : '\x89'; return;
      case Value::Kind::Int: integer(v.as_int()); return;
      case Value::Kind::Float: {
        double d = v.as_float();
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        out_ += 'G';
        for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
        return;
      }
      case Value::Kind::String: str(v.as_string()); return;
      case Value::Kind::List:
        out_ += ']';
        if (!v.as_list().empty()) {
          out_ += '(';
          for (const auto& x : v.as_list()) save(x, depth + 1);
          out_ += 'e';
        }
        return;
      case Value::Kind::Tuple:
        out_ += '(';
        for (const auto& x : v.as_list()) save(x, depth + 1);
        out_ += 't';
        return;
      case Value::Kind::Dict: {
        const Dict& d = v.as_dict();
        if (d.type_name == "collections.OrderedDict") {
          global("collections", "OrderedDict");
          out_ += ")R";
        } else {
          out_ += '}';
        }
        if (!d.items.empty()) {
          out_ += '(';
          for (const auto& kv : d.items) {
            save(kv.first, depth + 1);
            save(kv.second, depth + 1);
          }
          out_ += 'u';
        }
        return;
      }
      case Value::Kind::Tensor: {
        at::Tensor t = v.as_tensor().detach().to(at::kCPU).contiguous();
        std::string cls = storage_class(t.scalar_type());
        if (cls.empty()) throw Error(std::string("cannot save a tensor of dtype ") + c10::toString(t.scalar_type()));
        std::string key = std::to_string(storages_.size());
        storages_.push_back(t);
        global("torch._utils", "_rebuild_tensor_v2");
        out_ += '(';
        // persistent id ('storage', torch.<T>Storage, key, 'cpu', numel)
        out_ += '(';
        str("storage");
        global("torch", cls.c_str());
        str(key);
        str("cpu");
        integer(t.numel());
        out_ += "tQ";
        integer(0);
        out_ += '(';
        for (int64_t i = 0; i < t.dim(); ++i) integer(t.size(i));
        out_ += 't';
        out_ += '(';
        for (int64_t i = 0; i < t.dim(); ++i) integer(t.stride(i));
        out_ += 't';
        out_ += '\x89';
        global("collections", "OrderedDict");
        out_ += ")R";
        out_ += "tR";
        return;
      }
    }
  }
};

}  // namespace

c10::ScalarType storage_dtype(const std::string& class_name) {
  static const std::pair<const char*, c10::ScalarType> table[] = {
      {"FloatStorage", c10::kFloat},   {"DoubleStorage", c10::kDouble}, {"HalfStorage", c10::kHalf},
      {"BFloat16Storage", c10::kBFloat16}, {"LongStorage", c10::kLong}, {"IntStorage", c10::kInt},
      {"ShortStorage", c10::kShort},   {"CharStorage", c10::kChar},     {"ByteStorage", c10::kByte},
      {"BoolStorage", c10::kBool},
  };
  for (const auto& [name, t] : table)
    if (class_name == name) return t;
  return c10::ScalarType::Undefined;
}

std::string storage_class(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat: return "FloatStorage";
    case c10::kDouble: return "DoubleStorage";
    case c10::kHalf: return "HalfStorage";
    case c10::kBFloat16: return "BFloat16Storage";
    case c10::kLong: return "LongStorage";
    case c10::kInt: return "IntStorage";
    case c10::kShort: return "ShortStorage";
    case c10::kChar: return "CharStorage";
    case c10::kByte: return "ByteStorage";
    case c10::kBool: return "BoolStorage";
    default: return "";
  }
}

Value unpickle(const uint8_t* data, size_t size, const StorageLoader& storages, const std::string& name) {
  Unpickler u(data, size, storages, name);
  return u.run();
}

std::string pickle(const Value& value, std::vector<at::Tensor>& storages) {
  Pickler p(storages);
  return p.run(value);
}

}  // namespace micromotion::io
