#include "png_io.h"

#include <micromotion/error.h>

#include <ATen/ATen.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <memory>

namespace micromotion::cli {

namespace {
struct File {
  FILE* f;
  ~File() {
    if (f) std::fclose(f);
  }
};
}  // namespace

void write_png_rgb(const std::string& path, const uint8_t* rgb, int width, int height) {
  File file{std::fopen(path.c_str(), "wb")};
  if (!file.f) throw Error(path + ": cannot create PNG file");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw Error(path + ": out of memory writing PNG");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error(path + ": PNG write failed");
  }
  png_init_io(png, file.f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(rgb + static_cast<size_t>(y) * static_cast<size_t>(width) * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
}

std::vector<uint8_t> read_png_rgb(const std::string& path, int& width, int& height) {
  File file{std::fopen(path.c_str(), "rb")};
  if (!file.f) throw Error(path + ": cannot open PNG file");
  uint8_t sig[8];
  if (std::fread(sig, 1, 8, file.f) != 8 || png_sig_cmp(sig, 0, 8)) throw Error(path + ": not a PNG file");
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error(path + ": out of memory reading PNG");
  }
  std::vector<uint8_t> pixels;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error(path + ": corrupt PNG file");
  }
  png_init_io(png, file.f);
  png_set_sig_bytes(png, 8);
  png_set_user_limits(png, 1 << 15, 1 << 15);
  png_read_info(png, info);
  const png_byte color = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  if (png_get_bit_depth(png, info) < 8) png_set_expand(png);
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  png_read_update_info(png, info);
  width = static_cast<int>(png_get_image_width(png, info));
  height = static_cast<int>(png_get_image_height(png, info));
  if (png_get_rowbytes(png, info) != static_cast<size_t>(width) * 3) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error(path + ": unsupported PNG layout");
  }
  pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (int y = 0; y < height; ++y) png_read_row(png, pixels.data() + static_cast<size_t>(y) * width * 3, nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return pixels;
}

void write_png_image(const std::string& path, const at::Tensor& chw) {
  at::Tensor img = ((chw.detach().to(at::kCPU, at::kFloat) + 1.0) * 127.5).round().clamp(0, 255);
  img = img.to(at::kByte).permute({1, 2, 0}).contiguous();
  write_png_rgb(path, img.data_ptr<uint8_t>(), static_cast<int>(img.size(1)), static_cast<int>(img.size(0)));
}

}  // namespace micromotion::cli
