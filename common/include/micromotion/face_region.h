// micromotion/face_region.h — where on the face an edit may write: the whole face (today's mask)
// or parts of it (eyes, brows, mouth, nose, jaw) and their unions, as masks built from the 68
// landmarks and feathered like the face mask, so every sample outside a region stays bit-exact.
//
//   parse_face_regions(text): "face", "eyes", "brows", "mouth", "nose", "jaw" and unions joined
//     by '+' ("eyes+mouth"). throws micromotion::Error naming the unknown part and listing the
//     valid names; an empty text or an empty part is an error too.
//   face_regions_name(regions): the canonical text ("eyes+mouth"), parse_face_regions' inverse.
//   region_mask(landmarks, to_frame, size, regions, options): the mask in aligned coordinates,
//     like face_mask (compositor.h). requires: 68 landmarks, size >= 8, regions != 0.
//     ensures: regions == kRegionFace gives exactly face_mask(...); a union is the per-pixel max
//     of its parts; every part lies inside the face mask's support (never writes outside the
//     face); values in [0, 1], exactly 0 outside the feathered part.
//     Each part is the polygon of its landmarks (eyes 36-41 / 42-47, brows 17-21 / 22-26, mouth
//     48-59, nose hull 27-35, jaw 2-14 closed through the nose base 35-31) grown outward by a
//     margin proportional to the face's size (face_region.cpp says which and why), smoothstep-
//     feathered inwards from the grown edge over min(feather * size, 0.6 * margin), then min'ed
//     with the face mask. A union containing "face" is the face mask. throws micromotion::Error
//     where face_mask does, and on regions 0 or with bits outside the six parts (as does
//     face_regions_name).
#pragma once

#include <micromotion/compositor.h>

#include <string>

namespace micromotion {

using FaceRegions = unsigned;
constexpr FaceRegions kRegionFace = 1, kRegionEyes = 2, kRegionBrows = 4, kRegionMouth = 8, kRegionNose = 16,
                      kRegionJaw = 32;

FaceRegions parse_face_regions(const std::string& text);
std::string face_regions_name(FaceRegions regions);

FaceMask region_mask(const Landmarks& frame_landmarks, const Affine2& to_frame, int aligned_size, FaceRegions regions,
                     const MaskOptions& options = {});

}  // namespace micromotion
