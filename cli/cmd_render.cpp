// `micromotion render`: apply micromotions to the faces of a video: one for everyone
// (--anchor, --strength) or an edit list (--edits, --person, --edit, --region; docs/edits.md).
#include "commands.h"
#include "output_file.h"
#include "render_options.h"
#include "segments.h"
#include "video_index.h"
#include "video_transcoder.h"

#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/strength_expression.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>

namespace micromotion::cli {

namespace {

struct RenderCommand {
  std::string in, out, preview, segment;
  RenderArgs edit;
  int64_t max_frames = -1, preroll = 25;
  bool quiet = false, overwrite = false;
};

// A sheet of a few frames (rows) x strengths -s .. +s (columns), each tile 256 px high.
void preview(const RenderCommand& a, const EngineOptions& options, const Micromotion& m, double s) {
  double fps = 0;
  constexpr int kRows = 4;
  std::vector<ImageRGB8> rows = sample_frames(a.in, kRows, a.max_frames, &fps);
  if (rows.empty()) throw Error(a.in + ": no video frames");
  const size_t n_rows = rows.size();
  const std::vector<double> strengths = {-s, -s / 2, 0, s / 2, s};
  const int th = 256, tw = std::max(1, rows[0].width() * th / std::max(1, rows[0].height()));
  ImageRGB8 sheet(tw * static_cast<int>(strengths.size()), th * static_cast<int>(n_rows), 0);
  // One engine (one model load) for the sheet; every tile is a fresh one-frame stream.
  EngineOptions o = options;
  if (fps > 0) o.frame_rate = fps;
  Engine engine(o, {m});
  for (size_t c = 0; c < strengths.size(); ++c) {
    for (size_t r = 0; r < n_rows; ++r) {
      engine.reset();
      const ImageRGB8 edited = engine.process(rows[r], {strengths[c]});
      const ImageRGB8 tile = pil_resize_lanczos(edited, tw, th);
      for (int y = 0; y < th; ++y)
        std::memcpy(sheet.pixel(static_cast<int>(c) * tw, static_cast<int>(r) * th + y), tile.row(y), 3 * size_t(tw));
    }
  }
  save_png(a.preview, sheet);
  fmt::print("wrote {}: {} frames x strengths", a.preview, n_rows);
  for (double v : strengths) fmt::print(" {:g}", v);
  fmt::print("\n");
}

void render(const RenderCommand& a) {
  if (!a.preview.empty()) {
    check_output(a.in, a.preview, true, "--preview");
  } else {
    check_output(a.in, a.out, a.overwrite, "OUT");
  }
  // A segment: its frames from the input's index, before any model is loaded.
  std::optional<VideoIndex> frames_index;
  SegmentRange range;
  std::optional<SegmentNumber> seg;
  if (!a.segment.empty()) {
    seg = parse_segment(a.segment);
    if (!a.preview.empty() || a.max_frames >= 0) throw Error("--segment renders a segment; it takes no --preview or --frames");
    frames_index = index_video(a.in);
    range = segment_ranges(frames_index->frames(), frames_index->keyframes, seg->count, a.preroll)[static_cast<size_t>(seg->index - 1)];
  }
  // Who gets which edit: checked (options, list file, photos, micromotions) before a model loads.
  const EditList list = render_edit_list(a.edit);
  if (!a.preview.empty() && (list.edits.size() != 1 || !list.people.empty()))
    throw Error("--preview shows one edit for everyone at strengths -s..+s: it takes no --person or several "
                "--edit, nor an edit list with people or several edits (this one has " +
                std::to_string(list.people.size()) + " people and " + std::to_string(list.edits.size()) + " edits)");
  SignalScope signals;  // from here a signal never leaves a partial file behind
  EngineOptions engine_opts = engine_options(a.edit, 0);
  ResolvedEdits resolved = render_edits(a.edit, list, engine_opts);
  std::vector<StrengthExpression> strengths;
  for (const std::string& text : resolved.strengths) strengths.emplace_back(text);
  const size_t n_edits = strengths.size();
  // How the summary and the warnings name edit i: its micromotion, and its person.
  std::vector<std::string> edit_names;
  for (size_t i = 0; i < n_edits; ++i)
    edit_names.push_back((list.edits[i].person.empty() ? "" : list.edits[i].person + "/") + resolved.motions[i].name);
  if (!a.preview.empty()) {
    preview(a, engine_opts, resolved.motions[0], strengths[0](0, 0));
    return;
  }
  std::vector<std::string> motion_names;
  for (const Micromotion& m : resolved.motions) motion_names.push_back(m.name);
  Engine engine(engine_opts, std::move(resolved.motions));

  // Frames go to the engine as they are decoded (add) and come back in order once the
  // keyframes they are interpolated between are there (take; with keyframe_every 1 at once). An
  // engine error belongs to its frame: that frame is kept unedited (the transcoder warns).
  std::map<int64_t, EditedFrame> taken;         // frames taken, by index
  std::deque<int64_t> order;                    // frames submitted, not yet received
  std::map<int64_t, std::vector<double>> frame_strengths;  // per frame held: its strengths
  int64_t frames_with_faces = 0, frames_edited_or_not = 0, non_finite_frames = 0;
  std::vector<int64_t> non_finite(n_edits, 0);  // per edit: frames where its strength was not finite
  std::map<int, int64_t> track_frames;  // per face track: the frames it was edited in
  std::map<int, std::string> track_person;
  std::string first_failure;
  FrameEditor editor;
  std::vector<double> strength_min(n_edits, INFINITY), strength_max(n_edits, -INFINITY);  // over the frames written
  auto take = [&] {
    while (std::optional<TakenFrame> t = engine.take()) {
      EditedFrame e;
      e.index = t->tag;
      e.error = t->error;
      const std::vector<double> st = std::move(frame_strengths[t->tag]);
      frame_strengths.erase(t->tag);
      if (!e.error.empty()) {
        if (first_failure.empty()) first_failure = e.error;
      } else if (!seg || t->tag >= range.begin) {  // a segment's pre-roll frames are not written
        ++frames_edited_or_not;
        for (size_t i = 0; i < n_edits; ++i) {
          strength_min[i] = std::min(strength_min[i], st[i]);
          strength_max[i] = std::max(strength_max[i], st[i]);
        }
        if (t->report.faces_edited > 0) ++frames_with_faces;
        for (const FaceReport& f : t->report.faces) {
          ++track_frames[f.track_id];
          if (!f.person.empty()) track_person[f.track_id] = f.person;
        }
      }
      taken[e.index] = std::move(e);
    }
  };
  editor.submit = [&](NativeFrame& frame, int64_t index, double seconds, double pts) {
    order.push_back(index);
    std::vector<double> st(n_edits);
    bool any_non_finite = false;
    for (size_t i = 0; i < n_edits; ++i) {
      // The non-finite rule (strength_expression.h), per edit: such a frame gets strength 0
      // for that edit; warned once per edit.
      const StrengthExpression::Evaluation v = strengths[i].evaluate(seconds, index, pts);
      st[i] = v.value;
      if (!v.non_finite) continue;
      any_non_finite = true;
      if (non_finite[i]++ == 0)
        std::fprintf(stderr, "micromotion: warning: the strength '%s'%s is not a finite number at %.3f s (frame %lld); "
                     "such frames get strength 0 (no micromotion)\n", strengths[i].text().c_str(),
                     n_edits > 1 ? (" of " + list.edits[i].where + " (" + edit_names[i] + ")").c_str() : "", seconds,
                     static_cast<long long>(index));
    }
    if (any_non_finite && (!seg || index >= range.begin)) ++non_finite_frames;
    frame_strengths[index] = st;
    try {
      engine.add(frame, st, index);
    } catch (const std::exception& ex) {  // the engine refused the frame itself: it stays as it came
      frame_strengths.erase(index);
      EditedFrame e;
      e.index = index;
      e.error = ex.what();
      if (first_failure.empty()) first_failure = e.error;
      taken[index] = std::move(e);
    }
    take();
  };
  editor.receive = [&](bool) -> std::optional<EditedFrame> {
    take();
    if (order.empty()) return std::nullopt;
    const auto it = taken.find(order.front());
    if (it == taken.end()) return std::nullopt;  // held for the keyframe after it
    EditedFrame e = std::move(it->second);
    taken.erase(it);
    order.pop_front();
    return e;
  };
  editor.finish = [&] { engine.flush(); };

  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  auto progress = [&](const TranscodeProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool done = p.frames_total > 0 && p.frames_done >= p.frames_total;
    if (a.quiet || (now - last < std::chrono::milliseconds(500) && !done)) return;
    last = now;
    const double el = std::chrono::duration<double>(now - t0).count();
    const double fps = el > 0 ? p.frames_done / el : 0;
    if (p.frames_total > 0) {
      const double eta = fps > 0 ? (p.frames_total - p.frames_done) / fps : 0;
      std::fprintf(stderr, "\rframe %lld/%lld  %.2f fps  ETA %.0f s   ", static_cast<long long>(p.frames_done),
                   static_cast<long long>(p.frames_total), fps, eta);
    } else {
      std::fprintf(stderr, "\rframe %lld  %.2f fps   ", static_cast<long long>(p.frames_done), fps);
    }
  };
  PartialOutput partial(a.out);
  signals.start_rendering();
  TranscodeOptions options;
  options.codec = a.edit.codec;
  options.crf = a.edit.crf;
  options.max_frames = a.max_frames;
  options.write_path = partial.path().string();
  if (frames_index) {
    options.index = &*frames_index;
    options.segment = range;
  }
  const TranscodeResult r = transcode(a.in, a.out, options, editor, signals.stop(), progress);
  if (r.frames > 0 && r.failed_edits == r.frames)
    throw Error("the edit failed on every frame (first: " + first_failure + "); " + a.out + " not written");
  // A segment is all or nothing: merge would find the missing frames, the farm re-renders it.
  if (seg && r.interrupted) throw Error("interrupted; segment " + a.segment + " not written (" + a.out + ")");
  if (seg && r.frames != range.end - range.begin && r.skipped == 0)
    throw Error("segment " + a.segment + " has " + std::to_string(r.frames) + " frames, not " +
                std::to_string(range.end - range.begin) + "; not written");
  partial.commit();
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet) std::fprintf(stderr, "\n");
  std::string notes;
  if (r.rotation) notes += fmt::format(", edited as displayed (turned {} degrees)", r.rotation);
  if (r.resized) notes += fmt::format(", {} frames scaled to the first size", r.resized);
  if (r.skipped) notes += fmt::format(", {} damaged frames skipped", r.skipped);
  if (non_finite_frames)
    notes += n_edits > 1 ? fmt::format(", {} frames with an edit at strength 0 (its strength not a finite number)",
                                       non_finite_frames)
                         : fmt::format(", {} frames at strength 0 (strength not a finite number)", non_finite_frames);
  if (r.failed_edits) notes += fmt::format(", {} frames kept unedited (edit failed)", r.failed_edits);
  if (!r.read_error.empty()) notes += ", input ended early on a read error";
  if (seg)
    notes += fmt::format(", segment {}/{}: frames {}-{} after {} pre-roll frames", seg->index, seg->count, range.begin,
                         range.end - 1, range.begin - range.preroll_begin);
  if (r.converted) notes += fmt::format(", edited as {}", r.pixel_format);
  for (size_t i = 0; i < n_edits; ++i) {
    const std::string who = n_edits > 1 ? " " + edit_names[i] : "";
    if (strength_min[i] == strength_max[i]) notes += fmt::format(", strength{} {:g}", who, strength_min[i]);
    else if (strength_min[i] < strength_max[i])
      notes += fmt::format(", strength{} {:g} to {:g}", who, strength_min[i], strength_max[i]);
  }
  std::string motions;
  for (const std::string& name : motion_names) motions += (motions.empty() ? "'" : ", '") + name + "'";
  fmt::print("wrote {}: {} frames ({}{}), faces edited in {}, {} {}, {:.2f} fps{}{}\n", a.out, r.frames, r.video_codec,
             r.lossless ? ", lossless" : "", frames_with_faces, n_edits > 1 ? "micromotions" : "micromotion", motions,
             el > 0 ? r.frames / el : 0.0, notes, r.interrupted ? " (interrupted: file finished early)" : "");
  // Per face track, the frames it was edited in, of the frames written (and whose it is).
  if (track_frames.empty()) fmt::print("no face was edited\n");
  for (const auto& [track, n] : track_frames) {
    std::string whose;
    if (!list.people.empty()) {
      const auto p = track_person.find(track);
      whose = p == track_person.end() ? " (no person)" : " (" + p->second + ")";
    }
    fmt::print("track {}{}: edited in {} of {} frames\n", track, whose, n, frames_edited_or_not);
  }
}

}  // namespace

void add_render(CLI::App& app) {
  auto* cmd = app.add_subcommand("render", "Apply micromotions to the faces of a video: one for everyone, or per person (docs/edits.md); libav* decode/encode");
  auto a = std::make_shared<RenderCommand>();
  cmd->add_option("IN", a->in, "input video")->required();
  cmd->add_option("OUT", a->out,
                  "output video (container from the extension); written beside OUT and renamed when complete, "
                  "never the input");
  cmd->add_flag("-y,--overwrite", a->overwrite, "replace OUT if it exists");
  add_render_options(*cmd, a->edit);
  cmd->add_option("--frames", a->max_frames, "stop after this many frames");
  cmd->add_option("--segment", a->segment,
                  "render only the I-th of N segments (I/N, 1-based) of the video, into OUT without the other "
                  "streams; join the segments with `micromotion merge`");
  cmd->add_option("--preroll", a->preroll,
                  "with --segment: frames before the segment run through the engine first, not written, so "
                  "tracking, smoothing and the warm start settle")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--preview", a->preview, "write a contact sheet (frames x strengths -s..+s) and exit");
  cmd->add_flag("--quiet", a->quiet, "no progress line");
  cmd->callback([a] {
    if (a->preview.empty() && a->out.empty()) throw Error("render: OUT is required (or --preview SHEET.png)");
    render(*a);
  });
}

}  // namespace micromotion::cli
