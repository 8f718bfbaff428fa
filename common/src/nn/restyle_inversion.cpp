// Running an Encoder: one-pass pSp / e4e and ReStyle's iterative refinement.
#include "nn/encoder_impl.h"

#include <micromotion/shape_text.h>
#include <micromotion/error.h>

#include <ATen/ATen.h>

#include <sstream>
#include <vector>

namespace micromotion {

namespace {

// pSp's face_pool: AdaptiveAvgPool2d((256, 256)); the identity for a 256 decoder.
at::Tensor face_pool(const at::Tensor& image) {
  if (image.size(2) == 256 && image.size(3) == 256) return image;
  return at::adaptive_avg_pool2d(image, {256, 256});
}

// stop_at 0: the decoder's full resolution.
at::Tensor decode(const Generator& decoder, const at::Tensor& latent, int stop_at = 0) {
  SynthesisOptions o;
  o.stop_at = stop_at;
  o.noise = NoiseMode::Stored;
  return decoder.synthesize(latent, o).to(at::kFloat).contiguous();
}

void check_image(const at::Tensor& t, int64_t channels, const std::string& what) {
  if (t.dim() != 4 || t.size(1) != channels || t.size(2) != 256 || t.size(3) != 256) {
    throw Error(what + " must be [B, " + std::to_string(channels) +
                ", 256, 256] (an aligned face at 256x256), got " + shape_text(t.sizes()));
  }
}

// InversionOptions::reconstruct_at as a SynthesisOptions::stop_at (0: full resolution).
int reconstruction_stop(const Generator& decoder, int reconstruct_at) {
  if (reconstruct_at == 0) return 0;
  const std::vector<int> exits = decoder.exit_resolutions();
  for (int r : exits) {
    if (r == reconstruct_at) return r == decoder.config().resolution ? 0 : r;
  }
  std::ostringstream os;
  os << "reconstruct_at " << reconstruct_at << " is not a resolution this decoder can stop at: use 0 (its full "
     << decoder.config().resolution << ") or one of";
  for (size_t i = 0; i < exits.size(); ++i) os << (i ? ", " : " ") << exits[i];
  throw Error(os.str());
}

}  // namespace

at::Tensor Encoder::encode(const at::Tensor& x) const {
  check_image(x, impl_->config.input_channels, "encoder input");
  return impl_->net->forward(nn::to_encoder_format(x, impl_->format));
}

const at::Tensor& Encoder::average_image() const {
  std::call_once(impl_->average_once, [this] {
    if (!impl_->latent_avg.defined()) {
      throw Error(impl_->name + ": no latent_avg, so no average image");
    }
    at::NoGradGuard no_grad;
    impl_->average_image = face_pool(decode(impl_->decoder, impl_->latent_avg.unsqueeze(0)));
  });
  return impl_->average_image;
}

Inversion Encoder::invert(const at::Tensor& face_in, const std::optional<WarmStart>& warm,
                          const InversionOptions& options) const {
  at::NoGradGuard no_grad;
  const EncoderConfig& c = impl_->config;
  check_image(face_in, 3, "the face to invert");
  const int stop_at = reconstruction_stop(impl_->decoder, options.reconstruct_at);
  const at::Tensor face = face_in.to(impl_->options.device, at::kFloat);
  const int64_t batch = face.size(0);
  Inversion result;

  auto reconstruct = [&](const at::Tensor& latent) {
    result.image = decode(impl_->decoder, latent, stop_at);
    result.image256 = face_pool(result.image);
  };

  if (!c.iterative()) {
    at::Tensor latent = encode(face);
    if (c.start_from_latent_avg) latent = latent + impl_->latent_avg;
    result.latent = latent;
    if (options.reconstruct) reconstruct(latent);
    return result;
  }

  const int iterations = options.iterations < 0 ? c.default_iterations : options.iterations;
  at::Tensor latent, image;
  if (warm) {
    const std::vector<int64_t> shape{batch, c.n_styles, c.style_dim};
    if (!warm->latent.defined() || warm->latent.sizes() != at::IntArrayRef(shape)) {
      throw Error("warm start latent must be [" + std::to_string(batch) + ", " +
                  std::to_string(c.n_styles) + ", " + std::to_string(c.style_dim) + "], got " +
                  (warm->latent.defined() ? shape_text(warm->latent.sizes()) : "nothing"));
    }
    if (!warm->image.defined()) throw Error("warm start has a latent but no image");
    check_image(warm->image, 3, "the warm start image");
    if (warm->image.size(0) != batch) throw Error("warm start image batch differs from the face's");
    latent = warm->latent.to(impl_->options.device, at::kFloat);
    image = warm->image.to(impl_->options.device, at::kFloat);
  } else {
    latent = impl_->latent_avg.unsqueeze(0).expand({batch, c.n_styles, c.style_dim});
    image = average_image().expand({batch, 3, 256, 256});
  }

  bool decoded_last = false;
  for (int k = 0; k < iterations; ++k) {
    // ReStyle's step: the encoder sees [face, current reconstruction] and predicts the
    // residual to the current latent.
    latent = latent + encode(at::cat({face, image}, 1));
    const bool last = k + 1 == iterations;
    if (!last || options.reconstruct || options.on_iteration) {
      reconstruct(latent);
      image = result.image256;
      decoded_last = last;
      if (options.on_iteration) options.on_iteration(k, latent, image);
    }
  }
  result.latent = latent.contiguous();
  if (!decoded_last) {
    // Either no step ran (warm start, 0 iterations) or the last decode was skipped: the
    // images held are those of an earlier latent.
    result.image = at::Tensor();
    result.image256 = at::Tensor();
    if (options.reconstruct) reconstruct(result.latent);
  }
  return result;
}

}  // namespace micromotion
