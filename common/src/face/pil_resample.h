// Internal: the region form of PIL's Lanczos resize (used to shrink only what alignment crops).
#pragma once

#include <micromotion/image.h>

namespace micromotion::detail {

// Pixels [x0, x1) x [y0, y1) of pil_resize_lanczos(image, width, height), computed without the rest.
// throws micromotion::Error if the region is empty or outside width x height.
ImageRGB8 pil_resize_lanczos_region(const ImageView& image, int width, int height, int x0, int y0, int x1, int y1);

}  // namespace micromotion::detail
