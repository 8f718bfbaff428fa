// Running another program (sbatch, squeue, a render of one segment) without a shell in between.
#pragma once

#include <string>
#include <vector>

namespace micromotion::cli {

struct ProcessResult {
  int status = -1;     // exit status; 128 + N when ended by signal N
  std::string output;  // stdout and stderr together, when captured
};

// requires: argv[0] is a program name (looked up in PATH) or path.
// ensures:  runs it to completion; with `capture` its stdout and stderr are returned (up to
//           1 MiB, the rest is read and dropped), else they go to ours.
// throws:   micromotion::Error when it cannot be started (naming it and the reason).
ProcessResult run_process(const std::vector<std::string>& argv, bool capture);

// A word the POSIX shell reads back as itself ('...' with ' escaped), for the batch scripts.
std::string shell_quote(const std::string& word);

}  // namespace micromotion::cli
