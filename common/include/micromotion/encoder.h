// micromotion/encoder.h — GAN inversion: ReStyle-pSp, pSp and e4e encoders.
//
// An Encoder maps an FFHQ-aligned face (256x256, normalised (x/255 - 0.5)/0.5) to a W+
// latent of its StyleGAN2 decoder. Three networks of the official checkpoints, all on an
// IR-SE backbone (50 / 100 / 152 layers, read from the number of units):
//   BackboneEncoder      ReStyle-pSp: input_nc 6 = [face, current reconstruction]; refined
//                        iteratively, each step adds the encoder's output to the latent;
//   GradualStyleEncoder  pSp: one pass, encoder(face) [+ latent_avg];
//   Encoder4Editing      e4e: one pass, w0 + per-row deltas [+ latent_avg].
// Any of them with input_nc 6 runs as ReStyle, with input_nc 3 as one pass.
//
// Encoder::load
//   requires: an official-layout checkpoint {'state_dict': {encoder.*, decoder.*},
//             'latent_avg', 'opts'} (restyle_psp_ffhq_encode.pt, e4e_ffhq_encode.pt,
//             psp_ffhq_encode.pt). The kind of network comes from opts['encoder_type']
//             (or, without opts, from the keys); widths, depth, number of W+ rows and style
//             dimension come from tensor shapes.
//   ensures:  encoder and decoder (micromotion::Generator, from the same file's decoder.*)
//             on options.device computing in options.dtype; no second copy of the weights
//             is kept: each checkpoint tensor is released once converted.
//   throws:   micromotion::Error naming the file and what was found instead: a generator
//             checkpoint ('g_ema'), a bare tensor (a direction), a file without encoder.* or
//             decoder.* weights, an unknown encoder_type, inconsistent shapes, or any reader
//             error (missing, truncated, corrupt file); before opening the file,
//             check_dtype's error (bf16 on a CPU without AVX-512, see generator.h).
// Encoder::from_state_dict
//   Same from tensors already in memory (encoder keys without the "encoder." prefix);
//   the map is consumed. Used for random-weight models (benchmarks) and tests.
// Encoder::encode
//   requires: x [B, input_channels(), 256, 256] float32 (any device).
//   ensures:  the network's raw output [B, n_styles, style_dim] float32 (no latent_avg).
// Encoder::invert
//   requires: face [B, 3, 256, 256] float32, normalised as above; warm_start (optional)
//             holds a latent [B, n_styles, style_dim] and its reconstruction
//             [B, 3, 256, 256] (Inversion::warm_start() of the previous frame of the same
//             face track); options.iterations >= 0.
//   ensures:  ReStyle: starting from (latent_avg, average image) — or from warm_start —
//             `iterations` refinement steps exactly as the reference run_on_batch
//             (resize_outputs off); the decoder pass after the last step is skipped unless
//             options.reconstruct or options.on_iteration asks for it. The average image
//             is computed once per Encoder (always at the decoder's full resolution). One-pass
//             encoders ignore iterations and warm_start. Result tensors are float32 on the
//             encoder's device.
//             options.reconstruct_at R > 0 runs every reconstruction (the ones fed to the next
//             step, the final one, and Inversion::image) only up to the decoder's ToRGB at R
//             (SynthesisOptions::stop_at) and face_pools that to 256 as the reference does
//             (adaptive average pooling: a mean for R > 256, pixel replication for R < 256).
//             Latents and image256 then differ from the reference's trajectory by what the
//             layers above R add after pooling (small for R = 256 and a 1024 decoder, see
//             docs/performance.md "Cheaper keyframes"); 0 or the decoder's own resolution is
//             the reference, bit for bit.
//   throws:   Error on a wrong input shape; on a reconstruct_at that is neither 0 nor one of
//             decoder().exit_resolutions(), before any network runs.
// Encoder::average_image
//   ensures:  face_pool(decoder(latent_avg)) [1, 3, 256, 256], computed on first use only.
//             Thread-safe; the Encoder is otherwise immutable, so invert() may run from
//             several threads.
#pragma once

#include <micromotion/checkpoint.h>
#include <micromotion/generator.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace micromotion {

enum class EncoderKind { Backbone, GradualStyle, Encoder4Editing };

// The kind's name as in the checkpoints' opts.encoder_type ("BackboneEncoder", ...).
const char* encoder_type_name(EncoderKind kind);

struct EncoderConfig {
  EncoderKind kind = EncoderKind::Backbone;
  int input_channels = 6;          // 6: ReStyle; 3: one pass
  int num_layers = 50;             // IR-SE depth
  bool squeeze_excite = true;      // ir_se (true) or ir
  int64_t stem_width = 64;
  std::array<int64_t, 4> stage_widths{64, 128, 256, 512};
  int n_styles = 18;
  int64_t style_dim = 512;
  bool start_from_latent_avg = true;
  int default_iterations = 5;      // opts.n_iters_per_batch for ReStyle

  bool iterative() const { return input_channels == 6; }
  std::string describe() const;
};

// What a checkpoint's `opts` says about running the encoder (shapes say the rest).
struct EncoderSpec {
  EncoderKind kind = EncoderKind::Backbone;
  bool start_from_latent_avg = true;
  int default_iterations = 5;
};

struct EncoderOptions {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::kFloat;  // kFloat or kBFloat16 (weights kept in that dtype)
};

struct WarmStart {
  at::Tensor latent;  // [B, n_styles, style_dim]
  at::Tensor image;   // [B, 3, 256, 256]
};

struct InversionOptions {
  int iterations = -1;      // ReStyle steps; -1: the checkpoint's n_iters_per_batch
  bool reconstruct = true;  // decode the final latent
  // Resolution of every reconstruction: 0 = the decoder's full resolution (the reference);
  // else one of decoder().exit_resolutions() (e.g. 256): synthesis stops at that ToRGB and is
  // face_pooled to 256. Cheaper for a 1024 decoder; Inversion::image is then at this size.
  int reconstruct_at = 0;
  // Called after every ReStyle step k (from 0) with the latent and the 256x256
  // reconstruction fed to step k+1 (both float32).
  std::function<void(int k, const at::Tensor& latent, const at::Tensor& image)> on_iteration;
};

struct Inversion {
  at::Tensor latent;    // [B, n_styles, style_dim] float32
  at::Tensor image;     // decoder(latent) at the decoder's resolution, or at options.reconstruct_at
                        // when set (synthesis stopped at that ToRGB); undefined unless reconstructed
  at::Tensor image256;  // face_pool(image) [B, 3, 256, 256], what a ReStyle step is fed
  WarmStart warm_start() const { return {latent, image256}; }
};

class Encoder {
 public:
  static Encoder load(const std::string& path, const EncoderOptions& options = {});
  static Encoder from_state_dict(TensorMap&& encoder_sd, Generator decoder,
                                 std::optional<at::Tensor> latent_avg, const EncoderSpec& spec,
                                 const EncoderOptions& options = {},
                                 const std::string& name = "<memory>");
  // Random weights of the official full-size network of `kind` (IR-SE50, 512 wide) with
  // n_styles rows of style_dim, input_channels 6 or 3 (benchmarks, tests).
  static TensorMap random_state_dict(EncoderKind kind, int input_channels, int n_styles,
                                     int64_t style_dim, uint64_t seed);

  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  ~Encoder();

  const EncoderConfig& config() const;
  const EncoderOptions& options() const;
  const Generator& decoder() const;
  // [n_styles, style_dim] float32; undefined when the checkpoint has none.
  const at::Tensor& latent_avg() const;
  const at::Tensor& average_image() const;

  at::Tensor encode(const at::Tensor& x) const;
  Inversion invert(const at::Tensor& face, const std::optional<WarmStart>& warm_start = std::nullopt,
                   const InversionOptions& options = {}) const;

  // Multiply-accumulates of one encoder forward at 256x256 (benchmarks).
  double encoder_macs() const;

 private:
  struct Impl;
  explicit Encoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace micromotion
