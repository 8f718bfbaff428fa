// Hand-written pickles and archives for reader tests: exact control over every opcode.
#pragma once

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mmtest {

class PickleBuilder {
 public:
  PickleBuilder() { raw("\x80\x02"); }
  PickleBuilder& raw(const std::string& bytes) {
    s_ += bytes;
    return *this;
  }
  PickleBuilder& op(char c) {
    s_ += c;
    return *this;
  }
  PickleBuilder& mark() { return op('('); }
  PickleBuilder& str(const std::string& v) {
    op('X');
    u32(static_cast<uint32_t>(v.size()));
    s_ += v;
    return *this;
  }
  PickleBuilder& integer(int32_t v) {
    op('J');
    u32(static_cast<uint32_t>(v));
    return *this;
  }
  PickleBuilder& global(const std::string& module, const std::string& name) {
    op('c');
    s_ += module + "\n" + name + "\n";
    return *this;
  }
  PickleBuilder& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  // ints as a tuple
  PickleBuilder& int_tuple(const std::vector<int32_t>& v) {
    mark();
    for (int32_t x : v) integer(x);
    return op('t');
  }
  // _rebuild_tensor_v2(storage(key, numel, dtype class), offset, size, stride, False, OrderedDict())
  PickleBuilder& tensor(const std::string& key, int32_t numel, int32_t offset, const std::vector<int32_t>& size,
                        const std::vector<int32_t>& stride, const std::string& storage = "FloatStorage",
                        const std::string& location = "cpu") {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark();
    str("storage");
    global("torch", storage);
    str(key);
    str(location);
    integer(numel);
    op('t');
    op('Q');
    integer(offset);
    int_tuple(size);
    int_tuple(stride);
    op('\x89');
    global("collections", "OrderedDict");
    op(')');
    op('R');
    op('t');
    return op('R');
  }
  PickleBuilder& stop() { return op('.'); }
  const std::string& bytes() const { return s_; }

 private:
  std::string s_;
};

// Writes a torch.save-style archive with data.pkl and the given records (name, bytes).
inline void write_archive(const std::string& path, const std::string& pkl,
                          const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter w(path);
  w.writeRecord("data.pkl", pkl.data(), pkl.size());
  for (const auto& [name, data] : records) w.writeRecord(name, data.data(), data.size());
  w.writeEndOfFile();
}

// A stored (uncompressed) zip archive with exactly these entries, in this order: archives
// LibTorch's writer would never make (two folders, duplicate or case-colliding names).
inline std::string zip_archive(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto crc32 = [](const std::string& d) {
    uint32_t c = 0xffffffffu;
    for (unsigned char b : d) {
      c ^= b;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  auto le = [](std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const uint32_t crc = crc32(data);
    const uint64_t local = out.size();
    le(out, 0x04034b50, 4);
    le(out, 20, 2), le(out, 0, 2), le(out, 0, 2), le(out, 0, 2), le(out, 0, 2);  // version, flags, method, time, date
    le(out, crc, 4), le(out, data.size(), 4), le(out, data.size(), 4);
    le(out, name.size(), 2), le(out, 0, 2);
    out += name + data;
    le(central, 0x02014b50, 4);
    le(central, 20, 2), le(central, 20, 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2);
    le(central, crc, 4), le(central, data.size(), 4), le(central, data.size(), 4);
    le(central, name.size(), 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2), le(central, 0, 2);
    le(central, 0, 4), le(central, local, 4);
    central += name;
  }
  const uint64_t cd_offset = out.size();
  out += central;
  le(out, 0x06054b50, 4);
  le(out, 0, 2), le(out, 0, 2), le(out, entries.size(), 2), le(out, entries.size(), 2);
  le(out, central.size(), 4), le(out, cd_offset, 4), le(out, 0, 2);
  return out;
}

inline std::string float_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

}  // namespace mmtest
