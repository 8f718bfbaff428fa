// micromotion — command-line front end of the core library.
#include "commands.h"

#include <micromotion/error.h>
#include <micromotion/threads.h>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"micromotion: micromotion face edits (Wu et al. 2022) for images and video"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "micromotion 0.1.0");
  int threads = 0;
  app.add_option("--threads", threads,
                 "worker threads (default: $MICROMOTION_THREADS, $OMP_NUM_THREADS, else every available CPU)")
      ->check(CLI::Range(0, 1024));
  app.parse_complete_callback([&threads] { micromotion::set_threads(threads); });
  micromotion::cli::add_inspect(app);
  micromotion::cli::add_generate(app);
  micromotion::cli::add_models(app);
  micromotion::cli::add_invert(app);
  micromotion::cli::add_subspace(app);
#ifdef MICROMOTION_HAVE_FACE
  micromotion::cli::add_align(app);
  micromotion::cli::add_render(app);
  micromotion::cli::add_merge(app);
  micromotion::cli::add_farm(app);
  micromotion::cli::add_evaluate(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const micromotion::Error& e) {
    std::fprintf(stderr, "micromotion: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "micromotion: error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "micromotion: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
