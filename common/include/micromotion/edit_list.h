// micromotion/edit_list.h — who gets which edit: people (by reference photos), edits (a
// micromotion and its strength, for one person or for everyone), regions (where on the face an
// edit writes) and what happens to faces that match no person. One list, from an edit-list file
// (JSON, docs/edits.md) or the front ends' options (--person, --edit, --region, --others).
//
// read_edit_list(path) / parse_edit_list(text, source)
//   ensures: the list, photos made absolute against the file's folder; check_edit_list passed.
//   throws:  micromotion::Error naming `source` and the entry ("edits[2]"): not JSON, too large
//            (1 MiB) or too deep (16 levels, counted before parsing), a key twice in one object,
//            an unknown key, a value of the wrong type, and everything check_edit_list refuses
//            ("edits.json: edits[1] (person 'bob'): no person 'bob' is defined (people: alice)").
//            Never echoes the file's contents: names and keys are quoted escaped and cut short
//            (quoted_for_message). Entries' `where` is "edits[i]" / "regions[i]" (0-based), without
//            `source`; people are named "people[i]" by their index.
// parse_person_arg("NAME=PHOTO[,PHOTO...]"), parse_edit_arg("[NAME/]ANCHOR[=STRENGTH]", people),
// parse_region_arg("[NAME/]REGION[+REGION...]", people): one option's value. NAME/ is a person
//   only when NAME is one of `people` (an anchor may be a path with slashes). throw Error quoting
//   the option.
// check_edit_list(list): names unique, not empty, made of [A-Za-z0-9_.-]; every person has a
//   photo; every edit and region names a defined person (or none); one region per person and one
//   global; every strength a number or a valid strength expression; at least one edit. throws
//   Error naming the entry (its `where`).
// others_edited(list): whether faces of no person are edited: others == edit, or automatic with
//   no person defined.
// resolve_edit_list(list, options): below. Its errors name the entry by `where` alone (a front
//   end reading a file puts the file's name in front).
#pragma once

#include <micromotion/engine.h>
#include <micromotion/face_region.h>
#include <micromotion/motion.h>
#include <micromotion/person_matcher.h>

#include <optional>
#include <string>
#include <vector>

namespace micromotion {

struct EditSpec {
  std::string person;    // "" : everyone
  std::string anchor;    // published name or file
  std::string strength;  // a number or an expression; "" : the strength setting's default
  std::string where;     // "edits[2]", "--edit bob/smile=3": how errors name it
};

struct RegionSpec {
  std::string person;    // "" : everyone without a region of their own
  FaceRegions regions = kRegionFace;
  std::string where;
};

enum class Others { automatic, keep, edit };
Others parse_others(const std::string& text);  // auto | keep | edit

struct EditList {
  std::vector<PersonReference> people;
  std::vector<EditSpec> edits;
  std::vector<RegionSpec> regions;
  Others others = Others::automatic;
  std::optional<double> identity_threshold;
};

EditList read_edit_list(const std::string& path);
EditList parse_edit_list(const std::string& text, const std::string& source, const std::string& base_dir = "");
PersonReference parse_person_arg(const std::string& text);
// PHOTO[,PHOTO...]: one person's photos, in order (the part of --person after '=', the filter's
// person=). throws Error "<where>: an empty photo name (expected <grammar>)".
std::vector<std::string> parse_photo_list(const std::string& photos, const std::string& where,
                                          const std::string& grammar);
EditSpec parse_edit_arg(const std::string& text, const std::vector<PersonReference>& people);
RegionSpec parse_region_arg(const std::string& text, const std::vector<PersonReference>& people);
void check_edit_list(const EditList& list);
bool others_edited(const EditList& list);

// The engine's share of a checked list: options.people, edit_person, others_edited, region,
// person_region and matcher.threshold set from it; motions[i] (found with find_micromotion in
// options.models_dir) and strengths[i] (text; "" became the strength setting's default) are
// edit i. throws Error naming the entry ("edits[1] (bob/angryy): ...") for an unknown anchor.
struct ResolvedEdits {
  std::vector<Micromotion> motions;
  std::vector<std::string> strengths;
};
ResolvedEdits resolve_edit_list(const EditList& list, EngineOptions& options);

}  // namespace micromotion
