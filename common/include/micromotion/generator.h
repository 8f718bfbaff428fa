// micromotion/generator.h — StyleGAN2 (rosinality layout) for inference.
//
// The network is the one of the official `stylegan2-ffhq-config-f.pt` (rosinality's
// conversion) and of the decoders inside ReStyle / pSp / e4e checkpoints. Its shape
// (resolution, channel widths, style dimension, mapping depth, number of W+ rows) is
// read from the tensors; nothing assumes 1024/512/18.
//
// Generator::from_state_dict
//   requires: `sd` holds the generator's tensors with rosinality key names
//             (style.K.*, input.input, conv1.*, to_rgb1.*, convs.N.*, to_rgbs.N.*,
//             noises.noise_N), without any "g_ema." / "decoder." prefix.
//   ensures:  a generator on options.device computing in options.dtype (fp32 or bf16;
//             mapping, modulation, demodulation and the RGB skip stay fp32).
//   throws:   micromotion::Error naming the missing key or the inconsistent shape, or
//             check_dtype's error (bf16 on a CPU without AVX-512) before any other work.
// Generator::load
//   requires: a stylegan2 checkpoint: {'g_ema': state dict, ['latent_avg']}.
//   throws:   Error naming the file and what was found instead (e.g. an encoder
//             checkpoint, a direction tensor).
// mapping(z)          [B, style] -> w [B, style] (PixelNorm + n_mlp EqualLinear, lr 0.01).
// mean_latent(n, s)   mean of mapping(randn(n, style)) drawn with seed s, as the
//                     reference's g.mean_latent(n) after torch.manual_seed(s) — [1, style].
// truncate(w, psi, m) m + psi (w - m); w is [B, style] or [B, n_latent, style].
// broadcast(w)        [B, style] -> [B, n_latent, style] (one code for every layer).
// synthesize(w+, o)   [B, n_latent, style] -> image [B, 3, R, R] float32 NCHW in the
//                     generator's raw range (about [-1, 1], unclamped), R = o.stop_at or
//                     the full resolution. stop_at must be one of the ToRGB resolutions
//                     (4, 8, ..., resolution); it returns the RGB skip right after that ToRGB.
#pragma once

#include <micromotion/checkpoint.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace micromotion {

struct GeneratorConfig {
  int resolution = 1024;
  int style_dim = 512;
  int n_mlp = 8;
  std::vector<int> channels;  // channels[k] = width at resolution 4 << k, k = 0..log2(R)-2

  int log_size() const;       // log2(resolution)
  int n_latent() const;       // W+ rows: 2 log2(R) - 2
  int num_layers() const;     // noise inputs: 2 log2(R) - 3
  int channels_at(int res) const;
  std::string describe() const;

  // Official config-f: 1024, 512, 8 mapping layers, channel_multiplier 2.
  static GeneratorConfig config_f(int resolution = 1024, int style_dim = 512, int n_mlp = 8,
                                  int channel_multiplier = 2);
  // Read from tensor shapes; throws Error naming the key that is missing or inconsistent.
  static GeneratorConfig infer(const TensorMap& sd);
};

enum class NoiseMode { Stored, Random };

struct SynthesisOptions {
  int stop_at = 0;                 // 0: full resolution
  NoiseMode noise = NoiseMode::Stored;
  uint64_t seed = 0;               // for NoiseMode::Random
};

struct GeneratorOptions {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::kFloat;  // kFloat or kBFloat16
};

class Generator {
 public:
  static Generator from_state_dict(const TensorMap& sd, const GeneratorOptions& options = {});
  static Generator load(const std::string& path, const GeneratorOptions& options = {});
  // Random weights shaped like the reference's initialisation (for benchmarks and test models).
  static TensorMap random_state_dict(const GeneratorConfig& config, uint64_t seed);

  Generator(Generator&&) noexcept;
  Generator& operator=(Generator&&) noexcept;
  ~Generator();

  const GeneratorConfig& config() const;
  const GeneratorOptions& options() const;
  // The checkpoint's latent_avg [1, style] when the file had one.
  const std::optional<at::Tensor>& latent_avg() const;

  at::Tensor mapping(const at::Tensor& z) const;
  at::Tensor mean_latent(int n = 4096, uint64_t seed = 0) const;
  static at::Tensor truncate(const at::Tensor& w, double psi, const at::Tensor& mean);
  at::Tensor broadcast(const at::Tensor& w) const;
  at::Tensor synthesize(const at::Tensor& wplus, const SynthesisOptions& options = {}) const;

  // Resolutions at which synthesis may stop (every ToRGB).
  std::vector<int> exit_resolutions() const;

 private:
  struct Impl;
  explicit Generator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Ensures the device exists in this build and on this machine; throws Error otherwise
// ("CUDA requested but this LibTorch has no CUDA", "cuda:3 does not exist: 1 device").
void check_device(const c10::Device& device);
// Parses "cpu", "cuda", "cuda:N"; throws Error on anything else.
c10::Device parse_device(const std::string& text);
// Parses "fp32" / "float32" and "bf16" / "bfloat16", and "auto": auto_dtype(device).dtype (a
// short measurement the first time on a machine, see below); throws Error on anything else.
c10::ScalarType parse_dtype(const std::string& text, const c10::Device& device = c10::kCPU);
// Whether `device` can run the networks in bf16. CPU: LibTorch 1.13's oneDNN bf16
// convolutions need AVX-512 BW + VL + DQ and throw mid-forward without them (the same
// test as ATen's mkldnn_bf16_device_check); CUDA: yes.
bool bf16_supported(const c10::Device& device);
// requires: nothing.
// ensures:  returns when a network on `device` can compute in `dtype` (fp32 anywhere,
//           bf16 where bf16_supported(device)).
// throws:   Error on any other dtype, and on bf16 where unsupported, naming the
//           requirement and the fix ("bf16 needs a CPU with AVX-512 ...: use dtype fp32").
//           Generator and Encoder call it before reading or converting any weight.
void check_dtype(const c10::Device& device, c10::ScalarType dtype);

// ------------------------------------------------------------------ dtype auto
//
// dtype "auto" picks bf16 only where bf16_supported(device) AND a short probe (3x3 convolutions
// of a StyleGAN-like layer, 512 -> 512 channels at 32x32, channels-last, fp32 against bf16; a
// few tenths of a second at most) finds bf16 at least kAutoBf16MinSpeedup times as fast; else fp32.
// Without bf16 support nothing is measured. Only CPUs are probed: other devices get fp32.
// The measured rates are cached per machine in a small text file (auto_dtype_cache_file()),
// keyed by the CPU's model name + LibTorch version + thread count, and per process in memory.
// The file is bounded (kAutoDtypeCacheMaxBytes) and validated line by line; one that is
// unreadable, too big or malformed is ignored and rewritten (atomically: temporary + rename),
// and a decision is always recomputed from the cached rates, never read as such.
// MICROMOTION_DTYPE_CACHE=off disables the file (the memory cache stays).

constexpr double kAutoBf16MinSpeedup = 1.15;
constexpr std::size_t kAutoDtypeCacheMaxBytes = 16 * 1024;

struct DtypeDecision {
  c10::ScalarType dtype = c10::kFloat;  // kFloat or kBFloat16
  bool bf16_supported = false;
  bool measured = false;     // rates below are set (by the probe now, or from the cache file)
  bool from_cache = false;   // rates read from the cache file rather than measured now
  double fp32_gmacs = 0;     // conv rate of the probe, GMAC/s
  double bf16_gmacs = 0;
  double probe_seconds = 0;  // time spent measuring now (0 when cached or not measured)
  std::string reason;        // "bf16 not supported on this CPU", "1.9x faster than fp32", ...
  // "dtype auto: fp32 (bf16 not supported on this CPU)", "dtype auto: bf16 (1.90x faster
  // than fp32: 210 vs 110 GMAC/s, cached)".
  std::string describe() const;
};

struct AutoDtypeOptions {
  // The cache file: empty = none (no reading, no writing).
  std::string cache_file;
  // Tests: stands in for bf16_supported(device) / for the measurement (returns {fp32, bf16}
  // GMAC/s).
  std::optional<bool> bf16_supported;
  std::function<std::pair<double, double>()> probe;
};

// $MICROMOTION_DTYPE_CACHE=off: "" (no file); else $XDG_CACHE_HOME/micromotion/dtype-auto.txt,
// else $HOME/.cache/micromotion/dtype-auto.txt, else "" (no home).
std::string auto_dtype_cache_file();
// The cache key of this machine and process: "<CPU model name>|libtorch <version>|<N> threads".
std::string auto_dtype_cache_key();
// The decision for `device`, uncached in memory (reads / writes options.cache_file).
// Never throws: a failing probe gives fp32 with the failure as reason.
DtypeDecision decide_auto_dtype(const c10::Device& device, const AutoDtypeOptions& options);
// The decision for `device` with the default cache file, made once per process (per device
// and thread count); thread-safe. What parse_dtype("auto") uses.
const DtypeDecision& auto_dtype(const c10::Device& device = c10::kCPU);

}  // namespace micromotion
