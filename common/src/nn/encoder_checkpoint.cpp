// Encoder construction: the official pSp / ReStyle / e4e checkpoint layout, config inference.
#include "nn/encoder_impl.h"

#include <micromotion/shape_text.h>
#include <micromotion/checkpoint.h>
#include <micromotion/error.h>
#include <micromotion/value.h>

#include <ATen/ATen.h>

#include <sstream>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace micromotion {

namespace {

std::optional<EncoderKind> kind_from_name(const std::string& s) {
  if (s == "BackboneEncoder") return EncoderKind::Backbone;
  if (s == "GradualStyleEncoder") return EncoderKind::GradualStyle;
  if (s == "Encoder4Editing") return EncoderKind::Encoder4Editing;
  return std::nullopt;
}

// Moves every tensor under `prefix` into its own map, key without the prefix.
TensorMap split_prefix(TensorMap& all, const std::string& prefix) {
  TensorMap out;
  for (auto it = all.begin(); it != all.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      out.emplace(it->first.substr(prefix.size()), std::move(it->second));
      it = all.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

int count_style_blocks(const TensorMap& sd) {
  int n = 0;
  while (sd.count("styles." + std::to_string(n) + ".linear.weight")) ++n;
  return n;
}

}  // namespace

const char* encoder_type_name(EncoderKind kind) {
  switch (kind) {
    case EncoderKind::Backbone: return "BackboneEncoder";
    case EncoderKind::GradualStyle: return "GradualStyleEncoder";
    case EncoderKind::Encoder4Editing: return "Encoder4Editing";
  }
  return "?";
}

std::string EncoderConfig::describe() const {
  std::ostringstream os;
  os << encoder_type_name(kind) << " (" << (iterative() ? "ReStyle, " : "one pass, ")
     << "input " << input_channels << " channels), " << (squeeze_excite ? "ir_se" : "ir") << ' '
     << num_layers << ", widths " << stem_width << '/' << stage_widths[0] << '/'
     << stage_widths[1] << '/' << stage_widths[2] << '/' << stage_widths[3] << ", " << n_styles
     << " x " << style_dim << " W+";
  if (iterative()) os << ", " << default_iterations << " iterations by default";
  if (!start_from_latent_avg) os << ", no latent average";
  return os.str();
}

Encoder::Encoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;
Encoder::~Encoder() = default;

const EncoderConfig& Encoder::config() const { return impl_->config; }
const EncoderOptions& Encoder::options() const { return impl_->options; }
const Generator& Encoder::decoder() const { return impl_->decoder; }
const at::Tensor& Encoder::latent_avg() const { return impl_->latent_avg; }
double Encoder::encoder_macs() const { return impl_->net->macs(256, 256); }

Encoder Encoder::from_state_dict(TensorMap&& encoder_sd, Generator decoder,
                                 std::optional<at::Tensor> latent_avg, const EncoderSpec& spec,
                                 const EncoderOptions& options, const std::string& name) {
  // Not prefixed with `name`: the machine, not the file, is what is wrong.
  check_dtype(options.device, options.dtype);
  auto impl = std::make_unique<Impl>(std::move(decoder));
  impl->name = name;
  impl->options = options;
  impl->format = {options.device, options.dtype};
  const GeneratorConfig& g = impl->decoder.config();

  auto stem = encoder_sd.find("input_layer.0.weight");
  if (stem == encoder_sd.end() || stem->second.dim() != 4) {
    throw Error(name + ": no encoder stem 'encoder.input_layer.0.weight' [64, C, 3, 3]");
  }
  const int input_channels = int(stem->second.size(1));
  if (input_channels != 3 && input_channels != 6) {
    throw Error(name + ": the encoder takes " + std::to_string(input_channels) +
                " input channels; 3 (pSp, e4e) or 6 (ReStyle) are supported");
  }
  const int n_styles = count_style_blocks(encoder_sd);
  if (n_styles != g.n_latent()) {
    throw Error(name + ": the encoder has " + std::to_string(n_styles) +
                " style blocks but its decoder (" + g.describe() + ") takes " +
                std::to_string(g.n_latent()) + " W+ rows");
  }

  nn::StateReader reader(encoder_sd, name);
  switch (spec.kind) {
    case EncoderKind::Backbone:
      impl->net = nn::make_backbone_encoder(reader, n_styles, impl->format);
      break;
    case EncoderKind::GradualStyle:
      impl->net = nn::make_gradual_style_encoder(reader, n_styles, impl->format);
      break;
    case EncoderKind::Encoder4Editing:
      impl->net = nn::make_encoder4editing(reader, n_styles, impl->format);
      break;
  }
  // Whatever is left (the reference loads ReStyle with strict=False) is released here.
  encoder_sd.clear();

  const nn::IrSeBackbone& bb = impl->net->backbone();
  EncoderConfig& c = impl->config;
  c.kind = spec.kind;
  c.input_channels = input_channels;
  c.num_layers = bb.num_layers();
  c.squeeze_excite = bb.squeeze_excite();
  c.stem_width = bb.stem_width();
  c.stage_widths = bb.stage_widths();
  c.n_styles = n_styles;
  c.style_dim = impl->net->style_dim();
  c.start_from_latent_avg = spec.start_from_latent_avg;
  c.default_iterations = spec.default_iterations;
  if (c.style_dim != g.style_dim) {
    throw Error(name + ": the encoder's style dimension is " + std::to_string(c.style_dim) +
                ", its decoder's " + std::to_string(g.style_dim));
  }

  if (latent_avg && latent_avg->defined()) {
    at::Tensor a = latent_avg->to(at::kFloat);
    if (a.dim() == 1) a = a.unsqueeze(0);
    const bool ok = a.dim() == 2 && a.size(1) == c.style_dim &&
                    (a.size(0) == 1 || a.size(0) == n_styles);
    if (!ok) {
      throw Error(name + ": latent_avg has shape " + shape_text(latent_avg->sizes()) + ", expected [" +
                  std::to_string(c.style_dim) + "] or [" + std::to_string(n_styles) + ", " +
                  std::to_string(c.style_dim) + "]");
    }
    impl->latent_avg = a.expand({n_styles, c.style_dim}).to(options.device).contiguous();
  } else if (c.iterative() || c.start_from_latent_avg) {
    throw Error(name + ": no 'latent_avg' (" +
                std::string(c.iterative() ? "ReStyle starts from it"
                                          : "opts.start_from_latent_avg is set") + ")");
  }
  return Encoder(std::move(impl));
}

Encoder Encoder::load(const std::string& path, const EncoderOptions& options) {
  check_device(options.device);
  check_dtype(options.device, options.dtype);  // before reading a ~1 GB checkpoint
  TensorMap encoder_sd, decoder_sd;
  std::optional<at::Tensor> latent_avg;
  EncoderSpec spec;
  std::optional<EncoderKind> kind;
  {
    Value root = load_checkpoint(path);
    if (root.is(Value::Kind::Tensor)) {
      throw Error(path + ": holds a single tensor " + shape_text(root.as_tensor().sizes()) +
                  " (a micromotion direction?), not an encoder checkpoint");
    }
    if (!root.is(Value::Kind::Dict)) {
      throw Error(path + ": holds a " + std::string(Value::kind_name(root.kind())) +
                  ", not an encoder checkpoint {'state_dict', 'latent_avg', 'opts'}");
    }
    const Dict& top = root.as_dict();
    if (top.find("g_ema")) {
      throw Error(path + ": is a StyleGAN2 generator checkpoint ('g_ema'), not an encoder "
                         "checkpoint (ReStyle-pSp, pSp or e4e with 'state_dict' encoder.* "
                         "and decoder.*)");
    }
    TensorMap all = tensors_of(require_key(root, "state_dict", path + " (encoder checkpoint)"));
    encoder_sd = split_prefix(all, "encoder.");
    decoder_sd = split_prefix(all, "decoder.");
    if (encoder_sd.empty() || decoder_sd.empty()) {
      throw Error(path + ": the state_dict has " + std::to_string(encoder_sd.size()) +
                  " encoder.* and " + std::to_string(decoder_sd.size()) +
                  " decoder.* tensors; an encoder checkpoint needs both");
    }
    if (const Value* la = top.find("latent_avg"); la && la->is(Value::Kind::Tensor)) {
      latent_avg = la->as_tensor();
    }
    if (const Value* opts = top.find("opts"); opts && opts->is(Value::Kind::Dict)) {
      const Dict& o = opts->as_dict();
      if (const Value* t = o.find("encoder_type"); t && t->is(Value::Kind::String)) {
        kind = kind_from_name(t->as_string());
        if (!kind) {
          throw Error(path + ": opts.encoder_type is '" + t->as_string() +
                      "'; supported: BackboneEncoder, GradualStyleEncoder, Encoder4Editing");
        }
      }
      if (const Value* s = o.find("start_from_latent_avg"); s && s->is(Value::Kind::Bool)) {
        spec.start_from_latent_avg = s->as_bool();
      }
      if (const Value* n = o.find("n_iters_per_batch"); n && n->is(Value::Kind::Int)) {
        spec.default_iterations = int(n->as_int());
      }
    }
    // `root` (and with it every reference to the checkpoint's tensors outside the two
    // maps) goes away here.
  }
  if (!kind) {
    if (encoder_sd.count("latlayer1.weight")) {
      throw Error(path + ": has FPN encoder weights but no opts.encoder_type to tell pSp "
                         "(GradualStyleEncoder) from e4e (Encoder4Editing)");
    }
    kind = EncoderKind::Backbone;
  }
  spec.kind = *kind;
  // ReStyle always starts from the average latent, whatever the opts say.
  if (encoder_sd.count("input_layer.0.weight") &&
      encoder_sd.at("input_layer.0.weight").dim() == 4 &&
      encoder_sd.at("input_layer.0.weight").size(1) == 6) {
    spec.start_from_latent_avg = true;
  }

  std::optional<Generator> decoder;
  try {
    decoder.emplace(Generator::from_state_dict(decoder_sd, {options.device, options.dtype}));
  } catch (const Error& e) {
    throw Error(path + ": decoder: " + e.what());
  }
  decoder_sd.clear();
  Encoder encoder = from_state_dict(std::move(encoder_sd), std::move(*decoder), latent_avg, spec,
                                    options, path);
#if defined(__GLIBC__)
  // The checkpoint's storages (~1 GB) were freed one by one while their converted copies were
  // allocated; glibc keeps most of that heap mapped. Hand it back so a long-running process
  // holds one copy of the weights, not 1.5.
  malloc_trim(0);
#endif
  return encoder;
}

}  // namespace micromotion
