// StyleGAN2 against the reference implementation's outputs (../shared/fixtures/stylegan2).
#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/generator.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using micromotion::Generator;
using micromotion::GeneratorOptions;
using micromotion::NoiseMode;
using micromotion::SynthesisOptions;

namespace {

// Tolerances from the fixtures README: generator images and skips 1e-4, mapping 1e-5.
constexpr double kImageTol = 1e-4;
constexpr double kMappingTol = 1e-5;
// bf16 keeps 8 mantissa bits; measured worst case on these fixtures is ~2 % of the
// output range, so the bound is 4 % of max |output| (documented in docs/performance.md).
constexpr double kBf16RelTol = 0.04;

Generator load(const std::string& cfg, c10::ScalarType dtype = c10::kFloat) {
  GeneratorOptions o;
  o.dtype = dtype;
  return Generator::load(mmtest::fixture("stylegan2/" + cfg + "/generator.pt").string(), o);
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, ConfigInferredFromShapes) {
  Generator g = load(GetParam());
  if (GetParam() == "g64") {
    EXPECT_EQ(g.config().resolution, 64);
    EXPECT_EQ(g.config().style_dim, 64);
    EXPECT_EQ(g.config().n_mlp, 8);
    EXPECT_EQ(g.config().n_latent(), 10);
    EXPECT_EQ(g.config().channels, (std::vector<int>{64, 64, 32, 32, 16}));
  } else {
    EXPECT_EQ(g.config().resolution, 1024);
    EXPECT_EQ(g.config().style_dim, 32);
    EXPECT_EQ(g.config().n_mlp, 4);
    EXPECT_EQ(g.config().n_latent(), 18);
    EXPECT_EQ(g.config().channels, (std::vector<int>(9, 8)));
  }
}

TEST_P(Parity, Mapping) {
  Generator g = load(GetParam());
  at::Tensor z = mmtest::load_fixture("stylegan2/" + GetParam() + "/z.npy");
  at::Tensor w = mmtest::load_fixture("stylegan2/" + GetParam() + "/w.npy");
  EXPECT_LE(mmtest::max_abs_diff(g.mapping(z), w), kMappingTol);
}

TEST_P(Parity, LatentAvgIsMeanLatent) {
  Generator g = load(GetParam());
  at::Tensor mean = mmtest::load_fixture("stylegan2/" + GetParam() + "/mean_latent.npy");
  ASSERT_TRUE(g.latent_avg().has_value());
  EXPECT_LE(mmtest::max_abs_diff(*g.latent_avg(), mean), 1e-6);
}

TEST_P(Parity, WPlusSynthesis) {
  Generator g = load(GetParam());
  at::Tensor wplus = mmtest::load_fixture("stylegan2/" + GetParam() + "/wplus.npy");
  at::Tensor ref = mmtest::load_fixture("stylegan2/" + GetParam() + "/out_wplus.npy");
  at::Tensor out = g.synthesize(wplus);
  ASSERT_EQ(out.sizes(), ref.sizes());
  EXPECT_LE(mmtest::max_abs_diff(out, ref), kImageTol);
}

TEST_P(Parity, EveryEarlyExit) {
  Generator g = load(GetParam());
  at::Tensor wplus = mmtest::load_fixture("stylegan2/" + GetParam() + "/wplus.npy");
  int checked = 0;
  for (int res : g.exit_resolutions()) {
    auto path = mmtest::fixture("stylegan2/" + GetParam() + "/skip_" + std::to_string(res) + ".npy");
    if (!std::filesystem::exists(path)) continue;  // g1024 records skips up to 256 only
    SynthesisOptions o;
    o.stop_at = res;
    at::Tensor out = g.synthesize(wplus, o);
    at::Tensor ref = micromotion::read_npy(path.string());
    ASSERT_EQ(out.sizes(), ref.sizes()) << "stop at " << res;
    EXPECT_LE(mmtest::max_abs_diff(out, ref), kImageTol) << "stop at " << res;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST_P(Parity, Bf16WithinBound) {
  MM_SKIP_WITHOUT_BF16(c10::Device(c10::kCPU));
  Generator g = load(GetParam(), c10::kBFloat16);
  at::Tensor wplus = mmtest::load_fixture("stylegan2/" + GetParam() + "/wplus.npy");
  at::Tensor ref = mmtest::load_fixture("stylegan2/" + GetParam() + "/out_wplus.npy");
  at::Tensor out = g.synthesize(wplus);
  ASSERT_EQ(out.sizes(), ref.sizes());
  ASSERT_EQ(out.scalar_type(), at::kFloat);
  const double range = ref.abs().max().item<double>();
  const double err = mmtest::max_abs_diff(out, ref);
  RecordProperty("bf16_max_abs_error", std::to_string(err));
  EXPECT_LE(err, kBf16RelTol * range);
  // And not trivially: bf16 must differ from fp32 (it really ran in bf16).
  EXPECT_GT(err, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Parity, ::testing::Values("g64", "g1024"));

// The x86 flags the kernel reports for CPU 0 ("avx512bw" ...), to check bf16_supported against.
bool cpu_has_flag(const std::string& flag) {
  std::istringstream in(mmtest::read_file("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w)
      if (w == flag) return true;
    return false;
  }
  return false;
}

void expect_bf16_refused(const std::function<void()>& f, const char* what) {
  try {
    f();
    ADD_FAILURE() << what << ": bf16 accepted on a CPU without AVX-512";
  } catch (const micromotion::Error& e) {
    EXPECT_STREQ(e.what(),
                 "dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this one lacks: "
                 "use dtype fp32")
        << what;
  }
}

// On every machine one side is checked: where the CPU has AVX-512 bf16 runs, elsewhere it is
// refused with a clear message before any file is read or any weight converted (instead of
// oneDNN's c10 backtrace in the middle of the first forward pass).
TEST(Bf16Support, ClearErrorWithoutAvx512AndWorkingNetworksWithIt) {
  const c10::Device cpu(c10::kCPU);
#if defined(__linux__) && defined(__x86_64__)
  EXPECT_EQ(micromotion::bf16_supported(cpu),
            cpu_has_flag("avx512bw") && cpu_has_flag("avx512vl") && cpu_has_flag("avx512dq"));
#endif
  EXPECT_NO_THROW(micromotion::check_dtype(cpu, c10::kFloat));
  try {
    micromotion::check_dtype(cpu, c10::kHalf);
    ADD_FAILURE() << "fp16 accepted";
  } catch (const micromotion::Error& e) {
    EXPECT_STREQ(e.what(), "dtype Half is not supported (expected fp32 or bf16)");
  }
  GeneratorOptions bf16;
  bf16.dtype = c10::kBFloat16;
  if (micromotion::bf16_supported(cpu)) {
    EXPECT_NO_THROW(micromotion::check_dtype(cpu, c10::kBFloat16));
    Generator g = load("g64", c10::kBFloat16);
    at::Tensor out = g.synthesize(g.broadcast(g.mapping(at::randn({1, 64}))));
    EXPECT_EQ(out.sizes(), (at::IntArrayRef{1, 3, 64, 64}));
    EXPECT_TRUE(std::isfinite(out.sum().item<double>()));
    return;
  }
  expect_bf16_refused([&] { micromotion::check_dtype(cpu, c10::kBFloat16); }, "check_dtype");
  // A path that does not exist: the dtype is refused before the file is opened.
  expect_bf16_refused([&] { Generator::load("/nonexistent/generator.pt", bf16); }, "Generator::load");
  const auto sd = Generator::random_state_dict(micromotion::GeneratorConfig::config_f(64, 64, 2, 1), 1);
  expect_bf16_refused([&] { Generator::from_state_dict(sd, bf16); }, "Generator::from_state_dict");
}

TEST(Parity64, ZInputAndTruncation) {
  Generator g = load("g64");
  at::Tensor z = mmtest::load_fixture("stylegan2/g64/z.npy");
  at::Tensor mean = mmtest::load_fixture("stylegan2/g64/mean_latent.npy");
  at::Tensor out_z = g.synthesize(g.broadcast(g.mapping(z)));
  EXPECT_LE(mmtest::max_abs_diff(out_z, mmtest::load_fixture("stylegan2/g64/out_z.npy")), kImageTol);
  at::Tensor wt = Generator::truncate(g.mapping(z), 0.7, mean);
  at::Tensor out_t = g.synthesize(g.broadcast(wt));
  EXPECT_LE(mmtest::max_abs_diff(out_t, mmtest::load_fixture("stylegan2/g64/out_z_trunc0.7.npy")), kImageTol);
}

TEST(Parity64, MeanLatentMatchesReferenceSampling) {
  // The reference: torch.manual_seed(base seed + 1); g.mean_latent(4096).
  Generator g = load("g64");
  at::Tensor mean = mmtest::load_fixture("stylegan2/g64/mean_latent.npy");
  EXPECT_LE(mmtest::max_abs_diff(g.mean_latent(4096, 1002), mean), 1e-5);
}

TEST(Parity64, BatchOfOneEqualsBatchedPath) {
  // Batch 1 folds the style into the weights, batch 2 scales activations: same result.
  Generator g = load("g64");
  at::Tensor wplus = mmtest::load_fixture("stylegan2/g64/wplus.npy");
  at::Tensor both = g.synthesize(wplus);
  at::Tensor first = g.synthesize(wplus.slice(0, 0, 1));
  at::Tensor second = g.synthesize(wplus.slice(0, 1, 2));
  EXPECT_LE(mmtest::max_abs_diff(both.slice(0, 0, 1), first), kImageTol);
  EXPECT_LE(mmtest::max_abs_diff(both.slice(0, 1, 2), second), kImageTol);
}

TEST(GeneratorErrors, WrongWPlusShape) {
  Generator g = load("g64");
  try {
    g.synthesize(at::zeros({1, 18, 512}));
    FAIL() << "expected an error";
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected [B, 10, 64]"), std::string::npos) << e.what();
  }
}

TEST(GeneratorErrors, BadStopResolution) {
  Generator g = load("g64");
  SynthesisOptions o;
  o.stop_at = 48;
  EXPECT_THROW(g.synthesize(at::zeros({1, 10, 64}), o), micromotion::Error);
  o.stop_at = 128;
  EXPECT_THROW(g.synthesize(at::zeros({1, 10, 64}), o), micromotion::Error);
}

TEST(GeneratorErrors, EncoderCheckpointIsNamed) {
  try {
    Generator::load(mmtest::fixture("encoders/e4e/e4e.pt").string());
    FAIL() << "expected an error";
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("encoder checkpoint"), std::string::npos) << e.what();
  }
}

TEST(GeneratorErrors, DirectionIsNamed) {
  try {
    Generator::load(mmtest::fixture("anchors/smile/d_latent").string());
    FAIL() << "expected an error";
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("direction"), std::string::npos) << e.what();
  }
}

TEST(GeneratorErrors, UnknownDevice) {
  EXPECT_THROW(micromotion::parse_device("tpu"), micromotion::Error);
  GeneratorOptions o;
  o.device = c10::Device(c10::kCUDA, 0);
  if (!at::hasCUDA()) {
    EXPECT_THROW(Generator::load(mmtest::fixture("stylegan2/g64/generator.pt").string(), o), micromotion::Error);
  } else {
    o.device = c10::Device(c10::kCUDA, 99);
    EXPECT_THROW(Generator::load(mmtest::fixture("stylegan2/g64/generator.pt").string(), o), micromotion::Error);
  }
}

TEST(RandomNoise, SeededAndDifferentFromStored) {
  Generator g = load("g64");
  at::Tensor wplus = mmtest::load_fixture("stylegan2/g64/wplus.npy");
  SynthesisOptions r;
  r.noise = NoiseMode::Random;
  r.seed = 7;
  at::Tensor a = g.synthesize(wplus, r), b = g.synthesize(wplus, r);
  EXPECT_EQ(mmtest::max_abs_diff(a, b), 0.0);
  EXPECT_GT(mmtest::max_abs_diff(a, g.synthesize(wplus)), 1e-3);
}

}  // namespace

// ------------------------------------------------------------------ dtype auto

namespace {

using micromotion::AutoDtypeOptions;
using micromotion::DtypeDecision;

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(const char* n, const char* value) : name(n) {
    if (const char* v = std::getenv(n)) old = v;
    if (value) ::setenv(n, value, 1); else ::unsetenv(n);
  }
  ~ScopedEnv() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1); else ::unsetenv(name.c_str());
  }
};

// A probe that counts its calls and reports given rates.
AutoDtypeOptions fake(const std::string& file, double fp32, double bf16, int* calls) {
  AutoDtypeOptions o;
  o.cache_file = file;
  o.bf16_supported = true;
  o.probe = [=] {
    ++*calls;
    return std::make_pair(fp32, bf16);
  };
  return o;
}

}  // namespace

TEST(DtypeAuto, Fp32WhereBf16IsUnsupported) {
  AutoDtypeOptions o;
  o.bf16_supported = false;
  int calls = 0;
  o.probe = [&] { ++calls; return std::make_pair(100.0, 1000.0); };
  o.cache_file = (mmtest::temp_dir("dtype_auto_unsupported") / "cache.txt").string();
  const DtypeDecision d = micromotion::decide_auto_dtype(c10::kCPU, o);
  EXPECT_EQ(d.dtype, c10::kFloat);
  EXPECT_FALSE(d.measured);
  EXPECT_EQ(calls, 0) << "nothing to measure without bf16";
  EXPECT_FALSE(std::filesystem::exists(o.cache_file));
  EXPECT_EQ(d.describe(), "dtype auto: fp32 (bf16 not supported on this CPU)");
  // The real decision on this machine: fp32 wherever bf16 cannot run; parse_dtype agrees.
  const DtypeDecision& real = micromotion::auto_dtype();
  if (!micromotion::bf16_supported(c10::kCPU)) {
    EXPECT_EQ(real.dtype, c10::kFloat);
    EXPECT_EQ(real.describe(), "dtype auto: fp32 (bf16 not supported on this CPU)");
  }
  std::printf("%s\n", real.describe().c_str());
  EXPECT_EQ(micromotion::parse_dtype("auto"), real.dtype);
  EXPECT_EQ(&micromotion::auto_dtype(), &real) << "decided once per process";
  try {
    micromotion::parse_dtype("fp16");
    ADD_FAILURE() << "fp16 accepted";
  } catch (const micromotion::Error& e) {
    EXPECT_STREQ(e.what(), "unknown dtype 'fp16' (expected fp32, bf16 or auto)");
  }
}

TEST(DtypeAuto, DecidesByTheMeasuredSpeedup) {
  int calls = 0;
  DtypeDecision fast = micromotion::decide_auto_dtype(c10::kCPU, fake("", 100, 190, &calls));
  EXPECT_EQ(fast.dtype, c10::kBFloat16);
  EXPECT_EQ(fast.describe(), "dtype auto: bf16 (1.90x faster than fp32: 190 vs 100 GMAC/s)");
  DtypeDecision slow = micromotion::decide_auto_dtype(c10::kCPU, fake("", 100, 110, &calls));
  EXPECT_EQ(slow.dtype, c10::kFloat) << "1.10x is below the 1.15x bar";
  DtypeDecision half = micromotion::decide_auto_dtype(c10::kCPU, fake("", 200, 100, &calls));
  EXPECT_EQ(half.dtype, c10::kFloat);
  EXPECT_EQ(calls, 3);
  // A probe that fails or measures nonsense: fp32, said so.
  AutoDtypeOptions bad = fake("", std::nan(""), 100, &calls);
  EXPECT_EQ(micromotion::decide_auto_dtype(c10::kCPU, bad).dtype, c10::kFloat);
  bad.probe = []() -> std::pair<double, double> { throw micromotion::Error("no oneDNN"); };
  const DtypeDecision failed = micromotion::decide_auto_dtype(c10::kCPU, bad);
  EXPECT_EQ(failed.dtype, c10::kFloat);
  EXPECT_EQ(failed.reason, "the bf16 probe failed: no oneDNN");
  // Only CPUs are measured.
  EXPECT_EQ(micromotion::decide_auto_dtype(c10::Device(c10::kCUDA, 0), fake("", 1, 9, &calls)).dtype,
            c10::kFloat);
}

TEST(DtypeAuto, CacheFileRoundTrip) {
  const std::string file = (mmtest::temp_dir("dtype_auto_cache") / "sub" / "dtype-auto.txt").string();
  int calls = 0;
  const DtypeDecision first = micromotion::decide_auto_dtype(c10::kCPU, fake(file, 100, 190, &calls));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(first.from_cache);
  ASSERT_TRUE(std::filesystem::exists(file));
  const std::string text = mmtest::read_file(file);
  EXPECT_EQ(text, "micromotion dtype-auto v1\n" + micromotion::auto_dtype_cache_key() + "\t100\t190\n");
  // The next process reads the rates instead of measuring, and decides from them again.
  const DtypeDecision second = micromotion::decide_auto_dtype(c10::kCPU, fake(file, 100, 100, &calls));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.dtype, c10::kBFloat16);
  EXPECT_EQ(second.describe(), "dtype auto: bf16 (1.90x faster than fp32: 190 vs 100 GMAC/s, cached)");
  // Another machine's (or thread count's) entry is kept beside ours, not used.
  {
    std::ofstream out(file, std::ios::trunc);
    out << "micromotion dtype-auto v1\nOther CPU|libtorch 1.13.0|64 threads\t50\t200\n";
  }
  const DtypeDecision third = micromotion::decide_auto_dtype(c10::kCPU, fake(file, 100, 105, &calls));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(third.dtype, c10::kFloat);
  EXPECT_EQ(mmtest::read_file(file), "micromotion dtype-auto v1\nOther CPU|libtorch 1.13.0|64 threads\t50\t200\n" +
                                         micromotion::auto_dtype_cache_key() + "\t100\t105\n");
}

TEST(DtypeAuto, CorruptCacheIsIgnoredAndRewritten) {
  const std::string file = (mmtest::temp_dir("dtype_auto_corrupt") / "dtype-auto.txt").string();
  const std::string key = micromotion::auto_dtype_cache_key();
  const std::string good = "micromotion dtype-auto v1\n" + key + "\t100\t150\n";
  const std::vector<std::string> corrupt = {
      "",                                                       // empty
      "garbage\n" + key + "\t100\t900\n",                       // wrong header
      "micromotion dtype-auto v1\n" + key + "\t100\t900",       // good, then a bad line (below)
      "micromotion dtype-auto v1\n" + key + "\t100\n",          // a field missing
      "micromotion dtype-auto v1\n" + key + "\t100\t9e99\n",    // out of range
      "micromotion dtype-auto v1\n" + key + "\t-1\t900\n",      // negative
      "micromotion dtype-auto v1\n" + key + "\tnan\t900\n",     // not a number
      "micromotion dtype-auto v1\n" + key + "\t100\t900x\n",    // trailing junk
      "micromotion dtype-auto v1\n" + key + "\t100\t900\t1\n",  // a field too many
      "micromotion dtype-auto v1\n" + key + "\t100\t900\n" + std::string(20000, '#'),  // too big
      "micromotion dtype-auto v1\n\x01\x02\t100\t900\n",                                // control bytes
  };
  for (size_t i = 0; i < corrupt.size(); ++i) {
    std::string text = corrupt[i];
    if (i == 2) text += "\n" + key.substr(0, 3) + "\x7f\t1\t2\n";  // a valid line, then a bad one
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << text;
    }
    int calls = 0;
    const DtypeDecision d = micromotion::decide_auto_dtype(c10::kCPU, fake(file, 100, 150, &calls));
    EXPECT_EQ(calls, 1) << "case " << i << ": measured again";
    EXPECT_FALSE(d.from_cache) << "case " << i;
    EXPECT_EQ(d.dtype, c10::kBFloat16) << "case " << i;
    EXPECT_EQ(mmtest::read_file(file), good) << "case " << i << ": rewritten";
  }
  // A directory where the file should be: measured, nothing written, no error.
  const std::string dir = (mmtest::temp_dir("dtype_auto_dir") / "dtype-auto.txt").string();
  std::filesystem::create_directories(dir);
  int calls = 0;
  EXPECT_EQ(micromotion::decide_auto_dtype(c10::kCPU, fake(dir, 100, 150, &calls)).dtype, c10::kBFloat16);
  EXPECT_EQ(calls, 1);
}

TEST(DtypeAuto, CacheLocationAndTheEnvironmentSwitch) {
  {
    ScopedEnv off("MICROMOTION_DTYPE_CACHE", "off");
    EXPECT_EQ(micromotion::auto_dtype_cache_file(), "");
  }
  ScopedEnv on("MICROMOTION_DTYPE_CACHE", nullptr);
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/tmp/xdg");
    EXPECT_EQ(micromotion::auto_dtype_cache_file(), "/tmp/xdg/micromotion/dtype-auto.txt");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "relative");  // not absolute: ignored, as the XDG spec says
    ScopedEnv home("HOME", "/home/someone");
    EXPECT_EQ(micromotion::auto_dtype_cache_file(), "/home/someone/.cache/micromotion/dtype-auto.txt");
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", nullptr);
    EXPECT_EQ(micromotion::auto_dtype_cache_file(), "");
  }
  const std::string key = micromotion::auto_dtype_cache_key();
  EXPECT_NE(key.find("|libtorch 1.13"), std::string::npos) << key;
  EXPECT_NE(key.find("|" + std::to_string(at::get_num_threads()) + " threads"), std::string::npos) << key;
}

// The real probe, forced to run even where bf16 is unsupported: it never throws; it measures
// both rates in well under a second, or (no bf16 kernels here) falls back to fp32 saying why.
TEST(DtypeAuto, RealProbeIsShortAndNeverThrows) {
  AutoDtypeOptions o;
  o.bf16_supported = true;
  const DtypeDecision d = micromotion::decide_auto_dtype(c10::kCPU, o);
  std::printf("forced probe: %s, %.3f s\n", d.describe().c_str(), d.probe_seconds);
  if (d.measured) {
    EXPECT_GT(d.fp32_gmacs, 0);
    EXPECT_GT(d.bf16_gmacs, 0);
    EXPECT_LT(d.probe_seconds, 5.0) << "budget 0.6 s after warm-up; generous for a shared machine";
  } else {
    EXPECT_EQ(d.dtype, c10::kFloat);
    EXPECT_EQ(d.reason.rfind("the bf16 probe failed: ", 0), 0u) << d.reason;
    EXPECT_EQ(d.reason.find('\n'), std::string::npos);
  }
}
