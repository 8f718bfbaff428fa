// micromotion/compositor.h — put a generated (edited) face back into the frame.
//
// The mask follows the face, not the crop square: the polygon of the jaw line and the brows
// lifted towards the forehead, feathered inwards so its edge fades to exactly 0. Pixels where the
// warped mask is 0 are never written, so everything outside every face is bit-exact.
//
//   face_mask(landmarks, to_frame, size, options): the mask in aligned coordinates (size²,
//     values in [0, 1]). requires: 68 landmarks, size >= 8. throws micromotion::Error otherwise.
//   composite(frame, generated, to_frame, mask, options):
//     replace mode: frame = frame (1 - a) + warp(generated) a;
//     requires: generated and mask square (any sizes: both are mapped onto the aligned square
//               that `to_frame` maps into the frame, e.g. AlignedFace::to_frame).
//   composite_delta(frame, edited, original, to_frame, mask): delta mode,
//     frame = frame + a (warp(edited) - warp(original)): whatever the inversion lost stays;
//     edited == original leaves the frame bit-exact.
//     requires: edited and original of the same size. throws micromotion::Error otherwise.
//   alpha_in_frame(...): the blend weight per frame pixel (0 where untouched), for tests and
//     debugging.
//   face_change(...): the same blends at float precision, as a change for apply_change
//     (native_frame.h), so a frame in any format gets the edit at its own bit depth:
//     replace: a (warp(edited) - frame), with frame_rgb = read_rgb(frame, footprint);
//     delta:   a (warp(edited) - warp(original)), frame_rgb unused.
//     Covered exactly where the warped mask a > 0. A generated face more than twice as fine as
//     its footprint is first halved (2x2 means) until it is not, so bilinear sampling does not
//     alias. requires: edited (and original) square, of one size.
#pragma once

#include <micromotion/geometry.h>
#include <micromotion/image.h>
#include <micromotion/landmarks.h>
#include <micromotion/native_frame.h>
#include <micromotion/settings.h>

#include <vector>

namespace micromotion {

struct MaskOptions {
  double feather = default_number("feather");  // feather width, as a fraction of the aligned size
  double forehead = 0.35;  // brows lifted by this fraction of the brow-to-chin height
};

// A single-channel float image, row-major.
struct FaceMask {
  int size = 0;
  std::vector<float> alpha;  // size * size values in [0, 1]
  float at(int x, int y) const { return alpha[static_cast<size_t>(y) * size + x]; }
};

FaceMask face_mask(const Landmarks& frame_landmarks, const Affine2& to_frame, int aligned_size,
                   const MaskOptions& options = {});

// `aligned_size` is the size of the aligned square that `to_frame` is defined for.
void composite(ImageRGB8& frame, const ImageView& generated, const Affine2& to_frame,
               int aligned_size, const FaceMask& mask);
void composite_delta(ImageRGB8& frame, const ImageView& edited, const ImageView& original,
                     const Affine2& to_frame, int aligned_size, const FaceMask& mask);

// Blend weights in frame pixels (frame.width * frame.height values, row-major).
std::vector<float> alpha_in_frame(int frame_width, int frame_height, const Affine2& to_frame,
                                  int aligned_size, const FaceMask& mask);

// A float RGB image, 3 floats per pixel, row-major, in [0, 1] units: a generated face before
// any rounding.
struct ImageRGBf {
  int width = 0, height = 0;
  std::vector<float> pixels;
};

// The frame pixels the aligned square of `to_frame` can touch, clipped to the frame.
PixelRect face_footprint(int frame_width, int frame_height, const Affine2& to_frame, int aligned_size);

FrameChange face_change(const PixelRect& footprint, const std::vector<float>& frame_rgb, const ImageRGBf& edited,
                        const ImageRGBf* original, const Affine2& to_frame, int aligned_size, const FaceMask& mask);

}  // namespace micromotion
