// Validation of a zip archive's central directory before LibTorch's reader touches it
// (internal). PyTorchStreamReader allocates whatever size an entry declares; checking
// the directory first keeps a hostile archive from asking for memory it cannot justify.
#pragma once

#include <caffe2/serialize/read_adapter_interface.h>

#include <cstdint>
#include <string>
#include <vector>

namespace micromotion::io {

struct ZipEntry {
  std::string name;
  uint64_t size = 0;          // uncompressed == stored size
  uint64_t header_offset = 0;
};

// Reads the central directory of `in`; requires every entry to be stored (torch.save
// never compresses) and to lie inside the archive. Throws Error prefixed with `name`.
std::vector<ZipEntry> scan_zip_directory(const caffe2::serialize::ReadAdapterInterface& in,
                                         const std::string& name);

}  // namespace micromotion::io
