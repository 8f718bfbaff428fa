// The safetensors reader and writer: round trips, the exact byte layout, hostile headers.
#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/safetensors.h>

#include <ATen/ATen.h>

#include <cstring>

#include <sys/stat.h>

#include <thread>

namespace {

using micromotion::Error;

std::string with_header(const std::string& json, const std::string& data) {
  std::string s(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s + json + data;
}

micromotion::SafeTensors parse(const std::string& bytes) {
  return micromotion::read_safetensors_from_memory(bytes.data(), bytes.size(), "t.safetensors");
}

void expect_error(const std::string& bytes, const std::string& fragment) {
  try {
    parse(bytes);
    ADD_FAILURE() << "accepted; expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(SafeTensors, RoundTripKeepsValuesDtypesAndMetadata) {
  const auto dir = mmtest::temp_dir("safetensors_roundtrip");
  micromotion::SafeTensors st;
  st.tensors["a"] = at::arange(12, at::kFloat).view({3, 4});
  st.tensors["b"] = at::arange(5, at::kLong);
  st.tensors["c"] = at::randn({2, 2}, at::kDouble);
  st.tensors["e"] = at::zeros({0, 3}, at::kFloat);
  st.metadata = {{"name", "smile"}, {"x", "1"}};
  const std::string path = (dir / "x.safetensors").string();
  micromotion::write_safetensors(path, st);
  const auto back = micromotion::read_safetensors(path);
  ASSERT_EQ(back.tensors.size(), 4u);
  for (const auto& [k, t] : st.tensors) {
    EXPECT_EQ(back.tensors.at(k).scalar_type(), t.scalar_type()) << k;
    EXPECT_TRUE(at::equal(back.tensors.at(k), t)) << k;
  }
  EXPECT_EQ(back.metadata, st.metadata);
  const std::string bytes = mmtest::read_file(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded so data is aligned
  EXPECT_EQ(bytes.size(), 8 + n + 12 * 4 + 5 * 8 + 4 * 8);
}

TEST(SafeTensors, ReadsAHandWrittenFile) {
  float v[2] = {1.5f, -2.0f};
  const std::string data(reinterpret_cast<const char*>(v), 8);
  const auto st = parse(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}})", data));
  EXPECT_FLOAT_EQ(st.tensors.at("w")[1].item<float>(), -2.0f);
  EXPECT_EQ(st.metadata.at("k"), "v");
}

TEST(SafeTensors, RejectsHostileHeaders) {
  const std::string d8(8, '\0');
  expect_error("abc", "shorter");
  expect_error(with_header("{}", "").substr(0, 8) + "{", "past the end");
  std::string huge(8, '\xff');
  expect_error(huge + "{}", "its header length field is over the 1 MB limit");
  expect_error(with_header("[1,2]", ""), "not a JSON object");
  expect_error(with_header("{\"w\":", ""), "not valid JSON");
  expect_error(with_header(R"({"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", d8), "unsupported dtype");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8), "non-negative");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8), "need 12");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", d8), "not inside");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d8), "not inside");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8),
               "dimension");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[65536,65536,65536],"data_offsets":[0,8]}})", d8), "overflows");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1024,1024,512],"data_offsets":[0,8]}})", d8), "need");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"v":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8),
               "overlap");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "belong to no tensor");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8), "trailing");
  expect_error(with_header(R"({"__metadata__":{"k":3}})", ""), "not a string");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1]}})", d8), "data_offsets");
}

TEST(SafeTensors, ReadsAFileThatCanBeReadOnlyOnce) {
  // A pipe can be read once: the reader takes the bytes in one pass.
  const auto dir = mmtest::temp_dir("safetensors_fifo");
  const std::string fifo = (dir / "m.safetensors").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  float v[2] = {1.5f, -2.0f};
  const std::string bytes =
      with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(reinterpret_cast<const char*>(v), 8));
  std::thread writer([&] { mmtest::write_file(fifo, bytes); });
  const auto st = micromotion::read_safetensors(fifo);
  writer.join();
  EXPECT_FLOAT_EQ(st.tensors.at("w")[1].item<float>(), -2.0f);
}

TEST(SafeTensors, MissingFileIsNamed) {
  try {
    micromotion::read_safetensors("/nonexistent/x.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
}

}  // namespace
