// micromotion/error.h — the one exception type the core throws.
#pragma once

#include <stdexcept>
#include <string>

namespace micromotion {

// Every error the core reports to a user: the message is complete on its own
// (it names the file, the offending item and, where possible, what to do).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace micromotion
