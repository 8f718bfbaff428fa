// Robust PCA by inexact ALM, with the reference's constants and stopping rule (see header).
#include <micromotion/error.h>
#include <micromotion/robust_pca.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace micromotion {

namespace {

at::Tensor shrink(const at::Tensor& m, double tau) { return at::sign(m) * at::relu(at::abs(m) - tau); }

at::Tensor svd_threshold(const at::Tensor& m, double tau) {
  auto [u, s, vh] = at::linalg_svd(m, /*full_matrices=*/false);
  return at::matmul(u * shrink(s, tau).unsqueeze(0), vh);
}

}  // namespace

RobustPca robust_pca(const at::Tensor& d_in, int max_iter) {
  if (d_in.dim() != 2 || !d_in.is_floating_point() || d_in.numel() == 0)
    throw Error("robust_pca: D must be a non-empty 2-D floating-point matrix");
  const at::Tensor d = d_in.to(at::kCPU, at::kDouble);
  const double energy = d.pow(2).sum().item<double>();
  if (!(energy > 0) || !std::isfinite(energy)) throw Error("robust_pca: D is all zero or not finite");
  const double mu = double(d.numel()) / (4.0 * energy);
  const double mu_inv = 1.0 / mu;
  const double lambda = 1.0 / std::sqrt(double(std::max(d.size(0), d.size(1))));
  const double tol = 1e-7 * energy;  // the reference's tolerance: scaled by the data, not relative
  at::Tensor s = at::zeros_like(d), y = at::zeros_like(d), l = at::zeros_like(d);
  double err = INFINITY;
  int i = 0;
  while (err > tol && i < max_iter) {
    l = svd_threshold(d - s + mu_inv * y, mu_inv);
    s = shrink(d - l + mu_inv * y, mu_inv * lambda);
    const at::Tensor r = d - l - s;
    y = y + mu * r;
    err = r.pow(2).sum().item<double>() / energy;
    ++i;
  }
  return {l.to(d_in.scalar_type()), s.to(d_in.scalar_type()), i};
}

at::Tensor low_rank(const at::Tensor& l, int k) {
  if (l.dim() != 2 || k < 1) throw Error("low_rank: needs a 2-D matrix and k >= 1");
  const at::Tensor ld = l.to(at::kCPU, at::kDouble);
  auto [u, s, vh] = at::linalg_svd(ld, /*full_matrices=*/false);
  const int64_t r = std::min<int64_t>(k, s.size(0));
  return at::matmul(u.narrow(1, 0, r) * s.narrow(0, 0, r).unsqueeze(0), vh.narrow(0, 0, r)).to(l.scalar_type());
}

AnchorDecomposition decompose_anchors(const at::Tensor& anchors, int k) {
  if (anchors.dim() != 3 || anchors.size(0) < 2 || anchors.size(1) < 1 || anchors.size(2) < 1)
    throw Error("anchors must be [n >= 2, rows, dim] (n codes of one identity at increasing motion degree), got " +
                std::string(anchors.dim() == 3 ? "n = " + std::to_string(anchors.size(0)) : std::to_string(anchors.dim()) + " dimensions"));
  const at::Tensor a = anchors.to(at::kCPU, at::kFloat);
  AnchorDecomposition out;
  out.low_rank = at::empty_like(a);
  out.sparse = at::empty_like(a);
  out.reconstruction = at::empty_like(a);
  for (int64_t r = 0; r < a.size(1); ++r) {
    const RobustPca p = robust_pca(a.select(1, r));
    out.low_rank.select(1, r).copy_(p.low_rank);
    out.sparse.select(1, r).copy_(p.sparse);
    out.reconstruction.select(1, r).copy_(low_rank(p.low_rank, k));
    out.iterations.push_back(p.iterations);
  }
  out.direction = (out.reconstruction[a.size(0) - 1] - out.reconstruction[0]).contiguous();
  return out;
}

Micromotion micromotion_from_anchors(const at::Tensor& anchors, const std::string& name, const std::string& source,
                                     int k) {
  Micromotion m;
  m.name = name;
  m.source = source;
  m.basis = decompose_anchors(anchors, k).direction.unsqueeze(0).contiguous();
  return m;
}

}  // namespace micromotion
