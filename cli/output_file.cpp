// Safe output files (see output_file.h).
#include "output_file.h"

#include <micromotion/error.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace micromotion::cli {

namespace fs = std::filesystem;

namespace {

// Only async-signal-safe calls in the handler: flags, unlink, write, _exit.
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

constexpr int kSignals[2] = {SIGINT, SIGTERM};
struct sigaction g_old[2] {};

}  // namespace

void check_output(const std::string& in, const std::string& out, bool overwrite, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(out, ec);
  if (ec || !fs::exists(st)) return;
  if (fs::equivalent(in, out, ec) && !ec)
    throw Error(what + " " + out + " is the input " + in + " itself; micromotion never writes over its input");
  if (!overwrite) throw Error(what + " " + out + " exists; pass --overwrite (-y) to replace it");
  if (fs::is_directory(fs::status(out, ec))) throw Error(what + " " + out + " is a directory");
}

PartialOutput::PartialOutput(const std::string& out) {
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

PartialOutput::~PartialOutput() {
  g_partial[0] = 0;
  if (committed_) return;
  std::error_code ec;
  fs::remove(path_, ec);
}

void PartialOutput::commit() {
  std::error_code ec;
  const fs::file_status old = fs::status(final_, ec);
  if (!ec && fs::exists(old)) fs::permissions(path_, old.permissions(), ec);  // a replaced file keeps its mode
  g_partial[0] = 0;  // from the rename on, the file is OUT: a signal must not remove it
  fs::rename(path_, final_);
  committed_ = true;
}

SignalScope::SignalScope() {
  g_stop.store(false);
  g_rendering.store(false);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &sa, &g_old[i]);
}

SignalScope::~SignalScope() {
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &g_old[i], nullptr);
  g_rendering.store(false);
  g_partial[0] = 0;
}

void SignalScope::start_rendering() {
  g_stop.store(false);
  g_rendering.store(true);
}

const std::atomic<bool>* SignalScope::stop() const { return &g_stop; }

}  // namespace micromotion::cli
