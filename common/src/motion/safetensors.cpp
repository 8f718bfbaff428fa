// safetensors: every header field is checked before a byte of tensor data is touched,
// because these files come from outside (users share micromotions).
#include <micromotion/error.h>
#include <micromotion/safetensors.h>
#include <micromotion/value.h>

#include "io/json_depth.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <utility>
#include <vector>

namespace micromotion {

namespace {

// Real headers are under 1 KB; 1 MB leaves room for thousands of tensors and bounds what
// a header can cost to parse (nlohmann keeps ~40 bytes per JSON value).
constexpr uint64_t kMaxHeader = 1u << 20;
// A header is {name: {field: [numbers]}}: three levels. Deeper nesting is refused before
// parsing, so no parser or destructor walks a file-controlled depth.
constexpr int kMaxJsonDepth = 8;
// Every dimension's product, zeros skipped, must stay below this, so the strides LibTorch
// computes for an empty tensor cannot overflow either.
constexpr uint64_t kMaxExtent = uint64_t(1) << 40;

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
  // The length is the file's first 8 bytes: never printed (the file may be anything).
  if (n > kMaxHeader)
    throw Error(name + ": not a safetensors file (its header length field is over the 1 MB limit)");
  if (n > size - 8)
    throw Error(name + ": not a safetensors file, or truncated (its header length field runs past the end of the " +
                std::to_string(size) + "-byte file)");
  if (detail::json_nests_deeper_than(reinterpret_cast<const char*>(bytes + 8), n, kMaxJsonDepth))
    throw Error(name + ": safetensors header nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + n);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() quotes the text around the error: give the position only.
    throw Error(name + ": safetensors header is not valid JSON (error at header byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::exception&) {
    throw Error(name + ": safetensors header is not valid JSON");
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
        if (!mv.is_string()) throw Error(name + ": __metadata__[" + quoted_for_message(mk) + "] is not a string");
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    const std::string what = "tensor " + quoted_for_message(key);
    if (!entry.is_object()) throw Error(name + ": " + what + " is not a JSON object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string())
      throw Error(name + ": " + what + " has no string dtype");
    const DtypeName* dt = dtype_by_name(entry["dtype"].get<std::string>());
    if (!dt)
      throw Error(name + ": " + what + " has unsupported dtype " + quoted_for_message(entry["dtype"].get<std::string>(), 16) +
                  " (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    if (!entry.contains("shape") || !entry["shape"].is_array()) throw Error(name + ": " + what + " has no shape list");
    if (entry["shape"].size() > 16) throw Error(name + ": " + what + " has more than 16 dimensions");
    std::vector<int64_t> shape;
    // The product of the dimensions, a zero counted as 1: a shape with a zero holds no
    // bytes, but LibTorch still multiplies its other dimensions into strides.
    uint64_t extent = 1;
    bool has_zero = false;
    for (const auto& d : entry["shape"]) {
      const uint64_t v = as_u64(d, name, what + " shape entry");
      if (v > uint64_t(std::numeric_limits<int32_t>::max()))
        throw Error(name + ": " + what + " has a dimension over 2^31 - 1");
      has_zero = has_zero || v == 0;
      if (v != 0 && extent > kMaxExtent / v) throw Error(name + ": " + what + " has a shape whose size overflows");
      extent *= std::max<uint64_t>(v, 1);
      shape.push_back(static_cast<int64_t>(v));
    }
    const uint64_t numel = has_zero ? 0 : extent;
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw Error(name + ": " + what + " has no [begin, end] data_offsets");
    const uint64_t begin = as_u64(entry["data_offsets"][0], name, what + " data_offsets");
    const uint64_t end = as_u64(entry["data_offsets"][1], name, what + " data_offsets");
    if (begin > end || end > payload_size)
      throw Error(name + ": " + what + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  "] are not inside the " + std::to_string(payload_size) + " data bytes");
    if (numel > payload_size || numel * dt->size != end - begin)  // numel * 8 < 2^43: no overflow
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
  const std::string data = read_whole_file(path);
  return read_safetensors_from_memory(data.data(), data.size(), path);
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::string data;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) data.append(chunk, static_cast<size_t>(in.gcount()));
  if (in.bad()) throw Error(path + ": cannot read file");
  return data;
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
