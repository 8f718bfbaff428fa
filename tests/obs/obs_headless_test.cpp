// Headless libobs tests of the Micromotion filter (run under xvfb-run): a media source on a
// generated face clip, the filter with the test models, the canvas captured frame by frame.
//   EditsFaceOnly: live, once a face has an edit the frames go out edited at the source's rate,
//     each differing from its source frame inside the face region only.
//   MissingModelPassesThrough: a bad models folder -> a clear error, frames unchanged.
//   MalformedEditListPassesThrough: an edit-list file that is not JSON -> the status names the
//     file and the problem, frames unchanged.
//   SlowEngineKeepsFramesOnTime: with every frame padded to >= 1 s, >= 95 % of the render
//     loop's frames are on time, and removing the filter mid-frame does not block.
#include "engine/engine_test_support.h"
#include "obs_session.hpp"

#include <micromotion/micromotion.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <thread>

namespace {

using obstest::Frame;
using obstest::Session;
using Clock = std::chrono::steady_clock;

// Our reference to the filter, released before the session shuts down (also on a failed ASSERT).
struct ReleaseSource {
  void operator()(obs_source_t* s) const { obs_source_release(s); }
};
using FilterRef = std::unique_ptr<obs_source_t, ReleaseSource>;

const char* const kClip = "pan_zoom";  // 440x480, 60 frames at 25 fps, the face pans and zooms
constexpr int kWidth = 440, kHeight = 480, kFps = 25;

std::string clip_file() { return facetest::data(std::string("clips/") + kClip + "/clip.mp4").string(); }

std::unique_ptr<Session> start_session() {
  auto s = std::make_unique<Session>(kWidth, kHeight, kFps);
  if (!s->error().empty()) return s;
  // One by one: only what the test needs.
  if (!s->load_module(obstest::system_plugin("obs-ffmpeg"), obstest::system_plugin_data("obs-ffmpeg"))) return s;
  // The build tree's plugin, or another copy (e.g. extracted from the .deb) named by
  // $MM_OBS_PLUGIN and $MM_OBS_PLUGIN_DATA.
  const char* bin = std::getenv("MM_OBS_PLUGIN");
  const char* data = std::getenv("MM_OBS_PLUGIN_DATA");
  const std::string plugin = bin && *bin ? bin : MM_OBS_PLUGIN_BIN "/micromotion.so";
  std::printf("[obs] plugin %s\n", plugin.c_str());
  s->load_module(plugin, data && *data ? data : MM_OBS_PLUGIN_DATA);
  return s;
}

obs_data_t* filter_settings(const std::string& models_dir) {
  obs_data_t* d = obs_data_create();
  obs_data_set_string(d, "anchor", "smile");
  obs_data_set_string(d, "models_dir", models_dir.c_str());
  obs_data_set_double(d, "strength", 5.0);
  obs_data_set_string(d, "output", "live");
  return d;
}

bool wait_for(const std::function<bool()>& cond, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

micromotion::ImageRGB8 to_rgb(const Frame& f) {
  micromotion::ImageRGB8 img(kWidth, kHeight);
  for (size_t i = 0; i < size_t(kWidth) * kHeight; ++i)
    for (int k = 0; k < 3; ++k) img.data()[3 * i + k] = f.rgba[4 * i + k];
  return img;
}

long differing_pixels(const Frame& a, const Frame& b) {
  long n = 0;
  for (size_t i = 0; i < a.rgba.size(); i += 4)
    n += a.rgba[i] != b.rgba[i] || a.rgba[i + 1] != b.rgba[i + 1] || a.rgba[i + 2] != b.rgba[i + 2];
  return n;
}

// The canvas frames of the next `seconds`.
std::vector<Frame> capture_for(Session& s, double seconds) {
  s.take_frames();
  s.capture(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  s.capture(false);
  return s.take_frames();
}

// The distinct canvas frames of one loop of the clip, with the filter off.
std::vector<Frame> capture_references(Session& s, double seconds) {
  std::vector<Frame> all = capture_for(s, seconds), refs;
  for (auto& f : all) {
    bool seen = false;
    for (const auto& r : refs) seen = seen || r.rgba == f.rgba;
    if (!seen) refs.push_back(std::move(f));
  }
  return refs;
}

// The canvas frames of the next `seconds` (at least `at_least` of them) are all frames the clip
// shows with the filter off: nothing was pasted over them.
void expect_unchanged_frames(Session& s, const std::vector<Frame>& refs, double seconds, size_t at_least,
                             const std::string& why) {
  const std::vector<Frame> out = capture_for(s, seconds);
  ASSERT_GE(out.size(), at_least);
  for (const Frame& f : out) {
    bool found = false;
    for (const auto& r : refs) found = found || r.rgba == f.rgba;
    EXPECT_TRUE(found) << "a frame was changed although " << why;
  }
}

TEST(ObsHeadless, EditsFaceOnly) {
  const std::string clip = clip_file();
  ASSERT_FALSE(clip.empty());
  const std::string models = enginetest::test_models().string();
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_source_t* media = s->add_media_source(clip);
  ASSERT_NE(media, nullptr);
  obs_data_t* fs = filter_settings(models);
  FilterRef filter_ref(s->add_filter(media, fs));
  obs_source_t* filter = filter_ref.get();
  obs_data_release(fs);
  ASSERT_NE(filter, nullptr);

  // Unfiltered frames first: every source frame the canvas shows, one loop and more.
  obs_source_set_enabled(filter, false);
  ASSERT_TRUE(wait_for([&] { return s->callbacks() > 2 * kFps; }, 20)) << "the render loop does not run";
  const std::vector<Frame> refs = capture_references(*s, 4.0);
  ASSERT_GE(refs.size(), 40u) << "the media source does not play";

  obs_source_set_enabled(filter, true);
  ASSERT_TRUE(wait_for([&] { const auto st = Session::stats(filter); return st.refreshes >= 1 && st.faces_edited >= 1; }, 180))
      << "no edited face: " << Session::stats(filter).error;
  const obstest::FilterStats st0 = Session::stats(filter);
  const std::vector<Frame> out = capture_for(*s, 4.0);
  const obstest::FilterStats st = Session::stats(filter);
  std::printf("[obs] %zu reference frames, %zu filtered frames; %lld frames out in 4 s, %.0f ms a frame, engine %.0f "
              "ms/frame; networks %lld refreshes, %.0f ms, %.2f/s; filter_video %.3f ms avg, %.3f ms max\n",
              refs.size(), out.size(), st.processed - st0.processed, st.latency_ms, st.engine_ms, st.refreshes,
              st.network_ms, st.refresh_rate, st.video_ms_avg, st.video_ms_max);
  ASSERT_GE(out.size(), size_t(3 * kFps));

  std::map<size_t, std::vector<enginetest::Box>> boxes;  // per reference frame
  int edited = 0, unchanged = 0;
  for (const Frame& f : out) {
    size_t best = 0;
    long best_diff = -1;
    for (size_t r = 0; r < refs.size(); ++r) {
      const long d = differing_pixels(f, refs[r]);
      if (best_diff < 0 || d < best_diff) best = r, best_diff = d;
    }
    if (best_diff == 0) {
      ++unchanged;
      continue;
    }
    ++edited;
    if (!boxes.count(best)) boxes[best] = enginetest::face_regions(to_rgb(refs[best]));
    const enginetest::Change c = enginetest::compare(to_rgb(f), to_rgb(refs[best]), boxes[best]);
    EXPECT_EQ(c.outside, 0) << "pixels changed outside the face (of " << c.changed << ")";
    EXPECT_GE(c.changed, 500) << "too small a change in the face";
    EXPECT_GE(c.max_diff, 20);
  }
  std::printf("[obs] %d edited frames, %d unchanged\n", edited, unchanged);
  // Live: once a face has an edit every frame shows one (faces are in every frame) ...
  EXPECT_GE(edited, int(0.9 * double(out.size())));
  // ... and the frames out are many more than the networks' runs: the edit is put on the newest
  // head without waiting for them (on the loaded CI CPU ~4 frames/s out, a network run ~30 s).
  EXPECT_GT(st.processed - st0.processed, st.refreshes - st0.refreshes + 1);
}

TEST(ObsHeadless, MissingModelPassesThrough) {
  const std::string clip = clip_file();
  ASSERT_FALSE(clip.empty());
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_source_t* media = s->add_media_source(clip);
  ASSERT_NE(media, nullptr);
  const std::string missing = facetest::temp_dir("obs-no-models").string();
  obs_data_t* fs = filter_settings(missing);
  FilterRef filter_ref(s->add_filter(media, fs));
  obs_source_t* filter = filter_ref.get();
  obs_data_release(fs);
  ASSERT_NE(filter, nullptr);
  obs_source_set_enabled(filter, false);
  ASSERT_TRUE(wait_for([&] { return s->callbacks() > 2 * kFps; }, 20));
  const std::vector<Frame> refs = capture_references(*s, 3.0);
  ASSERT_GE(refs.size(), 40u);

  obs_source_set_enabled(filter, true);
  ASSERT_TRUE(wait_for([&] { return !Session::stats(filter).error.empty(); }, 60));
  const std::string error = Session::stats(filter).error;
  std::printf("[obs] error shown: %s\n", error.c_str());
  EXPECT_NE(error.find(missing), std::string::npos) << "the message should name where it looked: " << error;
  expect_unchanged_frames(*s, refs, 2.0, size_t(kFps), "the engine could not start");
  EXPECT_EQ(Session::stats(filter).processed, 0);

  // Fixing the setting takes effect without reopening anything.
  obs_data_t* fixed = filter_settings(enginetest::test_models().string());
  obs_source_update(filter, fixed);
  obs_data_release(fixed);
  ASSERT_TRUE(wait_for([&] { return Session::stats(filter).processed >= 1; }, 180))
      << "still not editing after the models folder was fixed: " << Session::stats(filter).error;
  EXPECT_EQ(Session::stats(filter).error, "");
}

// The edits property (an edit-list file): a broken file is refused before any model loads, the
// status line of the properties says why, and the source plays on unchanged.
TEST(ObsHeadless, MalformedEditListPassesThrough) {
  const std::string clip = clip_file();
  ASSERT_FALSE(clip.empty());
  const std::filesystem::path dir = facetest::temp_dir("obs-bad-edits");
  const std::string list = (dir / "edits.json").string();
  {
    std::FILE* f = std::fopen(list.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("{\"edits\": [{\"anchor\": \"smile\",]}", f);
    std::fclose(f);
  }
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_source_t* media = s->add_media_source(clip);
  ASSERT_NE(media, nullptr);
  obs_data_t* fs = filter_settings(enginetest::test_models().string());
  obs_data_set_string(fs, "edits", list.c_str());
  FilterRef filter_ref(s->add_filter(media, fs));
  obs_source_t* filter = filter_ref.get();
  obs_data_release(fs);
  ASSERT_NE(filter, nullptr);
  obs_source_set_enabled(filter, false);
  ASSERT_TRUE(wait_for([&] { return s->callbacks() > 2 * kFps; }, 20));
  const std::vector<Frame> refs = capture_references(*s, 3.0);
  ASSERT_GE(refs.size(), 40u);

  obs_source_set_enabled(filter, true);
  ASSERT_TRUE(wait_for([&] { return !Session::stats(filter).error.empty(); }, 30));
  const std::string error = Session::stats(filter).error;
  std::printf("[obs] error shown: %s\n", error.c_str());
  EXPECT_NE(error.find("edits.json"), std::string::npos) << "the message should name the file: " << error;
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  obs_properties_t* props = obs_source_properties(filter);
  ASSERT_NE(props, nullptr);
  obs_property_t* status = obs_properties_get(props, "status");
  ASSERT_NE(status, nullptr);
  const std::string shown = obs_property_description(status);
  EXPECT_NE(shown.find(error), std::string::npos) << "the status line: " << shown;
  EXPECT_EQ(obs_property_text_info_type(status), OBS_TEXT_INFO_ERROR);
  obs_properties_destroy(props);

  expect_unchanged_frames(*s, refs, 1.0, size_t(kFps / 2), "the edit list is broken");
  EXPECT_EQ(Session::stats(filter).processed, 0);
}

TEST(ObsHeadless, PropertiesAreLocalized) {
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_properties_t* props = obs_get_source_properties("micromotion_filter");
  ASSERT_NE(props, nullptr);
  EXPECT_STREQ(obs_source_get_display_name("micromotion_filter"), "Micromotion");
  EXPECT_TRUE(obs_get_source_output_flags("micromotion_filter") & OBS_SOURCE_ASYNC)
      << "an async filter: OBS offers it only for sources that deliver frames";
  // The en-US strings (obs_module_text would return the key, e.g. "every_n", without them).
  const std::pair<const char*, const char*> expected[] = {
      {"anchor", "Micromotion"},
      {"anchor_file", "Micromotion file"},
      {"strength", "Strength"},
      {"encoder", "Encoder"},
      {"every_n", "Process every N frames"},
      {"iterations", "Steps for a new face (-1: default)"},
      {"warm_iterations", "Steps per frame for a tracked face"},
      {"faces", "Faces"},
      {"threads", "CPU threads (0: every CPU)"},
      {"mode", "Mode"},
      {"feather", "Mask feather"},
      {"output", "Output"},
      {"models_dir", "Models folder (empty: default locations)"},
      {"device", "Device"},
      {"dtype", "Precision"}};
  for (const auto& [name, text] : expected) {
    obs_property_t* p = obs_properties_get(props, name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_STREQ(obs_property_description(p), text) << name;
  }
  obs_property_t* note = obs_properties_get(props, "sources_note");
  ASSERT_NE(note, nullptr);
  EXPECT_NE(std::string(obs_property_description(note)).find("Display, window and game capture are not supported"),
            std::string::npos);
  obs_property_t* anchors = obs_properties_get(props, "anchor");
  ASSERT_EQ(obs_property_list_item_count(anchors), 6u);
  EXPECT_STREQ(obs_property_list_item_string(anchors, 0), "smile");
  EXPECT_STREQ(obs_property_list_item_name(anchors, 5), "Custom file...");
  obs_properties_destroy(props);
}

// Every row of the engine's settings table that OBS shows is a property with the row's default,
// range or choices (localized, tooltip from the table's help); the rows it does not show say why.
TEST(ObsHeadless, PropertiesAreTheSettingsTable) {
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_properties_t* props = obs_get_source_properties("micromotion_filter");
  ASSERT_NE(props, nullptr);
  obs_data_t* defaults = obs_get_source_defaults("micromotion_filter");
  ASSERT_NE(defaults, nullptr);
  int shown = 0;
  for (int i = 0; i < mm_setting_count(); ++i) {
    const mm_setting_info& row = *mm_setting_info_at(i);
    SCOPED_TRACE(row.name);
    obs_property_t* p = obs_properties_get(props, row.name);
    if (!(row.front_ends & MM_FRONT_END_OBS)) {
      EXPECT_EQ(p, nullptr) << "shown, but the table says it is not";
      ASSERT_NE(row.note, nullptr);
      const std::string note = row.note;
      EXPECT_TRUE(note.find("not in obs") != std::string::npos || note.find("not in any front end") != std::string::npos)
          << "the note does not say why not in OBS: " << note;
      continue;
    }
    ASSERT_NE(p, nullptr) << "the table's setting is not a property";
    ++shown;
    EXPECT_STRNE(obs_property_description(p), row.name) << "no label in en-US.ini";
    EXPECT_NE(obs_property_long_description(p), nullptr);
    switch (row.type) {
      case MM_SETTING_INT:
        EXPECT_EQ(obs_data_get_default_int(defaults, row.name), std::atoll(row.default_value));
        EXPECT_EQ(obs_property_int_min(p), int(row.min));
        EXPECT_EQ(obs_property_int_max(p), int(row.max));
        break;
      case MM_SETTING_NUMBER:
      case MM_SETTING_EXPRESSION:
        EXPECT_DOUBLE_EQ(obs_data_get_default_double(defaults, row.name), std::atof(row.default_value));
        EXPECT_DOUBLE_EQ(obs_property_float_min(p), row.min);
        EXPECT_DOUBLE_EQ(obs_property_float_max(p), row.max);
        break;
      case MM_SETTING_BOOL:
        EXPECT_EQ(obs_data_get_default_bool(defaults, row.name), std::atoi(row.default_value) != 0);
        break;
      case MM_SETTING_CHOICE: {
        EXPECT_STREQ(obs_data_get_default_string(defaults, row.name), row.default_value);
        std::string items;
        for (size_t k = 0; k < obs_property_list_item_count(p); ++k)
          items += (k ? "|" : "") + std::string(obs_property_list_item_string(p, k));
        EXPECT_EQ(items, row.choices);
        break;
      }
      default:
        EXPECT_STREQ(obs_data_get_default_string(defaults, row.name), row.default_value);
    }
  }
  EXPECT_GE(shown, 12);
  obs_data_release(defaults);
  obs_properties_destroy(props);
}

TEST(ObsHeadless, SlowEngineKeepsFramesOnTime) {
  const std::string clip = clip_file();
  ASSERT_FALSE(clip.empty());
  const std::string models = enginetest::test_models().string();
  auto s = start_session();
  ASSERT_EQ(s->error(), "");
  obs_source_t* media = s->add_media_source(clip);
  ASSERT_NE(media, nullptr);
  obs_data_t* fs = filter_settings(models);
  obs_data_set_int(fs, "debug_min_frame_ms", 1000);  // the engine takes >= 1 s a frame
  FilterRef filter_ref(s->add_filter(media, fs));
  obs_source_t* filter = filter_ref.get();
  obs_data_release(fs);
  ASSERT_NE(filter, nullptr);
  ASSERT_TRUE(wait_for([&] { return Session::stats(filter).processed >= 1; }, 180))
      << Session::stats(filter).error;

  const double seconds = 20.0;
  const obstest::FilterStats st0 = Session::stats(filter);
  const uint32_t total0 = obs_get_total_frames(), lagged0 = obs_get_lagged_frames();
  const long callbacks0 = s->callbacks();
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint32_t total = obs_get_total_frames() - total0, lagged = obs_get_lagged_frames() - lagged0;
  const long callbacks = s->callbacks() - callbacks0;
  const obstest::FilterStats st = Session::stats(filter);

  const double on_time = total ? double(total - lagged) / double(total) : 0.0;
  const double delivered = double(callbacks) / (elapsed * kFps);
  std::printf("[obs] slow engine: %.1f s, %u frames rendered, %u lagged -> %.2f%% on time; %ld frames delivered "
              "(%.2f%% of %.0f); %lld frames edited, %.0f ms/frame, latency %.0f ms; filter_video %.3f ms avg, %.3f ms max\n",
              elapsed, total, lagged, 100 * on_time, callbacks, 100 * delivered, elapsed * kFps,
              st.processed - st0.processed, st.engine_ms, st.latency_ms, st.video_ms_avg, st.video_ms_max);
  EXPECT_GE(on_time, 0.95);
  EXPECT_GE(delivered, 0.95);
  // The video thread's share: copies only, far below a frame's 40 ms.
  EXPECT_LT(st.video_ms_avg, 10.0);
  // The engine really was slow and really worked all along.
  EXPECT_GE(st.engine_ms, 1000.0);
  // (The real engine under the padding: on a loaded 2-core CPU a frame may take 2-3 s.)
  EXPECT_GE(st.processed - st0.processed, 3);
  EXPECT_LE(st.processed - st0.processed, long(elapsed) + 1);

  // Remove the filter while a frame is in flight: must not wait for the engine.
  ASSERT_TRUE(wait_for([&] { return Session::stats(filter).submitted > Session::stats(filter).processed; }, 5));
  const auto r0 = Clock::now();
  obs_source_filter_remove(media, filter);
  filter_ref.reset();
  const double remove_ms = std::chrono::duration<double, std::milli>(Clock::now() - r0).count();
  std::printf("[obs] filter removed mid-frame in %.1f ms\n", remove_ms);
  EXPECT_LT(remove_ms, 200.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GE(s->callbacks(), callbacks0 + callbacks);  // still rendering
}

}  // namespace
