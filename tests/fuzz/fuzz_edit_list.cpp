// The edit-list parser (edit-list files are shared like micromotions, docs/edits.md): every
// input is parsed; an accepted list must pass check_edit_list again, and its entries must be
// what the schema allows (a person for every named edit and region, at least one edit).
#include <micromotion/edit_list.h>
#include <micromotion/error.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace micromotion;
  EditList list;
  try {
    list = parse_edit_list(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json", "/lists");
  } catch (const Error& e) {
    // A message never holds a raw control byte or quote of the input (they are escaped).
    for (const char c : std::string(e.what()))
      if (static_cast<unsigned char>(c) < 0x20) std::abort();
    return 0;
  }
  try {
    check_edit_list(list);
  } catch (const Error&) {
    std::abort();  // parse_edit_list returned a list its own check refuses
  }
  if (list.edits.empty()) std::abort();
  auto defined = [&](const std::string& name) {
    return name.empty() || std::any_of(list.people.begin(), list.people.end(),
                                       [&](const PersonReference& p) { return p.name == name; });
  };
  for (const EditSpec& e : list.edits)
    if (!defined(e.person) || e.anchor.empty() || e.where.empty()) std::abort();
  for (const RegionSpec& r : list.regions)
    if (!defined(r.person) || r.regions == 0) std::abort();
  for (const PersonReference& p : list.people)
    for (const std::string& photo : p.photos)
      if (photo.empty() || photo[0] != '/') std::abort();  // made absolute against the folder
  (void)others_edited(list);
  return 0;
}
