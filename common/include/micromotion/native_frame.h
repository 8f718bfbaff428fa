// micromotion/native_frame.h — video frames as decoders and capture cards deliver them, and the one
// place where their samples are converted to and from RGB.
//
// A NativeFrame is a view (it owns nothing) of planar (yuv420p), semi-planar (nv12, p010) or packed
// (rgb24, yuyv422) pixels at 8 or 10 bits, with the frame's colour matrix (BT.601, BT.709,
// BT.2020 non-constant luminance) and range (limited: Y 16-235 and C 16-240 at 8 bits, scaled by
// 2^(depth-8); full: 0 to 2^depth - 1). RGB formats ignore matrix and range.
//
// The engine reads a whole frame only as the 8-bit RGB picture its face tracker looks at
// (rgb8_view: no copy for rgb24), reads the RGB of face rectangles at full precision (read_rgb),
// and writes an edit back as a change (apply_change): a sample is written only where the edit
// covers it and its value changes, in the frame's own format and bit depth. Every other sample,
// and alpha and padding bytes always, stay bit-exact.
//
//   check_frame(f): requires nothing. throws micromotion::Error naming the problem (a NULL plane,
//     a stride smaller than a row, a size below 1) so front ends refuse bad frames clearly.
//   rgb8_view(f, scratch): the frame as 8-bit RGB (rounded, clamped); a view of f itself for
//     rgb24, else of `scratch`, which it fills.
//   read_rgb(f, rect): rect's pixels as RGB in [0, 1] units (3 floats per pixel, row-major), not
//     clamped (limited-range YUV can lie outside the RGB cube); chroma of subsampled formats is
//     the sample covering the pixel. requires: rect inside f.
//   apply_change(f, change): f += change, see FrameChange. Luma (or R, G, B) is written per
//     covered pixel; a subsampled chroma sample gets the mean change of the pixels it covers and
//     is written when any of them is covered. Values are rounded and clamped to the sample's
//     range. ensures: the box of frame pixels any written sample covers (empty when nothing
//     changed); samples outside it, and every alpha sample, are unchanged.
//   turned_rgb8(view, rotation): an RGB8 picture turned clockwise by rotation degrees.
//   FrameBuffer: an owned copy of a frame (the asynchronous engine queues these).
#pragma once

#include <micromotion/image.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace micromotion {

// The numbering is the C API's (mm_pixel_format); append only.
enum class PixelFormat : int {
  rgb24, rgba, bgr24, bgra, argb, abgr, rgb0, bgr0,
  gray,
  yuv420p, yuv422p, yuv444p, yuva420p,
  nv12, nv21,
  yuv420p10, yuv422p10, yuv444p10, p010,
  yuyv422, uyvy422, yvyu422,
};
constexpr int kPixelFormatCount = static_cast<int>(PixelFormat::yvyu422) + 1;

enum class ColorMatrix : int { bt601, bt709, bt2020 };
enum class ColorRange : int { limited, full };

struct FormatInfo {
  const char* name;  // FFmpeg's name ("yuv420p", "p010" is p010le, "yuv420p10" is yuv420p10le)
  bool rgb;
  bool alpha;
  int depth;         // bits per sample
  int planes;
  int log2_chroma_w, log2_chroma_h;
};
const FormatInfo& format_info(PixelFormat format);
std::optional<PixelFormat> parse_pixel_format(const std::string& name);
const char* matrix_name(ColorMatrix m);
const char* range_name(ColorRange r);

struct NativeFrame {
  std::array<std::uint8_t*, 4> data{};
  std::array<std::ptrdiff_t, 4> stride{};
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::rgb24;
  ColorMatrix matrix = ColorMatrix::bt601;
  ColorRange range = ColorRange::limited;
  // Degrees (0, 90, 180, 270) the stored frame is turned clockwise for display (a phone video's
  // display matrix): the engine finds faces upright and writes them back where they are stored.
  int rotation = 0;
};

// Bytes in one row of `plane`, and its number of rows, for a frame of this format and size.
std::size_t plane_row_bytes(PixelFormat format, int width, int plane);
int plane_rows(PixelFormat format, int height, int plane);

void check_frame(const NativeFrame& frame);

// An rgb24 NativeFrame on an image's pixels.
NativeFrame native_view(ImageRGB8& image);

ImageView rgb8_view(const NativeFrame& frame, ImageRGB8& scratch);
ImageRGB8 turned_rgb8(const ImageView& image, int rotation);

struct PixelRect {
  int x = 0, y = 0, width = 0, height = 0;
  bool empty() const { return width <= 0 || height <= 0; }
};

std::vector<float> read_rgb(const NativeFrame& frame, const PixelRect& rect);

// A change to the pixels of `rect`: delta holds 3 floats (R, G, B in [0, 1] units) per pixel,
// covered one flag per pixel (pixels not covered are never written; their delta is ignored).
struct FrameChange {
  PixelRect rect;
  std::vector<float> delta;
  std::vector<std::uint8_t> covered;
};

PixelRect apply_change(NativeFrame& frame, const FrameChange& change);

class FrameBuffer {
 public:
  FrameBuffer() = default;
  FrameBuffer(FrameBuffer&&) = default;  // a moved vector keeps its storage: the planes stay valid
  FrameBuffer& operator=(FrameBuffer&&) = default;
  FrameBuffer(const FrameBuffer&) = delete;
  FrameBuffer& operator=(const FrameBuffer&) = delete;
  static FrameBuffer copy_of(const NativeFrame& frame);
  NativeFrame& frame() { return frame_; }
  const NativeFrame& frame() const { return frame_; }
  // Copies every plane into `out` (same format and size).
  void copy_to(NativeFrame& out) const;

 private:
  NativeFrame frame_;
  std::vector<std::uint8_t> bytes_;
};

// Copies every plane of `from` into `to`; requires the same format and size.
void copy_frame(const NativeFrame& from, NativeFrame& to);

}  // namespace micromotion
