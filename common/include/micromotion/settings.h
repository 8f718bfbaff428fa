// micromotion/settings.h — the engine's settings table (C API: mm_setting_info in
// micromotion.h), seen from C++: the one home of each setting's name, type, default, range or
// choices, help, units, front ends and whether it may change while running. mm_default_params,
// mm_create's checks, the CLI's render options, the OBS properties and `micromotion settings`
// come from it; the FFmpeg filter's static AVOption table is checked against it by a test.
//
// setting(name): requires: name is a row (throws micromotion::Error otherwise).
// default_number(name) / default_text(name): the row's default as a number / as text.
// choices(row): the row's choices, in order (empty unless a CHOICE).
// check_range(name, value): throws Error "NAME must be within [MIN, MAX] (got VALUE)".
// check_choice(name, index): throws Error "NAME must be one of A, B (got INDEX)".
// kebab(name): the CLI's spelling ("detect_every" -> "detect-every").
#pragma once

#include <micromotion/micromotion.h>

#include <string>
#include <vector>

namespace micromotion {

// The rows, in the table's order; find_setting: NULL for an unknown name.
const std::vector<const mm_setting_info*>& settings_table();
const mm_setting_info* find_setting(const char* name);
const mm_setting_info& setting(const std::string& name);
double default_number(const std::string& name);
const char* default_text(const std::string& name);
std::vector<std::string> choices(const mm_setting_info& row);
void check_range(const std::string& name, double value);
void check_choice(const std::string& name, int index);
std::string kebab(const std::string& name);

}  // namespace micromotion
