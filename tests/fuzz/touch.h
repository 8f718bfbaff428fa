// Fuzz harness helper: read every byte of every tensor's storage, so AddressSanitizer sees
// a storage that claims more bytes than were read from the file.
#pragma once

#include <micromotion/value.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <unordered_set>
#include <vector>

namespace mmfuzz {

inline void touch(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return;
  const auto& st = t.storage();
  const auto* p = static_cast<const uint8_t*>(st.data_ptr().get());
  if (!p) return;
  uint64_t sum = 0;
  for (size_t i = 0; i < st.nbytes(); ++i) sum += p[i];
  volatile uint64_t sink = sum;
  (void)sink;
}

// Every tensor reachable from v, each shared container visited once (no recursion).
inline void touch_all(const micromotion::Value& root) {
  using micromotion::Value;
  std::vector<const Value*> todo{&root};
  std::unordered_set<const void*> seen;
  while (!todo.empty()) {
    const Value* v = todo.back();
    todo.pop_back();
    if (v->is(Value::Kind::Tensor)) {
      touch(v->as_tensor());
    } else if (v->is(Value::Kind::List) || v->is(Value::Kind::Tuple)) {
      if (!seen.insert(&v->as_list()).second) continue;
      for (const auto& x : v->as_list()) todo.push_back(&x);
    } else if (v->is(Value::Kind::Dict)) {
      if (!seen.insert(&v->as_dict()).second) continue;
      for (const auto& kv : v->as_dict().items) todo.push_back(&kv.first), todo.push_back(&kv.second);
    }
  }
}

}  // namespace mmfuzz
