// `micromotion render`: apply a micromotion to every face of a video.
#include "commands.h"
#include "video_transcoder.h"

#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/strength_expression.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

namespace micromotion::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_interrupt(int) { g_stop.store(true); }

struct RenderArgs {
  std::string in, out, anchor, strength, encoder = "restyle", faces = "all", mode = "replace", models, device = "cpu",
                                         dtype = "fp32", preview, codec;
  int iters = -1, warm_iters = 1, crf = -1, detect_every = EngineOptions().tracker.detect_every;
  double feather = EngineOptions().mask.feather;
  int64_t max_frames = -1;
  bool quiet = false, no_smooth = false;
};

EngineOptions engine_options(const RenderArgs& a, double fps) {
  EngineOptions o;
  o.models_dir = a.models;
  o.encoder = a.encoder;
  o.iterations = a.iters;
  o.warm_iterations = a.warm_iters;
  o.faces = parse_face_selection(a.faces);
  o.mode = parse_edit_mode(a.mode);
  o.device = a.device;
  o.dtype = a.dtype;
  o.mask.feather = a.feather;
  o.tracker.detect_every = a.detect_every;
  o.smooth_landmarks = !a.no_smooth;
  if (fps > 0) o.frame_rate = fps;
  return o;
}

// A sheet of a few frames (rows) x strengths -s .. +s (columns), each tile 256 px high.
void preview(const RenderArgs& a, const Micromotion& m, double s) {
  double fps = 0;
  std::vector<ImageRGB8> all = decode_frames(a.in, 1, a.max_frames > 0 ? a.max_frames : 100000, &fps);
  if (all.empty()) throw Error(a.in + ": no video frames");
  std::vector<ImageRGB8> rows;
  const size_t n_rows = std::min<size_t>(4, all.size());
  for (size_t r = 0; r < n_rows; ++r) rows.push_back(all[r * all.size() / n_rows]);
  const std::vector<double> strengths = {-s, -s / 2, 0, s / 2, s};
  const int th = 256, tw = std::max(1, rows[0].width() * th / std::max(1, rows[0].height()));
  ImageRGB8 sheet(tw * static_cast<int>(strengths.size()), th * static_cast<int>(n_rows), 0);
  // One engine (one model load) for the sheet; every tile is a fresh one-frame stream.
  Engine engine(engine_options(a, fps), {m});
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

void render(const RenderArgs& a) {
  Micromotion m = find_micromotion(a.anchor, a.models);
  const StrengthExpression strength(a.strength.empty() ? fmt::format("{}", m.default_strength) : a.strength);
  if (!a.preview.empty()) {
    preview(a, m, strength(0, 0));
    return;
  }
  // Ctrl-C from here on (model loading included) finishes the file instead of killing it.
  g_stop.store(false);
  auto old_handler = std::signal(SIGINT, on_interrupt);
  struct Restore {
    void (*handler)(int);
    ~Restore() { std::signal(SIGINT, handler); }
  } restore{old_handler};
  Engine engine(engine_options(a, 0), {m});
  FrameEditor editor;
  editor.submit = [&](ImageRGB8&& img, int64_t index, double seconds) {
    EngineFrame f;
    f.image = std::move(img);
    f.strengths = {strength(seconds, index)};
    f.tag = index;
    engine.submit(std::move(f));
  };
  editor.receive = [&](bool wait) -> std::optional<EditedFrame> {
    auto f = engine.receive(wait);
    if (!f) return std::nullopt;
    EditedFrame e;
    e.index = f->tag;
    e.unchanged = f->report.faces_edited == 0;
    e.image = std::move(f->image);
    return e;
  };
  editor.finish = [&] { engine.finish(); };

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
  const TranscodeResult r =
      transcode(a.in, a.out, TranscodeOptions{a.codec, a.crf, a.max_frames}, editor, &g_stop, progress);
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet) std::fprintf(stderr, "\n");
  fmt::print("wrote {}: {} frames ({}{}), micromotion '{}', {:.2f} fps{}\n", a.out, r.frames, r.video_codec,
             r.lossless ? ", lossless" : "", m.name, el > 0 ? r.frames / el : 0.0,
             r.interrupted ? " (interrupted: file finished early)" : "");
}

}  // namespace

void add_render(CLI::App& app) {
  auto* cmd = app.add_subcommand("render", "Apply a micromotion to every face of a video (libav* decode/encode)");
  auto a = std::make_shared<RenderArgs>();
  cmd->add_option("IN", a->in, "input video")->required();
  cmd->add_option("OUT", a->out, "output video (container from the extension)");
  cmd->add_option("--anchor", a->anchor, "micromotion: aging, angry, eyesClose, headsTurn, smile, or a file")->required();
  cmd->add_option("--strength", a->strength,
                  "strength: a number or an expression in t (seconds) and n (frame), e.g. '5*t/4' "
                  "(default: the micromotion's, 5)");
  cmd->add_option("--encoder", a->encoder, "restyle | e4e | psp | checkpoint path");
  cmd->add_option("--iters", a->iters, "ReStyle steps for a new face (default: the checkpoint's, 5)");
  cmd->add_option("--warm-iters", a->warm_iters, "ReStyle steps per frame once a face is tracked");
  cmd->add_option("--faces", a->faces, "all | largest")->check(CLI::IsMember({"all", "largest"}));
  cmd->add_option("--mode", a->mode, "replace | delta (frame + G(w') - G(w))")->check(CLI::IsMember({"replace", "delta"}));
  cmd->add_option("--feather", a->feather, "soft edge of the face mask, fraction of the face size")
      ->check(CLI::Range(0.0, 0.5))->capture_default_str();
  cmd->add_option("--detect-every", a->detect_every, "full-frame face detection every N frames (tracked in between)")
      ->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_flag("--no-smooth", a->no_smooth, "do not smooth landmarks over time");
  cmd->add_option("--models", a->models, "models directory (before $MICROMOTION_MODELS and the data dirs)");
  cmd->add_option("--device", a->device, "cpu | cuda | cuda:N");
  cmd->add_option("--dtype", a->dtype, "fp32 | bf16");
  cmd->add_option("--codec", a->codec, "video encoder (default: the input's codec)");
  cmd->add_option("--crf", a->crf, "quality for x264/x265/vpx (default: 18; lossless inputs stay lossless)");
  cmd->add_option("--frames", a->max_frames, "stop after this many frames");
  cmd->add_option("--preview", a->preview, "write a contact sheet (frames x strengths -s..+s) and exit");
  cmd->add_flag("--quiet", a->quiet, "no progress line");
  cmd->callback([a] {
    if (a->preview.empty() && a->out.empty()) throw Error("render: OUT is required (or --preview SHEET.png)");
    render(*a);
  });
}

}  // namespace micromotion::cli
