// micromotion/person_matcher.h — which person a face track is: dlib's face-recognition
// embedding (face_identity.h) of the track against reference photos, by vote over frames.
//
// PersonMatcher(people, options)
//   requires: names unique and not empty, each person with at least one photo.
//   ensures:  every photo embedded once (its largest face); the model is options.model_path, or
//             dlib_face_recognition_resnet_model_v1.dat found like the other models.
//   throws:   micromotion::Error naming the person and the photo: unreadable, no face in it.
// observe(track, frame, landmarks, detected): the person of a live track this frame (index into
//   people, or -1: nobody). A track is embedded on its first options.votes frames (fewer when
//   the votes left could not change the outcome: with 3, two that agree decide); each
//   embedding votes for the nearest person within options.threshold (or for nobody); the
//   track's person is the votes' plurality (ties: the smaller mean distance), fixed once the
//   votes are in (a track keeps its person; until then the plurality so far). A track that
//   ended up nobody is embedded again on frames where `detected` (a full-frame detection found
//   it): a match there gives it that person for good. So embeddings run on a track's first
//   frames and at re-detections only. Call it on frames where the track was found (landmarks
//   of this frame); empty landmarks cast no vote. With no people nothing is embedded.
// forget(track): the track ended (ids are never reused: a person who comes back is a new track,
//   matched again). reset(): forget every track.
// embeddings(): embeddings computed so far (tests, benchmarks).
#pragma once

#include <micromotion/image.h>
#include <micromotion/landmarks.h>
#include <micromotion/settings.h>

#include <memory>
#include <string>
#include <vector>

namespace micromotion {

struct PersonReference {
  std::string name;
  std::vector<std::string> photos;
};

struct PersonMatcherOptions {
  std::string model_path;     // "" : find_model_file("dlib_face_recognition_resnet_model_v1.dat", models_dir)
  std::string models_dir;
  std::string landmark_model; // "" : the default shape predictor (for the photos)
  double threshold = default_number("identity_threshold");
  int votes = 3;
};

class PersonMatcher {
 public:
  PersonMatcher(std::vector<PersonReference> people, const PersonMatcherOptions& options = {});
  ~PersonMatcher();
  PersonMatcher(PersonMatcher&&) noexcept;
  PersonMatcher& operator=(PersonMatcher&&) noexcept;

  int person_count() const;
  const std::string& name(int person) const;
  int observe(int track_id, const ImageView& frame, const Landmarks& landmarks, bool detected);
  int person_of(int track_id) const;  // -1: nobody or not seen
  void forget(int track_id);
  void reset();
  int embeddings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace micromotion
