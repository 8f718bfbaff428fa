#include "dlib_image.h"
#include "mmod_detector.h"

#include <micromotion/error.h>
#include <micromotion/face_detector.h>

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace micromotion {

double iou(const FaceBox& a, const FaceBox& b) {
  const double ix = std::min(a.right, b.right) - std::max(a.left, b.left);
  const double iy = std::min(a.bottom, b.bottom) - std::max(a.top, b.top);
  if (ix <= 0 || iy <= 0) return 0.0;
  const double inter = ix * iy;
  return inter / (a.area() + b.area() - inter);
}

struct FaceDetector::Impl {
  DetectorOptions options;
  dlib::frontal_face_detector hog;
  // The same HOG model limited to the three finest pyramid levels, for window searches: there the
  // face is already scaled to about the detector's size, so coarser levels only cost time.
  dlib::frontal_face_detector window_hog;
  std::unique_ptr<detail::MmodDetector> mmod;

  // Runs the configured detector on `img` (an owned dlib image), returns boxes in its coordinates.
  std::vector<detail::ScoredRect> run(dlib::matrix<dlib::rgb_pixel>& img, int upsample, bool window) {
    for (int i = 0; i < upsample; ++i) dlib::pyramid_up(img);
    const double up = std::pow(2.0, upsample);
    std::vector<detail::ScoredRect> found;
    if (mmod) {
      found = mmod->detect(img, options.threshold);
    } else {
      std::vector<dlib::rect_detection> dets;
      (window ? window_hog : hog)(img, dets, options.threshold);
      for (const auto& d : dets) found.push_back({d.rect, d.detection_confidence});
    }
    if (upsample > 0) {
      for (auto& f : found) {
        f.rect = dlib::rectangle(std::lround(f.rect.left() / up), std::lround(f.rect.top() / up),
                                 std::lround(f.rect.right() / up), std::lround(f.rect.bottom() / up));
      }
    }
    return found;
  }

  // Detects in frame[x0.., y0..) of size w x h, resampled by `scale`; boxes in frame coordinates.
  std::vector<FaceBox> detect_region(const ImageView& frame, int x0, int y0, int w, int h, double scale, int upsample,
                                     bool window) {
    const ImageView region = crop_view(frame, x0, y0, w, h);
    dlib::matrix<dlib::rgb_pixel> img;
    if (std::abs(scale - 1.0) < 1e-9) {
      img.set_size(h, w);
      for (int y = 0; y < h; ++y) std::memcpy(&img(y, 0), region.row(y), static_cast<size_t>(w) * 3);
    } else {
      const long sw = std::max(1L, std::lround(w * scale)), sh = std::max(1L, std::lround(h * scale));
      img.set_size(sh, sw);
      // Area-average when shrinking a lot (bilinear alone would alias), bilinear otherwise.
      if (scale < 0.5) {
        const double fx = static_cast<double>(w) / sw, fy = static_cast<double>(h) / sh;
        for (long y = 0; y < sh; ++y) {
          const long ya = static_cast<long>(y * fy);
          const long yb = std::min<long>(h, std::max(ya + 1, static_cast<long>((y + 1) * fy)));
          for (long x = 0; x < sw; ++x) {
            const long xa = static_cast<long>(x * fx);
            const long xb = std::min<long>(w, std::max(xa + 1, static_cast<long>((x + 1) * fx)));
            unsigned s[3] = {0, 0, 0};
            for (long yy = ya; yy < yb; ++yy) {
              const std::uint8_t* p = region.pixel(static_cast<int>(xa), static_cast<int>(yy));
              for (long xx = xa; xx < xb; ++xx, p += 3) {
                s[0] += p[0];
                s[1] += p[1];
                s[2] += p[2];
              }
            }
            const unsigned n = static_cast<unsigned>((yb - ya) * (xb - xa));
            img(y, x) = dlib::rgb_pixel(static_cast<unsigned char>((s[0] + n / 2) / n),
                                        static_cast<unsigned char>((s[1] + n / 2) / n),
                                        static_cast<unsigned char>((s[2] + n / 2) / n));
          }
        }
      } else {
        dlib::resize_image(detail::as_dlib(region), img, dlib::interpolate_bilinear());
      }
    }
    const double sx = static_cast<double>(w) / img.nc(), sy = static_cast<double>(h) / img.nr();
    std::vector<FaceBox> out;
    for (const auto& d : run(img, upsample, window)) {
      FaceBox b;
      // Map pixel-centre coordinates of the resampled image back into the frame.
      b.left = (d.rect.left() + 0.5) * sx - 0.5 + x0;
      b.top = (d.rect.top() + 0.5) * sy - 0.5 + y0;
      b.right = (d.rect.right() + 0.5) * sx - 0.5 + x0;
      b.bottom = (d.rect.bottom() + 0.5) * sy - 0.5 + y0;
      b.confidence = d.score;
      if (b.width() >= options.min_face_size) out.push_back(b);
    }
    std::sort(out.begin(), out.end(), [](const FaceBox& a, const FaceBox& b) { return a.confidence > b.confidence; });
    return out;
  }
};

FaceDetector::FaceDetector(const DetectorOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!(options.downscale > 0 && options.downscale <= 1)) {
    throw Error("face detector: downscale must be in (0, 1], got " + std::to_string(options.downscale));
  }
  if (options.upsample < 0 || options.upsample > 3) {
    throw Error("face detector: upsample must be 0..3, got " + std::to_string(options.upsample));
  }
  impl_->options = options;
  if (options.kind == DetectorKind::mmod) {
    if (options.mmod_model.empty()) {
      throw Error("face detector: the MMOD detector needs the path of mmod_human_face_detector.dat");
    }
    impl_->mmod = detail::load_mmod_detector(options.mmod_model);
  } else {
    impl_->hog = dlib::get_frontal_face_detector();
    using Scanner = dlib::frontal_face_detector::image_scanner_type;
    Scanner scanner;
    scanner.copy_configuration(impl_->hog.get_scanner());
    scanner.set_max_pyramid_levels(3);
    std::vector<dlib::frontal_face_detector::feature_vector_type> weights;
    for (unsigned long i = 0; i < impl_->hog.num_detectors(); ++i) weights.push_back(impl_->hog.get_w(i));
    impl_->window_hog = dlib::frontal_face_detector(scanner, impl_->hog.get_overlap_tester(), weights);
  }
}

FaceDetector::~FaceDetector() = default;
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;

const DetectorOptions& FaceDetector::options() const { return impl_->options; }

std::vector<FaceBox> FaceDetector::detect(const ImageView& frame) {
  if (frame.empty()) throw Error("face detector: empty frame");
  return impl_->detect_region(frame, 0, 0, frame.width, frame.height, impl_->options.downscale,
                              impl_->options.upsample, false);
}

std::vector<FaceBox> FaceDetector::detect_near(const ImageView& frame, const FaceBox& last, double margin,
                                               double face_size) {
  if (frame.empty()) throw Error("face detector: empty frame");
  const double mw = last.width() * margin, mh = last.height() * margin;
  const int x0 = std::max(0, static_cast<int>(std::floor(last.left - mw)));
  const int y0 = std::max(0, static_cast<int>(std::floor(last.top - mh)));
  const int x1 = std::min(frame.width, static_cast<int>(std::ceil(last.right + mw)) + 1);
  const int y1 = std::min(frame.height, static_cast<int>(std::ceil(last.bottom + mh)) + 1);
  if (x1 - x0 < 8 || y1 - y0 < 8) return {};
  // The window is resampled so the face is about face_size wide (never upsampled by pyramid steps:
  // the scale already puts the face above the detector's smallest size).
  const double scale = std::min(2.0, face_size / std::max(1.0, last.width()));
  return impl_->detect_region(frame, x0, y0, x1 - x0, y1 - y0, scale, 0, true);
}

}  // namespace micromotion
