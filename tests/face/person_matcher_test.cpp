// Which person a face track is, against reference photos (person_matcher.h), on the two_johns clip
// (packaging/fetch-test-data.sh): John_Salley on the left for all 40 frames, John_Savage on the
// right for frames 0-15 and 26-39. The clip is made from the first photo (sorted) of each; the
// references here are other photos of the same people, as a user's would be.
#include "face_test_support.h"

#include <micromotion/error.h>
#include <micromotion/face_tracker.h>
#include <micromotion/person_matcher.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

using namespace micromotion;

namespace {

std::string photo(const std::string& person, size_t index) {
  const auto dir = facetest::data("johns/" + person);
  if (dir.empty()) return {};
  std::vector<std::string> all;
  for (const auto& e : std::filesystem::directory_iterator(dir)) all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  return index < all.size() ? all[index] : std::string();
}

PersonMatcherOptions options() {
  PersonMatcherOptions o;
  o.model_path = facetest::data("models/dlib_face_recognition_resnet_model_v1.dat").string();
  return o;
}

struct ClipTracks {
  std::vector<ImageRGB8> frames;
  std::vector<std::vector<TrackedFace>> faces;  // the tracker's output per frame (default options)
};

// The clip tracked once for the whole suite (the tracker is deterministic).
const ClipTracks& two_johns() {
  static const ClipTracks clip = [] {
    ClipTracks c;
    c.frames = facetest::load_clip("two_johns");
    const TrackerOptions o;
    FaceTracker tracker(o);
    for (const ImageRGB8& f : c.frames) c.faces.push_back(tracker.update(f));
    return c;
  }();
  return clip;
}

bool is_left(const TrackedFace& f) { return f.box.center_x() < 380; }

struct Matched {
  std::map<int, int> person;      // track id -> person at the track's last frame
  std::map<int, bool> left;       // track id -> on the left half
  std::map<int, int> first_frame; // track id -> first frame seen
  int embeddings = 0;
};

// The clip through the matcher as a front end drives it: found faces are observed, ended tracks
// forgotten.
Matched match(PersonMatcher& matcher) {
  const ClipTracks& clip = two_johns();
  Matched m;
  std::set<int> live;
  for (size_t n = 0; n < clip.frames.size(); ++n) {
    std::set<int> now;
    for (const TrackedFace& f : clip.faces[n]) {
      now.insert(f.id);
      if (!m.first_frame.count(f.id)) m.first_frame[f.id] = static_cast<int>(n);
      m.left[f.id] = is_left(f);
      m.person[f.id] = f.found ? matcher.observe(f.id, clip.frames[n], f.landmarks, f.detected)
                               : matcher.person_of(f.id);
    }
    for (int id : live)
      if (!now.count(id)) matcher.forget(id);
    live = now;
  }
  m.embeddings = matcher.embeddings();
  return m;
}

TEST(PersonMatcher, ClipHasBothFacesOnTheirFrames) {
  const ClipTracks& clip = two_johns();
  ASSERT_EQ(clip.frames.size(), 40u);
  for (size_t n = 0; n < clip.frames.size(); ++n) {
    int left = 0, right = 0;
    for (const TrackedFace& f : clip.faces[n]) {
      if (!f.found) continue;
      (is_left(f) ? left : right)++;
    }
    EXPECT_EQ(left, 1) << "frame " << n;
    // Savage is away for 16-25; the tracker finds a returning face at its next full detection.
    if (n <= 15) {
      EXPECT_EQ(right, 1) << "frame " << n;
    } else if (n <= 25) {
      EXPECT_EQ(right, 0) << "frame " << n;
    }
  }
  int right_back = 0;
  for (size_t n = 26; n < clip.frames.size(); ++n)
    for (const TrackedFace& f : clip.faces[n]) right_back += f.found && !is_left(f);
  EXPECT_GE(right_back, 8) << "Savage's return is not tracked";
}

TEST(PersonMatcher, SalleyIsTheLeftTrackOnly) {
  PersonMatcher matcher({{"salley", {photo("John_Salley", 1)}}}, options());
  ASSERT_EQ(matcher.person_count(), 1);
  EXPECT_EQ(matcher.name(0), "salley");
  const Matched m = match(matcher);
  ASSERT_FALSE(m.person.empty());
  for (const auto& [id, person] : m.person) EXPECT_EQ(person, m.left.at(id) ? 0 : -1) << "track " << id;
}

TEST(PersonMatcher, SavageIsTheRightTracksOnly) {
  PersonMatcher matcher({{"savage", {photo("John_Savage", 1)}}}, options());
  const Matched m = match(matcher);
  ASSERT_FALSE(m.person.empty());
  for (const auto& [id, person] : m.person) EXPECT_EQ(person, m.left.at(id) ? -1 : 0) << "track " << id;
}

TEST(PersonMatcher, BothPeopleEachTheirTrackAndReentryIsMatchedAgain) {
  PersonMatcher matcher({{"salley", {photo("John_Salley", 1), photo("John_Salley", 2)}},
                         {"savage", {photo("John_Savage", 1)}}},
                        options());
  const Matched m = match(matcher);
  std::vector<int> right_ids;
  for (const auto& [id, person] : m.person) {
    EXPECT_EQ(person, m.left.at(id) ? 0 : 1) << "track " << id;
    if (!m.left.at(id)) right_ids.push_back(id);
  }
  // Savage leaves at 16 and comes back at 26: a new track (ids are never reused), matched again.
  ASSERT_EQ(right_ids.size(), 2u);
  EXPECT_EQ(m.first_frame.at(right_ids[0]), 0);
  EXPECT_GE(m.first_frame.at(right_ids[1]), 26);
  EXPECT_EQ(matcher.person_of(right_ids[1]), 1);
  // Every track matched on its votes (two of the default three agree: decided): nothing after them.
  EXPECT_EQ(m.embeddings, 2 * static_cast<int>(m.person.size()));
}

TEST(PersonMatcher, UnrelatedJohnMatchesNobody) {
  PersonMatcher matcher({{"simm", {photo("John_Simm", 0), photo("John_Simm", 1)}}}, options());
  const Matched m = match(matcher);
  ASSERT_FALSE(m.person.empty());
  for (const auto& [id, person] : m.person) EXPECT_EQ(person, -1) << "track " << id;
}

// Embeddings run on a track's first observed frames until the votes are decided (every face here
// votes the same way each time, so a majority of `votes` decides) and, for a track that is
// nobody, on the frames a full detection found it: the count follows from the tracker's output.
TEST(PersonMatcher, EmbedsOnlyFirstFramesAndDetections) {
  const ClipTracks& clip = two_johns();
  for (const int votes : {1, 3, 4}) {
    const int decisive = votes / 2 + 1;
    PersonMatcherOptions o = options();
    o.votes = votes;
    PersonMatcher matcher({{"salley", {photo("John_Salley", 1)}}}, o);
    const Matched m = match(matcher);
    std::map<int, int> seen;  // track id -> frames observed so far
    int expected = 0, face_frames = 0;
    for (const auto& frame : clip.faces)
      for (const TrackedFace& f : frame) {
        if (!f.found) continue;
        ++face_frames;
        const int k = seen[f.id]++;
        if (k < decisive) {
          ++expected;
        } else if (f.detected && m.person.at(f.id) < 0) {
          ++expected;  // a nobody track (Savage's), embedded again at a full detection
        }
      }
    std::printf("[person] votes %d: %d embeddings for %d face-frames\n", votes, m.embeddings, face_frames);
    EXPECT_EQ(m.embeddings, expected) << "votes " << votes;
    EXPECT_LE(m.embeddings, face_frames / 3) << "votes " << votes;
  }
}

TEST(PersonMatcher, ForgetAndResetDropTrackState) {
  const ClipTracks& clip = two_johns();
  PersonMatcherOptions o = options();
  o.votes = 1;
  PersonMatcher matcher({{"salley", {photo("John_Salley", 1)}}}, o);
  const TrackedFace* left = nullptr;
  for (const TrackedFace& f : clip.faces[0])
    if (is_left(f)) left = &f;
  ASSERT_NE(left, nullptr);
  EXPECT_EQ(matcher.person_of(left->id), -1);  // not seen
  EXPECT_EQ(matcher.observe(left->id, clip.frames[0], left->landmarks, false), 0);
  EXPECT_EQ(matcher.observe(left->id, clip.frames[0], left->landmarks, true), 0);
  EXPECT_EQ(matcher.embeddings(), 1);  // fixed after its vote
  matcher.forget(left->id);
  EXPECT_EQ(matcher.person_of(left->id), -1);
  EXPECT_EQ(matcher.observe(left->id, clip.frames[0], left->landmarks, false), 0);
  EXPECT_EQ(matcher.embeddings(), 2);
  matcher.reset();
  EXPECT_EQ(matcher.person_of(left->id), -1);
  EXPECT_THROW(matcher.name(1), Error);
}

std::string error_of(const std::vector<PersonReference>& people) {
  try {
    PersonMatcher matcher(people, options());
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PersonMatcher, ErrorsNameThePersonAndThePhoto) {
  const auto dir = facetest::temp_dir("person_matcher");
  const std::string grey = (dir / "grey.png").string();
  save_png(grey, ImageRGB8(200, 200, 128));
  std::string msg = error_of({{"alice", {photo("John_Salley", 1)}}, {"bob", {grey}}});
  EXPECT_EQ(msg, "person 'bob': photo '" + grey + "': no face found");

  const std::string missing = (dir / "missing.jpg").string();
  msg = error_of({{"alice", {missing}}});
  EXPECT_EQ(msg.rfind("person 'alice': photo '" + missing + "': cannot be read: ", 0), 0u) << msg;

  // Not an image: the message says so without quoting the file.
  const std::string text = (dir / "notes.jpg").string();
  std::ofstream(text) << "SECRET-CONTENT not a jpeg\n";
  msg = error_of({{"carol", {text}}});
  EXPECT_EQ(msg.rfind("person 'carol': photo '" + text + "': cannot be read: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find("SECRET-CONTENT"), std::string::npos) << msg;

  EXPECT_NE(error_of({{"", {grey}}}).find("without a name"), std::string::npos);
  EXPECT_NE(error_of({{"dave", {}}}).find("person 'dave'"), std::string::npos);
  EXPECT_NE(error_of({{"erin", {grey}}, {"erin", {grey}}}).find("named twice"), std::string::npos);
  PersonMatcherOptions bad = options();
  bad.votes = 0;
  EXPECT_THROW(PersonMatcher({}, bad), Error);
  bad = options();
  bad.model_path = (dir / "nope.dat").string();
  EXPECT_THROW(PersonMatcher({}, bad), Error);
}

}  // namespace
