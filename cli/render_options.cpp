// The render settings (see render_options.h).
#include "render_options.h"

#include <micromotion/ffhq_align.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <filesystem>

namespace micromotion::cli {

namespace fs = std::filesystem;

void add_render_options(CLI::App& cmd, RenderArgs& a) {
  cmd.add_option("--anchor", a.anchor, "micromotion: aging, angry, eyesClose, headsTurn, smile, or a file")->required();
  cmd.add_option("--strength", a.strength,
                 "strength: a number or an expression in t (seconds) and n (frame), e.g. '5*t/4' "
                 "(default: the micromotion's, 5)");
  cmd.add_option("--encoder", a.encoder, "restyle | e4e | psp | checkpoint path");
  cmd.add_option("--iters", a.iters, "ReStyle steps for a new face (default: the checkpoint's, 5)");
  cmd.add_option("--warm-iters", a.warm_iters, "ReStyle steps per frame once a face is tracked");
  cmd.add_option("--faces", a.faces, "all | largest")->check(CLI::IsMember({"all", "largest"}));
  cmd.add_option("--mode", a.mode, "replace | delta (frame + G(w') - G(w))")->check(CLI::IsMember({"replace", "delta"}));
  cmd.add_option("--feather", a.feather, "soft edge of the face mask, fraction of the face size")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  cmd.add_option("--detect-every", a.detect_every, "full-frame face detection every N frames (tracked in between)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd.add_flag("--no-smooth", a.no_smooth, "do not smooth landmarks over time");
  cmd.add_option("--models", a.models, "models directory (before $MICROMOTION_MODELS and the data dirs)");
  cmd.add_option("--device", a.device, "cpu | cuda | cuda:N");
  cmd.add_option("--dtype", a.dtype, "fp32 | bf16");
  cmd.add_option("--codec", a.codec, "video encoder (default: the input's codec)");
  cmd.add_option("--crf", a.crf, "quality for x264/x265/vpx (default: 18; lossless inputs stay lossless)");
}

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

std::vector<std::string> render_arguments(const RenderArgs& a) {
  auto absolute = [](const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); };
  const bool anchor_is_path = a.anchor.find('/') != std::string::npos || a.anchor.find('.') != std::string::npos;
  const bool encoder_is_path = a.encoder != "restyle" && a.encoder != "e4e" && a.encoder != "psp";
  std::vector<std::string> v = {"--anchor", anchor_is_path ? absolute(a.anchor) : a.anchor,
                                "--encoder", encoder_is_path ? absolute(a.encoder) : a.encoder,
                                "--warm-iters", std::to_string(a.warm_iters),
                                "--faces", a.faces,
                                "--mode", a.mode,
                                "--feather", fmt::format("{:.17g}", a.feather),
                                "--detect-every", std::to_string(a.detect_every),
                                "--device", a.device,
                                "--dtype", a.dtype};
  auto add = [&v](const char* name, const std::string& value) {
    v.push_back(name);
    v.push_back(value);
  };
  if (a.no_smooth) v.push_back("--no-smooth");
  if (!a.strength.empty()) add("--strength", a.strength);
  if (a.iters >= 0) add("--iters", std::to_string(a.iters));
  if (!a.models.empty()) add("--models", absolute(a.models));
  if (!a.codec.empty()) add("--codec", a.codec);
  if (a.crf >= 0) add("--crf", std::to_string(a.crf));
  return v;
}

}  // namespace micromotion::cli
