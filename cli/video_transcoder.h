// Video transcoding with libav*: decode a file's video stream, hand its frames to an editor in
// their own pixel format (native frames, av_native_frame.h), encode the edited frames with the input's codec at comparable quality, and copy every
// other stream (audio, subtitles, data such as timecodes, attachments such as fonts) with its
// timestamps, disposition, metadata and side data, plus chapters and container metadata. Kept
// in the CLI: nothing in common/ includes FFmpeg headers.
//
// transcode(in, out, options, editor, stop, progress)
//   requires: editor.submit / receive / finish set (receive returns frames in submission order).
//             `out` names the output: its extension picks the container. The bytes go to
//             options.write_path when set (render writes a temporary file beside OUT and renames
//             it), else to `out`; the format must write one file (no image sequences).
//   ensures:  the output holds every decodable video frame with its original pts (the encoder's
//             time base is the input stream's), the other streams copied packet by packet.
//             Pixels: the editor gets the decoded frame itself (a private copy when the decoder
//             still holds it) as a NativeFrame with its colour matrix, range and bit depth, and
//             edits it in place; only a pixel format the engine does not edit is converted first
//             (to edit_format's choice). So every sample the editor leaves alone, alpha included,
//             reaches the encoder bit-exact, and frames carry their decoded properties (SAR,
//             interlacing, colour tags, side data such as A53 captions and HDR10+).
//             Orientation: the NativeFrame's rotation is the input's display matrix (quarter
//             turns only): the engine finds faces upright and edits them where they are stored;
//             the output keeps the stored orientation and the display matrix.
//             Size: every frame reaches the editor and the encoder at the stream's first size (a
//             resolution change mid-stream is scaled, as ffmpeg does); streams that appear after
//             the start (MPEG-TS) are not copied (warned once each).
//             Damage: a packet the decoder refuses or a frame it cannot decode is skipped with a
//             warning naming its time (result.skipped); a read error ends the input early (the
//             file is finished, result.read_error says why). An editor frame with `error` set is
//             encoded unedited with a warning (result.failed_edits).
//             When *stop becomes true, reading ends and the file is finished (encoder flushed,
//             trailer written) so it stays playable.
//             With options.index set, only that segment (see TranscodeOptions).
//   throws:   micromotion::Error naming the file and the libav error (unreadable input, no video
//             stream, no encoder for the codec, an encoder or write failure, ...). The partial
//             output is left for the caller to remove.
#pragma once

#include "segments.h"
#include "video_index.h"

#include <micromotion/image.h>
#include <micromotion/native_frame.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace micromotion::cli {

struct TranscodeOptions {
  std::string codec;    // "" : the input's codec
  int crf = -1;         // -1 : comparable to the input (x264/x265: 18; lossless inputs stay lossless)
  int64_t max_frames = -1;
  std::string write_path;  // "" : write `out` itself
  // A segment (render --segment): `index` is the input's (index_video), `segment` the frames.
  // Decoding starts at the keyframe before segment.preroll_begin; frames from there on reach
  // the editor with their frame number in the index (as in a whole render), those before
  // segment.begin are dropped after the edit; the output holds the video stream alone, frames
  // segment.begin .. end-1 with their original pts.
  const VideoIndex* index = nullptr;
  SegmentRange segment;
};

// The editor's answer for a frame it was handed (the frame itself was edited in place).
struct EditedFrame {
  int64_t index = 0;
  std::string error;  // not empty: the edit of this frame failed; the frame is encoded as it is
};

struct FrameEditor {
  // frame: valid until receive() returns its EditedFrame; edited in place by then. pts: the
  // frame's timestamp in the video stream's time base (NaN when unknown), for `pts` in strengths.
  std::function<void(NativeFrame& frame, int64_t index, double seconds, double pts)> submit;
  std::function<std::optional<EditedFrame>(bool wait)> receive;
  std::function<void()> finish;
};

struct TranscodeProgress {
  int64_t frames_done = 0;
  int64_t frames_total = 0;  // 0 when unknown
};

struct TranscodeResult {
  int64_t frames = 0;
  int64_t skipped = 0;        // damaged packets / frames the decoder could not decode
  int64_t failed_edits = 0;   // frames the editor failed on, kept unedited
  int64_t resized = 0;        // frames scaled to the stream's first size
  int rotation = 0;           // clockwise quarter-turn degrees the frames are displayed turned (0, 90, 180, 270)
  std::string pixel_format;   // the pixel format the editor got (the input's, unless converted)
  bool converted = false;     // the input's pixel format is not one the engine edits: converted
  std::string read_error;     // not empty: the input ended early on this error
  bool interrupted = false;
  std::string video_codec;
  bool lossless = false;
};

TranscodeResult transcode(const std::string& in, const std::string& out, const TranscodeOptions& options,
                          FrameEditor& editor, const std::atomic<bool>* stop,
                          const std::function<void(const TranscodeProgress&)>& progress);

struct MergeResult {
  int64_t frames = 0;        // video frames written
  int segments = 0;
  int64_t holes = 0;         // frames inside segments that are not there (skipped as damaged)
};

// merge_segments(in, out, segments, write_path)
//   requires: `segments` are outputs of `render IN SEG --segment I/N` (any order, any container).
//   ensures:  `out` (bytes to write_path when set) holds the segments' video packets, not
//             re-encoded, in frame order with IN's own frame times, and every other stream,
//             chapter, container metadata and the video stream's disposition, metadata and side
//             data from IN, as a whole render would write them.
//   throws:   micromotion::Error, nothing written, when the segments do not fit: frames of IN in
//             no segment ("frames A-B ... are missing"), two segments holding the same frames
//             (naming both), a segment with other codec settings than the first (naming it and
//             the difference), a file that holds frames IN does not have.
MergeResult merge_segments(const std::string& in, const std::string& out, const std::vector<std::string>& segments,
                           const std::string& write_path);

// Decodes up to max_frames video frames (every `step`-th) of a file as RGB, as stored (for
// `evaluate`, which compares two files frame by frame; it holds them all).
std::vector<ImageRGB8> decode_frames(const std::string& in, int64_t step, int64_t max_frames, double* fps);

// For --preview: `count` frames spread over the first `max_frames` (< 0: all) video frames of a
// file, as displayed (display matrix applied), in RGB. One decoding pass; at most 2 * count + 1
// frames are held at any time (the stride between kept frames doubles as the clip turns out
// longer), so memory does not grow with the clip. Damaged frames are skipped.
std::vector<ImageRGB8> sample_frames(const std::string& in, int count, int64_t max_frames, double* fps);

}  // namespace micromotion::cli
