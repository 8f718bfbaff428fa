// The OBS module: registers the "Micromotion" filter and, at unload, waits for workers that
// were still finishing a frame when their filter went away.
#include "worker.hpp"

#include <micromotion/micromotion.h>
#include <obs-module.h>

OBS_DECLARE_MODULE()
OBS_MODULE_USE_DEFAULT_LOCALE("micromotion", "en-US")

extern "C" void micromotion_register_filter(void);

MODULE_EXPORT const char* obs_module_description(void) { return obs_module_text("Description"); }

bool obs_module_load(void) {
  micromotion_register_filter();
  blog(LOG_INFO, "[micromotion] filter loaded (libmicromotion %s)", mm_version());
  return true;
}

void obs_module_unload(void) {
  mmobs::Worker::join_all_retired();
}
