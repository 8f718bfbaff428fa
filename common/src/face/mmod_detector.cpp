#include "mmod_detector.h"

#include <micromotion/error.h>

#include <dlib/dnn.h>

#include <filesystem>

namespace micromotion::detail {
namespace {

// The layer stack of dlib's mmod_human_face_detector.dat (inference form: batch norm folded into
// affine layers). The file only loads into exactly this type.
template <long N, typename SUBNET> using con5s2 = dlib::con<N, 5, 5, 2, 2, SUBNET>;
template <long N, typename SUBNET> using con5s1 = dlib::con<N, 5, 5, 1, 1, SUBNET>;
template <typename SUBNET>
using downsample8 = dlib::relu<dlib::affine<con5s2<32, dlib::relu<dlib::affine<con5s2<32,
                    dlib::relu<dlib::affine<con5s2<16, SUBNET>>>>>>>>>;
template <typename SUBNET> using block45 = dlib::relu<dlib::affine<con5s1<45, SUBNET>>>;
using MmodNet = dlib::loss_mmod<dlib::con<1, 9, 9, 1, 1, block45<block45<block45<
                downsample8<dlib::input_rgb_image_pyramid<dlib::pyramid_down<6>>>>>>>>;

class MmodDetectorImpl final : public MmodDetector {
 public:
  explicit MmodDetectorImpl(const std::string& path) {
    try {
      dlib::deserialize(path) >> net_;
    } catch (const std::exception& e) {
      throw Error(path + ": not dlib's MMOD face detector model (" + e.what() +
                  "); use mmod_human_face_detector.dat (packaging/fetch-test-data.sh fetches it)");
    }
  }
  std::vector<ScoredRect> detect(const dlib::matrix<dlib::rgb_pixel>& image, double threshold) override {
    std::vector<ScoredRect> out;
    for (const dlib::mmod_rect& d : net_.process(image, threshold)) out.push_back({d.rect, d.detection_confidence});
    return out;
  }

 private:
  MmodNet net_;
};

}  // namespace

std::unique_ptr<MmodDetector> load_mmod_detector(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(path + ": MMOD face detector model not found (run packaging/fetch-test-data.sh, or "
                       "download mmod_human_face_detector.dat from dlib.net and decompress it)");
  }
  return std::make_unique<MmodDetectorImpl>(path);
}

}  // namespace micromotion::detail
