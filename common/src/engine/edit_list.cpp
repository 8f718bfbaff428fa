// The edit list (edit_list.h): its JSON form (docs/edits.md), the front ends' option grammars,
// the checks, and the engine's share. Edit lists are shared between people like micromotions
// are, so the JSON text is bounded (size, nesting) before nlohmann, which recurses, sees it,
// and messages name entries and quote names escaped and cut short (quoted_for_message), never
// the file's bytes as they are.
#include <micromotion/edit_list.h>
#include <micromotion/error.h>
#include <micromotion/settings.h>
#include <micromotion/strength_expression.h>
#include <micromotion/value.h>

#include "io/json_depth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace micromotion {

namespace fs = std::filesystem;

namespace {

// Real lists are a few hundred bytes; 1 MiB holds thousands of entries and bounds what parsing
// costs (nlohmann keeps ~40 bytes per value).
constexpr size_t kMaxListBytes = size_t(1) << 20;
// The schema nests three levels ({"people": [{"photos": [...]}]}); deeper text is refused
// before parsing, so neither the parser nor the destructor walks a file-controlled depth.
constexpr int kMaxJsonDepth = 16;

using Json = nlohmann::json;

std::string q(const std::string& text) { return quoted_for_message(text, 48); }

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// Text for a message without quotes ("bob/smile"): escaped and cut short like q().
std::string plain(const std::string& text) {
  const std::string quoted = quoted_for_message(text, 48);
  return quoted.substr(1, quoted.size() - 2);
}

// "alice, bob" (the names of a checked list are made of [A-Za-z0-9_.-]; escaped all the same).
std::string people_names(const std::vector<PersonReference>& people) {
  if (people.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < people.size(); ++i) {
    if (i == 8) return out + ", … " + std::to_string(people.size()) + " in all";
    out += (i ? ", " : "") + plain(people[i].name);
  }
  return out;
}

bool is_person(const std::string& name, const std::vector<PersonReference>& people) {
  return std::any_of(people.begin(), people.end(), [&](const PersonReference& p) { return p.name == name; });
}

[[noreturn]] void no_such_person(const std::string& where, const std::string& name,
                                 const std::vector<PersonReference>& people) {
  throw Error(where + " (person " + q(name) + "): no person " + q(name) + " is defined (people: " +
              people_names(people) + ")");
}

// Its number as strength text: shortest exact form.
std::string number_text(double v) {
  char b[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(b, sizeof b, "%.*g", digits, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

// One JSON entry's keys, checked against the schema's.
void check_keys(const Json& entry, const std::string& where, std::initializer_list<const char*> keys) {
  for (const auto& item : entry.items()) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return item.key() == k; })) {
      std::string list;
      for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      throw Error(where + ": unknown key " + q(item.key()) + " (keys: " + list + ")");
    }
  }
}

std::string string_of(const Json& entry, const char* key, const std::string& where, bool required) {
  const auto it = entry.find(key);
  if (it == entry.end()) {
    if (required) throw Error(where + ": no \"" + key + "\"");
    return "";
  }
  if (!it->is_string()) throw Error(where + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

const Json* array_of(const Json& root, const char* key) {
  const auto it = root.find(key);
  if (it == root.end()) return nullptr;
  if (!it->is_array()) throw Error(std::string("\"") + key + "\" must be a list");
  return &*it;
}

std::string entry_where(const char* key, size_t i) { return std::string(key) + "[" + std::to_string(i) + "]"; }

PersonReference person_of(const Json& e, const std::string& where, const std::string& base_dir) {
  if (!e.is_object()) throw Error(where + ": must be an object ({\"name\": ..., \"photos\": [...]})");
  check_keys(e, where, {"name", "photos"});
  PersonReference p;
  p.name = string_of(e, "name", where, true);
  const auto it = e.find("photos");
  if (it != e.end()) {
    const std::string at = where + (valid_name(p.name) ? " (" + p.name + ")" : "");
    if (!it->is_array()) throw Error(at + ": \"photos\" must be a list of file names");
    for (size_t k = 0; k < it->size(); ++k) {
      const Json& photo = (*it)[k];
      if (!photo.is_string()) throw Error(at + ": photos[" + std::to_string(k) + "] must be a string (a file name)");
      std::string path = photo.get<std::string>();
      if (path.empty()) throw Error(at + ": photos[" + std::to_string(k) + "] is empty");
      if (!base_dir.empty() && fs::path(path).is_relative()) path = (fs::path(base_dir) / path).lexically_normal().string();
      p.photos.push_back(std::move(path));
    }
  }
  return p;
}

EditSpec edit_of(const Json& e, const std::string& where) {
  if (!e.is_object()) throw Error(where + ": must be an object ({\"anchor\": ..., \"strength\": ...})");
  check_keys(e, where, {"person", "anchor", "strength"});
  EditSpec s;
  s.where = where;
  s.person = string_of(e, "person", where, false);
  s.anchor = string_of(e, "anchor", where, true);
  const auto it = e.find("strength");
  if (it != e.end()) {
    if (it->is_number()) {
      s.strength = number_text(it->get<double>());
    } else if (it->is_string()) {
      s.strength = it->get<std::string>();
      if (s.strength.empty()) throw Error(where + ": \"strength\" is empty (leave it out for the default, " +
                                          std::string(default_text("strength")) + ")");
    } else {
      throw Error(where + ": \"strength\" must be a number or a string (a strength expression, docs/strength.md)");
    }
  }
  return s;
}

// parse_face_regions, whose message quotes the text as it is: text that is not short printable
// ASCII is refused here, escaped (a file's bytes never reach a message raw).
FaceRegions regions_of(const std::string& text) {
  const bool plain_text = text.size() <= 48 && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '\\' && c != '\'';
  });
  if (!plain_text)
    throw Error("region " + q(text) + ": not a region (parts: face, eyes, brows, mouth, nose, jaw; join with +)");
  return parse_face_regions(text);
}

RegionSpec region_of(const Json& e, const std::string& where) {
  if (!e.is_object()) throw Error(where + ": must be an object ({\"region\": ...})");
  check_keys(e, where, {"person", "region"});
  RegionSpec r;
  r.where = where;
  r.person = string_of(e, "person", where, false);
  const std::string text = string_of(e, "region", where, true);
  try {
    r.regions = regions_of(text);
  } catch (const Error& ex) {
    throw Error(where + (r.person.empty() ? "" : " (person " + q(r.person) + ")") + ": " + ex.what());
  }
  return r;
}

}  // namespace

Others parse_others(const std::string& text) {
  if (text == "auto") return Others::automatic;
  if (text == "keep") return Others::keep;
  if (text == "edit") return Others::edit;
  throw Error("others must be one of auto, keep, edit (got " + q(text) + ")");
}

EditList read_edit_list(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path + ": is a directory, not an edit list");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open the edit list");
  // At most one byte past the limit: a huge file is refused without reading it.
  std::string text(kMaxListBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (f.bad()) throw Error(path + ": cannot read the edit list");
  text.resize(static_cast<size_t>(f.gcount()));
  const fs::path folder = fs::absolute(fs::path(path), ec).parent_path();
  return parse_edit_list(text, path, folder.lexically_normal().string());
}

EditList parse_edit_list(const std::string& text, const std::string& source, const std::string& base_dir) {
  if (text.size() > kMaxListBytes) throw Error(source + ": the edit list is larger than the 1 MiB limit");
  if (detail::json_nests_deeper_than(text.data(), text.size(), kMaxJsonDepth))
    throw Error(source + ": the edit list nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  // nlohmann keeps the last of two equal keys: found while parsing, refused after.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  const Json::parser_callback_t on_event = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) keys.emplace_back();
    else if (event == Json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (event == Json::parse_event_t::key && !keys.empty() && duplicate.empty() &&
             !keys.back().insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  Json root;
  try {
    root = Json::parse(text, on_event);
  } catch (const Json::parse_error& e) {
    // e.what() quotes the text around the error: the position only.
    throw Error(source + ": the edit list is not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception&) {
    throw Error(source + ": the edit list is not valid JSON");
  }
  if (!duplicate.empty()) throw Error(source + ": the key " + q(duplicate) + " is given twice in one object");
  EditList list;
  try {
    if (!root.is_object()) throw Error("the edit list must be a JSON object ({\"people\": ..., \"edits\": ...})");
    check_keys(root, "the edit list", {"people", "edits", "regions", "others", "identity_threshold"});
    if (const Json* people = array_of(root, "people"))
      for (size_t i = 0; i < people->size(); ++i)
        list.people.push_back(person_of((*people)[i], entry_where("people", i), base_dir));
    if (const Json* edits = array_of(root, "edits"))
      for (size_t i = 0; i < edits->size(); ++i) list.edits.push_back(edit_of((*edits)[i], entry_where("edits", i)));
    if (const Json* regions = array_of(root, "regions"))
      for (size_t i = 0; i < regions->size(); ++i)
        list.regions.push_back(region_of((*regions)[i], entry_where("regions", i)));
    if (const auto it = root.find("others"); it != root.end()) {
      if (!it->is_string()) throw Error("\"others\" must be a string: auto, keep or edit");
      list.others = parse_others(it->get<std::string>());
    }
    if (const auto it = root.find("identity_threshold"); it != root.end()) {
      if (!it->is_number()) throw Error("\"identity_threshold\" must be a number");
      list.identity_threshold = it->get<double>();
    }
    check_edit_list(list);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  return list;
}

PersonReference parse_person_arg(const std::string& text) {
  const std::string where = "--person " + text;
  const size_t eq = text.find('=');
  if (eq == std::string::npos) throw Error(where + ": expected NAME=PHOTO[,PHOTO...]");
  PersonReference p;
  p.name = text.substr(0, eq);
  if (!valid_name(p.name))
    throw Error(where + ": a person's name is made of letters, digits, '_', '.' and '-' (got " + q(p.name) + ")");
  p.photos = parse_photo_list(text.substr(eq + 1), where, "NAME=PHOTO[,PHOTO...]");
  return p;
}

std::vector<std::string> parse_photo_list(const std::string& photos, const std::string& where,
                                          const std::string& grammar) {
  std::vector<std::string> out;
  size_t begin = 0;
  for (;;) {
    const size_t comma = photos.find(',', begin);
    const std::string photo = photos.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    if (photo.empty()) throw Error(where + ": an empty photo name (expected " + grammar + ")");
    out.push_back(photo);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return out;
}

EditSpec parse_edit_arg(const std::string& text, const std::vector<PersonReference>& people) {
  EditSpec s;
  s.where = "--edit " + text;
  // A strength expression has no '=' (FFmpeg's grammar: eq() is a function), a path may.
  const size_t eq = text.rfind('=');
  std::string target = text.substr(0, eq);
  if (eq != std::string::npos) {
    s.strength = text.substr(eq + 1);
    if (s.strength.empty()) throw Error(s.where + ": no strength after '=' (expected [NAME/]ANCHOR[=STRENGTH])");
  }
  // NAME/ is a person only when NAME is one: otherwise the whole is an anchor path.
  const size_t slash = target.find('/');
  if (slash != std::string::npos && is_person(target.substr(0, slash), people)) {
    s.person = target.substr(0, slash);
    target = target.substr(slash + 1);
  }
  if (target.empty()) throw Error(s.where + ": no micromotion (expected [NAME/]ANCHOR[=STRENGTH])");
  s.anchor = target;
  if (!s.strength.empty()) {
    try {
      StrengthExpression check(s.strength);
    } catch (const Error& e) {
      throw Error(s.where + ": " + e.what());
    }
  }
  return s;
}

RegionSpec parse_region_arg(const std::string& text, const std::vector<PersonReference>& people) {
  RegionSpec r;
  r.where = "--region " + text;
  std::string regions = text;
  // Region names have no '/': what comes before one must be a person.
  const size_t slash = text.find('/');
  if (slash != std::string::npos) {
    r.person = text.substr(0, slash);
    if (!is_person(r.person, people)) no_such_person(r.where, r.person, people);
    regions = text.substr(slash + 1);
  }
  try {
    r.regions = regions_of(regions);
  } catch (const Error& e) {
    throw Error(r.where + ": " + e.what());
  }
  return r;
}

void check_edit_list(const EditList& list) {
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < list.people.size(); ++i) {
    const PersonReference& p = list.people[i];
    const std::string where = entry_where("people", i);
    if (p.name.empty()) throw Error(where + ": the name is empty");
    if (!valid_name(p.name))
      throw Error(where + ": the name " + q(p.name) + " is not made of letters, digits, '_', '.' and '-' only");
    const auto [it, fresh] = seen.emplace(p.name, i);
    if (!fresh)
      throw Error(where + " (" + p.name + "): the name " + q(p.name) + " is defined twice (" +
                  entry_where("people", it->second) + " too)");
    if (p.photos.empty()) throw Error(where + " (" + p.name + "): no photos (a person needs at least one)");
    for (size_t k = 0; k < p.photos.size(); ++k)
      if (p.photos[k].empty()) throw Error(where + " (" + p.name + "): photos[" + std::to_string(k) + "] is empty");
  }
  if (list.edits.empty()) throw Error("no edits (the list needs at least one entry in \"edits\")");
  for (size_t i = 0; i < list.edits.size(); ++i) {
    const EditSpec& e = list.edits[i];
    const std::string where = e.where.empty() ? entry_where("edits", i) : e.where;
    if (!e.person.empty() && !is_person(e.person, list.people)) no_such_person(where, e.person, list.people);
    if (e.anchor.empty()) throw Error(where + ": no micromotion (\"anchor\" is empty)");
    if (!e.strength.empty()) {
      try {
        StrengthExpression check(e.strength);
      } catch (const Error& ex) {
        throw Error(where + ": " + ex.what());
      }
    }
  }
  std::map<std::string, std::string> region_of;  // person ("" : everyone) -> where its region is
  for (size_t i = 0; i < list.regions.size(); ++i) {
    const RegionSpec& r = list.regions[i];
    const std::string where = r.where.empty() ? entry_where("regions", i) : r.where;
    if (!r.person.empty() && !is_person(r.person, list.people)) no_such_person(where, r.person, list.people);
    if (r.regions == 0) throw Error(where + ": no region");
    const auto [it, fresh] = region_of.emplace(r.person, where);
    if (!fresh)
      throw Error(where + (r.person.empty() ? "" : " (person " + q(r.person) + ")") + ": a second region for " +
                  (r.person.empty() ? std::string("everyone") : q(r.person)) + " (the first: " + it->second + ")");
  }
  if (list.identity_threshold) {
    const double v = *list.identity_threshold;
    if (!std::isfinite(v)) throw Error("identity_threshold must be a finite number");
    check_range("identity_threshold", v);
  }
}

bool others_edited(const EditList& list) {
  return list.others == Others::edit || (list.others == Others::automatic && list.people.empty());
}

ResolvedEdits resolve_edit_list(const EditList& list, EngineOptions& options) {
  check_edit_list(list);
  ResolvedEdits out;
  for (size_t i = 0; i < list.edits.size(); ++i) {
    const EditSpec& e = list.edits[i];
    const std::string where = e.where.empty() ? entry_where("edits", i) : e.where;
    try {
      out.motions.push_back(find_micromotion(e.anchor, options.models_dir));
    } catch (const Error& ex) {
      std::string hint;
      // "--edit bob/smile" with no person bob reads as a path: say that too.
      const size_t slash = e.anchor.find('/');
      if (e.person.empty() && slash != std::string::npos && slash > 0 && !fs::exists(e.anchor.substr(0, slash)))
        hint = " (and no person " + q(e.anchor.substr(0, slash)) + " is defined; people: " + people_names(list.people) +
               ")";
      throw Error(where + " (" + plain((e.person.empty() ? "" : e.person + "/") + e.anchor) + "): " + ex.what() + hint);
    }
    out.strengths.push_back(e.strength.empty() ? std::string(default_text("strength")) : e.strength);
  }
  options.people = list.people;
  options.edit_person.clear();
  for (const EditSpec& e : list.edits) options.edit_person.push_back(e.person);
  options.others_edited = others_edited(list);
  options.region = kRegionFace;
  options.person_region.clear();
  for (const RegionSpec& r : list.regions) {
    if (r.person.empty()) options.region = r.regions;
    else options.person_region[r.person] = r.regions;
  }
  if (list.identity_threshold) options.matcher.threshold = *list.identity_threshold;
  if (options.matcher.models_dir.empty()) options.matcher.models_dir = options.models_dir;
  return out;
}

}  // namespace micromotion
