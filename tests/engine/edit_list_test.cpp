// The edit list (edit_list.h, docs/edits.md): its JSON form, every class of error with the exact
// message naming the entry, the command-line grammars, and the engine's share of a list.
#include "engine/engine_test_support.h"

#include "test_support.h"

#include <micromotion/edit_list.h>
#include <micromotion/error.h>
#include <micromotion/face_region.h>
#include <micromotion/settings.h>
#include <micromotion/strength_expression.h>

#include <gtest/gtest.h>

#include <string>

namespace {

namespace fs = std::filesystem;
using namespace micromotion;

// The message parse_edit_list throws for `text` ("" when it throws none).
std::string parse_error(const std::string& text, const std::string& source = "edits.json") {
  try {
    parse_edit_list(text, source);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kFull = R"({
  "people": [{"name": "alice", "photos": ["a1.jpg", "sub/a2.jpg"]}, {"name": "bob", "photos": ["/abs/b.jpg"]}],
  "edits": [{"person": "alice", "anchor": "aging", "strength": "3*t"}, {"anchor": "smile", "strength": 4},
            {"person": "bob", "anchor": "dir/x.safetensors", "strength": 0.1}, {"anchor": "angry"}],
  "regions": [{"person": "alice", "region": "eyes+mouth"}, {"region": "face"}],
  "others": "keep",
  "identity_threshold": 0.55
})";

// A valid list with one entry replaced (the people are alice only).
std::string with_edits(const std::string& edits) {
  return R"({"people": [{"name": "alice", "photos": ["a.jpg"]}], "edits": )" + edits + "}";
}
std::string with_regions(const std::string& regions) {
  return R"({"people": [{"name": "alice", "photos": ["a.jpg"]}], "edits": [{"anchor": "smile"}], "regions": )" +
         regions + "}";
}
std::string with_people(const std::string& people) {
  return R"({"people": )" + people + R"(, "edits": [{"anchor": "smile"}]})";
}

std::vector<PersonReference> alice() { return {PersonReference{"alice", {"a.jpg"}}}; }

TEST(EditList, AFullListParses) {
  const EditList l = parse_edit_list(kFull, "edits.json", "/lists");
  ASSERT_EQ(l.people.size(), 2u);
  EXPECT_EQ(l.people[0].name, "alice");
  EXPECT_EQ(l.people[0].photos, (std::vector<std::string>{"/lists/a1.jpg", "/lists/sub/a2.jpg"}));
  EXPECT_EQ(l.people[1].photos, (std::vector<std::string>{"/abs/b.jpg"}));
  ASSERT_EQ(l.edits.size(), 4u);
  EXPECT_EQ(l.edits[0].person, "alice");
  EXPECT_EQ(l.edits[0].anchor, "aging");
  EXPECT_EQ(l.edits[0].strength, "3*t");
  EXPECT_EQ(l.edits[0].where, "edits[0]");
  EXPECT_EQ(l.edits[1].person, "");
  EXPECT_EQ(l.edits[1].strength, "4");
  EXPECT_EQ(l.edits[2].anchor, "dir/x.safetensors");
  EXPECT_EQ(l.edits[2].strength, "0.1");  // a number's shortest exact text
  EXPECT_EQ(l.edits[3].strength, "");     // the strength setting's default, at resolve
  ASSERT_EQ(l.regions.size(), 2u);
  EXPECT_EQ(l.regions[0].person, "alice");
  EXPECT_EQ(l.regions[0].regions, kRegionEyes | kRegionMouth);
  EXPECT_EQ(l.regions[0].where, "regions[0]");
  EXPECT_EQ(l.regions[1].person, "");
  EXPECT_EQ(l.regions[1].regions, kRegionFace);
  EXPECT_EQ(l.others, Others::keep);
  ASSERT_TRUE(l.identity_threshold);
  EXPECT_EQ(*l.identity_threshold, 0.55);
  EXPECT_FALSE(others_edited(l));

  // Without a base folder, photos stay as written; the smallest list is one edit.
  EXPECT_EQ(parse_edit_list(kFull, "edits.json").people[0].photos[0], "a1.jpg");
  const EditList one = parse_edit_list(R"({"edits": [{"anchor": "smile"}]})", "x");
  EXPECT_TRUE(one.people.empty());
  EXPECT_EQ(one.others, Others::automatic);
  EXPECT_FALSE(one.identity_threshold);
  EXPECT_TRUE(others_edited(one));  // no people: everyone is edited
}

TEST(EditList, ReadMakesPhotosAbsoluteAgainstTheListsFolder) {
  const fs::path dir = mmtest::temp_dir("edit_list_read");
  mmtest::write_file(dir / "edits.json", kFull);
  const EditList l = read_edit_list((dir / "edits.json").string());
  EXPECT_EQ(l.people[0].photos[0], (dir / "a1.jpg").lexically_normal().string());
  EXPECT_EQ(l.people[0].photos[1], (dir / "sub" / "a2.jpg").lexically_normal().string());
  const std::string missing = (dir / "missing.json").string();
  EXPECT_EQ(error_of([&] { read_edit_list(missing); }), missing + ": cannot open the edit list");
  EXPECT_EQ(error_of([&] { read_edit_list(dir.string()); }), dir.string() + ": is a directory, not an edit list");
  // Too big: refused by size, before parsing, also from a file.
  mmtest::write_file(dir / "big.json", "{" + std::string((1u << 20) + 10, ' ') + "}");
  EXPECT_EQ(error_of([&] { read_edit_list((dir / "big.json").string()); }),
            (dir / "big.json").string() + ": the edit list is larger than the 1 MiB limit");
}

TEST(EditList, MalformedTextIsRefusedWithoutEchoingIt) {
  EXPECT_EQ(parse_error("SECRET-TEXT"), "edits.json: the edit list is not valid JSON (error at byte 1)");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "SECRET")"),
            "edits.json: the edit list is not valid JSON (error at byte 31)");
  EXPECT_EQ(parse_error(""), "edits.json: the edit list is not valid JSON (error at byte 1)");
  EXPECT_EQ(parse_error("[1, 2]"), "edits.json: the edit list must be a JSON object ({\"people\": ..., \"edits\": ...})");
  // Too deep: counted before nlohmann (which recurses) sees it; brackets in strings do not count.
  EXPECT_EQ(parse_error(std::string(17, '[') + std::string(17, ']')),
            "edits.json: the edit list nests JSON deeper than 16 levels");
  EXPECT_EQ(parse_error(std::string(100000, '{')), "edits.json: the edit list nests JSON deeper than 16 levels");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]})"), "");
  // Too big, whatever it holds.
  EXPECT_EQ(parse_error("{" + std::string(1u << 20, ' ') + "}"), "edits.json: the edit list is larger than the 1 MiB limit");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "smile"}], "edits": []})"),
            "edits.json: the key 'edits' is given twice in one object");
}

TEST(EditList, UnknownKeysAreErrors) {
  EXPECT_EQ(parse_error(R"({"edit": [{"anchor": "smile"}]})"),
            "edits.json: the edit list: unknown key 'edit' (keys: people, edits, regions, others, identity_threshold)");
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": "smile"}, {"anchor": "smile", "strenght": 3}])")),
            "edits.json: edits[1]: unknown key 'strenght' (keys: person, anchor, strength)");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photo": ["a.jpg"]}])")),
            "edits.json: people[0]: unknown key 'photo' (keys: name, photos)");
  EXPECT_EQ(parse_error(with_regions(R"([{"region": "eyes", "persons": "alice"}])")),
            "edits.json: regions[0]: unknown key 'persons' (keys: person, region)");
  // A hostile key is escaped and cut short.
  EXPECT_EQ(parse_error("{\"a'\\u0001\\n" + std::string(100, 'x') + "\": 1}"),
            "edits.json: the edit list: unknown key 'a\\x27\\x01\\x0a" + std::string(44, 'x') +
                "…' (keys: people, edits, regions, others, identity_threshold)");
}

TEST(EditList, ValuesOfTheWrongTypeAreErrors) {
  EXPECT_EQ(parse_error(R"({"people": {}, "edits": [{"anchor": "smile"}]})"), "edits.json: \"people\" must be a list");
  EXPECT_EQ(parse_error(R"({"edits": {"anchor": "smile"}})"), "edits.json: \"edits\" must be a list");
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": "smile", "strength": true}])")),
            "edits.json: edits[0]: \"strength\" must be a number or a string (a strength expression, docs/strength.md)");
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": "smile", "strength": ""}])")),
            "edits.json: edits[0]: \"strength\" is empty (leave it out for the default, 5)");
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": 3}])")), "edits.json: edits[0]: \"anchor\" must be a string");
  EXPECT_EQ(parse_error(with_edits(R"([{"strength": 3}])")), "edits.json: edits[0]: no \"anchor\"");
  EXPECT_EQ(parse_error(with_edits(R"(["smile"])")),
            "edits.json: edits[0]: must be an object ({\"anchor\": ..., \"strength\": ...})");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photos": "a.jpg"}])")),
            "edits.json: people[0] (alice): \"photos\" must be a list of file names");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photos": ["a.jpg", 7]}])")),
            "edits.json: people[0] (alice): photos[1] must be a string (a file name)");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photos": ["a.jpg", ""]}])")),
            "edits.json: people[0] (alice): photos[1] is empty");
  EXPECT_EQ(parse_error(with_people(R"([{"photos": ["a.jpg"]}])")), "edits.json: people[0]: no \"name\"");
  EXPECT_EQ(parse_error(with_regions(R"([{"person": "alice"}])")), "edits.json: regions[0]: no \"region\"");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "smile"}], "others": 1})"),
            "edits.json: \"others\" must be a string: auto, keep or edit");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "smile"}], "others": "all"})"),
            "edits.json: others must be one of auto, keep, edit (got 'all')");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "smile"}], "identity_threshold": "0.5"})"),
            "edits.json: \"identity_threshold\" must be a number");
  EXPECT_EQ(parse_error(R"({"edits": [{"anchor": "smile"}], "identity_threshold": 5})"),
            "edits.json: " + error_of([] { check_range("identity_threshold", 5); }));
}

TEST(EditList, PeopleAreNamedOnceWithPhotosAndPlainNames) {
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photos": ["a.jpg"]}, {"name": "alice", "photos": ["b.jpg"]}])")),
            "edits.json: people[1] (alice): the name 'alice' is defined twice (people[0] too)");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice", "photos": []}])")),
            "edits.json: people[0] (alice): no photos (a person needs at least one)");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "alice"}])")),
            "edits.json: people[0] (alice): no photos (a person needs at least one)");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "al ice/x", "photos": ["a.jpg"]}])")),
            "edits.json: people[0]: the name 'al ice/x' is not made of letters, digits, '_', '.' and '-' only");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "", "photos": ["a.jpg"]}])")), "edits.json: people[0]: the name is empty");
  EXPECT_EQ(parse_error(with_people(R"([{"name": "A-b_c.9", "photos": ["a.jpg"]}])")), "");
}

TEST(EditList, EditsAndRegionsNameDefinedPeople) {
  EXPECT_EQ(parse_error(with_edits(R"([{"person": "alice", "anchor": "smile"}, {"person": "bob", "anchor": "smile"}])")),
            "edits.json: edits[1] (person 'bob'): no person 'bob' is defined (people: alice)");
  EXPECT_EQ(parse_error(R"({"edits": [{"person": "bob", "anchor": "smile"}]})"),
            "edits.json: edits[0] (person 'bob'): no person 'bob' is defined (people: none)");
  EXPECT_EQ(parse_error(with_regions(R"([{"person": "bob", "region": "eyes"}])")),
            "edits.json: regions[0] (person 'bob'): no person 'bob' is defined (people: alice)");
  EXPECT_EQ(parse_error(with_regions(R"([{"person": "alice", "region": "eyes"}, {"person": "alice", "region": "mouth"}])")),
            "edits.json: regions[1] (person 'alice'): a second region for 'alice' (the first: regions[0])");
  EXPECT_EQ(parse_error(with_regions(R"([{"region": "eyes"}, {"person": "alice", "region": "jaw"}, {"region": "nose"}])")),
            "edits.json: regions[2]: a second region for everyone (the first: regions[0])");
  const std::string bad_region = error_of([] { parse_face_regions("eyes+ears"); });
  ASSERT_FALSE(bad_region.empty());
  EXPECT_EQ(parse_error(with_regions(R"([{"region": "eyes+ears"}])")), "edits.json: regions[0]: " + bad_region);
  EXPECT_EQ(parse_error(with_regions(R"([{"person": "alice", "region": "eyes+ears"}])")),
            "edits.json: regions[0] (person 'alice'): " + bad_region);
  // A region's text that is not short printable ASCII is escaped, not quoted as it is.
  EXPECT_EQ(parse_error(with_regions(R"([{"region": "eyes\u0007'"}])")),
            "edits.json: regions[0]: region 'eyes\\x07\\x27': not a region (parts: face, eyes, brows, mouth, nose, "
            "jaw; join with +)");
}

TEST(EditList, StrengthsAreNumbersOrExpressionsAndOneEditIsNeeded) {
  const std::string bad = error_of([] { StrengthExpression("5*"); });
  ASSERT_FALSE(bad.empty());
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": "smile", "strength": "2"}, {"anchor": "smile", "strength": "5*"}])")),
            "edits.json: edits[1]: " + bad);
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": "smile", "strength": -2.5e-3}])")), "");
  EXPECT_EQ(parse_edit_list(with_edits(R"([{"anchor": "smile", "strength": 1e300}])"), "x").edits[0].strength, "1e+300");
  EXPECT_EQ(parse_error(with_edits("[]")), "edits.json: no edits (the list needs at least one entry in \"edits\")");
  EXPECT_EQ(parse_error(R"({"people": [{"name": "alice", "photos": ["a.jpg"]}]})"),
            "edits.json: no edits (the list needs at least one entry in \"edits\")");
  EXPECT_EQ(parse_error(with_edits(R"([{"anchor": ""}])")), "edits.json: edits[0]: no micromotion (\"anchor\" is empty)");
}

TEST(EditList, CheckNamesTheEntriesWhere) {
  EditList l;
  l.people = alice();
  l.edits.push_back(EditSpec{"bob", "smile", "", "--edit bob/smile"});
  EXPECT_EQ(error_of([&] { check_edit_list(l); }), "--edit bob/smile (person 'bob'): no person 'bob' is defined (people: alice)");
  l.edits[0] = EditSpec{"", "smile", "1+", "--edit smile=1+"};
  EXPECT_EQ(error_of([&] { check_edit_list(l); }), "--edit smile=1+: " + error_of([] { StrengthExpression("1+"); }));
  l.edits[0] = EditSpec{"", "smile", "", ""};  // no where: named by its index
  l.regions.push_back(RegionSpec{"", kRegionEyes, "--region eyes"});
  l.regions.push_back(RegionSpec{"", kRegionMouth, "--region mouth"});
  EXPECT_EQ(error_of([&] { check_edit_list(l); }), "--region mouth: a second region for everyone (the first: --region eyes)");
  l.regions.pop_back();
  EXPECT_EQ(error_of([&] { check_edit_list(l); }), "");
  l.edits.clear();
  EXPECT_EQ(error_of([&] { check_edit_list(l); }), "no edits (the list needs at least one entry in \"edits\")");
}

TEST(EditList, PersonArgument) {
  const PersonReference p = parse_person_arg("alice=a1.jpg,dir/a2.jpg");
  EXPECT_EQ(p.name, "alice");
  EXPECT_EQ(p.photos, (std::vector<std::string>{"a1.jpg", "dir/a2.jpg"}));
  EXPECT_EQ(parse_person_arg("b=x=y.png").photos, (std::vector<std::string>{"x=y.png"}));
  EXPECT_EQ(error_of([] { parse_person_arg("alice"); }), "--person alice: expected NAME=PHOTO[,PHOTO...]");
  EXPECT_EQ(error_of([] { parse_person_arg("alice="); }),
            "--person alice=: an empty photo name (expected NAME=PHOTO[,PHOTO...])");
  EXPECT_EQ(error_of([] { parse_person_arg("alice=a.jpg,"); }),
            "--person alice=a.jpg,: an empty photo name (expected NAME=PHOTO[,PHOTO...])");
  EXPECT_EQ(error_of([] { parse_person_arg("al/ice=a.jpg"); }),
            "--person al/ice=a.jpg: a person's name is made of letters, digits, '_', '.' and '-' (got 'al/ice')");
  EXPECT_EQ(error_of([] { parse_person_arg("=a.jpg"); }),
            "--person =a.jpg: a person's name is made of letters, digits, '_', '.' and '-' (got '')");
}

TEST(EditList, EditArgument) {
  EditSpec e = parse_edit_arg("alice/smile=3*t", alice());
  EXPECT_EQ(e.person, "alice");
  EXPECT_EQ(e.anchor, "smile");
  EXPECT_EQ(e.strength, "3*t");
  EXPECT_EQ(e.where, "--edit alice/smile=3*t");
  e = parse_edit_arg("smile", alice());
  EXPECT_EQ(e.person, "");
  EXPECT_EQ(e.anchor, "smile");
  EXPECT_EQ(e.strength, "");
  // NAME/ is a person only when one of that name is defined: otherwise an anchor path.
  e = parse_edit_arg("models/x.safetensors=2", alice());
  EXPECT_EQ(e.person, "");
  EXPECT_EQ(e.anchor, "models/x.safetensors");
  EXPECT_EQ(e.strength, "2");
  e = parse_edit_arg("alice/models/x.safetensors", alice());
  EXPECT_EQ(e.person, "alice");
  EXPECT_EQ(e.anchor, "models/x.safetensors");
  e = parse_edit_arg("alice/smile", {});
  EXPECT_EQ(e.person, "");
  EXPECT_EQ(e.anchor, "alice/smile");
  e = parse_edit_arg("/abs/a=b/x.safetensors=-1", alice());  // a path with '=': the strength follows the last
  EXPECT_EQ(e.anchor, "/abs/a=b/x.safetensors");
  EXPECT_EQ(e.strength, "-1");
  EXPECT_EQ(error_of([] { parse_edit_arg("smile=", {}); }),
            "--edit smile=: no strength after '=' (expected [NAME/]ANCHOR[=STRENGTH])");
  EXPECT_EQ(error_of([] { parse_edit_arg("=3", {}); }), "--edit =3: no micromotion (expected [NAME/]ANCHOR[=STRENGTH])");
  EXPECT_EQ(error_of([] { parse_edit_arg("alice/=3", alice()); }),
            "--edit alice/=3: no micromotion (expected [NAME/]ANCHOR[=STRENGTH])");
  EXPECT_EQ(error_of([] { parse_edit_arg("smile=5*", {}); }), "--edit smile=5*: " + error_of([] { StrengthExpression("5*"); }));
}

TEST(EditList, RegionArgument) {
  RegionSpec r = parse_region_arg("alice/eyes+mouth", alice());
  EXPECT_EQ(r.person, "alice");
  EXPECT_EQ(r.regions, kRegionEyes | kRegionMouth);
  EXPECT_EQ(r.where, "--region alice/eyes+mouth");
  r = parse_region_arg("jaw", alice());
  EXPECT_EQ(r.person, "");
  EXPECT_EQ(r.regions, kRegionJaw);
  EXPECT_EQ(error_of([] { parse_region_arg("bob/eyes", alice()); }),
            "--region bob/eyes (person 'bob'): no person 'bob' is defined (people: alice)");
  EXPECT_EQ(error_of([] { parse_region_arg("ears", alice()); }),
            "--region ears: " + error_of([] { parse_face_regions("ears"); }));
  EXPECT_EQ(error_of([] { parse_region_arg("alice/", alice()); }),
            "--region alice/: " + error_of([] { parse_face_regions(""); }));
}

TEST(EditList, OthersAreEditedWhenSaidOrWhenNobodyIsNamed) {
  EXPECT_EQ(parse_others("auto"), Others::automatic);
  EXPECT_EQ(parse_others("keep"), Others::keep);
  EXPECT_EQ(parse_others("edit"), Others::edit);
  EXPECT_EQ(error_of([] { parse_others("Keep"); }), "others must be one of auto, keep, edit (got 'Keep')");
  EditList l;
  l.edits.push_back(EditSpec{"", "smile", "", ""});
  EXPECT_TRUE(others_edited(l));
  l.others = Others::keep;
  EXPECT_FALSE(others_edited(l));
  l.others = Others::automatic;
  l.people = alice();
  EXPECT_FALSE(others_edited(l));
  l.others = Others::edit;
  EXPECT_TRUE(others_edited(l));
}

TEST(EditList, ResolveFindsTheMicromotionsAndFillsTheEngineOptions) {
  const EditList l = parse_edit_list(kFull, "edits.json", "/lists");
  EditList list = l;
  list.edits[2].anchor = (enginetest::test_models() / "directions" / "test-random.safetensors").string();
  EngineOptions o;
  o.models_dir = enginetest::test_models().string();
  const ResolvedEdits r = resolve_edit_list(list, o);
  ASSERT_EQ(r.motions.size(), 4u);
  EXPECT_EQ(r.strengths, (std::vector<std::string>{"3*t", "4", "0.1", default_text("strength")}));
  EXPECT_EQ(o.edit_person, (std::vector<std::string>{"alice", "", "bob", ""}));
  ASSERT_EQ(o.people.size(), 2u);
  EXPECT_EQ(o.people[1].name, "bob");
  EXPECT_FALSE(o.others_edited);
  EXPECT_EQ(o.region, kRegionFace);
  EXPECT_EQ(o.person_region, (std::map<std::string, FaceRegions>{{"alice", kRegionEyes | kRegionMouth}}));
  EXPECT_EQ(o.matcher.threshold, 0.55);

  // An unknown anchor: the error names the entry, and the options are left as they were.
  list.edits[1].anchor = "angryy";
  EngineOptions untouched;
  untouched.models_dir = o.models_dir;
  const std::string message = error_of([&] { resolve_edit_list(list, untouched); });
  EXPECT_EQ(message.rfind("edits[1] (angryy): ", 0), 0u) << message;
  EXPECT_NE(message.find("unknown micromotion 'angryy'"), std::string::npos) << message;
  EXPECT_TRUE(untouched.people.empty());
  list.edits[1] = EditSpec{"", "nobody/smile", "", "--edit nobody/smile"};
  const std::string path_message = error_of([&] { resolve_edit_list(list, untouched); });
  EXPECT_EQ(path_message.rfind("--edit nobody/smile (nobody/smile): ", 0), 0u) << path_message;
  EXPECT_NE(path_message.find("(and no person 'nobody' is defined; people: alice, bob)"), std::string::npos)
      << path_message;

  // Defaults: no regions, no threshold, nobody named.
  EngineOptions d;
  d.models_dir = o.models_dir;
  const double threshold = d.matcher.threshold;
  resolve_edit_list(parse_edit_list(R"({"edits": [{"anchor": "smile", "strength": "-2"}]})", "x"), d);
  EXPECT_TRUE(d.others_edited);
  EXPECT_EQ(d.region, kRegionFace);
  EXPECT_TRUE(d.person_region.empty());
  EXPECT_EQ(d.matcher.threshold, threshold);
  EXPECT_EQ(d.edit_person, (std::vector<std::string>{""}));
}

}  // namespace
