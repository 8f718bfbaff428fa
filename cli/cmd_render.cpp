// `micromotion render`: apply a micromotion to every face of a video.
#include "commands.h"
#include "video_transcoder.h"

#include <micromotion/engine.h>
#include <micromotion/error.h>
#include <micromotion/ffhq_align.h>
#include <micromotion/strength_expression.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>

namespace micromotion::cli {

namespace {

namespace fs = std::filesystem;

// Signals (SIGINT, SIGTERM). While the models load nothing is open for writing: the process
// ends at once. While rendering, the first signal finishes the file early (g_stop); a second
// one removes the temporary output and ends the process. Only async-signal-safe calls here.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_rendering{false};
char g_partial[4096] = {};  // the temporary output, removed on a hard stop
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");
extern "C" void on_signal(int sig) {
  if (g_rendering.load() && !g_stop.exchange(true)) return;
  if (g_partial[0]) unlink(g_partial);
  static const char msg[] = "\nmicromotion: interrupted; the output was not written\n";
  const ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  _exit(128 + sig);
}

// Installs on_signal for SIGINT and SIGTERM for its lifetime.
class SignalScope {
 public:
  SignalScope() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~SignalScope() {
    for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &old_[i], nullptr);
    g_rendering.store(false);
    g_partial[0] = 0;
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};
  struct sigaction old_[2] {};
};

// OUT must not be IN (by any name: ./a and a, a hard link, a symbolic link), and an existing OUT
// is replaced only when asked. Checked before anything is opened for writing.
void check_output(const std::string& in, const std::string& out, bool overwrite, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (ec || !fs::exists(st)) return;
  if (fs::equivalent(in, out, ec) && !ec)
    throw Error(what + " " + out + " is the input " + in + " itself; render never writes over its input");
  if (!overwrite) throw Error(what + " " + out + " exists; pass --overwrite (-y) to replace it");
  if (fs::is_directory(fs::status(out, ec))) throw Error(what + " " + out + " is a directory");
}

// The output is written to a hidden file beside OUT (same directory, so the rename is atomic
// and never crosses file systems) and renamed over OUT once complete. Until commit() the
// destructor removes it, so an error or exception leaves OUT as it was. A symbolic link OUT is
// followed: its target is replaced.
class PartialOutput {
 public:
  explicit PartialOutput(const std::string& out) {
    std::error_code ec;
    final_ = fs::is_symlink(out, ec) ? fs::weakly_canonical(out) : fs::path(out);
    const fs::path dir = final_.has_parent_path() ? final_.parent_path() : fs::path(".");
    path_ = dir / ("." + final_.filename().string() + ".partial-" + std::to_string(getpid()));
    if (path_.string().size() >= sizeof g_partial) throw Error(out + ": path too long");
    std::snprintf(g_partial, sizeof g_partial, "%s", path_.c_str());  // before the file exists
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      g_partial[0] = 0;
      throw Error(out + ": cannot create " + path_.string() + " beside it: " + std::strerror(errno));
    }
    close(fd);
  }
  ~PartialOutput() {
    if (committed_) return;
    std::error_code ec;
    fs::remove(path_, ec);
  }
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;

  const fs::path& path() const { return path_; }
  void commit() {
    std::error_code ec;
    const fs::file_status old = fs::status(final_, ec);
    if (!ec && fs::exists(old)) fs::permissions(path_, old.permissions(), ec);  // a replaced file keeps its mode
    fs::rename(path_, final_);  // throws filesystem_error naming both paths
    committed_ = true;
  }

 private:
  fs::path final_, path_;
  bool committed_ = false;
};

struct RenderArgs {
  std::string in, out, anchor, strength, encoder = "restyle", faces = "all", mode = "replace", models, device = "cpu",
                                         dtype = "fp32", preview, codec;
  int iters = -1, warm_iters = 1, crf = -1, detect_every = EngineOptions().tracker.detect_every;
  double feather = EngineOptions().mask.feather;
  int64_t max_frames = -1;
  bool quiet = false, no_smooth = false, overwrite = false;
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
  constexpr int kRows = 4;
  std::vector<ImageRGB8> rows = sample_frames(a.in, kRows, a.max_frames, &fps);
  if (rows.empty()) throw Error(a.in + ": no video frames");
  const size_t n_rows = rows.size();
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
  if (!a.preview.empty()) {
    check_output(a.in, a.preview, true, "--preview");
  } else {
    check_output(a.in, a.out, a.overwrite, "OUT");
  }
  SignalScope signals;  // from here a signal never leaves a partial file behind
  Micromotion m = find_micromotion(a.anchor, a.models);
  const StrengthExpression strength(a.strength.empty() ? fmt::format("{}", m.default_strength) : a.strength);
  if (!a.preview.empty()) {
    preview(a, m, strength(0, 0));
    return;
  }
  Engine engine(engine_options(a, 0), {m});

  // Frames are edited one at a time as they are submitted, so an engine error belongs to its
  // frame: that frame is kept unedited (the transcoder warns) and the next one is tried.
  std::deque<EditedFrame> edited;
  int64_t frames_with_faces = 0, non_finite_frames = 0;
  std::string first_failure;
  FrameEditor editor;
  editor.submit = [&](ImageRGB8&& img, int64_t index, double seconds) {
    EditedFrame e;
    e.index = index;
    try {
      FrameReport report;
      // The non-finite rule (strength_expression.h): such a frame gets strength 0; warned once.
      const StrengthExpression::Evaluation st = strength.evaluate(seconds, index);
      if (st.non_finite && non_finite_frames++ == 0)
        std::fprintf(stderr, "micromotion: warning: the strength '%s' is not a finite number at %.3f s (frame %lld); "
                     "such frames get strength 0 (no micromotion)\n", strength.text().c_str(), seconds, static_cast<long long>(index));
      ImageRGB8 out = engine.process(img, {st.value}, &report);
      e.unchanged = report.faces_edited == 0;
      if (!e.unchanged) {
        e.image = std::move(out);
        ++frames_with_faces;
      }
    } catch (const std::exception& ex) {
      e.error = ex.what();
      if (first_failure.empty()) first_failure = e.error;
    }
    edited.push_back(std::move(e));
  };
  editor.receive = [&](bool) -> std::optional<EditedFrame> {
    if (edited.empty()) return std::nullopt;
    EditedFrame e = std::move(edited.front());
    edited.pop_front();
    return e;
  };
  editor.finish = [] {};

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
  g_stop.store(false);
  g_rendering.store(true);
  TranscodeOptions options{a.codec, a.crf, a.max_frames, partial.path().string()};
  const TranscodeResult r = transcode(a.in, a.out, options, editor, &g_stop, progress);
  if (r.frames > 0 && r.failed_edits == r.frames)
    throw Error("the edit failed on every frame (first: " + first_failure + "); " + a.out + " not written");
  partial.commit();
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet) std::fprintf(stderr, "\n");
  std::string notes;
  if (r.rotation) notes += fmt::format(", edited as displayed (turned {} degrees)", r.rotation);
  if (r.resized) notes += fmt::format(", {} frames scaled to the first size", r.resized);
  if (r.skipped) notes += fmt::format(", {} damaged frames skipped", r.skipped);
  if (non_finite_frames) notes += fmt::format(", {} frames at strength 0 (strength not a finite number)", non_finite_frames);
  if (r.failed_edits) notes += fmt::format(", {} frames kept unedited (edit failed)", r.failed_edits);
  if (!r.read_error.empty()) notes += ", input ended early on a read error";
  fmt::print("wrote {}: {} frames ({}{}), faces edited in {}, micromotion '{}', {:.2f} fps{}{}\n", a.out, r.frames,
             r.video_codec, r.lossless ? ", lossless" : "", frames_with_faces, m.name, el > 0 ? r.frames / el : 0.0,
             notes, r.interrupted ? " (interrupted: file finished early)" : "");
}

}  // namespace

void add_render(CLI::App& app) {
  auto* cmd = app.add_subcommand("render", "Apply a micromotion to every face of a video (libav* decode/encode)");
  auto a = std::make_shared<RenderArgs>();
  cmd->add_option("IN", a->in, "input video")->required();
  cmd->add_option("OUT", a->out,
                  "output video (container from the extension); written beside OUT and renamed when complete, "
                  "never the input");
  cmd->add_flag("-y,--overwrite", a->overwrite, "replace OUT if it exists");
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
