// safetensors: every header field is checked before a byte of tensor data is touched,
// because these files come from outside (users share micromotions).
#include <micromotion/error.h>
#include <micromotion/safetensors.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

namespace micromotion {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;

struct DtypeName {
  const char* name;
  c10::ScalarType type;
  size_t size;
};
constexpr DtypeName kDtypes[] = {
    {"F64", c10::kDouble, 8}, {"F32", c10::kFloat, 4}, {"F16", c10::kHalf, 2},
    {"BF16", c10::kBFloat16, 2}, {"I64", c10::kLong, 8}, {"I32", c10::kInt, 4},
    {"I16", c10::kShort, 2}, {"I8", c10::kChar, 1}, {"U8", c10::kByte, 1}, {"BOOL", c10::kBool, 1},
};

const DtypeName* dtype_by_name(const std::string& n) {
  for (const auto& d : kDtypes)
    if (n == d.name) return &d;
  return nullptr;
}
const DtypeName* dtype_by_type(c10::ScalarType t) {
  for (const auto& d : kDtypes)
    if (t == d.type) return &d;
  return nullptr;
}

uint64_t as_u64(const nlohmann::json& j, const std::string& file, const std::string& what) {
  if (!j.is_number_unsigned()) {
    if (j.is_number_integer() && j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
    throw Error(file + ": " + what + " must be a non-negative integer");
  }
  return j.get<uint64_t>();
}

}  // namespace

SafeTensors read_safetensors_from_memory(const void* data, size_t size, const std::string& name) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (size < 8) throw Error(name + ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeader) throw Error(name + ": safetensors header length " + std::to_string(n) + " exceeds 100 MB");
  if (n > size - 8)
    throw Error(name + ": safetensors header length " + std::to_string(n) + " runs past the end of the file (" +
                std::to_string(size) + " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw Error(name + ": safetensors header is not a JSON object");
  const uint8_t* payload = bytes + 8 + n;
  const uint64_t payload_size = size - 8 - n;

  SafeTensors out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      if (!entry.is_object()) throw Error(name + ": __metadata__ is not a JSON object");
      for (const auto& [mk, mv] : entry.items()) {
        if (!mv.is_string()) throw Error(name + ": __metadata__['" + mk + "'] is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor '" + key + "'";
    if (!entry.is_object()) throw Error(name + ": " + what + " is not a JSON object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string())
      throw Error(name + ": " + what + " has no string dtype");
    const DtypeName* dt = dtype_by_name(entry["dtype"].get<std::string>());
    if (!dt) throw Error(name + ": " + what + " has unsupported dtype '" + entry["dtype"].get<std::string>() + "'");
    if (!entry.contains("shape") || !entry["shape"].is_array()) throw Error(name + ": " + what + " has no shape list");
    if (entry["shape"].size() > 16) throw Error(name + ": " + what + " has more than 16 dimensions");
    std::vector<int64_t> shape;
    // Saturating product: a shape can never describe more elements than the file has bytes.
    const uint64_t cap = payload_size + 1;
    uint64_t count = 1;
    bool has_zero = false;
    for (const auto& d : entry["shape"]) {
      const uint64_t v = as_u64(d, name, what + " shape entry");
      if (v > uint64_t(std::numeric_limits<int32_t>::max()))
        throw Error(name + ": " + what + " has a dimension of " + std::to_string(v));
      has_zero = has_zero || v == 0;
      count = (v != 0 && count > cap / v) ? cap : std::min(cap, count * v);
      shape.push_back(static_cast<int64_t>(v));
    }
    const uint64_t numel = has_zero ? 0 : count;
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw Error(name + ": " + what + " has no [begin, end] data_offsets");
    const uint64_t begin = as_u64(entry["data_offsets"][0], name, what + " data_offsets");
    const uint64_t end = as_u64(entry["data_offsets"][1], name, what + " data_offsets");
    if (begin > end || end > payload_size)
      throw Error(name + ": " + what + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  "] are not inside the " + std::to_string(payload_size) + " data bytes");
    if (numel > payload_size || numel * dt->size != end - begin)
      throw Error(name + ": " + what + " holds " + std::to_string(end - begin) + " bytes but its dtype and shape need " +
                  std::to_string(numel * dt->size));
    at::Tensor t = at::empty(shape, at::TensorOptions(dt->type));
    if (end > begin) std::memcpy(t.data_ptr(), payload + begin, end - begin);
    ranges.emplace_back(begin, end);
    out.tensors[key] = t;
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b < covered) throw Error(name + ": tensors overlap at data byte " + std::to_string(b));
    if (b > covered) throw Error(name + ": data bytes [" + std::to_string(covered) + ", " + std::to_string(b) +
                                 ") belong to no tensor");
    covered = e;
  }
  if (covered != payload_size)
    throw Error(name + ": " + std::to_string(payload_size - covered) + " trailing data bytes belong to no tensor");
  return out;
}

SafeTensors read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  return read_safetensors_from_memory(data.data(), data.size(), path);
}

void write_safetensors(const std::string& path, const SafeTensors& content) {
  nlohmann::json header = nlohmann::json::object();
  if (!content.metadata.empty()) header["__metadata__"] = content.metadata;
  std::vector<at::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [key, tensor] : content.tensors) {
    const DtypeName* dt = dtype_by_type(tensor.scalar_type());
    if (!dt) throw Error(path + ": tensor '" + key + "' has a dtype safetensors cannot store");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dt->size;
    header[key] = {{"dtype", dt->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    blobs.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error(path + ": cannot write file");
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& t : blobs)
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw Error(path + ": write failed");
}

}  // namespace micromotion
