// Writing an output file without ever losing data: the checks before anything is opened, the
// temporary file beside the output that is renamed over it once complete, and the SIGINT /
// SIGTERM handling that never leaves a partial file behind. Shared by render, merge and farm.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

namespace micromotion::cli {

// requires: nothing.  ensures: returns normally when `out` may be written: it does not exist, or
// it exists, is not `in` by any name (./a and a, a hard link, a symbolic link), is not a directory
// and `overwrite` is set.  throws: micromotion::Error naming `what` and the path otherwise.
void check_output(const std::string& in, const std::string& out, bool overwrite, const std::string& what);

// A hidden file beside OUT (same directory, so the rename is atomic and never crosses file
// systems), renamed over OUT by commit(). Until then the destructor removes it, so an error or
// exception leaves OUT as it was. A symbolic link OUT is followed: its target is replaced. While
// it exists, a hard stop (second signal, or a signal outside a render) removes it too.
class PartialOutput {
 public:
  explicit PartialOutput(const std::string& out);  // throws Error when the file cannot be created
  ~PartialOutput();
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void commit();  // throws filesystem_error naming both paths

 private:
  std::filesystem::path final_, path_;
  bool committed_ = false;
};

// Installs the SIGINT / SIGTERM handler for its lifetime. Outside a render (models loading, a
// merge) a signal removes the current PartialOutput and ends the process at once. During a render
// (start_rendering() called) the first signal only sets the flag stop() returns, so the caller can
// finish the file early; a second one removes the partial file and ends the process.
class SignalScope {
 public:
  SignalScope();
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  void start_rendering();
  const std::atomic<bool>* stop() const;
};

}  // namespace micromotion::cli
