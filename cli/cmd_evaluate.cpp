// `micromotion evaluate IN OUT`: identity preservation and temporal stability of an edit.
#include "commands.h"
#include "video_transcoder.h"

#include <micromotion/error.h>
#include <micromotion/face_identity.h>
#include <micromotion/face_tracker.h>
#include <micromotion/model_paths.h>
#include <micromotion/person_matcher.h>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "report_plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>

namespace micromotion::cli {

namespace {

struct EvaluateArgs {
  std::string in, out, json, plot, models, identity_model;
  std::vector<std::string> people;  // NAME=PHOTO[,PHOTO...]
  int64_t max_frames = 100000;
};

// --person NAME=PHOTO[,PHOTO...] (photo paths cannot contain commas).
PersonReference parse_person(const std::string& arg) {
  const size_t eq = arg.find('=');
  PersonReference p;
  if (eq != std::string::npos) p.name = arg.substr(0, eq);
  if (eq != std::string::npos) {
    for (size_t start = eq + 1;;) {
      const size_t comma = arg.find(',', start);
      const std::string photo = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!photo.empty()) p.photos.push_back(photo);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (p.name.empty() || p.photos.empty())
    throw Error("evaluate: --person " + arg + ": expected NAME=PHOTO[,PHOTO...]");
  return p;
}

double cosine(const FaceEmbedding& a, const FaceEmbedding& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::max(1e-12, std::sqrt(aa * bb));
}

// Mean |a - b| over the box (clipped to the frame), all channels.
double region_change(const ImageRGB8& a, const ImageRGB8& b, const FaceBox& box) {
  const int x0 = std::max(0, int(box.left)), y0 = std::max(0, int(box.top));
  const int x1 = std::min(a.width() - 1, int(box.right)), y1 = std::min(a.height() - 1, int(box.bottom));
  double sum = 0;
  long n = 0;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x)
      for (int k = 0; k < 3; ++k, ++n) sum += std::abs(int(a.pixel(x, y)[k]) - int(b.pixel(x, y)[k]));
  return n ? sum / n : 0.0;
}

struct TrackData {
  std::vector<int> frames;
  std::vector<FaceBox> boxes;
  std::vector<FaceEmbedding> in, out;
  int person = -1;  // the matcher's person (--person), -1: nobody
};

// Mean pairwise cosine similarity over adjacent (local) or all (global) pairs.
double mean_similarity(const std::vector<FaceEmbedding>& e, bool adjacent) {
  double s = 0;
  long n = 0;
  for (size_t i = 0; i < e.size(); ++i)
    for (size_t j = i + 1; j < e.size() && (!adjacent || j == i + 1); ++j, ++n) s += cosine(e[i], e[j]);
  return n ? s / n : 1.0;
}

void evaluate(const EvaluateArgs& a) {
  std::vector<PersonReference> people;
  for (const std::string& p : a.people) people.push_back(parse_person(p));
  const std::vector<ImageRGB8> in = decode_frames(a.in, 1, a.max_frames, nullptr);
  const std::vector<ImageRGB8> out = decode_frames(a.out, 1, a.max_frames, nullptr);
  if (in.size() != out.size())
    throw Error("evaluate: " + a.in + " has " + std::to_string(in.size()) + " frames but " + a.out + " has " +
                std::to_string(out.size()));
  if (in.empty()) throw Error("evaluate: " + a.in + " has no video frames");
  const std::string identity_model = a.identity_model.empty()
                                         ? find_model_file("dlib_face_recognition_resnet_model_v1.dat", a.models)
                                         : a.identity_model;
  FaceIdentity identity(identity_model);
  // Tracks are matched to people on the input (the output's faces are what is being judged).
  PersonMatcherOptions mopts;
  mopts.model_path = identity_model;
  mopts.models_dir = a.models;
  PersonMatcher matcher(std::move(people), mopts);
  const TrackerOptions topts;
  FaceTracker tracker(topts);
  std::map<int, TrackData> tracks;
  std::set<int> live;
  for (size_t f = 0; f < in.size(); ++f) {
    if (in[f].width() != out[f].width() || in[f].height() != out[f].height())
      throw Error("evaluate: frame " + std::to_string(f) + " differs in size between the two videos");
    std::set<int> now;
    for (const auto& t : tracker.update(in[f])) {
      now.insert(t.id);
      if (!t.found) continue;
      TrackData& d = tracks[t.id];
      d.frames.push_back(static_cast<int>(f));
      d.boxes.push_back(t.box);
      d.in.push_back(identity.embed(in[f], t.landmarks));
      d.out.push_back(identity.embed(out[f], t.landmarks));
      d.person = matcher.observe(t.id, in[f], t.landmarks, t.detected);
    }
    for (int id : live)
      if (!now.count(id)) matcher.forget(id);
    live = std::move(now);
  }
  nlohmann::json report = {{"input", a.in}, {"output", a.out}, {"frames", in.size()}, {"tracks", nlohmann::json::array()}};
  // Per person: the identity distance over every frame of the tracks matched to them.
  std::vector<double> person_sum(static_cast<size_t>(matcher.person_count()), 0.0);
  std::vector<long> person_frames(person_sum.size(), 0);
  std::vector<nlohmann::json> person_tracks(person_sum.size(), nlohmann::json::array());
  // Plot: panel 1 identity distance per frame (one colour per face, dashed: the same-person
  // threshold); panel 2 frame-to-frame change of each face region, output (colour) and input (grey).
  static const std::array<uint8_t, 3> kColors[] = {{200, 40, 40}, {40, 90, 200}, {30, 150, 60}, {200, 130, 0}};
  PlotPanel identity_panel, jitter_panel;
  identity_panel.reference = kSameIdentityThreshold;
  for (const auto& [id, d] : tracks) {
    const auto color = kColors[static_cast<size_t>(id) % 4];
    PlotSeries dist{color, {}, {}}, jit_out{color, {}, {}}, jit_in{{150, 150, 150}, {}, {}};
    double dist_sum = 0, dist_max = 0;
    for (size_t i = 0; i < d.in.size(); ++i) {
      const double v = identity_distance(d.in[i], d.out[i]);
      dist_sum += v;
      dist_max = std::max(dist_max, v);
      dist.x.push_back(d.frames[i]);
      dist.y.push_back(v);
    }
    double jin = 0, jout = 0;
    int pairs = 0;
    for (size_t i = 0; i + 1 < d.frames.size(); ++i) {
      if (d.frames[i + 1] != d.frames[i] + 1) continue;
      const double ci = region_change(in[d.frames[i]], in[d.frames[i + 1]], d.boxes[i]);
      const double co = region_change(out[d.frames[i]], out[d.frames[i + 1]], d.boxes[i]);
      jin += ci;
      jout += co;
      jit_in.x.push_back(d.frames[i + 1]);
      jit_in.y.push_back(ci);
      jit_out.x.push_back(d.frames[i + 1]);
      jit_out.y.push_back(co);
      ++pairs;
    }
    identity_panel.series.push_back(std::move(dist));
    jitter_panel.series.push_back(std::move(jit_in));
    jitter_panel.series.push_back(std::move(jit_out));
    const double tl = mean_similarity(d.out, true) / mean_similarity(d.in, true);
    const double tg = mean_similarity(d.out, false) / mean_similarity(d.in, false);
    const std::string person = d.person >= 0 ? matcher.name(d.person) : std::string();
    if (d.person >= 0) {
      person_sum[static_cast<size_t>(d.person)] += dist_sum;
      person_frames[static_cast<size_t>(d.person)] += static_cast<long>(d.in.size());
      person_tracks[static_cast<size_t>(d.person)].push_back(id);
    }
    nlohmann::json t = {{"id", id},
                        {"person", person},
                        {"frames", d.frames.size()},
                        {"first_frame", d.frames.front()},
                        {"identity_distance_mean", dist_sum / d.in.size()},
                        {"identity_distance_max", dist_max},
                        {"same_identity", dist_sum / d.in.size() < kSameIdentityThreshold},
                        {"tl_id", tl},
                        {"tg_id", tg},
                        {"jitter_input", pairs ? jin / pairs : 0.0},
                        {"jitter_output", pairs ? jout / pairs : 0.0},
                        {"jitter_ratio", pairs && jin > 0 ? jout / jin : 1.0}};
    report["tracks"].push_back(t);
    fmt::print("face {}{}: {} frames from {}; identity distance mean {:.3f} max {:.3f} ({}); TL-ID {:.3f} TG-ID {:.3f}; "
               "jitter {:.2f} vs input {:.2f} (x{:.2f})\n",
               id, person.empty() ? "" : " (" + person + ")", d.frames.size(), d.frames.front(), dist_sum / d.in.size(), dist_max,
               dist_sum / d.in.size() < kSameIdentityThreshold ? "same person" : "different person", tl, tg,
               pairs ? jout / pairs : 0.0, pairs ? jin / pairs : 0.0, pairs && jin > 0 ? jout / jin : 1.0);
  }
  if (tracks.empty()) fmt::print("no face found in {}\n", a.in);
  report["people"] = nlohmann::json::object();
  for (int p = 0; p < matcher.person_count(); ++p) {
    const size_t i = static_cast<size_t>(p);
    const long n = person_frames[i];
    report["people"][matcher.name(p)] = {
        {"tracks", person_tracks[i]},
        {"frames", n},
        {"identity_distance_mean", n ? nlohmann::json(person_sum[i] / static_cast<double>(n)) : nlohmann::json()}};
    if (n) {
      fmt::print("person {}: {} frames in {} track(s); identity distance mean {:.3f}\n", matcher.name(p), n,
                 person_tracks[i].size(), person_sum[i] / static_cast<double>(n));
    } else {
      fmt::print("person {}: not found in {}\n", matcher.name(p), a.in);
    }
  }
  if (!a.plot.empty()) {
    write_report_plot(a.plot, {identity_panel, jitter_panel});
    fmt::print("wrote {}: top, identity distance per frame (dashed: same-person threshold {}); bottom, frame-to-frame "
               "change of each face region, output in colour, input in grey\n",
               a.plot, kSameIdentityThreshold);
  }
  if (!a.json.empty()) {
    std::ofstream f(a.json);
    if (!f) throw Error(a.json + ": cannot write");
    f << report.dump(1) << "\n";
  }
}

}  // namespace

void add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "evaluate", "Per face track: identity distance input/output (dlib face embedding), TL-ID / TG-ID "
                  "(adjacent / all-pairs identity consistency of the output, relative to the input), and "
                  "frame-to-frame jitter of the face region against the input's");
  auto a = std::make_shared<EvaluateArgs>();
  cmd->add_option("IN", a->in, "original video")->required();
  cmd->add_option("OUT", a->out, "edited video (same frames)")->required();
  cmd->add_option("--json", a->json, "write the report as JSON");
  cmd->add_option("--plot", a->plot,
                  "write a PNG chart over time: identity distance per face, and the output's frame-to-frame "
                  "change of each face region against the input's");
  cmd->add_option("--models", a->models, "models directory (for dlib_face_recognition_resnet_model_v1.dat)");
  cmd->add_option("--identity-model", a->identity_model, "path of dlib_face_recognition_resnet_model_v1.dat");
  cmd->add_option("--frames", a->max_frames, "evaluate the first N frames");
  cmd->add_option("--person", a->people,
                  "NAME=PHOTO[,PHOTO...]: a person by reference photos (repeatable); each track gets the "
                  "person it matches (\"\" for nobody) and the report the identity distance per person")
      ->expected(1)
      ->allow_extra_args(false)  // one value per --person (IN and OUT may follow)
      ->take_all();              // every occurrence kept
  cmd->callback([a] { evaluate(*a); });
}

}  // namespace micromotion::cli
