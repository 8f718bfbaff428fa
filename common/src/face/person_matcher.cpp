#include <micromotion/error.h>
#include <micromotion/model_paths.h>
#include <micromotion/face_detector.h>
#include <micromotion/face_identity.h>
#include <micromotion/person_matcher.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

namespace micromotion {
namespace {

constexpr const char* kIdentityModel = "dlib_face_recognition_resnet_model_v1.dat";

std::string find_identity_model(const std::string& option) { return find_model_file(kIdentityModel, option); }

std::string where(const std::string& person, const std::string& photo) {
  return "person '" + person + "': photo '" + photo + "': ";
}

// One vote: the nearest person (-1: none within the threshold) and the distance to it.
struct Vote {
  int person = -1;
  float distance = 0;
};

// Plurality of the votes; ties go to the smaller mean distance (a "nobody" vote carries the
// distance to the nearest person, above the threshold, so a tie with a person goes to the person).
// `decided`: the `remaining` votes still to come cannot change the winner (its count exceeds every
// other's by more than `remaining`).
int plurality(const std::vector<Vote>& votes, int remaining, bool* decided) {
  int best = -1;
  size_t best_count = 0, second_count = 0;
  double best_mean = std::numeric_limits<double>::infinity();
  std::vector<int> candidates;
  for (const Vote& v : votes) {
    bool seen = false;
    for (int c : candidates) seen = seen || c == v.person;
    if (!seen) candidates.push_back(v.person);
  }
  for (int c : candidates) {
    size_t count = 0;
    double sum = 0;
    for (const Vote& v : votes) {
      if (v.person == c) {
        ++count;
        sum += v.distance;
      }
    }
    const double mean = sum / static_cast<double>(count);
    if (count > best_count || (count == best_count && mean < best_mean)) {
      second_count = best_count;
      best = c;
      best_count = count;
      best_mean = mean;
    } else {
      second_count = std::max(second_count, count);
    }
  }
  *decided = best_count > second_count + static_cast<size_t>(remaining);
  return best;
}

}  // namespace

struct PersonMatcher::Impl {
  struct Person {
    std::string name;
    std::vector<FaceEmbedding> photos;
  };
  // Per track: the votes until they are all in (then freed), the person, whether it is fixed.
  struct Track {
    std::vector<Vote> votes;
    int voted = 0;
    int person = -1;
    bool fixed = false;
  };
  std::vector<Person> people;
  PersonMatcherOptions options;
  FaceIdentity identity;
  std::unordered_map<int, Track> tracks;
  int embeddings = 0;

  Impl(const PersonMatcherOptions& o, const std::string& model) : options(o), identity(model) {}

  // The nearest person of one embedding: (person or -1 beyond the threshold, distance).
  Vote nearest(const FaceEmbedding& e) const {
    Vote v;
    double best = std::numeric_limits<double>::infinity();
    int who = -1;
    for (size_t p = 0; p < people.size(); ++p) {
      for (const FaceEmbedding& r : people[p].photos) {
        const double d = identity_distance(e, r);
        if (d < best) {
          best = d;
          who = static_cast<int>(p);
        }
      }
    }
    v.person = best < options.threshold ? who : -1;  // dlib: same person below the threshold
    v.distance = static_cast<float>(best);
    return v;
  }
};

PersonMatcher::PersonMatcher(std::vector<PersonReference> people, const PersonMatcherOptions& options) {
  if (options.votes < 1) throw Error("person matcher: votes must be >= 1, got " + std::to_string(options.votes));
  if (!(options.threshold > 0)) throw Error("person matcher: the identity threshold must be > 0");
  std::set<std::string> names;
  for (const PersonReference& p : people) {
    if (p.name.empty()) throw Error("person matcher: a person without a name");
    if (!names.insert(p.name).second) throw Error("person '" + p.name + "': named twice");
    if (p.photos.empty()) throw Error("person '" + p.name + "': no reference photo");
  }
  const std::string model =
      options.model_path.empty() ? find_identity_model(options.models_dir) : options.model_path;
  impl_ = std::make_unique<Impl>(options, model);
  if (people.empty()) return;

  // Reference photos may be small (150² crops): a face under HOG's 80 px window needs the 2x
  // upsampled pyramid, tried only when the plain one finds nothing (4x the cost).
  DetectorOptions plain;
  plain.upsample = 0;
  plain.min_face_size = 20;
  DetectorOptions up = plain;
  up.upsample = 1;
  FaceDetector detector(plain), detector_up(up);
  const LandmarkPredictor predictor(options.landmark_model.empty() ? default_landmark_model()
                                                                   : options.landmark_model);
  for (PersonReference& p : people) {
    Impl::Person person;
    person.name = std::move(p.name);
    for (const std::string& photo : p.photos) {
      if (!std::filesystem::is_regular_file(photo)) {
        throw Error(where(person.name, photo) + "cannot be read: no such file");
      }
      ImageRGB8 image;
      try {
        image = load_image(photo);
      } catch (const Error& e) {
        // load_image's message starts with the path; keep only the reason.
        std::string why = e.what();
        if (why.rfind(photo + ": ", 0) == 0) why = why.substr(photo.size() + 2);
        throw Error(where(person.name, photo) + "cannot be read: " + why);
      }
      std::vector<FaceBox> faces = detector.detect(image);
      if (faces.empty()) faces = detector_up.detect(image);
      if (faces.empty()) throw Error(where(person.name, photo) + "no face found");
      const FaceBox* largest = &faces[0];
      for (const FaceBox& f : faces) {
        if (f.area() > largest->area()) largest = &f;
      }
      person.photos.push_back(impl_->identity.embed(image, predictor.predict(image, *largest)));
    }
    impl_->people.push_back(std::move(person));
  }
}

PersonMatcher::~PersonMatcher() = default;
PersonMatcher::PersonMatcher(PersonMatcher&&) noexcept = default;
PersonMatcher& PersonMatcher::operator=(PersonMatcher&&) noexcept = default;

int PersonMatcher::person_count() const { return static_cast<int>(impl_->people.size()); }

const std::string& PersonMatcher::name(int person) const {
  if (person < 0 || person >= person_count()) {
    throw Error("person matcher: no person " + std::to_string(person) + " (" + std::to_string(person_count()) +
                " people)");
  }
  return impl_->people[static_cast<size_t>(person)].name;
}

int PersonMatcher::observe(int track_id, const ImageView& frame, const Landmarks& landmarks, bool detected) {
  Impl& m = *impl_;
  Impl::Track& t = m.tracks[track_id];
  if (t.fixed || m.people.empty() || landmarks.empty()) return t.person;
  const bool voting = t.voted < m.options.votes;
  if (!voting && !detected) return t.person;  // nobody: waits for a re-detection

  const Vote v = m.nearest(m.identity.embed(frame, landmarks));
  ++m.embeddings;
  if (voting) {
    t.votes.push_back(v);
    ++t.voted;
    bool decided = false;
    t.person = plurality(t.votes, m.options.votes - t.voted, &decided);
    if (decided) t.voted = m.options.votes;  // the rest could not change it: spare their embeddings
    if (t.voted == m.options.votes) {
      t.fixed = t.person >= 0;
      std::vector<Vote>().swap(t.votes);  // the votes are in: keep the state small
    }
  } else if (v.person >= 0) {
    t.person = v.person;  // a nobody track matched at a re-detection: that person for good
    t.fixed = true;
  }
  return t.person;
}

int PersonMatcher::person_of(int track_id) const {
  const auto it = impl_->tracks.find(track_id);
  return it == impl_->tracks.end() ? -1 : it->second.person;
}

void PersonMatcher::forget(int track_id) { impl_->tracks.erase(track_id); }

void PersonMatcher::reset() { impl_->tracks.clear(); }

int PersonMatcher::embeddings() const { return impl_->embeddings; }

}  // namespace micromotion
