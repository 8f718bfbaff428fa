// Video transcoding with libav*: decode a file's video stream to RGB frames, hand them to an
// editor, encode the edited frames with the input's codec at comparable quality, and copy every
// other stream (audio, subtitles) with its timestamps. Kept in the CLI: nothing in common/
// includes FFmpeg headers.
//
// transcode(in, out, options, editor, stop, progress)
//   requires: editor.submit / receive / finish set (receive returns frames in submission order).
//   ensures:  `out` holds every decoded video frame with its original pts (the encoder's time
//             base is the input stream's), the other streams copied packet by packet; a frame
//             the editor reports unchanged is encoded from the decoded frame itself (no colour
//             round trip). When *stop becomes true, reading ends and the file is finished
//             (encoder flushed, trailer written) so it stays playable.
//   throws:   micromotion::Error naming the file and the libav error (unreadable input, no video
//             stream, no encoder for the codec, ...).
#pragma once

#include <micromotion/image.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace micromotion::cli {

struct TranscodeOptions {
  std::string codec;    // "" : the input's codec
  int crf = -1;         // -1 : comparable to the input (x264/x265: 18; lossless inputs stay lossless)
  int64_t max_frames = -1;
};

struct EditedFrame {
  int64_t index = 0;
  ImageRGB8 image;
  bool unchanged = false;
};

struct FrameEditor {
  std::function<void(ImageRGB8&& frame, int64_t index, double seconds)> submit;
  std::function<std::optional<EditedFrame>(bool wait)> receive;
  std::function<void()> finish;
};

struct TranscodeProgress {
  int64_t frames_done = 0;
  int64_t frames_total = 0;  // 0 when unknown
};

struct TranscodeResult {
  int64_t frames = 0;
  bool interrupted = false;
  std::string video_codec;
  bool lossless = false;
};

TranscodeResult transcode(const std::string& in, const std::string& out, const TranscodeOptions& options,
                          FrameEditor& editor, const std::atomic<bool>* stop,
                          const std::function<void(const TranscodeProgress&)>& progress);

// Decodes up to max_frames video frames (every `step`-th) of a file as RGB (for --preview).
std::vector<ImageRGB8> decode_frames(const std::string& in, int64_t step, int64_t max_frames, double* fps);

}  // namespace micromotion::cli
