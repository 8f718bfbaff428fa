// micromotion/checkpoint.h — reading and writing PyTorch checkpoint files.
//
// A checkpoint is a torch.save() zip archive ("<top>/data.pkl" + "<top>/data/<key>"
// storages + "<top>/version"). The pickle is read by our own strict interpreter:
// only the protocol-2 opcodes torch.save emits and an allow-list of globals
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter,
// torch.*Storage, argparse.Namespace). Everything else is refused.
//
// load_checkpoint
//   requires: path names a torch.save() zip file written by torch >= 1.6.
//   ensures:  returns the unpickled root value; tensors are backed by the archive's
//             storages without an intermediate copy (tensors that share a storage in
//             the file share it in memory), with offsets and strides honoured, on
//             options.device (storages saved from CUDA load anywhere).
//   throws:   micromotion::Error naming the file and the reason (missing file, not a
//             zip, legacy pre-1.6 format, truncated/corrupt archive, compressed
//             record, unknown opcode or global with its byte offset, a size, offset
//             or stride that does not fit the storage, nesting too deep, ...); an
//             archive with more than one data.pkl, two entries of one name, or names
//             that differ only in case (LibTorch's lookup is case-insensitive); a
//             storage larger than the record LibTorch actually read for it.
//   bounds:   never recurses on a depth the file controls (results are at most 64
//             levels deep; everything else is taken apart iteratively), visits each
//             shared container once, and charges everything the pickle makes
//             (containers, elements, memo entries, tensors; copies like creations)
//             against 32 bytes per pickle byte + 32 MB: memory is linear in the file's
//             size. Names from the file appear in messages only through
//             quoted_for_message.
//
// save_checkpoint
//   requires: value holds only the kinds of micromotion::Value (tensors on any device,
//             any dtype the reader knows).
//   ensures:  writes a file torch.load() and load_checkpoint() both read back.
#pragma once

#include <micromotion/value.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace micromotion {

struct LoadOptions {
  c10::Device device = c10::kCPU;
};

Value load_checkpoint(const std::string& path, const LoadOptions& options = {});

// The same, from bytes in memory (fuzzing, tests). `name` is used in messages.
Value load_checkpoint_from_memory(const void* data, size_t size, const std::string& name,
                                  const LoadOptions& options = {});

void save_checkpoint(const std::string& path, const Value& value);

// Name -> tensor, in file order is not needed by users, so a sorted map.
using TensorMap = std::map<std::string, at::Tensor>;

// The tensors of a (possibly nested) state dict: every tensor entry of `dict`,
// keyed by its dotted path below it ("convs.0.conv.weight"). Non-tensor entries
// are skipped. Throws Error if `value` is not a dict, or if one sub-dict is reached
// through two keys (shared sub-dicts would make the walk exponential).
TensorMap tensors_of(const Value& dict);

// The entry `key` of a dict value, or throws Error naming `what` and the keys present.
const Value& require_key(const Value& dict, const std::string& key, const std::string& what);

}  // namespace micromotion
