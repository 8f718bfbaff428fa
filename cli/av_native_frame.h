// libav frames as the engine's native frames (micromotion/native_frame.h): which AVPixelFormats
// the engine edits as they are, the one to convert any other to, and an AVFrame's planes,
// colour matrix and range as a NativeFrame. Kept in the CLI: nothing in common/ includes FFmpeg.
//
// native_format(f): the engine's name of an AVPixelFormat it edits as it is (yuvj* are their
//   yuv twins in full range), or nullopt.
// edit_format(f): f itself when native_format(f) is set, else the native format that keeps most of
//   f (its depth, chroma resolution and alpha), for the transcoder to convert f to.
// native_view(frame, rotation): requires: native_format(frame->format) set. The frame's pixels as
//   a NativeFrame (no copy): matrix from frame->colorspace (BT.709, BT.2020; anything else,
//   untagged included, BT.601 as swscale assumes), range from color_range (and yuvj formats).
#pragma once

#include <micromotion/native_frame.h>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <optional>

namespace micromotion::cli {

std::optional<PixelFormat> native_format(AVPixelFormat f);
AVPixelFormat edit_format(AVPixelFormat f);
NativeFrame native_view(AVFrame* frame, int rotation);

}  // namespace micromotion::cli
