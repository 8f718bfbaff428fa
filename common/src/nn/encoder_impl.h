// The state behind micromotion::Encoder (internal; shared by encoder_checkpoint.cpp,
// which builds it, and restyle_inversion.cpp, which runs it).
#pragma once

#include "nn/encoder_conv.h"
#include "nn/encoder_network.h"

#include <micromotion/encoder.h>
#include <micromotion/generator.h>

#include <memory>
#include <mutex>
#include <string>

namespace micromotion {

struct Encoder::Impl {
  explicit Impl(Generator&& g) : decoder(std::move(g)) {}

  std::string name;  // file name, for messages
  EncoderConfig config;
  EncoderOptions options;
  nn::ComputeFormat format;
  std::unique_ptr<nn::EncoderNetwork> net;
  Generator decoder;
  at::Tensor latent_avg;  // [n_styles, style_dim] float32 on the device, or undefined

  mutable std::once_flag average_once;
  mutable at::Tensor average_image;  // [1, 3, 256, 256] float32
};

}  // namespace micromotion
