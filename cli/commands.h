// The subcommands of `micromotion`; each registers itself on the top-level app.
#pragma once

namespace CLI {
class App;
}

namespace micromotion::cli {

void add_inspect(CLI::App& app);
void add_generate(CLI::App& app);
void add_models(CLI::App& app);
void add_invert(CLI::App& app);
void add_subspace(CLI::App& app);
void add_settings(CLI::App& app);
#ifdef MICROMOTION_HAVE_FACE
void add_align(CLI::App& app);
void add_render(CLI::App& app);
void add_merge(CLI::App& app);
void add_farm(CLI::App& app);
void add_evaluate(CLI::App& app);
#endif

}  // namespace micromotion::cli
