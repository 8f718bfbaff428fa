// A small line-chart PNG for `micromotion evaluate --plot`: stacked panels, one per
// quantity, each with a few series over frames. No text (no font dependency): the
// caller prints what each panel and colour means.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace micromotion::cli {

struct PlotSeries {
  std::array<uint8_t, 3> color;
  std::vector<double> x, y;  // same length; x in frames
};

struct PlotPanel {
  std::vector<PlotSeries> series;
  double y_min = 0, y_max = 0;  // both 0: from the data
  double reference = -1;        // a dashed horizontal line at this value when >= 0
};

// Writes the panels stacked vertically, `width` pixels wide, `panel_height` each.
void write_report_plot(const std::string& path, const std::vector<PlotPanel>& panels, int width = 900,
                       int panel_height = 220);

}  // namespace micromotion::cli
