// micromotion/safetensors.h — a strict reader and a writer of the safetensors format.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
// {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "string", ...}}, then the raw little-endian tensor bytes; offsets are
// relative to the first byte after the header. Python reads it with safetensors.torch.load_file.
//
// read_safetensors / read_safetensors_from_memory
//   requires: nothing (the input is an outside file).
//   ensures:  every tensor as a contiguous CPU tensor (F64, F32, F16, BF16, I64, I32, I16, I8,
//             U8, BOOL), and the metadata map.
//   throws:   micromotion::Error naming the file and the problem: truncated file, header length
//             beyond the file or over 1 MB, JSON nested deeper than 8 levels, invalid JSON,
//             a non-object entry, unknown dtype, negative or overflowing shape (the product
//             of the non-zero dimensions must stay below 2^40, also when one is zero),
//             data_offsets that are not [begin <= end] inside the data, a byte count that
//             does not match dtype x shape, overlapping tensors, bytes not covered by any
//             tensor, a metadata value that is not a string. Messages never print bytes of
//             the file raw (names are quoted, escaped and shortened; the length field is
//             not printed).
//   cost:     read_safetensors reads the file once, into one buffer; memory is about
//             twice the file (buffer + tensors) plus the parsed header (< 64 MB).
// write_safetensors
//   ensures:  a file read_safetensors and Python's safetensors both read back (tensors in
//             name order, header padded with spaces to a multiple of 8).
//   throws:   Error when the file cannot be written or a dtype has no safetensors name.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <map>
#include <string>

namespace micromotion {

struct SafeTensors {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

SafeTensors read_safetensors(const std::string& path);
// The bytes of a file, read once (throws Error naming the file when it cannot be read).
std::string read_whole_file(const std::string& path);
SafeTensors read_safetensors_from_memory(const void* data, size_t size, const std::string& name);
void write_safetensors(const std::string& path, const SafeTensors& content);

}  // namespace micromotion
