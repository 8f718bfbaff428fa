#include <micromotion/shape_text.h>

namespace micromotion {

std::string shape_text(c10::ArrayRef<int64_t> sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

}  // namespace micromotion
