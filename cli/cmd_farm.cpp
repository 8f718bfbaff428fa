// `micromotion farm`: a render spread over a cluster. `farm slurm` writes a work folder beside
// OUT and submits a Slurm array job (one task a segment) and a merge job that depends on it;
// `farm task` and `farm merge` are what those jobs run, and what any other scheduler (a
// Kubernetes indexed Job, say) can run just as well: they need only the work folder.
//
// The work folder OUT.farm/:
//   manifest.json    the input, the output, the segments, the render settings; each finished
//                    segment's file and SHA-256 (written under manifest.lock, renamed into place)
//   render.sbatch    the array job's script; merge.sbatch the merge job's
//   segments/NNNN.nut  the segments (NUT keeps the input's time base exactly), written atomically
//   status/segment-I, status/merge   the exit status of each task that ended by itself
//   logs/segment-I.log, logs/merge.log
#include "commands.h"
#include "output_file.h"
#include "process.h"
#include "render_options.h"
#include "segments.h"
#include "sha256.h"
#include "video_index.h"
#include "video_transcoder.h"

#include <micromotion/error.h>
#include <micromotion/motion.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

namespace micromotion::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "micromotion-farm 1";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Written beside its final name and renamed: readers see the old file or the new one.
void write_atomically(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.parent_path() / ("." + p.filename().string() + ".tmp-" + std::to_string(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw Error(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, p);
}

// The settings that make a work folder: a second run with other ones must not mix segments.
json settings_of(const json& m) {
  json s;
  for (const char* k : {"input", "input_bytes", "input_mtime", "output", "segments", "preroll", "render"}) s[k] = m.at(k);
  return s;
}

json read_manifest(const fs::path& dir) {
  const fs::path p = dir / "manifest.json";
  if (!fs::exists(p)) throw Error(dir.string() + " is not a farm work folder (no manifest.json)");
  json m;
  try {
    m = json::parse(read_text(p));
  } catch (const std::exception& e) {
    throw Error(p.string() + ": not a valid manifest (" + std::string(e.what()).substr(0, 200) + ")");
  }
  if (!m.is_object() || m.value("format", "") != kFormat) throw Error(p.string() + ": not a " + kFormat + " manifest");
  return m;
}

// Read-modify-write of the manifest by several tasks at once: flock on manifest.lock (NFSv4
// and Lustre carry it across nodes), then the new manifest is renamed into place.
template <class F>
void update_manifest(const fs::path& dir, F&& change) {
  const fs::path lock = dir / "manifest.lock";
  const int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(lock.string() + ": cannot open");
  if (flock(fd, LOCK_EX) != 0) {
    close(fd);
    throw Error(lock.string() + ": cannot lock");
  }
  try {
    json m = read_manifest(dir);
    change(m);
    write_atomically(dir / "manifest.json", m.dump(1) + "\n");
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
}

std::string segment_file(int i) { return fmt::format("segments/{:04d}.nut", i); }
fs::path status_file(const fs::path& dir, int i) { return dir / "status" / fmt::format("segment-{}", i); }
fs::path log_file(const fs::path& dir, int i) { return dir / "logs" / fmt::format("segment-{}.log", i); }

// Whether segment i is complete: recorded in the manifest, its file there with that checksum.
bool segment_complete(const fs::path& dir, const json& m, int i) {
  const auto done = m.find("done");
  if (done == m.end() || !done->contains(std::to_string(i))) return false;
  const json& d = (*done)[std::to_string(i)];
  const fs::path f = dir / d.value("file", "");
  std::error_code ec;
  if (!fs::is_regular_file(f, ec) || fs::file_size(f, ec) != d.value("bytes", uint64_t(0))) return false;
  return sha256_file(f.string()) == d.value("sha256", "");
}

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the micromotion executable (/proc/self/exe)");
  return p.string();
}

int status_of(const fs::path& f) {  // -1: none written
  std::error_code ec;
  if (!fs::exists(f, ec)) return -1;
  return std::atoi(read_text(f).c_str());
}

// The last error line a task's log holds, for the report.
std::string last_error(const fs::path& log) {
  std::istringstream in(read_text(log));
  std::string line, found;
  while (std::getline(in, line)) {
    const size_t at = line.find("error: ");
    if (at != std::string::npos) found = line.substr(at + 7);
  }
  return found.substr(0, 400);
}

std::string ranges_text(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!s.empty()) s += ",";
    s += j == i ? std::to_string(v[i]) : fmt::format("{}-{}", v[i], v[j]);
    i = j + 1;
  }
  return s;
}

// What the task for segment i runs: render of that segment into the work folder.
std::vector<std::string> task_render_argv(const json& m, const fs::path& dir, int i) {
  std::vector<std::string> argv = {self_exe(), "render", m.at("input").get<std::string>(), (dir / segment_file(i)).string(),
                                   "-y", "--segment", fmt::format("{}/{}", i, m.at("segments").get<int>()),
                                   "--preroll", std::to_string(m.at("preroll").get<int64_t>())};
  for (const auto& a : m.at("render")) argv.push_back(a.get<std::string>());
  return argv;
}

// ---- farm task -------------------------------------------------------------------------------

std::atomic<int> g_task_signal{0};
extern "C" void on_task_signal(int sig) { g_task_signal.store(sig); }

int task_index(int given, int count) {
  int i = given;
  if (i <= 0) {
    if (const char* s = std::getenv("SLURM_ARRAY_TASK_ID"); s && *s) i = std::atoi(s);
    else if (const char* k = std::getenv("JOB_COMPLETION_INDEX"); k && *k) i = std::atoi(k) + 1;  // 0-based
  }
  if (i < 1 || i > count)
    throw Error(i <= 0 ? std::string("farm task: no segment number: pass --index I, or run as a Slurm array task "
                                     "(SLURM_ARRAY_TASK_ID) or a Kubernetes indexed Job (JOB_COMPLETION_INDEX)")
                       : fmt::format("farm task: segment {} does not exist (1..{})", i, count));
  return i;
}

void run_task(const fs::path& dir_in, int given) {
  const fs::path dir = fs::absolute(dir_in);
  const json m = read_manifest(dir);
  const int count = m.at("segments").get<int>();
  const int i = task_index(given, count);
  if (segment_complete(dir, m, i)) {  // a rerun of every index (a Kubernetes Job again) redoes nothing
    std::fprintf(stderr, "farm task: segment %d/%d is already done (checksum matches); nothing to do\n", i, count);
    write_atomically(status_file(dir, i), "0\n");
    return;
  }
  std::error_code ec;
  fs::remove(status_file(dir, i), ec);
  const fs::path seg = dir / segment_file(i);
  const std::vector<std::string> argv = task_render_argv(m, dir, i);
  // The scheduler's SIGTERM (cancel, time limit) reaches the render too, which ends without
  // writing the segment; this process stays to record the status.
  signal(SIGTERM, on_task_signal);
  signal(SIGINT, on_task_signal);
  std::fprintf(stderr, "farm task: segment %d/%d of %s\n", i, count, m.at("input").get<std::string>().c_str());
  std::fflush(stderr);
  const ProcessResult r = run_process(argv, false);
  int status = r.status;
  if (status == 0) {
    const std::string sum = sha256_file(seg.string());
    const uint64_t bytes = fs::file_size(seg);
    update_manifest(dir, [&](json& mm) {
      mm["done"][std::to_string(i)] = {{"file", segment_file(i)}, {"sha256", sum}, {"bytes", bytes}};
    });
    std::fprintf(stderr, "farm task: segment %d/%d done: %s (sha256 %s)\n", i, count, seg.c_str(), sum.c_str());
  } else {
    std::fprintf(stderr, "farm task: segment %d/%d not rendered (exit %d%s)\n", i, count, status,
                 g_task_signal.load() ? ", after a stop signal" : "");
  }
  write_atomically(status_file(dir, i), std::to_string(status) + "\n");
  // The render's own error line stays the last one in the log (what --wait reports).
  if (status != 0) throw CLI::RuntimeError(status);
}

// ---- farm merge ------------------------------------------------------------------------------

void run_merge(const fs::path& dir_in) {
  const fs::path dir = fs::absolute(dir_in);
  std::error_code ec;
  fs::remove(dir / "status" / "merge", ec);
  int status = 1;
  try {
    const json m = read_manifest(dir);
    const int count = m.at("segments").get<int>();
    std::vector<int> missing;
    std::vector<std::string> files;
    for (int i = 1; i <= count; ++i) {
      if (!segment_complete(dir, m, i)) missing.push_back(i);
      files.push_back((dir / segment_file(i)).string());
    }
    if (!missing.empty())
      throw Error("farm merge: " + std::string(missing.size() == 1 ? "segment " : "segments ") + ranges_text(missing) +
                  (missing.size() == 1 ? " is" : " are") + " missing or incomplete (no checksum in the manifest, or "
                  "the file changed since); render them again (farm task, or the farm command again)");
    const std::string in = m.at("input"), out = m.at("output");
    check_output(in, out, m.value("overwrite", false), "OUT");
    SignalScope signals;
    PartialOutput partial(out);
    const MergeResult r = merge_segments(in, out, files, partial.path().string());
    partial.commit();
    fmt::print("wrote {}: {} frames from {} segments, the other streams from {}\n", out, r.frames, r.segments, in);
    status = 0;
  } catch (...) {
    write_atomically(dir / "status" / "merge", std::to_string(status) + "\n");
    throw;
  }
  write_atomically(dir / "status" / "merge", "0\n");
}

// ---- farm slurm ------------------------------------------------------------------------------

struct SlurmArgs {
  std::string in, out, partition, time, mem;
  RenderArgs edit;
  int segments = 0, cpus = 0, gpus = 0;
  int64_t preroll = 25;
  double poll = 5;
  std::vector<std::string> sbatch_args;
  bool wait = false, dry_run = false, overwrite = false, no_submit = false;
};

std::string script(const SlurmArgs& a, const fs::path& dir, bool merge_job) {
  std::string s = "#!/bin/sh\n";
  s += "# Written by `micromotion farm slurm`: ";
  s += merge_job ? "the merge job, run after every segment succeeded (afterok).\n"
                 : "one array task a segment; the array index is the segment number (1-based).\n";
  s += std::string("#SBATCH --job-name=") + (merge_job ? "micromotion-merge" : "micromotion-render") + "\n";
  s += "#SBATCH --output=" + (merge_job ? (dir / "logs" / "merge.log").string() : (dir / "logs" / "segment-%a.log").string()) + "\n";
  if (!a.partition.empty()) s += "#SBATCH --partition=" + a.partition + "\n";
  if (!a.time.empty()) s += "#SBATCH --time=" + a.time + "\n";
  if (!a.mem.empty() && !merge_job) s += "#SBATCH --mem=" + a.mem + "\n";
  if (!merge_job) {
    s += "#SBATCH --ntasks=1\n";
    if (a.cpus > 0) s += "#SBATCH --cpus-per-task=" + std::to_string(a.cpus) + "\n";
    if (a.gpus > 0) s += "#SBATCH --gpus-per-task=" + std::to_string(a.gpus) + "\n";
  }
  for (const auto& x : a.sbatch_args) s += "#SBATCH " + x + "\n";
  if (!merge_job)
    s += "# The engine uses the CPUs Slurm gave the task (and the GPU it was given, with --device cuda).\n"
         "[ -n \"${SLURM_CPUS_PER_TASK:-}\" ] && export OMP_NUM_THREADS=\"$SLURM_CPUS_PER_TASK\"\n";
  s += "exec " + shell_quote(self_exe()) + " farm " + (merge_job ? "merge " : "task ") + shell_quote(dir.string()) + "\n";
  return s;
}

std::string submit(const std::vector<std::string>& argv) {
  const ProcessResult r = run_process(argv, true);
  std::string id = r.output.substr(0, r.output.find_first_of(";\n"));
  if (r.status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw Error("sbatch failed (exit " + std::to_string(r.status) + "): " + r.output.substr(0, 1000));
  return id;
}

// Job ids (array or plain) still known to the controller as pending or running.
std::set<std::string> active_jobs(const std::vector<std::string>& ids) {
  std::set<std::string> alive;
  if (ids.empty()) return alive;
  const ProcessResult r = run_process({"squeue", "-h", "-o", "%F %i %T"}, true);
  if (r.status != 0) throw Error("squeue failed (exit " + std::to_string(r.status) + "): " + r.output.substr(0, 500));
  std::istringstream in(r.output);
  std::string array_id, job_id, state;
  while (in >> array_id >> job_id >> state) {
    for (const auto& id : ids)
      if (id == array_id || id == job_id) alive.insert(id);
  }
  return alive;
}

int wait_for(const SlurmArgs& a, const fs::path& dir, const std::string& render_job, const std::string& merge_job,
             const std::vector<int>& submitted) {
  std::fprintf(stderr, "farm: waiting for merge job %s\n", merge_job.c_str());
  for (int failures = 0;;) {
    try {
      if (active_jobs({merge_job}).count(merge_job) == 0) break;
      failures = 0;
    } catch (const Error& e) {  // the controller may be briefly unreachable: try again
      if (++failures >= 10) throw;
      std::fprintf(stderr, "farm: warning: %s; trying again\n", e.what());
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.poll));
  }
  if (status_of(dir / "status" / "merge") == 0 && fs::exists(a.out)) {
    fmt::print("farm: wrote {} (merge job {})\n", a.out, merge_job);
    return 0;
  }
  std::vector<std::string> problems;
  const bool render_alive = !render_job.empty() && active_jobs({render_job}).count(render_job) > 0;
  for (int i : submitted) {
    const int st = status_of(status_file(dir, i));
    if (st == 0) continue;
    const std::string log = log_file(dir, i).string();
    if (st < 0)
      problems.push_back(render_alive ? fmt::format("segment {} is still running (job {}); log: {}", i, render_job, log)
                                      : fmt::format("segment {} did not finish (cancelled, out of time or its node "
                                                    "failed); log: {}", i, log));
    else
      problems.push_back(fmt::format("segment {} failed (exit {}): {}; log: {}", i, st, last_error(log_file(dir, i)), log));
  }
  if (problems.empty()) {
    const int st = status_of(dir / "status" / "merge");
    const fs::path log = dir / "logs" / "merge.log";
    problems.push_back(st < 0 ? "the merge did not run (cancelled); log: " + log.string()
                              : fmt::format("the merge failed (exit {}): {}; log: {}", st, last_error(log), log.string()));
  }
  for (const auto& p : problems) std::fprintf(stderr, "farm: error: %s\n", p.c_str());
  std::fprintf(stderr, "farm: %s not written; run the same command again to resume (finished segments are kept)\n",
               a.out.c_str());
  return 1;
}

int run_slurm(SlurmArgs a) {
  a.in = fs::absolute(a.in).lexically_normal().string();
  a.out = fs::absolute(a.out).lexically_normal().string();
  check_output(a.in, a.out, a.overwrite, "OUT");
  const VideoIndex index = index_video(a.in);
  segment_ranges(index.frames(), index.keyframes, a.segments, a.preroll);  // refuses N > frames
  if (a.edit.models_dir.empty())
    if (const char* env = std::getenv("MICROMOTION_MODELS"); env && *env) a.edit.models_dir = env;
  (void)find_micromotion(a.edit.anchor, a.edit.models_dir);  // a misspelt micromotion fails here, not on every node
  const fs::path dir = a.out + ".farm";

  json m;
  m["format"] = kFormat;
  m["input"] = a.in;
  m["input_bytes"] = fs::file_size(a.in);
  struct stat st {};
  if (stat(a.in.c_str(), &st) != 0) throw Error(a.in + ": cannot stat");
  m["input_mtime"] = fmt::format("{}.{:09d}", static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
  m["output"] = a.out;
  m["segments"] = a.segments;
  m["preroll"] = a.preroll;
  m["render"] = render_arguments(a.edit);
  m["overwrite"] = a.overwrite;
  m["frames"] = index.frames();
  const std::string render_script = script(a, dir, false), merge_script = script(a, dir, true);

  // Resume: the same settings, nothing of this farm still queued, the finished segments kept.
  std::vector<int> todo, kept;
  const bool resume = fs::exists(dir / "manifest.json");
  if (resume) {
    const json old = read_manifest(dir);
    const json was = settings_of(old), now = settings_of(m);
    for (auto it = now.begin(); it != now.end(); ++it)
      if (was.at(it.key()) != it.value())
        throw Error(dir.string() + " was made for other settings (" + it.key() + " differs); remove it, or keep "
                    "the settings it was made with");
    std::vector<std::string> ids;
    for (const auto& j : old.value("jobs", json::array())) ids.push_back(j.get<std::string>());
    if (!a.dry_run)
      if (const auto alive = active_jobs(ids); !alive.empty())
        throw Error("job " + *alive.begin() + " of this farm is still queued or running; wait for it (or scancel " +
                    *alive.begin() + ") before running the command again");
    if (old.contains("done")) m["done"] = old["done"];
  }
  for (int i = 1; i <= a.segments; ++i) (resume && segment_complete(dir, m, i) ? kept : todo).push_back(i);

  std::vector<std::string> render_cmd = {"sbatch", "--parsable", "--array=" + ranges_text(todo),
                                         (dir / "render.sbatch").string()};
  std::vector<std::string> merge_cmd = {"sbatch", "--parsable", (dir / "merge.sbatch").string()};
  auto command_text = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& w : v) s += (s.empty() ? "" : " ") + w;
    return s;
  };
  if (a.dry_run) {
    fmt::print("# work folder {} ({}; nothing written, nothing submitted)\n", dir.string(),
               resume ? "exists: segments " + (kept.empty() ? std::string("none") : ranges_text(kept)) + " are done"
                      : "new");
    fmt::print("# --- {}\n{}", (dir / "render.sbatch").string(), render_script);
    fmt::print("# --- {}\n{}", (dir / "merge.sbatch").string(), merge_script);
    std::string task;
    for (const auto& w : task_render_argv(m, dir, 1)) task += (task.empty() ? "" : " ") + shell_quote(w);
    fmt::print("# array task 1 runs (the others alike):\n{}\n", task);
    fmt::print("# submit:\n");
    if (!todo.empty()) {
      fmt::print("{}\n", command_text(render_cmd));
      merge_cmd.insert(merge_cmd.begin() + 2, {"--dependency=afterok:<render job>", "--kill-on-invalid-dep=yes"});
    }
    fmt::print("{}\n", command_text(merge_cmd));
    return 0;
  }

  for (const char* sub : {"segments", "status", "logs"}) fs::create_directories(dir / sub);
  write_atomically(dir / "render.sbatch", render_script);
  write_atomically(dir / "merge.sbatch", merge_script);
  fs::permissions(dir / "render.sbatch", fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  fs::permissions(dir / "merge.sbatch", fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  if (resume) {
    update_manifest(dir, [&](json& mm) {
      const json done = mm.value("done", json::object());
      mm = m;
      mm["done"] = done;
    });
  } else {
    write_atomically(dir / "manifest.json", m.dump(1) + "\n");
  }
  std::error_code ec;
  for (int i : todo) fs::remove(status_file(dir, i), ec);
  fs::remove(dir / "status" / "merge", ec);
  if (a.no_submit) {
    fmt::print("farm: work folder {} written, nothing submitted; segments to render: {}\n", dir.string(),
               todo.empty() ? std::string("none") : ranges_text(todo));
    return 0;
  }

  std::string render_job;
  if (!todo.empty()) {
    render_job = submit(render_cmd);
    merge_cmd.insert(merge_cmd.begin() + 2, {"--dependency=afterok:" + render_job, "--kill-on-invalid-dep=yes"});
  }
  const std::string merge_job = submit(merge_cmd);
  update_manifest(dir, [&](json& mm) {
    mm["jobs"] = json::array();
    if (!render_job.empty()) mm["jobs"].push_back(render_job);
    mm["jobs"].push_back(merge_job);
  });
  if (!kept.empty()) fmt::print("farm: resuming: segments {} of {} are done and kept\n", ranges_text(kept), a.segments);
  if (!todo.empty())
    fmt::print("farm: segments {} of {}: array job {}\n", ranges_text(todo), a.segments, render_job);
  fmt::print("farm: merge: job {}{}\n", merge_job, todo.empty() ? "" : " (after the array job succeeds)");
  fmt::print("farm: work folder {}\n", dir.string());
  std::fflush(stdout);
  if (!a.wait) return 0;
  return wait_for(a, dir, render_job, merge_job, todo);
}

}  // namespace

void add_farm(CLI::App& app) {
  auto* farm = app.add_subcommand("farm", "Render on a cluster: segments as an array job, then a merge job");
  farm->require_subcommand(1);

  auto* slurm = farm->add_subcommand(
      "slurm", "Submit a render as a Slurm array job (one task a segment) and a merge job after it; run again to "
               "resume (only missing or incomplete segments are submitted)");
  auto a = std::make_shared<SlurmArgs>();
  slurm->add_option("IN", a->in, "input video (on a filesystem every node sees)")->required();
  slurm->add_option("OUT", a->out, "output video; the work folder OUT.farm is made beside it")->required();
  slurm->add_option("--segments", a->segments, "number of segments (array tasks)")
      ->required()
      ->check(CLI::Range(1, 100000));
  slurm->add_option("--preroll", a->preroll, "frames before each segment run through the engine first, not written")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  slurm->add_flag("-y,--overwrite", a->overwrite, "replace OUT if it exists");
  add_render_options(*slurm, a->edit);
  slurm->add_option("--partition", a->partition, "sbatch --partition");
  slurm->add_option("--time", a->time, "sbatch --time, a task's time limit (e.g. 2:00:00)");
  slurm->add_option("--cpus-per-task", a->cpus, "sbatch --cpus-per-task (the engine's threads)")->check(CLI::Range(1, 4096));
  slurm->add_option("--gpus-per-task", a->gpus, "sbatch --gpus-per-task (render with --device cuda)")->check(CLI::Range(1, 64));
  slurm->add_option("--mem", a->mem, "sbatch --mem, memory a task (e.g. 8G)");
  slurm->add_option("--sbatch-arg", a->sbatch_args, "another sbatch option for both jobs, e.g. --sbatch-arg=--account=lab "
                                                    "(repeatable)");
  slurm->add_flag("--wait", a->wait, "return when the merge is done; exit non-zero naming failed segments and their logs");
  slurm->add_option("--poll", a->poll, "with --wait: seconds between queue checks")->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  slurm->add_flag("--no-submit", a->no_submit, "write the work folder (manifest, scripts) and submit nothing, for "
                                               "another scheduler to run `farm task` / `farm merge` (docs/farm.md)");
  slurm->add_flag("--dry-run", a->dry_run, "print the batch scripts and the sbatch commands; write and submit nothing");
  slurm->callback([a] {
    const int rc = run_slurm(*a);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* task = farm->add_subcommand(
      "task", "Render one segment of a farm's work folder and record its checksum (what each array task runs)");
  auto dir = std::make_shared<std::string>();
  auto index = std::make_shared<int>(0);
  task->add_option("DIR", *dir, "the work folder (OUT.farm)")->required();
  task->add_option("--index", *index, "segment number, 1-based (default: $SLURM_ARRAY_TASK_ID, or "
                                      "$JOB_COMPLETION_INDEX + 1 in a Kubernetes indexed Job)")
      ->check(CLI::Range(1, 100000));
  task->callback([dir, index] { run_task(*dir, *index); });

  auto* merge = farm->add_subcommand(
      "merge", "Check every segment of a farm's work folder against its checksum and merge them into OUT");
  auto mdir = std::make_shared<std::string>();
  merge->add_option("DIR", *mdir, "the work folder (OUT.farm)")->required();
  merge->callback([mdir] { run_merge(*mdir); });
}

}  // namespace micromotion::cli
