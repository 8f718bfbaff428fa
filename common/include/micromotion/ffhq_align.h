// micromotion/ffhq_align.h — FFHQ face alignment, pixel-compatible with the reference
// (`align_face` of the FFHQ dataset script as used by ReStyle / micromotion-styleGAN), plus the
// transform that maps the aligned crop back into the frame.
//
// The reference, step by step (all reproduced here, including its PIL resampling):
//   quad   oriented square from the eye centres and mouth corners (ffhq_quad);
//   shrink if qsize / output_size / 2 >= 2: Lanczos ("ANTIALIAS") downscale by that integer factor;
//   crop   to the quad's bounding box plus a border of max(rint(0.1 qsize), 3);
//   pad    if the quad leaves the image: reflect padding, blurred (Gaussian, sigma 0.02 qsize) and
//          blended towards the median colour away from the original image;
//   warp   PIL Image.transform(QUAD, quad + 0.5, BILINEAR) to transform_size, then Lanczos resize
//          to output_size when smaller.
//
//   ffhq_quad(landmarks):
//     requires: 68 landmarks (iBUG order). throws micromotion::Error otherwise.
//   ffhq_geometry(quad, width, height, options): every intermediate of the reference for an image
//     of that size, without touching pixels.
//   ffhq_align(frame, quad or landmarks, options):
//     requires: frame not empty; options.output_size >= 1; transform_size (0 = output_size) >=
//               output_size. throws micromotion::Error otherwise.
//     ensures: image is output_size², geometry as ffhq_geometry, and
//              to_frame(p) maps a pixel centre p of `image` to the frame point it was sampled from
//              (used by the compositor for the inverse warp).
#pragma once

#include <micromotion/geometry.h>
#include <micromotion/image.h>
#include <micromotion/landmarks.h>

#include <array>

namespace micromotion {

struct AlignOptions {
  int output_size = 256;
  int transform_size = 0;     // 0: same as output_size (the encoders' setting)
  bool enable_padding = true;
};

struct AlignGeometry {
  Quad quad{};                       // in frame coordinates
  double qsize = 0;                  // side of the quad (frame pixels)
  int shrink = 0;                    // the reference's factor; applied only when > 1
  std::array<int, 2> shrunk_size{};  // image size after shrinking (frame size when not shrunk)
  std::array<int, 4> crop{};         // left, top, right, bottom (in the shrunk image)
  bool cropped = false;              // crop applied (it is skipped when it covers the image)
  std::array<int, 4> pad{};          // left, top, right, bottom
  bool padded = false;               // the reflect-pad + blur branch was taken
  Quad quad_final{};                 // quad in the padded image, before the +0.5 of PIL
};

struct AlignedFace {
  ImageRGB8 image;
  AlignGeometry geometry;
  Affine2 to_frame;  // aligned pixel centre -> frame coordinates
};

Quad ffhq_quad(const Landmarks& landmarks);
AlignGeometry ffhq_geometry(const Quad& quad, int width, int height, const AlignOptions& options = {});
AlignedFace ffhq_align(const ImageView& frame, const Quad& quad, const AlignOptions& options = {});
// The to_frame of ffhq_align for that geometry, without touching pixels (the per-frame path of a
// frame that is not a keyframe needs only where the aligned face lies).
Affine2 ffhq_to_frame(const AlignGeometry& geometry, int frame_width, int frame_height, const AlignOptions& options = {});
AlignedFace ffhq_align(const ImageView& frame, const Landmarks& landmarks,
                       const AlignOptions& options = {});

// The resampling primitives of the reference, exposed for tests and for the compositor.
// PIL Image.resize(size, LANCZOS) on 8-bit RGB (separable, 22-bit fixed-point coefficients).
ImageRGB8 pil_resize_lanczos(const ImageView& image, int width, int height);
// PIL Image.transform(size, QUAD, corners, BILINEAR): corners in PIL's continuous coordinates
// (pixel centre + 0.5), order top-left, bottom-left, bottom-right, top-right; outside samples are 0.
ImageRGB8 pil_transform_quad(const ImageView& image, int width, int height, const Quad& corners);

}  // namespace micromotion
