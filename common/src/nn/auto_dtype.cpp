// dtype "auto": bf16 where this machine supports it and runs it measurably faster than fp32.
// A short conv probe decides; its rates are cached per machine in a small, validated file and
// per process in memory (generator.h).
#include <micromotion/error.h>
#include <micromotion/generator.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

namespace micromotion {

namespace {

namespace fs = std::filesystem;

constexpr const char* kHeader = "micromotion dtype-auto v1";
constexpr std::size_t kMaxEntries = 32;  // other thread counts / library versions kept beside ours
constexpr std::size_t kMaxKey = 256;
constexpr double kMaxRate = 1e7;         // GMAC/s; anything above is not a measurement

// Printable ASCII only, no tab (the field separator), bounded.
std::string clean_key_part(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 120) break;
    out += (c >= 0x20 && c < 0x7f && c != '\t' && c != '|') ? c : '?';
  }
  const auto b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string("unknown CPU") : out.substr(b, e - b + 1);
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  for (int n = 0; n < 200 && std::getline(in, line); ++n) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return clean_key_part(line.substr(colon + 1));
    }
  }
  return "unknown CPU";
}

bool valid_key(const std::string& k) {
  if (k.empty() || k.size() > kMaxKey) return false;
  for (char c : k)
    if (c < 0x20 || c >= 0x7f || c == '\t') return false;
  return true;
}

bool valid_rate(double v) { return std::isfinite(v) && v > 0 && v <= kMaxRate; }

bool parse_rate(const std::string& s, double& out) {
  if (s.empty() || s.size() > 32) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !valid_rate(v)) return false;
  out = v;
  return true;
}

using Entries = std::vector<std::pair<std::string, std::pair<double, double>>>;

// The file's entries, or nullopt when it is missing, unreadable, too big or malformed in any
// way (then it is not trusted at all and gets rewritten).
std::optional<Entries> read_cache(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size > kAutoDtypeCacheMaxBytes) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) return std::nullopt;
  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line) || line != kHeader) return std::nullopt;
  Entries entries;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos || line.find('\t', t2 + 1) != std::string::npos) return std::nullopt;
    const std::string key = line.substr(0, t1);
    double fp32 = 0, bf16 = 0;
    if (!valid_key(key) || !parse_rate(line.substr(t1 + 1, t2 - t1 - 1), fp32) ||
        !parse_rate(line.substr(t2 + 1), bf16))
      return std::nullopt;
    if (entries.size() >= kMaxEntries) return std::nullopt;
    entries.push_back({key, {fp32, bf16}});
  }
  return entries;
}

// Best effort: a cache that cannot be written only costs the next process a probe.
void write_cache(const std::string& path, const Entries& entries) {
  std::error_code ec;
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out << kHeader << '\n';
    char buf[64];
    for (const auto& [key, rates] : entries) {
      std::snprintf(buf, sizeof buf, "\t%.6g\t%.6g\n", rates.first, rates.second);
      out << key << buf;
    }
    if (!out.flush()) {
      out.close();
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
}

// {fp32, bf16} GMAC/s of a 512 -> 512 3x3 conv at 32x32, batch 1, channels-last (the shape of
// the generator's 4..32 layers and of the encoder's last stage): after one warm-up each, the
// best of up to three interleaved runs, stopping early once 0.6 s are spent.
std::pair<double, double> measure_conv_rates() {
  at::NoGradGuard no_grad;
  const auto cl = at::MemoryFormat::ChannelsLast;
  const int64_t C = 512, R = 32;
  const double gmac = double(C) * C * 9 * R * R / 1e9;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor x32 = at::randn({1, C, R, R}, gen, at::TensorOptions(at::kFloat)).contiguous(cl);
  const at::Tensor w32 = (at::randn({C, C, 3, 3}, gen, at::TensorOptions(at::kFloat)) * 0.02).contiguous(cl);
  const at::Tensor x16 = x32.to(at::kBFloat16).contiguous(cl), w16 = w32.to(at::kBFloat16).contiguous(cl);
  using clock = std::chrono::steady_clock;
  auto conv = [](const at::Tensor& x, const at::Tensor& w) {
    if (at::hasMKLDNN()) return at::mkldnn_convolution(x, w, c10::nullopt, {1, 1}, {1, 1}, {1, 1}, 1);
    return at::conv2d(x, w, at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{1});
  };
  auto timed = [&](const at::Tensor& x, const at::Tensor& w) {
    const auto t0 = clock::now();
    at::Tensor y = conv(x, w);
    (void)y.sum().item<float>();
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  const auto start = clock::now();
  timed(x32, w32);
  timed(x16, w16);
  double best32 = 1e30, best16 = 1e30;
  for (int i = 0; i < 3; ++i) {
    best32 = std::min(best32, timed(x32, w32));
    best16 = std::min(best16, timed(x16, w16));
    if (std::chrono::duration<double>(clock::now() - start).count() > 0.6) break;
  }
  return {gmac / best32, gmac / best16};
}

void decide_from_rates(DtypeDecision& d) {
  const double speedup = d.bf16_gmacs / d.fp32_gmacs;
  char buf[160];
  if (speedup >= kAutoBf16MinSpeedup) {
    d.dtype = c10::kBFloat16;
    std::snprintf(buf, sizeof buf, "%.2fx faster than fp32: %.0f vs %.0f GMAC/s", speedup, d.bf16_gmacs,
                  d.fp32_gmacs);
  } else {
    d.dtype = c10::kFloat;
    std::snprintf(buf, sizeof buf, "bf16 only %.2fx the speed of fp32 here (%.0f vs %.0f GMAC/s; needs %.2fx)",
                  speedup, d.bf16_gmacs, d.fp32_gmacs, kAutoBf16MinSpeedup);
  }
  d.reason = buf;
}

}  // namespace

std::string DtypeDecision::describe() const {
  std::string s = std::string("dtype auto: ") + (dtype == c10::kBFloat16 ? "bf16" : "fp32") + " (" + reason;
  if (from_cache) s += ", cached";
  return s + ")";
}

std::string auto_dtype_cache_file() {
  if (const char* v = std::getenv("MICROMOTION_DTYPE_CACHE"); v && std::string(v) == "off") return "";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x == '/')
    return (fs::path(x) / "micromotion" / "dtype-auto.txt").string();
  if (const char* h = std::getenv("HOME"); h && *h == '/')
    return (fs::path(h) / ".cache" / "micromotion" / "dtype-auto.txt").string();
  return "";
}

std::string auto_dtype_cache_key() {
  return cpu_model_name() + "|libtorch " + TORCH_VERSION + "|" + std::to_string(at::get_num_threads()) +
         " threads";
}

DtypeDecision decide_auto_dtype(const c10::Device& device, const AutoDtypeOptions& options) {
  DtypeDecision d;
  if (!device.is_cpu()) {
    d.bf16_supported = bf16_supported(device);
    d.reason = "auto measures CPUs only; ask for bf16 on " + device.str() + " explicitly";
    return d;
  }
  d.bf16_supported = options.bf16_supported ? *options.bf16_supported : bf16_supported(device);
  if (!d.bf16_supported) {
    d.reason = "bf16 not supported on this CPU";
    return d;
  }
  const std::string key = auto_dtype_cache_key();
  std::optional<Entries> entries;
  if (!options.cache_file.empty()) entries = read_cache(options.cache_file);
  if (entries) {
    for (const auto& [k, rates] : *entries) {
      if (k == key) {
        d.measured = d.from_cache = true;
        d.fp32_gmacs = rates.first;
        d.bf16_gmacs = rates.second;
        decide_from_rates(d);
        return d;
      }
    }
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const auto rates = options.probe ? options.probe() : measure_conv_rates();
    d.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!valid_rate(rates.first) || !valid_rate(rates.second)) throw Error("the probe measured no rate");
    d.measured = true;
    d.fp32_gmacs = rates.first;
    d.bf16_gmacs = rates.second;
  } catch (const std::exception& e) {
    d.dtype = c10::kFloat;
    std::string what = e.what();  // LibTorch's errors carry a backtrace: the first line only
    what = what.substr(0, std::min(what.find('\n'), std::size_t(200)));
    d.reason = "the bf16 probe failed: " + what;
    return d;
  }
  decide_from_rates(d);
  if (!options.cache_file.empty()) {
    Entries out = entries ? *entries : Entries{};
    while (out.size() >= kMaxEntries) out.erase(out.begin());  // oldest first
    if (valid_key(key)) out.push_back({key, {d.fp32_gmacs, d.bf16_gmacs}});
    write_cache(options.cache_file, out);
  }
  return d;
}

const DtypeDecision& auto_dtype(const c10::Device& device) {
  static std::mutex mutex;
  static std::map<std::string, DtypeDecision> decisions;  // never erased: references stay valid
  const std::string key = device.str() + "|" + std::to_string(at::get_num_threads());
  std::lock_guard<std::mutex> lock(mutex);
  auto it = decisions.find(key);
  if (it == decisions.end()) {
    AutoDtypeOptions o;
    o.cache_file = auto_dtype_cache_file();
    it = decisions.emplace(key, decide_auto_dtype(device, o)).first;
  }
  return it->second;
}

}  // namespace micromotion
