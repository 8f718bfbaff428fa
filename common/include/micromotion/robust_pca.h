// micromotion/robust_pca.h — making a micromotion from anchor codes (the paper's step 2-3).
//
// robust_pca(D)
//   requires: D [n, m] floating point, not all zero.
//   ensures:  D ~ L + S by principal component pursuit, inexact ALM, exactly as the reference
//             (StyleCLIP optimization/pca.py RPCA_gpu): S = Y = 0, mu = n m / (4 sum D^2),
//             lambda = 1 / sqrt(max(n, m)); each step L = SVT(D - S + Y/mu, 1/mu),
//             S = shrink(D - L + Y/mu, lambda/mu), Y += mu (D - L - S); it stops when
//             sum((D-L-S)^2) / sum(D^2) <= 1e-7 sum(D^2) — the reference's quirk, a relative error
//             against a data-scaled tolerance — or after max_iter steps. Computed in float64,
//             returned in D's dtype.
// low_rank(L, k)
//   ensures: the best rank-min(k, rank) approximation of L [n, m] by an exact truncated SVD
//            (deterministic; the reference's torch.pca_lowrank(q=k, center=False) is its
//            randomized approximation).
// decompose_anchors(anchors, k)
//   requires: anchors [n >= 2, rows, dim]: one identity's codes at increasing motion degree.
//   ensures:  per W+ row r: robust_pca(anchors[:, r]) then low_rank(L, k); direction =
//             reconstruction[n-1] - reconstruction[0] ([rows, dim]); iterations per row.
//   throws:   micromotion::Error on a wrong shape.
#pragma once

#include <micromotion/motion.h>

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace micromotion {

struct RobustPca {
  at::Tensor low_rank;  // L
  at::Tensor sparse;    // S
  int iterations = 0;
};

RobustPca robust_pca(const at::Tensor& d, int max_iter = 1000);
at::Tensor low_rank(const at::Tensor& l, int k);

struct AnchorDecomposition {
  at::Tensor low_rank;        // [n, rows, dim]
  at::Tensor sparse;          // [n, rows, dim]
  at::Tensor reconstruction;  // [n, rows, dim], rank-k per row
  at::Tensor direction;       // [rows, dim]
  std::vector<int> iterations;
};

AnchorDecomposition decompose_anchors(const at::Tensor& anchors, int k = 4);

// The direction of decompose_anchors as a micromotion named `name`.
Micromotion micromotion_from_anchors(const at::Tensor& anchors, const std::string& name,
                                     const std::string& source, int k = 4);

}  // namespace micromotion
