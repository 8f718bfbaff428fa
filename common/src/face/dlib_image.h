// Zero-copy adapter: an ImageView seen as a dlib generic image of rgb_pixel, so dlib's detectors
// and shape predictor read frames in place. dlib only ever reads through it.
#pragma once

#include <micromotion/image.h>

#include <dlib/image_processing/generic_image.h>
#include <dlib/pixel.h>

namespace micromotion::detail {

struct DlibRgbView {
  const std::uint8_t* data = nullptr;
  long rows = 0;
  long cols = 0;
  long step = 0;
};

inline DlibRgbView as_dlib(const ImageView& v) {
  return {v.data, static_cast<long>(v.height), static_cast<long>(v.width), static_cast<long>(v.stride)};
}

inline long num_rows(const DlibRgbView& v) { return v.rows; }
inline long num_columns(const DlibRgbView& v) { return v.cols; }
inline long width_step(const DlibRgbView& v) { return v.step; }
inline const void* image_data(const DlibRgbView& v) { return v.data; }
// dlib's mutable image_view needs this signature to exist; the face layer never writes through it.
inline void* image_data(DlibRgbView& v) { return const_cast<std::uint8_t*>(v.data); }

}  // namespace micromotion::detail

namespace dlib {
template <>
struct image_traits<micromotion::detail::DlibRgbView> {
  typedef rgb_pixel pixel_type;
};
}  // namespace dlib
