// Bounded JSON nesting, checked before parsing: nlohmann's parser recurses once per bracket, so
// a reader of outside JSON (a safetensors header, an edit list) refuses deep text first.
#pragma once

#include <cstddef>

namespace micromotion::detail {

// Whether the bracket nesting of JSON text goes deeper than `limit` (strings skipped); stops
// scanning at the first bracket past it.
inline bool json_nests_deeper_than(const char* text, std::size_t size, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace micromotion::detail
