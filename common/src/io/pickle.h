// The strict pickle interpreter and writer behind checkpoint.h (internal).
#pragma once

#include <micromotion/value.h>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace micromotion::io {

// Resolves a persistent id ('storage', <dtype>, key, location, numel) to a flat 1-D
// tensor of `numel` elements holding the storage's data (on the target device).
using StorageLoader =
    std::function<at::Tensor(const std::string& key, c10::ScalarType dtype, int64_t numel,
                             const std::string& location)>;

// Runs the pickle in [data, data + size). `name` prefixes every error message.
Value unpickle(const uint8_t* data, size_t size, const StorageLoader& storages, const std::string& name);

// The pickle of `value` (protocol 2, as torch.save writes it) and, in `storages`, the
// contiguous CPU tensors it refers to: storage key i is storages[i].
std::string pickle(const Value& value, std::vector<at::Tensor>& storages);

// c10 dtype of a torch.<Name>Storage class, or nullopt-like Undefined when unknown.
c10::ScalarType storage_dtype(const std::string& class_name);
std::string storage_class(c10::ScalarType dtype);

}  // namespace micromotion::io
