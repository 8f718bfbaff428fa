// StyleGAN2 generator (rosinality layout): config from shapes, mapping, synthesis with
// early exit, fp32 / bf16.
#include <micromotion/error.h>
#include <micromotion/generator.h>
#include <micromotion/shape_text.h>

#include "nn/fir.h"
#include "nn/modulated_layers.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <cmath>
#include <sstream>

namespace micromotion {

namespace {

constexpr double kLrMlp = 0.01;  // mapping network learning-rate multiplier (rosinality default)

const at::Tensor& need(const TensorMap& sd, const std::string& key) {
  auto it = sd.find(key);
  if (it == sd.end()) throw Error("generator state dict has no '" + key + "'");
  return it->second;
}

const at::Tensor& need(const TensorMap& sd, const std::string& key, std::vector<int64_t> shape) {
  const at::Tensor& t = need(sd, key);
  if (t.sizes() != at::IntArrayRef(shape))
    throw Error("generator tensor '" + key + "' has shape " + shape_text(t.sizes()) + ", expected " +
                shape_text(shape));
  if (!t.is_floating_point()) throw Error("generator tensor '" + key + "' is not floating point");
  return t;
}

bool is_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

// ------------------------------------------------------------------ config

int GeneratorConfig::log_size() const {
  int l = 0;
  while ((1 << l) < resolution) ++l;
  return l;
}
int GeneratorConfig::n_latent() const { return log_size() * 2 - 2; }
int GeneratorConfig::num_layers() const { return (log_size() - 2) * 2 + 1; }
int GeneratorConfig::channels_at(int res) const {
  int k = 0;
  while ((4 << k) < res) ++k;
  if ((4 << k) != res || k >= static_cast<int>(channels.size()))
    throw Error("no layer at resolution " + std::to_string(res));
  return channels[k];
}

std::string GeneratorConfig::describe() const {
  std::ostringstream os;
  os << "StyleGAN2 " << resolution << "x" << resolution << ", style dim " << style_dim << ", mapping " << n_mlp
     << " layers, " << n_latent() << " W+ rows, channels {";
  for (size_t k = 0; k < channels.size(); ++k) os << (k ? ", " : "") << (4 << k) << ": " << channels[k];
  os << "}";
  return os.str();
}

GeneratorConfig GeneratorConfig::config_f(int resolution, int style_dim, int n_mlp, int channel_multiplier) {
  if (!is_pow2(resolution) || resolution < 4) throw Error("resolution must be a power of two >= 4");
  GeneratorConfig c;
  c.resolution = resolution;
  c.style_dim = style_dim;
  c.n_mlp = n_mlp;
  const int cm = channel_multiplier;
  for (int res = 4; res <= resolution; res *= 2) {
    int ch = 512;
    if (res == 64) ch = 256 * cm;
    if (res == 128) ch = 128 * cm;
    if (res == 256) ch = 64 * cm;
    if (res == 512) ch = 32 * cm;
    if (res >= 1024) ch = 16 * cm;
    c.channels.push_back(ch);
  }
  return c;
}

GeneratorConfig GeneratorConfig::infer(const TensorMap& sd) {
  GeneratorConfig c;
  const at::Tensor& s1 = need(sd, "style.1.weight");
  if (s1.dim() != 2 || s1.size(0) != s1.size(1))
    throw Error("generator tensor 'style.1.weight' has shape " + shape_text(s1.sizes()) + ", expected square");
  c.style_dim = static_cast<int>(s1.size(0));
  c.n_mlp = 0;
  while (sd.count("style." + std::to_string(c.n_mlp + 1) + ".weight")) ++c.n_mlp;
  int n_rgbs = 0;
  while (sd.count("to_rgbs." + std::to_string(n_rgbs) + ".conv.weight")) ++n_rgbs;
  if (n_rgbs > 12) throw Error("generator has more than 12 upsampling levels");
  c.resolution = 4 << n_rgbs;
  const at::Tensor& in = need(sd, "input.input");
  if (in.dim() != 4 || in.size(0) != 1 || in.size(2) != 4 || in.size(3) != 4)
    throw Error("generator tensor 'input.input' has shape " + shape_text(in.sizes()) + ", expected [1, C, 4, 4]");
  c.channels.push_back(static_cast<int>(in.size(1)));
  for (int k = 0; k < n_rgbs; ++k) {
    const at::Tensor& w = need(sd, "convs." + std::to_string(2 * k) + ".conv.weight");
    if (w.dim() != 5) throw Error("generator tensor 'convs." + std::to_string(2 * k) + ".conv.weight' is not 5-D");
    c.channels.push_back(static_cast<int>(w.size(1)));
  }
  return c;
}

// ------------------------------------------------------------------ devices

c10::Device parse_device(const std::string& text) {
  if (text == "cpu") return c10::kCPU;
  if (text == "cuda") return c10::Device(c10::kCUDA, 0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() < 9 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos)
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::stoi(text.substr(5))));
  throw Error("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
}

c10::ScalarType parse_dtype(const std::string& text, const c10::Device& device) {
  if (text == "fp32" || text == "float32" || text == "float") return c10::kFloat;
  if (text == "bf16" || text == "bfloat16") return c10::kBFloat16;
  if (text == "auto") return auto_dtype(device).dtype;
  throw Error("unknown dtype '" + text + "' (expected fp32, bf16 or auto)");
}

bool bf16_supported(const c10::Device& device) {
  if (device.is_cuda()) return true;
  if (!device.is_cpu()) return false;
#if defined(__x86_64__) || defined(__i386__)
  // What ATen's mkldnn_bf16_device_check (aten/src/ATen/native/mkldnn/Utils.h, 1.13)
  // asks cpuinfo; like cpuinfo, GCC's builtin also requires the OS to save the AVX-512 state.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
#else
  return false;  // cpuinfo_has_x86_* is false elsewhere, so LibTorch refuses bf16 convs too
#endif
}

void check_dtype(const c10::Device& device, c10::ScalarType dtype) {
  if (dtype == c10::kFloat) return;
  if (dtype != c10::kBFloat16)
    throw Error(std::string("dtype ") + c10::toString(dtype) + " is not supported (expected fp32 or bf16)");
  if (!bf16_supported(device))
    throw Error("dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this one "
                "lacks: use dtype fp32");
}

void check_device(const c10::Device& device) {
  if (device.is_cpu()) return;
  if (device.is_cuda()) {
    if (!at::hasCUDA()) throw Error("device " + device.str() + " requested, but this build of LibTorch has no CUDA");
    const int64_t n = at::detail::getCUDAHooks().getNumGPUs();
    if (device.has_index() && device.index() >= n)
      throw Error("device " + device.str() + " does not exist (" + std::to_string(n) + " CUDA device(s))");
    return;
  }
  throw Error("unsupported device " + device.str());
}

// ------------------------------------------------------------------ generator

struct Generator::Impl {
  GeneratorConfig cfg;
  GeneratorOptions opt;
  std::vector<at::Tensor> map_w, map_b;  // pre-scaled
  at::Tensor const_input;                // [1, C4, 4, 4] compute dtype, channels-last
  nn::StyledConv conv1;
  nn::ToRGB to_rgb1;
  std::vector<nn::StyledConv> convs;
  std::vector<nn::ToRGB> to_rgbs;
  std::vector<at::Tensor> noises;  // [1, 1, r, r] float32; empty when the file had none
  std::optional<at::Tensor> latent_avg;
};

Generator::Generator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Generator::Generator(Generator&&) noexcept = default;
Generator& Generator::operator=(Generator&&) noexcept = default;
Generator::~Generator() = default;

const GeneratorConfig& Generator::config() const { return impl_->cfg; }
const GeneratorOptions& Generator::options() const { return impl_->opt; }
const std::optional<at::Tensor>& Generator::latent_avg() const { return impl_->latent_avg; }

Generator Generator::from_state_dict(const TensorMap& sd, const GeneratorOptions& options) {
  check_device(options.device);
  check_dtype(options.device, options.dtype);
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  GeneratorConfig& c = impl->cfg;
  c = GeneratorConfig::infer(sd);
  const int64_t S = c.style_dim;
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(options.device);
  auto load = [&](const std::string& key, std::vector<int64_t> shape) {
    return need(sd, key, std::move(shape)).detach().to(f32).contiguous();
  };

  for (int i = 1; i <= c.n_mlp; ++i) {
    const std::string p = "style." + std::to_string(i);
    impl->map_w.push_back(load(p + ".weight", {S, S}) * (kLrMlp / std::sqrt(double(S))));
    impl->map_b.push_back(load(p + ".bias", {S}) * kLrMlp);
  }
  impl->const_input = load("input.input", {1, c.channels[0], 4, 4}).to(options.dtype).contiguous(
      at::MemoryFormat::ChannelsLast);

  auto modulation = [&](const std::string& p, int64_t cin) {
    nn::Modulation m;
    m.weight = load(p + ".modulation.weight", {cin, S}) * (1.0 / std::sqrt(double(S)));
    m.bias = load(p + ".modulation.bias", {cin});
    return m;
  };
  auto styled = [&](const std::string& p, int64_t cin, int64_t cout, bool up) {
    nn::StyledConv l;
    l.upsample = up;
    l.cin = cin;
    l.cout = cout;
    l.mod = modulation(p + ".conv", cin);
    l.weight = (load(p + ".conv.weight", {1, cout, cin, 3, 3}) * (1.0 / std::sqrt(double(cin * 9)))).squeeze(0);
    l.noise_weight = load(p + ".noise.weight", {1}).to(at::kCPU).item<float>();
    l.bias = load(p + ".activate.bias", {cout});
    if (up) l.taps = nn::fir_taps(need(sd, p + ".conv.blur.kernel"), (p + ".conv.blur.kernel").c_str());
    l.prepare(options.dtype);
    return l;
  };
  auto rgb = [&](const std::string& p, int64_t cin, bool up) {
    nn::ToRGB l;
    l.cin = cin;
    l.mod = modulation(p + ".conv", cin);
    l.weight = (load(p + ".conv.weight", {1, 3, cin, 1, 1}) * (1.0 / std::sqrt(double(cin)))).view({3, cin});
    l.bias = load(p + ".bias", {1, 3, 1, 1}).view({3});
    if (up) l.taps = nn::fir_taps(need(sd, p + ".upsample.kernel"), (p + ".upsample.kernel").c_str());
    return l;
  };

  impl->conv1 = styled("conv1", c.channels[0], c.channels[0], false);
  impl->to_rgb1 = rgb("to_rgb1", c.channels[0], false);
  for (size_t k = 1; k < c.channels.size(); ++k) {
    const int64_t cin = c.channels[k - 1], cout = c.channels[k];
    impl->convs.push_back(styled("convs." + std::to_string(2 * (k - 1)), cin, cout, true));
    impl->convs.push_back(styled("convs." + std::to_string(2 * (k - 1) + 1), cout, cout, false));
    impl->to_rgbs.push_back(rgb("to_rgbs." + std::to_string(k - 1), cout, true));
  }
  if (sd.count("noises.noise_0")) {
    for (int i = 0; i < c.num_layers(); ++i) {
      const int64_t r = int64_t(1) << ((i + 5) / 2);
      impl->noises.push_back(load("noises.noise_" + std::to_string(i), {1, 1, r, r}));
    }
  }
  return Generator(std::move(impl));
}

Generator Generator::load(const std::string& path, const GeneratorOptions& options) {
  check_device(options.device);
  check_dtype(options.device, options.dtype);  // before reading a possibly 1 GB file
  Value root = load_checkpoint(path, LoadOptions{options.device});
  if (root.is(Value::Kind::Tensor))
    throw Error(path + ": this file holds a single tensor " + root.repr() +
                " (a micromotion direction?), not a StyleGAN2 generator checkpoint");
  if (!root.is(Value::Kind::Dict)) throw Error(path + ": not a StyleGAN2 generator checkpoint (top level is a " +
                                               Value::kind_name(root.kind()) + ")");
  const Dict& d = root.as_dict();
  const Value* g = d.find("g_ema");
  if (!g) {
    if (const Value* s = d.find("state_dict")) {
      bool encoder = false;
      if (s->is(Value::Kind::Dict))
        for (const auto& kv : s->as_dict().items)
          if (kv.first.is(Value::Kind::String) && kv.first.as_string().rfind("encoder.", 0) == 0) encoder = true;
      if (encoder)
        throw Error(path + ": this is an encoder checkpoint (ReStyle / pSp / e4e: 'state_dict' with encoder.* and "
                           "decoder.*), not a generator; give it to `micromotion invert --model`");
    }
    if (d.find("style.1.weight"))
      g = &root;  // a bare g_ema state dict
    else
      require_key(root, "g_ema", path + ": not a StyleGAN2 generator checkpoint");
  }
  TensorMap sd = tensors_of(*g);
  Generator gen = [&]() {
    try {
      return from_state_dict(sd, options);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }();
  if (const Value* avg = d.find("latent_avg"); avg && avg->is(Value::Kind::Tensor)) {
    at::Tensor a = avg->as_tensor().to(at::TensorOptions().dtype(at::kFloat).device(options.device));
    if (a.numel() == gen.config().style_dim) gen.impl_->latent_avg = a.reshape({1, gen.config().style_dim});
  }
  return gen;
}

TensorMap Generator::random_state_dict(const GeneratorConfig& c, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto randn = [&](std::vector<int64_t> shape) { return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat)); };
  auto small = [&](std::vector<int64_t> shape) { return randn(std::move(shape)) * 0.1; };
  const int64_t S = c.style_dim;
  TensorMap sd;
  for (int i = 1; i <= c.n_mlp; ++i) {
    sd["style." + std::to_string(i) + ".weight"] = randn({S, S}) / kLrMlp;
    sd["style." + std::to_string(i) + ".bias"] = small({S});
  }
  at::Tensor k1 = at::tensor({1.f, 3.f, 3.f, 1.f});
  at::Tensor blur = at::outer(k1, k1) / 64.0 * 4.0;  // make_kernel([1,3,3,1]) * factor²
  auto styled = [&](const std::string& p, int64_t cin, int64_t cout, bool up) {
    sd[p + ".conv.weight"] = randn({1, cout, cin, 3, 3});
    sd[p + ".conv.modulation.weight"] = randn({cin, S});
    sd[p + ".conv.modulation.bias"] = at::ones({cin}) + small({cin});
    sd[p + ".noise.weight"] = small({1});
    sd[p + ".activate.bias"] = small({cout});
    if (up) sd[p + ".conv.blur.kernel"] = blur.clone();
  };
  auto rgb = [&](const std::string& p, int64_t cin, bool up) {
    sd[p + ".conv.weight"] = randn({1, 3, cin, 1, 1});
    sd[p + ".conv.modulation.weight"] = randn({cin, S});
    sd[p + ".conv.modulation.bias"] = at::ones({cin}) + small({cin});
    sd[p + ".bias"] = small({1, 3, 1, 1});
    if (up) sd[p + ".upsample.kernel"] = blur.clone();
  };
  sd["input.input"] = randn({1, c.channels[0], 4, 4});
  styled("conv1", c.channels[0], c.channels[0], false);
  rgb("to_rgb1", c.channels[0], false);
  for (size_t k = 1; k < c.channels.size(); ++k) {
    styled("convs." + std::to_string(2 * (k - 1)), c.channels[k - 1], c.channels[k], true);
    styled("convs." + std::to_string(2 * (k - 1) + 1), c.channels[k], c.channels[k], false);
    rgb("to_rgbs." + std::to_string(k - 1), c.channels[k], true);
  }
  for (int i = 0; i < c.num_layers(); ++i) {
    const int64_t r = int64_t(1) << ((i + 5) / 2);
    sd["noises.noise_" + std::to_string(i)] = randn({1, 1, r, r});
  }
  return sd;
}

at::Tensor Generator::mapping(const at::Tensor& z) const {
  const int64_t S = impl_->cfg.style_dim;
  if (z.dim() != 2 || z.size(1) != S)
    throw Error("z of shape " + shape_text(z.sizes()) + " does not fit this generator: expected [B, " +
                std::to_string(S) + "]");
  at::Tensor x = z.to(at::TensorOptions().dtype(at::kFloat).device(impl_->opt.device));
  x = x * at::rsqrt(x.pow(2).mean(1, true) + 1e-8);  // PixelNorm
  for (size_t i = 0; i < impl_->map_w.size(); ++i)
    x = at::leaky_relu(at::addmm(impl_->map_b[i], x, impl_->map_w[i].t()), 0.2) * std::sqrt(2.0);
  return x;
}

at::Tensor Generator::mean_latent(int n, uint64_t seed) const {
  if (n <= 0) throw Error("mean_latent needs a positive sample count");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor z = at::randn({n, impl_->cfg.style_dim}, gen, at::TensorOptions().dtype(at::kFloat));
  return mapping(z).mean(0, true);
}

at::Tensor Generator::truncate(const at::Tensor& w, double psi, const at::Tensor& mean) {
  at::Tensor m = mean.to(w.device(), at::kFloat);
  if (w.dim() == 3) m = m.view({1, 1, -1});
  return m + psi * (w - m);
}

at::Tensor Generator::broadcast(const at::Tensor& w) const {
  if (w.dim() != 2 || w.size(1) != impl_->cfg.style_dim)
    throw Error("w of shape " + shape_text(w.sizes()) + " does not fit this generator: expected [B, " +
                std::to_string(impl_->cfg.style_dim) + "]");
  return w.unsqueeze(1).expand({w.size(0), impl_->cfg.n_latent(), w.size(1)}).contiguous();
}

std::vector<int> Generator::exit_resolutions() const {
  std::vector<int> r;
  for (int res = 4; res <= impl_->cfg.resolution; res *= 2) r.push_back(res);
  return r;
}

at::Tensor Generator::synthesize(const at::Tensor& wplus, const SynthesisOptions& o) const {
  const Impl& g = *impl_;
  const GeneratorConfig& c = g.cfg;
  if (wplus.dim() != 3 || wplus.size(1) != c.n_latent() || wplus.size(2) != c.style_dim)
    throw Error("W+ of shape " + shape_text(wplus.sizes()) + " does not fit this generator: expected [B, " +
                std::to_string(c.n_latent()) + ", " + std::to_string(c.style_dim) + "]");
  if (wplus.size(0) < 1) throw Error("W+ batch is empty");
  const int stop = o.stop_at == 0 ? c.resolution : o.stop_at;
  if (!is_pow2(stop) || stop < 4 || stop > c.resolution)
    throw Error("cannot stop at " + std::to_string(o.stop_at) + ": this generator has ToRGB outputs at 4, 8, …, " +
                std::to_string(c.resolution));
  if (o.noise == NoiseMode::Stored && g.noises.empty())
    throw Error("this generator has no stored noise buffers; use random noise");

  const int64_t B = wplus.size(0);
  at::Tensor lat = wplus.to(at::TensorOptions().dtype(at::kFloat).device(g.opt.device)).contiguous();
  std::optional<at::Generator> rng;
  if (o.noise == NoiseMode::Random) rng = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto noise = [&](int i) -> at::Tensor {
    if (o.noise == NoiseMode::Stored) return g.noises[i];
    const int64_t r = int64_t(1) << ((i + 5) / 2);
    return at::randn({B, 1, r, r}, *rng, at::TensorOptions().dtype(at::kFloat)).to(g.opt.device);
  };
  auto row = [&](int i) { return lat.select(1, i); };

  at::Tensor x = g.const_input.expand({B, -1, -1, -1}).contiguous(at::MemoryFormat::ChannelsLast);
  x = g.conv1.forward(x, row(0), noise(0));
  at::Tensor skip = g.to_rgb1.forward(x, row(1), at::Tensor());
  int res = 4, i = 1;
  for (size_t k = 0; k < g.to_rgbs.size() && res < stop; ++k, i += 2) {
    x = g.convs[2 * k].forward(x, row(i), noise(2 * k + 1));
    x = g.convs[2 * k + 1].forward(x, row(i + 1), noise(2 * k + 2));
    skip = g.to_rgbs[k].forward(x, row(i + 2), skip);
    res *= 2;
  }
  return skip.permute({0, 3, 1, 2}).contiguous();
}

}  // namespace micromotion
