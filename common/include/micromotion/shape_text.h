// micromotion/shape_text.h — tensor shapes in messages, written as Python prints them.
//
// shape_text(sizes)  ensures: "[2, 3, 4]" ("[]" for a scalar).
#pragma once

#include <c10/util/ArrayRef.h>

#include <cstdint>
#include <string>

namespace micromotion {

std::string shape_text(c10::ArrayRef<int64_t> sizes);

}  // namespace micromotion
