// The paper's published direction files (saved from CUDA) load with their recorded norms.
#include "test_support.h"

#include <micromotion/checkpoint.h>

#include <nlohmann/json.hpp>

namespace {

TEST(Anchors, AllSevenLoadWithRecordedShapeAndNorms) {
  const auto norms = nlohmann::json::parse(mmtest::read_file(mmtest::fixture("anchors/norms.json")));
  ASSERT_EQ(norms.size(), 7u);
  for (const auto& [rel, rec] : norms.items()) {
    micromotion::Value v = micromotion::load_checkpoint(mmtest::fixture("anchors/" + rel).string());
    ASSERT_TRUE(v.is(micromotion::Value::Kind::Tensor)) << rel;
    const at::Tensor& t = v.as_tensor();
    EXPECT_EQ(t.sizes(), (at::IntArrayRef{1, 18, 512})) << rel;
    EXPECT_EQ(t.scalar_type(), at::kFloat) << rel;
    // The recorded norms were summed in float32: compare relatively.
    const double fro = rec["fro_norm"].get<double>();
    EXPECT_NEAR(t.to(at::kDouble).norm().item<double>(), fro, 1e-6 * fro) << rel;
    at::Tensor rows = t[0].to(at::kDouble).norm(2, {1});
    for (int i = 0; i < 18; ++i) EXPECT_NEAR(rows[i].item<double>(), rec["row_norms"][i].get<double>(), 1e-6 * fro) << rel;
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(t[0][0][i].item<float>(), rec["first4_row0"][i].get<float>()) << rel;
  }
}

}  // namespace
