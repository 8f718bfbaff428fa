// Encoders against the reference outputs in ../shared/fixtures/encoders/ (README there):
// ReStyle-pSp per iteration, the warm-start API, e4e, bf16, batches, and the errors a user
// can meet when loading.
#include "test_support.h"

#include <micromotion/checkpoint.h>
#include <micromotion/encoder.h>
#include <micromotion/error.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace {

using micromotion::Encoder;
using micromotion::EncoderKind;
using micromotion::EncoderOptions;
using micromotion::InversionOptions;
using micromotion::WarmStart;

// Fixture README: encoder latents <= 1e-4, images <= 1e-3 (errors compound over iterations).
constexpr double kLatentTol = 1e-4;
constexpr double kImageTol = 1e-3;
// reconstruct_at 256 / 512 against the full 1024 reconstruction over 8 warm-started frames
// (ReconstructAt.At256StaysCloseToTheFullTrajectory; measured there: 0.0154, 0.0026, 0.55).
constexpr double kReconstructAtLatentMax = 0.03;
constexpr double kReconstructAtLatentMean = 0.005;
constexpr double kReconstructAtImageMean = 0.8;

std::string restyle_file() { return mmtest::fixture("encoders/restyle_psp/restyle_psp.pt").string(); }
std::string e4e_file() { return mmtest::fixture("encoders/e4e/e4e.pt").string(); }
at::Tensor restyle(const std::string& name) { return mmtest::load_fixture("encoders/restyle_psp/" + name); }

struct Trace {
  std::vector<at::Tensor> latents, images;
  InversionOptions options(int iterations) {
    InversionOptions o;
    o.iterations = iterations;
    o.on_iteration = [this](int, const at::Tensor& l, const at::Tensor& i) {
      latents.push_back(l.clone());
      images.push_back(i.clone());
    };
    return o;
  }
};

TEST(ReStylePsp, ConfigIsReadFromShapes) {
  Encoder enc = Encoder::load(restyle_file());
  const auto& c = enc.config();
  EXPECT_EQ(c.kind, EncoderKind::Backbone);
  EXPECT_TRUE(c.iterative());
  EXPECT_EQ(c.input_channels, 6);
  EXPECT_EQ(c.num_layers, 50);
  EXPECT_TRUE(c.squeeze_excite);
  EXPECT_EQ(c.stem_width, 16);
  EXPECT_EQ(c.stage_widths, (std::array<int64_t, 4>{16, 16, 32, 32}));
  EXPECT_EQ(c.n_styles, 14);
  EXPECT_EQ(c.style_dim, 16);
  EXPECT_EQ(c.default_iterations, 5);
  EXPECT_EQ(enc.decoder().config().resolution, 256);
  EXPECT_EQ(enc.latent_avg().sizes(), (at::IntArrayRef{14, 16}));
}

TEST(ReStylePsp, MatchesReferencePerIteration) {
  Encoder enc = Encoder::load(restyle_file());
  const double avg_err = mmtest::max_abs_diff(enc.average_image()[0], restyle("avg_image.npy"));
  EXPECT_LE(avg_err, kImageTol);
  std::printf("restyle avg_image max|d| %.3g\n", avg_err);

  Trace trace;
  auto result = enc.invert(restyle("input.npy"), std::nullopt, trace.options(5));
  ASSERT_EQ(trace.latents.size(), 5u);
  for (int k = 0; k < 5; ++k) {
    const std::string it = std::to_string(k);
    const double dl = mmtest::max_abs_diff(trace.latents[k][0], restyle("latent_iter" + it + ".npy"));
    const double di = mmtest::max_abs_diff(trace.images[k][0], restyle("image_iter" + it + ".npy"));
    std::printf("restyle iter %d: latent max|d| %.3g, image max|d| %.3g\n", k, dl, di);
    EXPECT_LE(dl, kLatentTol) << "iteration " << k;
    EXPECT_LE(di, kImageTol) << "iteration " << k;
  }
  // The result is the last iteration; at decoder size 256 face_pool is the identity.
  EXPECT_TRUE(result.latent.equal(trace.latents[4]));
  EXPECT_TRUE(result.image256.equal(trace.images[4]));
  EXPECT_EQ(result.image.sizes(), (at::IntArrayRef{1, 3, 256, 256}));
}

TEST(ReStylePsp, SkipsTheLastDecodeWhenNoImageIsWanted) {
  Encoder enc = Encoder::load(restyle_file());
  InversionOptions full;
  full.iterations = 3;
  InversionOptions latent_only = full;
  latent_only.reconstruct = false;
  auto a = enc.invert(restyle("input.npy"), std::nullopt, full);
  auto b = enc.invert(restyle("input.npy"), std::nullopt, latent_only);
  EXPECT_FALSE(b.image.defined());
  EXPECT_FALSE(b.image256.defined());
  EXPECT_TRUE(a.latent.equal(b.latent)) << "same arithmetic either way";
  EXPECT_LE(mmtest::max_abs_diff(b.latent[0], restyle("latent_iter2.npy")), kLatentTol);
}

TEST(ReStylePsp, WarmStartContinuesTheReferenceTrajectory) {
  Encoder enc = Encoder::load(restyle_file());
  const at::Tensor input = restyle("input.npy");
  for (int k = 0; k < 4; ++k) {
    WarmStart warm{restyle("latent_iter" + std::to_string(k) + ".npy").unsqueeze(0),
                   restyle("image_iter" + std::to_string(k) + ".npy").unsqueeze(0)};
    InversionOptions o;
    o.iterations = 1;
    auto r = enc.invert(input, warm, o);
    const std::string next = std::to_string(k + 1);
    const double dl = mmtest::max_abs_diff(r.latent[0], restyle("latent_iter" + next + ".npy"));
    const double di = mmtest::max_abs_diff(r.image256[0], restyle("image_iter" + next + ".npy"));
    std::printf("warm start from iter %d: latent max|d| %.3g, image max|d| %.3g\n", k, dl, di);
    EXPECT_LE(dl, kLatentTol) << "from iteration " << k;
    EXPECT_LE(di, kImageTol) << "from iteration " << k;
  }
  // A video track: two steps from iteration 1's state land on iteration 3, and the result's
  // warm_start() feeds the next frame.
  InversionOptions two;
  two.iterations = 2;
  auto r = enc.invert(input, WarmStart{restyle("latent_iter1.npy").unsqueeze(0),
                                       restyle("image_iter1.npy").unsqueeze(0)}, two);
  EXPECT_LE(mmtest::max_abs_diff(r.latent[0], restyle("latent_iter3.npy")), kLatentTol);
  InversionOptions one;
  one.iterations = 1;
  auto r2 = enc.invert(input, r.warm_start(), one);
  EXPECT_LE(mmtest::max_abs_diff(r2.latent[0], restyle("latent_iter4.npy")), kLatentTol);
}

TEST(ReStylePsp, BatchRowsAreIndependent) {
  Encoder enc = Encoder::load(restyle_file());
  const at::Tensor a = restyle("input.npy");
  const at::Tensor b = at::flip(a, {3});  // a mirrored face
  InversionOptions o;
  o.iterations = 2;
  auto both = enc.invert(at::cat({a, b}), std::nullopt, o);
  auto only_b = enc.invert(b, std::nullopt, o);
  EXPECT_LE(mmtest::max_abs_diff(both.latent[0], restyle("latent_iter1.npy")), kLatentTol);
  EXPECT_LE(mmtest::max_abs_diff(both.latent[1], only_b.latent[0]), 1e-5);
  EXPECT_LE(mmtest::max_abs_diff(both.image[1], only_b.image[0]), 1e-4);
}

TEST(ReStylePsp, Bfloat16StaysCloseToTheReference) {
  EncoderOptions opt;
  opt.dtype = at::kBFloat16;
  MM_SKIP_WITHOUT_BF16(opt.device);
  Encoder enc = Encoder::load(restyle_file(), opt);
  Trace trace;
  enc.invert(restyle("input.npy"), std::nullopt, trace.options(5));
  for (int k = 0; k < 5; ++k) {
    const std::string it = std::to_string(k);
    const at::Tensor ref = restyle("latent_iter" + it + ".npy");
    const double dl = mmtest::max_abs_diff(trace.latents[k][0], ref);
    const double di = mmtest::max_abs_diff(trace.images[k][0], restyle("image_iter" + it + ".npy"));
    std::printf("restyle bf16 iter %d: latent max|d| %.3g (max|latent| %.3g), image max|d| %.3g\n", k,
                dl, ref.abs().max().item<double>(), di);
    // bf16 keeps 8 mantissa bits through ~50 convs: measured <= 0.4% of the latent range.
    EXPECT_LE(dl, 0.02 * ref.abs().max().item<double>()) << "iteration " << k;
    EXPECT_LE(di, 0.1) << "iteration " << k;
  }
}

TEST(E4e, MatchesReference) {
  Encoder enc = Encoder::load(e4e_file());
  const auto& c = enc.config();
  EXPECT_EQ(c.kind, EncoderKind::Encoder4Editing);
  EXPECT_FALSE(c.iterative());
  EXPECT_EQ(c.n_styles, 10);
  EXPECT_EQ(c.style_dim, 16);
  EXPECT_EQ(c.stage_widths, (std::array<int64_t, 4>{16, 16, 16, 32}));
  auto r = enc.invert(restyle("input.npy"));
  const double dl = mmtest::max_abs_diff(r.latent, mmtest::load_fixture("encoders/e4e/latent.npy"));
  const double di = mmtest::max_abs_diff(r.image, mmtest::load_fixture("encoders/e4e/image.npy"));
  std::printf("e4e: latent max|d| %.3g, image max|d| %.3g\n", dl, di);
  EXPECT_LE(dl, kLatentTol);
  EXPECT_LE(di, kImageTol);
  EXPECT_EQ(r.image256.sizes(), (at::IntArrayRef{1, 3, 256, 256}));  // face_pool of the 64² image

  EncoderOptions bf;
  bf.dtype = at::kBFloat16;
  MM_SKIP_WITHOUT_BF16(bf.device);  // after the fp32 checks above, which still count
  auto rb = Encoder::load(e4e_file(), bf).invert(restyle("input.npy"));
  const double dlb = mmtest::max_abs_diff(rb.latent, mmtest::load_fixture("encoders/e4e/latent.npy"));
  std::printf("e4e bf16: latent max|d| %.3g\n", dlb);
  EXPECT_LE(dlb, 0.02 * r.latent.abs().max().item<double>());
}

// Without AVX-512 a bf16 encoder is refused before its file is opened or its weights are
// converted, with the message that names the requirement and the fix; with it, it loads.
TEST(Bf16Support, EncoderRefusedWithoutAvx512) {
  EncoderOptions bf;
  bf.dtype = at::kBFloat16;
  if (micromotion::bf16_supported(bf.device)) {
    EXPECT_NO_THROW(Encoder::load(e4e_file(), bf));
    return;
  }
  const std::string expected =
      "dtype bf16 needs a CPU with AVX-512 (avx512bw, avx512vl and avx512dq), which this one lacks: use dtype fp32";
  try {
    Encoder::load("/nonexistent/encoder.pt", bf);
    ADD_FAILURE() << "Encoder::load accepted bf16";
  } catch (const micromotion::Error& e) {
    EXPECT_EQ(e.what(), expected);
  }
  try {
    using micromotion::Generator;
    Generator decoder = Generator::from_state_dict(
        Generator::random_state_dict(micromotion::GeneratorConfig::config_f(64, 64, 2, 1), 1));
    Encoder::from_state_dict(micromotion::TensorMap{}, std::move(decoder), std::nullopt, {}, bf, "e4e");
    ADD_FAILURE() << "Encoder::from_state_dict accepted bf16";
  } catch (const micromotion::Error& e) {
    EXPECT_EQ(e.what(), expected);
  }
}

// No pSp fixture exists; pSp's GradualStyleEncoder and e4e share every weight name, and
// e4e's rows are w0 = block 0 and w0 + block i. So pSp run on e4e's weights must satisfy
// e4e(x) - avg = [p_0, p_0 + p_i], which pins the FPN and every block of the pSp path to
// the e4e reference.
TEST(Psp, GradualStyleEncoderAgreesWithE4eOnSharedWeights) {
  using micromotion::Generator;
  using micromotion::TensorMap;
  micromotion::Value root = micromotion::load_checkpoint(e4e_file());
  TensorMap all = micromotion::tensors_of(micromotion::require_key(root, "state_dict", "e4e"));
  TensorMap enc_sd, dec_sd;
  for (auto& [k, v] : all) {
    if (k.rfind("encoder.", 0) == 0) enc_sd[k.substr(8)] = v;
    if (k.rfind("decoder.", 0) == 0) dec_sd[k.substr(8)] = v;
  }
  micromotion::EncoderSpec spec;
  spec.kind = EncoderKind::GradualStyle;
  spec.start_from_latent_avg = false;
  Encoder psp = Encoder::from_state_dict(std::move(enc_sd), Generator::from_state_dict(dec_sd),
                                         std::nullopt, spec);
  EXPECT_EQ(psp.config().kind, EncoderKind::GradualStyle);
  at::Tensor rows = psp.invert(restyle("input.npy")).latent[0];  // no latent_avg added
  at::Tensor avg = root.as_dict().find("latent_avg")->as_tensor();
  at::Tensor want = mmtest::load_fixture("encoders/e4e/latent.npy")[0] - avg;
  at::Tensor got = rows.clone();
  got.narrow(0, 1, got.size(0) - 1).add_(rows[0]);
  const double d = mmtest::max_abs_diff(got, want);
  std::printf("pSp on e4e weights: max|d| %.3g\n", d);
  EXPECT_LE(d, kLatentTol);
}

void expect_error(const std::string& path, const std::vector<std::string>& needles) {
  try {
    Encoder::load(path);
    ADD_FAILURE() << path << " loaded";
  } catch (const micromotion::Error& e) {
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << "'" << n << "' not in: " << e.what();
  }
}

TEST(EncoderErrors, WrongFilesSayWhatTheyAre) {
  const std::string gen = mmtest::fixture("stylegan2/g64/generator.pt").string();
  expect_error(gen, {gen, "generator", "g_ema"});
  const std::string dir = mmtest::fixture("anchors/smile/d_latent").string();
  expect_error(dir, {dir, "single tensor", "[1, 18, 512]"});
  const auto tmp = mmtest::temp_dir("encoder_errors");
  const std::string bytes = mmtest::read_file(restyle_file());
  const std::string cut = (tmp / "truncated.pt").string();
  mmtest::write_file(cut, bytes.substr(0, bytes.size() / 2));
  expect_error(cut, {cut});
  const std::string missing = (tmp / "nope.pt").string();
  expect_error(missing, {missing});
}

TEST(EncoderErrors, WrongInputShapes) {
  Encoder enc = Encoder::load(restyle_file());
  EXPECT_THROW(enc.invert(at::zeros({1, 3, 128, 128})), micromotion::Error);
  EXPECT_THROW(enc.invert(at::zeros({3, 256, 256})), micromotion::Error);
  InversionOptions o;
  o.iterations = 1;
  WarmStart bad{at::zeros({1, 18, 16}), at::zeros({1, 3, 256, 256})};
  EXPECT_THROW(enc.invert(restyle("input.npy"), bad, o), micromotion::Error);
}

}  // namespace

// ------------------------------------------------------------------ reconstruct_at

namespace {

// A warm-started "video" of n frames: the fixture face drifting slowly (a sub-pixel shift
// per frame, blended), one ReStyle step per frame after a 2-step start, as the engine runs it.
struct Sequence {
  std::vector<at::Tensor> latents, images256, images;
};

at::Tensor drifting_face(int frame) {
  const at::Tensor face = restyle("input.npy");
  const double t = 0.15 * frame;  // pixels of drift
  const at::Tensor shifted = at::roll(face, {1}, {3});
  return ((1 - t) * face + t * shifted).contiguous();
}

Sequence run_sequence(const Encoder& enc, int reconstruct_at, int frames) {
  Sequence s;
  std::optional<WarmStart> warm;
  for (int f = 0; f < frames; ++f) {
    InversionOptions o;
    o.iterations = f == 0 ? 2 : 1;
    o.reconstruct_at = reconstruct_at;
    auto r = enc.invert(drifting_face(f), warm, o);
    s.latents.push_back(r.latent);
    s.images256.push_back(r.image256);
    s.images.push_back(r.image);
    warm = r.warm_start();
  }
  return s;
}

double mean_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().mean().item<double>();
}

// The fixture ReStyle encoder (14 styles) with 4 more style heads (copies of the last four)
// and a seeded random decoder of the official 1024 depth at small widths: a ReStyle network
// whose decoder is 1024, as the real restyle_psp_ffhq_encode.pt's is.
Encoder restyle_with_1024_decoder() {
  micromotion::Value root = micromotion::load_checkpoint(restyle_file());
  micromotion::TensorMap all = micromotion::tensors_of(micromotion::require_key(root, "state_dict", "restyle"));
  micromotion::TensorMap enc;
  for (auto& [k, v] : all)
    if (k.rfind("encoder.", 0) == 0) enc[k.substr(8)] = v;
  for (int i = 14; i < 18; ++i) {
    const std::string from = "styles." + std::to_string(i - 4) + ".", to = "styles." + std::to_string(i) + ".";
    std::vector<std::pair<std::string, at::Tensor>> copies;
    for (auto& [k, v] : enc)
      if (k.rfind(from, 0) == 0) copies.push_back({to + k.substr(from.size()), v.clone()});
    for (auto& c : copies) enc[c.first] = c.second;
  }
  micromotion::GeneratorConfig gc;
  gc.resolution = 1024;
  gc.style_dim = 16;
  gc.n_mlp = 8;
  gc.channels = {32, 32, 16, 16, 8, 8, 8, 8, 8};
  micromotion::Generator decoder =
      micromotion::Generator::from_state_dict(micromotion::Generator::random_state_dict(gc, 1234));
  at::Tensor avg = root.as_dict().find("latent_avg")->as_tensor().to(at::kFloat);
  avg = avg.dim() == 2 ? avg.mean(0) : avg.reshape({-1});
  return Encoder::from_state_dict(std::move(enc), std::move(decoder), avg, micromotion::EncoderSpec{}, {},
                                  "restyle with a 1024 decoder");
}

}  // namespace

// reconstruct_at 0 (the default) and the decoder's own resolution are today's arithmetic, bit
// for bit: every step's image, the final latent and both result images.
TEST(ReconstructAt, ZeroAndFullResolutionAreBitIdentical) {
  Encoder enc = Encoder::load(restyle_file());
  ASSERT_EQ(enc.decoder().config().resolution, 256);
  Trace today, zero, full;
  InversionOptions o0 = zero.options(3), of = full.options(3);
  o0.reconstruct_at = 0;
  of.reconstruct_at = 256;
  auto a = enc.invert(restyle("input.npy"), std::nullopt, today.options(3));
  auto b = enc.invert(restyle("input.npy"), std::nullopt, o0);
  auto c = enc.invert(restyle("input.npy"), std::nullopt, of);
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(today.latents[k].equal(zero.latents[k]) && today.latents[k].equal(full.latents[k])) << k;
    EXPECT_TRUE(today.images[k].equal(zero.images[k]) && today.images[k].equal(full.images[k])) << k;
  }
  for (const auto* r : {&b, &c}) {
    EXPECT_TRUE(a.latent.equal(r->latent));
    EXPECT_TRUE(a.image.equal(r->image));
    EXPECT_TRUE(a.image256.equal(r->image256));
  }
  // Still the reference's trajectory.
  EXPECT_LE(mmtest::max_abs_diff(b.latent[0], restyle("latent_iter2.npy")), kLatentTol);
  // And with a 1024 decoder, in a warm-started sequence.
  Encoder big = restyle_with_1024_decoder();
  const Sequence s0 = run_sequence(big, 0, 2), s1024 = run_sequence(big, 1024, 2);
  for (int f = 0; f < 2; ++f) {
    EXPECT_TRUE(s0.latents[f].equal(s1024.latents[f])) << f;
    EXPECT_TRUE(s0.images256[f].equal(s1024.images256[f])) << f;
    EXPECT_EQ(s0.images[f].sizes(), (at::IntArrayRef{1, 3, 1024, 1024}));
  }
}

// With a 1024 decoder, reconstructions stopped at 256 (or 512) are face_pooled into 256x256
// warm starts like the full ones, up to what the layers above add. Measured on this fixture
// encoder + seeded 1024 decoder over 8 warm-started frames (1 step each after a 2-step start),
// worst frame: at 256 latent max|d| 0.0154, mean|d| 0.0026 (max|latent| 4.2), growing slowly
// with the frames (warm starts carry it); image256 mean|d| 0.55 (the image's std is 1.6); the
// edited output G(w + 5 d) of the last frame at 1024 within 41.5 dB PSNR (peak 2); at 512 about
// half of the differences (43.6 dB). The bounds leave ~1.5-2x (PSNR: > 30 dB). Random weights give the 512 / 1024 ToRGBs
// as much energy as the coarse ones, so the image difference is an upper bound of what a
// trained model (whose top layers add fine detail that face_pool averages away) shows.
TEST(ReconstructAt, At256StaysCloseToTheFullTrajectory) {
  Encoder big = restyle_with_1024_decoder();
  const int frames = 8;
  const Sequence full = run_sequence(big, 0, frames);
  for (int at : {512, 256}) {
    const Sequence cheap = run_sequence(big, at, frames);
    double li = 0, lm = 0, ii = 0, im = 0;
    for (int f = 0; f < frames; ++f) {
      EXPECT_EQ(cheap.images[f].sizes(), (at::IntArrayRef{1, 3, at, at})) << "Inversion::image at " << at;
      EXPECT_EQ(cheap.images256[f].sizes(), (at::IntArrayRef{1, 3, 256, 256}));
      li = std::max(li, mmtest::max_abs_diff(cheap.latents[f], full.latents[f]));
      lm = std::max(lm, mean_abs_diff(cheap.latents[f], full.latents[f]));
      ii = std::max(ii, mmtest::max_abs_diff(cheap.images256[f], full.images256[f]));
      im = std::max(im, mean_abs_diff(cheap.images256[f], full.images256[f]));
    }
    const double range = full.latents.back().abs().max().item<double>();
    // The edited output of the last frame, G(w + 5 d) at 1024, unclamped (this random decoder's
    // output spans about [-5, 5]); PSNR against a peak-to-peak of 2 as for [-1, 1] images.
    const at::Tensor d = at::randn({1, 18, 16}, at::make_generator<at::CPUGeneratorImpl>(5)) * 0.05;
    const at::Tensor ea = big.decoder().synthesize(full.latents.back() + 5.0 * d);
    const at::Tensor eb = big.decoder().synthesize(cheap.latents.back() + 5.0 * d);
    const double psnr = 10 * std::log10(4.0 / std::max((ea - eb).pow(2).mean().item<double>(), 1e-20));
    std::printf("reconstruct_at %d vs full over %d frames: latent max|d| %.3g mean %.3g (max|latent| %.3g), "
                "image256 max|d| %.3g mean %.3g, edited 1024 output PSNR %.1f dB\n", at, frames, li, lm, range,
                ii, im, psnr);
    EXPECT_GT(psnr, 30) << at;
    EXPECT_GT(ii, 0) << "it really stopped early";
    EXPECT_LE(li, kReconstructAtLatentMax) << at;
    EXPECT_LE(lm, kReconstructAtLatentMean) << at;
    EXPECT_LE(im, kReconstructAtImageMean) << at;
  }
}

// The 256 decoder of the fixture stopped at 128: image is 128x128, image256 its face_pool
// (pixel replication, as the reference's AdaptiveAvgPool2d(256) does for a smaller input).
TEST(ReconstructAt, BelowTwoFiftySixIsReplicatedToTheEncoderSize) {
  Encoder enc = Encoder::load(restyle_file());
  InversionOptions o;
  o.iterations = 1;
  o.reconstruct_at = 128;
  auto r = enc.invert(restyle("input.npy"), std::nullopt, o);
  ASSERT_EQ(r.image.sizes(), (at::IntArrayRef{1, 3, 128, 128}));
  ASSERT_EQ(r.image256.sizes(), (at::IntArrayRef{1, 3, 256, 256}));
  const at::Tensor up = r.image.repeat_interleave(2, 2).repeat_interleave(2, 3);
  EXPECT_TRUE(at::allclose(r.image256, up, 0, 1e-6));
}

TEST(ReconstructAt, ValuesThatAreNoExitAreRefused) {
  Encoder enc = Encoder::load(restyle_file());
  for (int bad : {-1, 2, 100, 300, 512, 1024}) {
    InversionOptions o;
    o.iterations = 1;
    o.reconstruct = false;  // refused even when nothing would be decoded
    o.reconstruct_at = bad;
    try {
      enc.invert(restyle("input.npy"), std::nullopt, o);
      ADD_FAILURE() << bad << " accepted";
    } catch (const micromotion::Error& e) {
      EXPECT_EQ(std::string(e.what()),
                "reconstruct_at " + std::to_string(bad) +
                    " is not a resolution this decoder can stop at: use 0 (its full 256) or one of 4, 8, 16, 32, "
                    "64, 128, 256");
    }
  }
}
