// Robust PCA + rank-4 reconstruction + direction against the reference (fixtures/rpca/).
#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/robust_pca.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

TEST(RpcaParity, MatchesReferencePerRow) {
  const at::Tensor anchors = mmtest::load_fixture("rpca/anchors.npy");
  ASSERT_EQ(anchors.sizes(), (at::IntArrayRef{11, 18, 512}));
  const micromotion::AnchorDecomposition r = micromotion::decompose_anchors(anchors, 4);
  EXPECT_LE(mmtest::max_abs_diff(r.low_rank, mmtest::load_fixture("rpca/L.npy")), 1e-4);
  EXPECT_LE(mmtest::max_abs_diff(r.sparse, mmtest::load_fixture("rpca/S.npy")), 1e-4);
  EXPECT_LE(mmtest::max_abs_diff(r.reconstruction, mmtest::load_fixture("rpca/rank4_exact.npy")), 1e-4);
  EXPECT_LE(mmtest::max_abs_diff(r.direction, mmtest::load_fixture("rpca/direction_exact.npy")), 1e-4);
  std::ifstream in(mmtest::fixture("rpca/iterations.json"));
  const nlohmann::json its = nlohmann::json::parse(in);
  ASSERT_EQ(its.size(), r.iterations.size());
  for (size_t i = 0; i < its.size(); ++i) EXPECT_EQ(its[i].get<int>(), r.iterations[i]) << "row " << i;
}

TEST(RpcaParity, StopsByTheReferenceRule) {
  // With sum D^2 small the reference's data-scaled tolerance is strict, so the loop runs long and
  // must end with sum((D-L-S)^2)/sum(D^2) <= 1e-7 sum(D^2).
  at::manual_seed(3);
  const at::Tensor u = at::randn({20, 1}, at::kDouble) * 0.05, v = at::randn({1, 30}, at::kDouble);
  at::Tensor d = at::matmul(u, v);
  at::Tensor spikes = at::zeros_like(d);
  spikes.index_put_({3, 4}, 0.8);
  spikes.index_put_({10, 20}, -0.7);
  const at::Tensor dd = d + spikes;
  const auto r = micromotion::robust_pca(dd);
  const double energy = dd.pow(2).sum().item<double>();
  ASSERT_LT(energy, 10.0);
  EXPECT_GE(r.iterations, 2);
  EXPECT_LT(r.iterations, 1000);
  EXPECT_LE((dd - r.low_rank - r.sparse).pow(2).sum().item<double>() / energy, 1e-7 * energy);
  // The rule is checked after each step: one step fewer would not have met it.
  EXPECT_EQ(micromotion::robust_pca(dd, r.iterations - 1).iterations, r.iterations - 1);
  EXPECT_EQ(micromotion::robust_pca(dd, 1000).iterations, r.iterations);
}

TEST(RpcaParity, LowRankIsExactTruncation) {
  at::manual_seed(4);
  const at::Tensor a = at::randn({11, 6}, at::kFloat), b = at::randn({6, 40}, at::kFloat);
  const at::Tensor m = at::matmul(a, b);
  EXPECT_LE(mmtest::max_abs_diff(micromotion::low_rank(m, 6), m), 1e-4);
  const at::Tensor r2 = micromotion::low_rank(m, 2);
  EXPECT_EQ(at::linalg_matrix_rank(r2.to(at::kDouble), 1e-6).item<int64_t>(), 2);
}

TEST(RpcaParity, RejectsBadAnchors) {
  EXPECT_THROW(micromotion::decompose_anchors(at::zeros({1, 18, 512})), micromotion::Error);
  EXPECT_THROW(micromotion::decompose_anchors(at::zeros({18, 512})), micromotion::Error);
  EXPECT_THROW(micromotion::robust_pca(at::zeros({4, 4})), micromotion::Error);
}

}  // namespace
