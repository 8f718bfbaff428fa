#include <micromotion/error.h>
#include <micromotion/image.h>

#include <dlib/image_io.h>

#include <cstring>
#include <filesystem>

namespace micromotion {

ImageRGB8::ImageRGB8(int width, int height, std::uint8_t fill)
    : width_(width), height_(height) {
  if (width < 0 || height < 0) throw Error("ImageRGB8: negative size " + std::to_string(width) + "x" + std::to_string(height));
  pixels_.assign(static_cast<size_t>(width) * height * 3, fill);
}

ImageRGB8 ImageRGB8::copy_of(const ImageView& v) {
  ImageRGB8 out(v.width, v.height);
  for (int y = 0; y < v.height; ++y) std::memcpy(out.row(y), v.row(y), static_cast<size_t>(v.width) * 3);
  return out;
}

ImageRGB8 load_image(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(path + ": no such image file (give the path of a JPEG or PNG image)");
  }
  dlib::array2d<dlib::rgb_pixel> img;
  try {
    dlib::load_image(img, path);
  } catch (const std::exception& e) {
    throw Error(path + ": cannot decode the image (" + e.what() + "); JPEG, PNG and BMP are supported");
  }
  ImageRGB8 out(static_cast<int>(img.nc()), static_cast<int>(img.nr()));
  for (long y = 0; y < img.nr(); ++y) {
    std::memcpy(out.row(static_cast<int>(y)), &img[y][0], static_cast<size_t>(img.nc()) * 3);
  }
  return out;
}

void save_png(const std::string& path, const ImageView& image) {
  if (image.empty()) throw Error(path + ": refusing to write an empty image");
  dlib::array2d<dlib::rgb_pixel> img(image.height, image.width);
  for (int y = 0; y < image.height; ++y) std::memcpy(&img[y][0], image.row(y), static_cast<size_t>(image.width) * 3);
  try {
    dlib::save_png(img, path);
  } catch (const std::exception& e) {
    throw Error(path + ": cannot write the PNG (" + e.what() + "); check that the folder exists and is writable");
  }
}

ImageView crop_view(const ImageView& image, int x0, int y0, int w, int h) {
  if (x0 < 0 || y0 < 0 || w < 0 || h < 0 || x0 + w > image.width || y0 + h > image.height) {
    throw Error("crop_view: rectangle " + std::to_string(x0) + "," + std::to_string(y0) + " " +
                std::to_string(w) + "x" + std::to_string(h) + " is outside the " +
                std::to_string(image.width) + "x" + std::to_string(image.height) + " image");
  }
  return {image.pixel(x0, y0), w, h, image.stride};
}

}  // namespace micromotion
