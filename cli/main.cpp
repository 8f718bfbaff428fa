// micromotion — command-line front end of the core library.
#include "commands.h"

#include <micromotion/error.h>
#include <micromotion/settings.h>
#include <micromotion/threads.h>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"micromotion: micromotion face edits (Wu et al. 2022) for images and video"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "micromotion 0.1.0");
  // The settings table's threads row, for every command (render, generate, invert, ...).
  const mm_setting_info& t = micromotion::setting("threads");
  int threads = static_cast<int>(micromotion::default_number("threads"));
  app.add_option("--threads", threads, std::string(t.help) + " (before the command)")
      ->check(CLI::Range(static_cast<int>(t.min), static_cast<int>(t.max)))
      ->capture_default_str();
  app.parse_complete_callback([&threads] { micromotion::set_threads(threads); });
  micromotion::cli::add_inspect(app);
  micromotion::cli::add_generate(app);
  micromotion::cli::add_models(app);
  micromotion::cli::add_invert(app);
  micromotion::cli::add_subspace(app);
  micromotion::cli::add_settings(app);
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
