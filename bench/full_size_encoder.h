// Full-size networks with random weights (config-f 1024 generator, its encoder), for the
// benchmarks that need the real network cost without the official files.
#pragma once

#include <micromotion/encoder.h>
#include <micromotion/generator.h>

#include <ATen/ATen.h>

#include <utility>

namespace micromotion {

inline Encoder full_size_encoder(EncoderKind kind, c10::ScalarType dtype) {
  const GeneratorConfig gc = GeneratorConfig::config_f(1024);
  Generator g = Generator::from_state_dict(Generator::random_state_dict(gc, 7), {c10::kCPU, dtype});
  const int input_nc = kind == EncoderKind::Backbone ? 6 : 3;
  TensorMap sd = Encoder::random_state_dict(kind, input_nc, gc.n_latent(), gc.style_dim, 11);
  at::Tensor avg = g.mean_latent(4096, 1).expand({gc.n_latent(), gc.style_dim}).contiguous();
  EncoderSpec spec;
  spec.kind = kind;
  return Encoder::from_state_dict(std::move(sd), std::move(g), avg, spec, {c10::kCPU, dtype}, "random");
}

}  // namespace micromotion
