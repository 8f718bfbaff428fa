// SHA-256 of a file (FIPS 180-4), for `models check`.
#pragma once

#include <string>

namespace micromotion::cli {

// Lower-case hex digest. throws micromotion::Error naming the file when it cannot be read.
std::string sha256_file(const std::string& path);
// The digest of bytes in memory (tests).
std::string sha256_bytes(const std::string& data);

}  // namespace micromotion::cli
