// The checkpoint reader on the fixtures and on archives written here.
#include "io/pickle_builder.h"
#include "test_support.h"

#include <micromotion/checkpoint.h>
#include <micromotion/error.h>

using micromotion::Value;

namespace {

TEST(Checkpoint, ReadsGeneratorFixture) {
  Value root = micromotion::load_checkpoint(mmtest::fixture("stylegan2/g64/generator.pt").string());
  ASSERT_TRUE(root.is(Value::Kind::Dict));
  const Value& g = micromotion::require_key(root, "g_ema", "test");
  EXPECT_EQ(g.as_dict().type_name, "collections.OrderedDict");
  auto sd = micromotion::tensors_of(g);
  EXPECT_EQ(sd.size(), 99u);  // 100 storages: 99 in g_ema + latent_avg
  ASSERT_TRUE(sd.count("style.1.weight"));
  EXPECT_EQ(sd["style.1.weight"].sizes(), (at::IntArrayRef{64, 64}));
  EXPECT_EQ(sd["convs.0.conv.weight"].sizes(), (at::IntArrayRef{1, 64, 64, 3, 3}));
  EXPECT_EQ(sd["style.1.weight"].scalar_type(), at::kFloat);
  // Values are the file's: latent_avg equals the recorded mean latent bit for bit.
  const at::Tensor& avg = micromotion::require_key(root, "latent_avg", "test").as_tensor();
  EXPECT_EQ(mmtest::max_abs_diff(avg.view({1, -1}), mmtest::load_fixture("stylegan2/g64/mean_latent.npy")), 0.0);
}

TEST(Checkpoint, ReadsEncoderFixtureWithOpts) {
  Value root = micromotion::load_checkpoint(mmtest::fixture("encoders/restyle_psp/restyle_psp.pt").string());
  const Value& opts = micromotion::require_key(root, "opts", "test");
  EXPECT_TRUE(opts.is(Value::Kind::Dict));
  auto sd = micromotion::tensors_of(micromotion::require_key(root, "state_dict", "test"));
  size_t enc = 0, dec = 0;
  for (const auto& kv : sd) {
    enc += kv.first.rfind("encoder.", 0) == 0;
    dec += kv.first.rfind("decoder.", 0) == 0;
  }
  EXPECT_GT(enc, 100u);
  EXPECT_GT(dec, 50u);
}

TEST(Checkpoint, RoundTripsEveryValueKind) {
  auto dir = mmtest::temp_dir("ckpt_roundtrip");
  Value root = Value::dict("collections.OrderedDict");
  auto& items = root.as_dict().items;
  items.emplace_back(Value::string("none"), Value::none());
  items.emplace_back(Value::string("flag"), Value::boolean(true));
  items.emplace_back(Value::string("small"), Value::integer(-5));
  items.emplace_back(Value::string("big"), Value::integer(int64_t(1) << 40));
  items.emplace_back(Value::string("pi"), Value::real(3.25));
  items.emplace_back(Value::string("list"), Value::list({Value::integer(1), Value::string("two")}));
  items.emplace_back(Value::string("tuple"), Value::tuple({Value::real(0.5)}));
  items.emplace_back(Value::integer(7), Value::string("int key"));
  at::Tensor f = at::arange(12, at::kFloat).view({3, 4});
  at::Tensor l = at::arange(5, at::kLong);
  at::Tensor b = at::randn({2, 3}).to(at::kBFloat16);
  items.emplace_back(Value::string("f"), Value::tensor(f.t()));  // non-contiguous view
  items.emplace_back(Value::string("l"), Value::tensor(l));
  items.emplace_back(Value::string("b"), Value::tensor(b));
  const std::string path = (dir / "rt.pt").string();
  micromotion::save_checkpoint(path, root);

  Value back = micromotion::load_checkpoint(path);
  const auto& d = back.as_dict();
  EXPECT_EQ(d.type_name, "collections.OrderedDict");
  EXPECT_TRUE(d.find("none")->is(Value::Kind::None));
  EXPECT_TRUE(d.find("flag")->as_bool());
  EXPECT_EQ(d.find("small")->as_int(), -5);
  EXPECT_EQ(d.find("big")->as_int(), int64_t(1) << 40);
  EXPECT_EQ(d.find("pi")->as_float(), 3.25);
  EXPECT_EQ(d.find("list")->as_list()[1].as_string(), "two");
  EXPECT_TRUE(d.find("tuple")->is(Value::Kind::Tuple));
  EXPECT_EQ(d.items[7].first.as_int(), 7);
  EXPECT_TRUE(d.find("f")->as_tensor().equal(f.t()));
  EXPECT_TRUE(d.find("l")->as_tensor().equal(l));
  EXPECT_TRUE(d.find("b")->as_tensor().equal(b));
}

TEST(Checkpoint, HonoursSharedStoragesOffsetsAndStrides) {
  auto dir = mmtest::temp_dir("ckpt_views");
  // Two tensors on one storage of 12 floats: a [3, 2] view at offset 2 with stride (4, 1)
  // and the whole storage transposed [4, 3] with strides (1, 4).
  mmtest::PickleBuilder p;
  p.op('}').mark();
  p.str("a").tensor("0", 12, 2, {3, 2}, {4, 1});
  p.str("b").tensor("0", 12, 0, {4, 3}, {1, 4});
  p.op('u').stop();
  std::vector<float> data(12);
  for (int i = 0; i < 12; ++i) data[i] = float(i);
  const std::string path = (dir / "views.pt").string();
  mmtest::write_archive(path, p.bytes(), {{"data/0", mmtest::float_bytes(data)}});

  Value root = micromotion::load_checkpoint(path);
  at::Tensor a = root.as_dict().find("a")->as_tensor();
  at::Tensor b = root.as_dict().find("b")->as_tensor();
  at::Tensor base = at::arange(12, at::kFloat);
  EXPECT_TRUE(a.equal(base.as_strided({3, 2}, {4, 1}, 2)));
  EXPECT_TRUE(b.equal(base.view({3, 4}).t()));
  // One storage in memory, not two copies.
  EXPECT_EQ(a.storage().data(), b.storage().data());
}

TEST(Checkpoint, CudaSavedStoragesLoadOnCpu) {
  // The paper's directions were saved from CUDA memory (location 'cuda:0').
  Value root = micromotion::load_checkpoint(mmtest::fixture("anchors/smile/d_latent").string());
  ASSERT_TRUE(root.is(Value::Kind::Tensor));
  EXPECT_TRUE(root.as_tensor().device().is_cpu());
}

TEST(Checkpoint, MemoryAndFileReadersAgree) {
  const std::string bytes = mmtest::read_file(mmtest::fixture("anchors/angry/d_latent"));
  Value a = micromotion::load_checkpoint_from_memory(bytes.data(), bytes.size(), "angry");
  Value b = micromotion::load_checkpoint(mmtest::fixture("anchors/angry/d_latent").string());
  EXPECT_TRUE(a.as_tensor().equal(b.as_tensor()));
}

TEST(Checkpoint, MissingFileNamesIt) {
  try {
    micromotion::load_checkpoint("/nonexistent/model.pt");
    FAIL();
  } catch (const micromotion::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.pt: file not found"), std::string::npos) << e.what();
  }
}

}  // namespace
