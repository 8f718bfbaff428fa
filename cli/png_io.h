// PNG reading and writing for the command line (8-bit RGB).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace micromotion::cli {

// Writes width x height RGB8 pixels (row-major, no padding). Throws micromotion::Error.
void write_png_rgb(const std::string& path, const uint8_t* rgb, int width, int height);
// Reads any PNG as RGB8 (palette, grey and alpha are converted). Throws micromotion::Error.
std::vector<uint8_t> read_png_rgb(const std::string& path, int& width, int& height);

// One image [3, H, W] in the generator's range: (x + 1) · 127.5, rounded, clamped to 0..255.
void write_png_image(const std::string& path, const at::Tensor& chw);

}  // namespace micromotion::cli
