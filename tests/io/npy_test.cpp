#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/npy.h>

namespace {

TEST(Npy, ReadsFixtureShapesAndValues) {
  at::Tensor w = mmtest::load_fixture("stylegan2/g64/wplus.npy");
  EXPECT_EQ(w.sizes(), (at::IntArrayRef{2, 10, 64}));
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  EXPECT_TRUE(std::isfinite(w.sum().item<double>()));
}

TEST(Npy, RoundTripsDtypesAndShapes) {
  auto dir = mmtest::temp_dir("npy_rt");
  std::vector<at::Tensor> cases = {at::randn({2, 3, 4}), at::randn({5}).to(at::kDouble),
                                   at::arange(6, at::kLong).view({2, 3}), at::randn({0, 3}),
                                   at::scalar_tensor(2.5, at::kFloat), at::randn({4, 3}).t()};
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string p = (dir / ("a" + std::to_string(i) + ".npy")).string();
    micromotion::write_npy(p, cases[i]);
    at::Tensor back = micromotion::read_npy(p);
    EXPECT_EQ(back.sizes(), cases[i].sizes()) << i;
    EXPECT_EQ(back.scalar_type(), cases[i].scalar_type()) << i;
    EXPECT_TRUE(back.equal(cases[i].contiguous())) << i;
    // numpy's rule: the data starts on a 64-byte boundary.
    const std::string bytes = mmtest::read_file(p);
    const size_t header = 10 + (uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8));
    EXPECT_EQ(header % 64, 0u) << i;
  }
}

TEST(Npy, Bf16IsWrittenAsFloat32) {
  auto dir = mmtest::temp_dir("npy_bf16");
  const std::string p = (dir / "b.npy").string();
  at::Tensor b = at::randn({3, 3}).to(at::kBFloat16);
  micromotion::write_npy(p, b);
  at::Tensor back = micromotion::read_npy(p);
  EXPECT_EQ(back.scalar_type(), at::kFloat);
  EXPECT_TRUE(back.equal(b.to(at::kFloat)));
}

TEST(Npy, MissingFile) {
  EXPECT_THROW(micromotion::read_npy("/nonexistent.npy"), micromotion::Error);
}

}  // namespace
