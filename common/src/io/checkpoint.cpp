// Checkpoint files: LibTorch's zip container, our pickle interpreter, storages mapped
// without an intermediate copy.
#include <micromotion/checkpoint.h>
#include <micromotion/error.h>

#include "io/pickle.h"
#include "io/zip_directory.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/file_adapter.h>
#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <cctype>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace micromotion {

namespace {

using caffe2::serialize::PyTorchStreamReader;
using caffe2::serialize::ReadAdapterInterface;

// Bytes in memory, every read clamped to them (LibTorch's MemoryReadAdapter copies
// whatever range it is asked for).
class MemoryAdapter final : public ReadAdapterInterface {
 public:
  MemoryAdapter(const void* data, size_t size) : data_(static_cast<const uint8_t*>(data)), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= size_ || n == 0) return 0;
    const size_t k = std::min<uint64_t>(n, size_ - pos);
    std::memcpy(buf, data_ + pos, k);
    return k;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

// Tells the common non-zip cases apart so the message says what to do.
void check_magic(const ReadAdapterInterface& in, const std::string& name) {
  uint8_t head[4] = {0, 0, 0, 0};
  const size_t n = in.size() ? in.read(0, head, std::min<size_t>(4, in.size()), "magic") : 0;
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return;
  if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
    throw Error(name + ": legacy (pre-zip) PyTorch checkpoint format; re-save it with torch >= 1.6 "
                       "(python -c \"import torch; torch.save(torch.load('in.pt', map_location='cpu'), 'out.pt')\")");
  if (n >= 6 && std::memcmp(head, "\x93NUMP", 4) == 0) throw Error(name + ": this is a .npy array, not a checkpoint");
  throw Error(name + ": not a PyTorch checkpoint (a torch.save zip archive was expected)");
}

// LibTorch finds records by name through miniz, which compares names case-insensitively
// and takes the first match, and it reads data.pkl from the first entry's folder. An
// archive in which one name could mean two entries is refused, so the record read is the
// record that was checked.
void check_entry_names(const std::vector<io::ZipEntry>& entries, const std::string& name) {
  std::unordered_map<std::string, const std::string*> folded;
  size_t pickles = 0;
  const std::string suffix = "/data.pkl";
  for (const auto& e : entries) {
    if (e.name == "data.pkl" ||
        (e.name.size() > suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0))
      ++pickles;
    std::string lower = e.name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = folded.emplace(lower, &e.name);
    if (fresh) continue;
    if (*it->second == e.name)
      throw Error(name + ": the archive has two entries named " + quoted_for_message(e.name, 80) +
                  " (not a torch.save checkpoint)");
    throw Error(name + ": the archive's entries " + quoted_for_message(*it->second, 80) + " and " +
                quoted_for_message(e.name, 80) + " differ only in case (not a torch.save checkpoint)");
  }
  if (pickles == 0) throw Error(name + ": archive has no data.pkl (not a torch.save checkpoint)");
  if (pickles > 1)
    throw Error(name + ": archive has " + std::to_string(pickles) +
                " data.pkl records; a torch.save checkpoint has exactly one");
}

bool valid_key(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool valid_location(const std::string& loc) {
  return loc == "cpu" || loc.rfind("cuda", 0) == 0 || loc == "mps" || loc == "meta" || loc.rfind("xpu", 0) == 0;
}

Value load_from(std::shared_ptr<ReadAdapterInterface> in, const std::string& name, const LoadOptions& options) {
  check_magic(*in, name);
  check_entry_names(io::scan_zip_directory(*in, name), name);

  try {
    PyTorchStreamReader reader(in);
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    const auto* bytes = static_cast<const uint8_t*>(pkl.get());

    io::StorageLoader loader = [&](const std::string& key, c10::ScalarType dtype, int64_t numel,
                                   const std::string& location) -> at::Tensor {
      if (!valid_key(key)) throw Error(name + ": invalid storage key " + quoted_for_message(key));
      if (!valid_location(location)) throw Error(name + ": unknown storage location " + quoted_for_message(location));
      const std::string record = "data/" + key;
      if (!reader.hasRecord(record)) throw Error(name + ": storage record '" + record + "' is missing from the archive");
      // The record as LibTorch resolves and reads it (its size was checked against the
      // file by scan_zip_directory): the storage must fit in what was actually read.
      auto [data, size] = reader.getRecord(record);
      const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
      int64_t nbytes = 0;
      if (__builtin_mul_overflow(numel, elem, &nbytes) || static_cast<uint64_t>(nbytes) > size)
        throw Error(name + ": storage '" + record + "' declares " + std::to_string(numel) + " elements of " +
                    std::to_string(elem) + " bytes but holds " + std::to_string(size) + " bytes");
      c10::Storage storage(c10::Storage::use_byte_size_t(), static_cast<size_t>(nbytes), std::move(data), nullptr,
                           false);
      at::Tensor flat = at::empty({0}, at::TensorOptions().dtype(dtype));
      flat.set_(storage, 0, {numel}, {1});
      if (options.device != flat.device()) flat = flat.to(options.device);
      return flat;
    };
    return io::unpickle(bytes, pkl_size, loader, name + " (data.pkl)");
  } catch (const c10::Error& e) {
    throw Error(name + ": corrupt archive: " + quoted_for_message(e.what_without_backtrace(), 160));
  }
}

}  // namespace

Value load_checkpoint(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": file not found");
  if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not a checkpoint file");
  std::shared_ptr<ReadAdapterInterface> in;
  try {
    in = std::make_shared<caffe2::serialize::FileAdapter>(path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot open: " + e.what_without_backtrace());
  }
  return load_from(in, path, options);
}

Value load_checkpoint_from_memory(const void* data, size_t size, const std::string& name,
                                  const LoadOptions& options) {
  auto in = std::make_shared<MemoryAdapter>(data, size);
  return load_from(in, name, options);
}

void save_checkpoint(const std::string& path, const Value& value) {
  std::vector<at::Tensor> storages;
  const std::string pkl = io::pickle(value, storages);
  try {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    for (size_t i = 0; i < storages.size(); ++i)
      writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
}

namespace {
// Each sub-dict is entered once: a dict reached again (a DAG, e.g. 60 dicts each holding
// the previous one twice) is refused instead of being walked 2^60 times.
void collect(const Value& v, const std::string& prefix, TensorMap& out, int depth,
             std::unordered_set<const Dict*>& seen) {
  if (depth > 64) throw Error("state dict nested too deeply");
  if (!seen.insert(&v.as_dict()).second)
    throw Error("state dict: the dict at " + quoted_for_message(prefix, 80) +
                " is also reached through another key (shared sub-dicts are not supported)");
  for (const auto& [k, x] : v.as_dict().items) {
    std::string key;
    if (k.is(Value::Kind::String))
      key = k.as_string();
    else if (k.is(Value::Kind::Int))
      key = std::to_string(k.as_int());
    else
      continue;
    const std::string full = prefix.empty() ? key : prefix + "." + key;
    if (x.is(Value::Kind::Tensor))
      out[full] = x.as_tensor();
    else if (x.is(Value::Kind::Dict))
      collect(x, full, out, depth + 1, seen);
  }
}
}  // namespace

TensorMap tensors_of(const Value& dict) {
  if (!dict.is(Value::Kind::Dict))
    throw Error(std::string("expected a state dict, found a ") + Value::kind_name(dict.kind()));
  TensorMap out;
  std::unordered_set<const Dict*> seen;
  collect(dict, "", out, 0, seen);
  return out;
}

const Value& require_key(const Value& dict, const std::string& key, const std::string& what) {
  if (!dict.is(Value::Kind::Dict))
    throw Error(what + ": expected a dict at the top level, found a " + Value::kind_name(dict.kind()));
  if (const Value* v = dict.as_dict().find(key)) return *v;
  std::string keys;
  for (const auto& kv : dict.as_dict().items) {
    if (!keys.empty()) keys += ", ";
    keys += kv.first.repr(0);
    if (keys.size() > 200) {
      keys += ", …";
      break;
    }
  }
  throw Error(what + ": no '" + key + "' entry (found: " + (keys.empty() ? "nothing" : keys) + ")");
}

}  // namespace micromotion
