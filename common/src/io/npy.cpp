// Strict .npy: little-endian float32/float64/int64, C order; every size checked.
#include <micromotion/error.h>
#include <micromotion/npy.h>
#include <micromotion/value.h>

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace micromotion {

namespace {

struct Header {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

// Parses the Python dict literal numpy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// A small hand-written scanner: the header is untrusted input.
Header parse_header(const std::string& h, const std::string& name) {
  auto value_of = [&](const char* key) -> size_t {
    const std::string k = std::string("'") + key + "'";
    size_t at = h.find(k);
    if (at == std::string::npos) throw Error(name + ": .npy header has no " + k);
    at = h.find_first_not_of(" \t", at + k.size());
    if (at == std::string::npos || h[at] != ':') throw Error(name + ": .npy header: ':' expected after " + k);
    at = h.find_first_not_of(" \t", at + 1);
    if (at == std::string::npos) throw Error(name + ": .npy header ends after " + k);
    return at;
  };
  Header out;
  size_t at = value_of("descr");
  const size_t close = h.find('\'', at + 1);
  if (h[at] != '\'' || close == std::string::npos) throw Error(name + ": .npy 'descr' is not a string");
  out.descr = h.substr(at + 1, close - at - 1);
  at = value_of("fortran_order");
  if (h.compare(at, 4, "True") == 0)
    out.fortran = true;
  else if (h.compare(at, 5, "False") != 0)
    throw Error(name + ": .npy 'fortran_order' is not True or False");
  at = value_of("shape");
  const size_t end = h.find(')', at);
  if (h[at] != '(' || end == std::string::npos) throw Error(name + ": .npy 'shape' is not a tuple");
  std::stringstream ss(h.substr(at + 1, end - at - 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) continue;
    item = item.substr(a, b - a + 1);
    if (item.empty() || item.size() > 18 || item.find_first_not_of("0123456789") != std::string::npos)
      throw Error(name + ": bad dimension " + quoted_for_message(item, 24) + " in .npy shape");
    out.shape.push_back(std::stoll(item));
  }
  if (out.shape.size() > 8) throw Error(name + ": .npy arrays of more than 8 dimensions are not supported");
  return out;
}

}  // namespace

at::Tensor read_npy_from_memory(const void* data, size_t size, const std::string& name) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) throw Error(name + ": not a .npy file (bad magic)");
  const uint8_t major = p[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = p[8] | (p[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(name + ": truncated .npy header");
    header_len = size_t(p[8]) | (size_t(p[9]) << 8) | (size_t(p[10]) << 16) | (size_t(p[11]) << 24);
    offset = 12;
  } else {
    throw Error(name + ": unsupported .npy format version (1, 2 or 3 expected)");
  }
  if (header_len > 1u << 20 || header_len > size - offset) throw Error(name + ": truncated .npy header");
  const Header h = parse_header(std::string(reinterpret_cast<const char*>(p + offset), header_len), name);
  offset += header_len;

  c10::ScalarType dtype;
  if (h.descr == "<f4")
    dtype = at::kFloat;
  else if (h.descr == "<f8")
    dtype = at::kDouble;
  else if (h.descr == "<i8")
    dtype = at::kLong;
  else
    throw Error(name + ": unsupported .npy dtype " + quoted_for_message(h.descr, 16) +
                " (little-endian float32, float64 or int64 expected)");
  if (h.fortran) throw Error(name + ": Fortran-ordered .npy arrays are not supported (save with C order)");

  int64_t numel = 1;
  for (int64_t d : h.shape)
    if (__builtin_mul_overflow(numel, d, &numel)) throw Error(name + ": .npy shape overflows");
  int64_t nbytes;
  if (__builtin_mul_overflow(numel, static_cast<int64_t>(c10::elementSize(dtype)), &nbytes))
    throw Error(name + ": .npy shape overflows");
  const size_t available = size - offset;
  if (static_cast<uint64_t>(nbytes) != available)
    throw Error(name + ": .npy data is " + std::to_string(available) + " bytes, the shape needs " +
                std::to_string(nbytes));
  at::Tensor t = at::empty(h.shape, at::TensorOptions().dtype(dtype));
  if (nbytes) std::memcpy(t.data_ptr(), p + offset, static_cast<size_t>(nbytes));
  return t;
}

at::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open .npy file");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return read_npy_from_memory(data.data(), data.size(), path);
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU);
  const char* descr;
  if (t.scalar_type() == at::kDouble)
    descr = "<f8";
  else if (t.scalar_type() == at::kLong)
    descr = "<i8";
  else {
    t = t.to(at::kFloat);
    descr = "<f4";
  }
  t = t.contiguous();
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (int64_t i = 0; i < t.dim(); ++i) header += (i ? ", " : "") + std::to_string(t.size(i));
  header += t.dim() == 1 ? ",), }" : "), }";
  // Pad with spaces so the data starts on a 64-byte boundary, newline last (numpy's rule).
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write .npy file");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char lenb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lenb, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw Error(path + ": write failed");
}

}  // namespace micromotion
