// Robust PCA + rank-4 reconstruction + direction against the reference (fixtures/rpca/).
#include "test_support.h"

#include <micromotion/error.h>
#include <micromotion/robust_pca.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <vector>

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

// The reference's RPCA_gpu.fit (StyleCLIP optimization/pca.py), written out again here in
// float64 with its own torch.svd call, recording err after every step; the library's loop is
// checked against it (iteration count, L and S) rather than against itself.
struct ReferenceRpca {
  at::Tensor low_rank, sparse;
  std::vector<double> errors;  // err after step 1, 2, ...
  double tol = 0;
};

at::Tensor shrink_ref(const at::Tensor& m, double tau) { return at::sign(m) * at::relu(at::abs(m) - tau); }

ReferenceRpca reference_rpca(const at::Tensor& d_in, int max_iter = 1000) {
  const at::Tensor d = d_in.to(at::kDouble);
  const double norm = d.pow(2).sum().item<double>();
  const double mu = double(d.numel()) / (4 * norm), mu_inv = 1 / mu;
  const double lmbda = 1 / std::sqrt(double(std::max(d.size(0), d.size(1))));
  ReferenceRpca out;
  out.tol = 1e-7 * d.abs().pow(2).sum().item<double>();
  at::Tensor sk = at::zeros_like(d), yk = at::zeros_like(d), lk = at::zeros_like(d);
  double err = INFINITY;
  int i = 0;
  while (err > out.tol && i < max_iter) {
    auto [u, sv, v] = at::svd(d - sk + mu_inv * yk, /*some=*/true);
    lk = at::mm(u, at::mm(at::diag(shrink_ref(sv, mu_inv)), v.t()));
    sk = shrink_ref(d - lk + mu_inv * yk, mu_inv * lmbda);
    yk = yk + mu * (d - lk - sk);
    err = (d - lk - sk).abs().pow(2).sum().item<double>() / norm;
    out.errors.push_back(err);
    ++i;
  }
  out.low_rank = lk;
  out.sparse = sk;
  return out;
}

// The in-test reference reproduces the recorded per-row iteration counts of the real one.
TEST(RpcaParity, InTestReferenceMatchesTheFixtureCounts) {
  const at::Tensor anchors = mmtest::load_fixture("rpca/anchors.npy");
  std::ifstream in(mmtest::fixture("rpca/iterations.json"));
  const nlohmann::json its = nlohmann::json::parse(in);
  ASSERT_EQ(its.size(), size_t(anchors.size(1)));
  const at::Tensor l_fixture = mmtest::load_fixture("rpca/L.npy");
  for (int64_t row = 0; row < anchors.size(1); ++row) {
    const ReferenceRpca ref = reference_rpca(anchors.select(1, row));
    EXPECT_EQ(int(ref.errors.size()), its[row].get<int>()) << "row " << row;
    EXPECT_LE(mmtest::max_abs_diff(ref.low_rank, l_fixture.select(1, row)), 1e-4) << "row " << row;
  }
}

TEST(RpcaParity, StopsByTheReferenceRule) {
  // With sum D^2 small the reference's data-scaled tolerance is strict, so one step is not enough
  // (this case needs 2): the loop must stop at the first step whose err = sum((D-L-S)^2)/sum(D^2)
  // is <= 1e-7 sum(D^2), not one step earlier or later, and return that step's L and S.
  at::manual_seed(3);
  const at::Tensor u = at::randn({20, 1}, at::kDouble) * 0.05, v = at::randn({1, 30}, at::kDouble);
  at::Tensor d = at::matmul(u, v);
  at::Tensor spikes = at::zeros_like(d);
  spikes.index_put_({3, 4}, 0.8);
  spikes.index_put_({10, 20}, -0.7);
  const at::Tensor dd = d + spikes;
  const double energy = dd.pow(2).sum().item<double>();
  ASSERT_LT(energy, 10.0);

  const ReferenceRpca ref = reference_rpca(dd);
  const int n = int(ref.errors.size());
  ASSERT_GE(n, 2) << "the case must need more than one step to say anything about the rule";
  ASSERT_LT(n, 1000) << "the reference must stop by its rule, not by the cap";
  ASSERT_LE(ref.errors[n - 1], ref.tol);
  ASSERT_GT(ref.errors[n - 2], ref.tol);

  const auto r = micromotion::robust_pca(dd);
  EXPECT_EQ(r.iterations, n) << "the reference stops after " << n << " steps";
  // Same float64 operations up to the SVD routine: agreement to rounding.
  EXPECT_LE(mmtest::max_abs_diff(r.low_rank, ref.low_rank), 1e-9);
  EXPECT_LE(mmtest::max_abs_diff(r.sparse, ref.sparse), 1e-9);
  EXPECT_LE((dd - r.low_rank - r.sparse).pow(2).sum().item<double>() / energy, ref.tol);

  // The cap: max_iter steps exactly, and the state after that step (not the converged one).
  const ReferenceRpca ref_capped = reference_rpca(dd, n - 1);
  const auto capped = micromotion::robust_pca(dd, n - 1);
  EXPECT_EQ(capped.iterations, n - 1);
  EXPECT_LE(mmtest::max_abs_diff(capped.low_rank, ref_capped.low_rank), 1e-9);
  EXPECT_LE(mmtest::max_abs_diff(capped.sparse, ref_capped.sparse), 1e-9);
  EXPECT_GT((dd - capped.low_rank - capped.sparse).pow(2).sum().item<double>() / energy, ref.tol)
      << "one step fewer must not meet the rule";
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
