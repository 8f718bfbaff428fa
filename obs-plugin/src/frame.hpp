// OBS async frames as the worker holds them, and how the engine is told what they are.
//
// The engine reads and writes frames natively (micromotion.h's mm_frame), so the plugin converts
// no pixels: it copies a frame's planes (FrameBuf), names its format, colour matrix and range in
// the engine's terms (engine_frame), and pastes the edited copy back over later frames of the
// same kind (should_paste).
#pragma once

#include <micromotion/micromotion.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mmobs {

// A copy of one async frame's planes (media-io's enum video_format values, kept as int so
// this header needs no libobs). Rows are stored upright: copy_in turns a bottom-up frame
// (obs_source_frame::flip) over, copy_out turns it back.
struct FrameBuf {
  int format = 0;
  uint32_t width = 0, height = 0;
  uint32_t linesize[4] = {0, 0, 0, 0};
  std::vector<uint8_t> plane[4];
  float color_matrix[16] = {};
  float range_min[3] = {0, 0, 0};
  float range_max[3] = {1, 1, 1};
  bool full_range = true;
  bool flip = false;          // the source stores rows bottom-up
  uint64_t timestamp = 0;     // the frame's own timestamp (ns)
  uint64_t submitted_ns = 0;  // os clock when the filter handed it over
};

// Whether frames of this format can be edited (others pass through unchanged), and its name.
bool format_supported(int format);
const char* format_name(int format);

// Rows of plane p for a frame of this format and height (0 for planes the format lacks).
uint32_t plane_rows(int format, int p, uint32_t height);
int plane_count(int format);

// src planes -> FrameBuf (deep copy, upright when flip).
void copy_in(FrameBuf& dst, int format, uint32_t width, uint32_t height, uint8_t* const data[],
             const uint32_t linesize[], bool flip = false);
// FrameBuf -> dst planes of the same format and size, in the source's row order (linesizes may
// differ).
void copy_out(const FrameBuf& src, uint8_t* const data[], const uint32_t linesize[]);

// The colour matrix and range of a YUV frame, read from OBS's colour matrix: the standard one
// (BT.601, BT.709 or BT.2020 as OBS makes them for the frame's format and range) closest to it.
// exact: the frame's matrix is that one (a source with a matrix of its own gets the closest).
struct Colour {
  mm_color_matrix matrix = MM_MATRIX_BT601;
  mm_color_range range = MM_RANGE_LIMITED;
  bool exact = true;
};
Colour colour_of(const FrameBuf& f);

// The engine's view of f (in place: the engine writes the face samples into f's planes).
// requires: format_supported(f.format).
mm_frame engine_frame(FrameBuf& f, const Colour& colour);

// Whether an edited frame made from one frame may be pasted over another: the same format, size,
// row order, range and colour matrix. Pasting across a change of any of them would show the
// edit's bytes read with the wrong layout or colours (e.g. a camera switching to full range).
bool same_picture_kind(const FrameBuf& a, const FrameBuf& b);

// filter_video's decision: paste `result` (the newest edit, number `seq`; null when there is
// none, e.g. after a failed frame) over the live frame `live` (its header fields: planes unused)?
// Only a result of the same picture kind; with hold_last (the live output) every time, else
// (pass-through) only a result not shown yet (last_shown_seq).
bool should_paste(const FrameBuf& live, const FrameBuf* result, uint64_t seq, bool hold_last,
                  uint64_t last_shown_seq);

}  // namespace mmobs
