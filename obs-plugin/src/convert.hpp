// Pixel conversion between OBS async frame formats and the RGBA the engine takes.
//
// Why our own code and not libswscale: the write-back must touch only the pixels the engine
// changed (everything outside the faces stays bit-exact in the source's own format), and the
// colour maths must be the matrix OBS itself uses to show the frame (obs_source_frame's
// color_matrix), so what the engine sees is what the streamer sees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmobs {

// A copy of one async frame's planes (media-io's enum video_format values, kept as int so
// this header needs no libobs).
struct FrameBuf {
  int format = 0;
  uint32_t width = 0, height = 0;
  uint32_t linesize[4] = {0, 0, 0, 0};
  std::vector<uint8_t> plane[4];
  float color_matrix[16] = {};
  float range_min[3] = {0, 0, 0};
  float range_max[3] = {1, 1, 1};
  bool full_range = true;
  bool flip = false;          // rows stored bottom-up (obs_source_frame::flip)
  uint64_t timestamp = 0;     // the frame's own timestamp (ns)
  uint64_t submitted_ns = 0;  // os clock when the filter handed it over
};

// Whether frames of this format can be edited (others pass through unchanged).
bool format_supported(int format);
const char* format_name(int format);

// Rows of plane p for a frame of this format and height (0 for planes the format lacks).
uint32_t plane_rows(int format, int p, uint32_t height);
int plane_count(int format);

// src planes -> FrameBuf (deep copy).
void copy_in(FrameBuf& dst, int format, uint32_t width, uint32_t height, uint8_t* const data[],
             const uint32_t linesize[]);
// FrameBuf -> dst planes of the same format and size (row by row; linesizes may differ).
void copy_out(const FrameBuf& src, uint8_t* const data[], const uint32_t linesize[]);

// FrameBuf -> tightly packed RGBA (alpha 255 for formats without alpha), the picture upright:
// RGBA row 0 is the top row as shown, also when f.flip stores the rows bottom-up.
void to_rgba(const FrameBuf& f, std::vector<uint8_t>& rgba);

// Writes into f the pixels where edited differs from original (both packed upright RGBA of f's
// size, as to_rgba makes them), converted to f's format and stored in f's row order (flipped
// back when f.flip). Unchanged pixels keep their bytes; a subsampled chroma sample is
// rewritten when any pixel it covers changed. Returns the number of changed pixels.
long write_back(FrameBuf& f, const std::vector<uint8_t>& original, const std::vector<uint8_t>& edited);

// Whether an edited frame made from one frame may be pasted over another: the same format, size,
// row order, range and colour matrix. Pasting across a change of any of them would show the
// edit's bytes read with the wrong layout or colours (e.g. a camera switching to full range).
bool same_picture_kind(const FrameBuf& a, const FrameBuf& b);

// filter_video's decision: paste `result` (the newest edit, number `seq`; null when there is
// none, e.g. after a failed frame) over the live frame `live` (its header fields: planes unused)?
// Only a result of the same picture kind; with hold_last every time, else only a result not
// shown yet (last_shown_seq).
bool should_paste(const FrameBuf& live, const FrameBuf* result, uint64_t seq, bool hold_last,
                  uint64_t last_shown_seq);

}  // namespace mmobs
