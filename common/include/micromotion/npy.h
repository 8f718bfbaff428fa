// micromotion/npy.h — a strict NumPy .npy reader and writer.
//
// read_npy
//   requires: a version 1.0/2.0/3.0 .npy file holding a little-endian float32, float64 or
//             int64 array in C order (fortran_order False), at most 8 dimensions.
//   ensures:  returns a contiguous CPU tensor of that dtype and shape.
//   throws:   micromotion::Error naming the file and the problem (bad magic, header
//             syntax, unsupported dtype, Fortran order, data shorter or longer than the
//             shape says, size overflow).
// write_npy
//   ensures:  writes a version 1.0 .npy (float32, float64 or int64; other float
//             dtypes are written as float32) that numpy.load reads.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <string>

namespace micromotion {

at::Tensor read_npy(const std::string& path);
at::Tensor read_npy_from_memory(const void* data, size_t size, const std::string& name);
void write_npy(const std::string& path, const at::Tensor& tensor);

}  // namespace micromotion
