// The MMOD CNN face detector behind a small interface, so the heavy dlib DNN templates compile in
// one translation unit only.
#pragma once

#include <dlib/image_processing/full_object_detection.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>

#include <memory>
#include <string>
#include <vector>

namespace micromotion::detail {

struct ScoredRect {
  dlib::rectangle rect;
  double score = 0;
};

class MmodDetector {
 public:
  virtual ~MmodDetector() = default;
  virtual std::vector<ScoredRect> detect(const dlib::matrix<dlib::rgb_pixel>& image, double threshold) = 0;
};

// throws micromotion::Error naming the file when it is missing or not the MMOD face model.
std::unique_ptr<MmodDetector> load_mmod_detector(const std::string& path);

}  // namespace micromotion::detail
