// micromotion/image.h — an 8-bit RGB image value type and a non-owning view of one.
//
// The face layer works on packed RGB8 (R, G, B bytes per pixel, rows `stride` bytes apart) so that
// front ends can hand over decoded frames without copies and without LibTorch.
//
//   ImageView: requires data != nullptr (unless the view is empty), width/height >= 0,
//              stride >= 3 * width. Does not own the pixels: they must outlive the view.
//   ImageRGB8: owns width*height*3 bytes, stride == 3 * width.
//   load_image(path): decodes JPEG/PNG/BMP (through dlib) to RGB8.
//     throws micromotion::Error naming the file when it is missing or not a decodable image.
//   save_png(path, view): writes an 8-bit RGB PNG.
//     throws micromotion::Error naming the file when it cannot be written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace micromotion {

struct ImageView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t stride = 0;  // bytes from one row to the next

  const std::uint8_t* row(int y) const { return data + y * stride; }
  const std::uint8_t* pixel(int x, int y) const { return row(y) + 3 * x; }
  bool empty() const { return width <= 0 || height <= 0; }
};

class ImageRGB8 {
 public:
  ImageRGB8() = default;
  // ensures: every byte set to `fill`.
  ImageRGB8(int width, int height, std::uint8_t fill = 0);

  int width() const { return width_; }
  int height() const { return height_; }
  std::ptrdiff_t stride() const { return 3 * static_cast<std::ptrdiff_t>(width_); }
  bool empty() const { return width_ <= 0 || height_ <= 0; }

  std::uint8_t* data() { return pixels_.data(); }
  const std::uint8_t* data() const { return pixels_.data(); }
  std::uint8_t* row(int y) { return pixels_.data() + y * stride(); }
  const std::uint8_t* row(int y) const { return pixels_.data() + y * stride(); }
  std::uint8_t* pixel(int x, int y) { return row(y) + 3 * x; }
  const std::uint8_t* pixel(int x, int y) const { return row(y) + 3 * x; }

  ImageView view() const { return {pixels_.data(), width_, height_, stride()}; }
  operator ImageView() const { return view(); }  // NOLINT: a view is the natural argument type

  // A deep copy of any view (e.g. a decoded frame with padding between rows).
  static ImageRGB8 copy_of(const ImageView& v);

  bool operator==(const ImageRGB8& o) const {
    return width_ == o.width_ && height_ == o.height_ && pixels_ == o.pixels_;
  }
  bool operator!=(const ImageRGB8& o) const { return !(*this == o); }

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> pixels_;
};

ImageRGB8 load_image(const std::string& path);
void save_png(const std::string& path, const ImageView& image);

// The sub-rectangle [x0, x0+w) x [y0, y0+h) of `image`, as a view (no copy).
// requires: the rectangle lies inside the image. throws micromotion::Error otherwise.
ImageView crop_view(const ImageView& image, int x0, int y0, int w, int h);

}  // namespace micromotion
