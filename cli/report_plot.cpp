#include "report_plot.h"

#include "png_io.h"

#include <micromotion/error.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace micromotion::cli {

namespace {

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<size_t>(w) * h * 3, 255) {}
  void set(int x, int y, const std::array<uint8_t, 3>& c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t* p = &px_[(static_cast<size_t>(y) * w_ + x) * 3];
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
  }
  // Bresenham, 2 px thick.
  void line(int x0, int y0, int x1, int y1, const std::array<uint8_t, 3>& c, int dash = 0) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, step = 0;
    while (true) {
      if (!dash || (step / dash) % 2 == 0) {
        set(x0, y0, c);
        set(x0, y0 + 1, c);
      }
      ++step;
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  const std::vector<uint8_t>& pixels() const { return px_; }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

}  // namespace

void write_report_plot(const std::string& path, const std::vector<PlotPanel>& panels, int width, int panel_height) {
  if (panels.empty()) throw Error(path + ": nothing to plot");
  Canvas c(width, panel_height * static_cast<int>(panels.size()));
  const std::array<uint8_t, 3> axis{60, 60, 60}, grid{200, 200, 200};
  const int ml = 40, mr = 15, mt = 12, mb = 18;
  for (size_t p = 0; p < panels.size(); ++p) {
    const PlotPanel& panel = panels[p];
    double x_min = 1e300, x_max = -1e300, y_min = panel.y_min, y_max = panel.y_max;
    const bool auto_y = y_min == 0 && y_max == 0;
    if (auto_y) y_min = 1e300, y_max = -1e300;
    for (const auto& s : panel.series)
      for (size_t i = 0; i < s.x.size(); ++i) {
        x_min = std::min(x_min, s.x[i]), x_max = std::max(x_max, s.x[i]);
        if (auto_y) y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
      }
    if (panel.reference >= 0 && auto_y) y_min = std::min(y_min, panel.reference), y_max = std::max(y_max, panel.reference);
    if (x_min > x_max) x_min = 0, x_max = 1;
    if (y_min > y_max) y_min = 0, y_max = 1;
    if (auto_y) y_min = std::min(y_min, 0.0);
    if (x_max - x_min < 1e-9) x_max = x_min + 1;
    if (y_max - y_min < 1e-9) y_max = y_min + 1;
    const int top = static_cast<int>(p) * panel_height + mt, bottom = (static_cast<int>(p) + 1) * panel_height - mb;
    const int left = ml, right = width - mr;
    auto X = [&](double x) { return left + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (right - left))); };
    auto Y = [&](double y) { return bottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (bottom - top))); };
    for (int k = 1; k < 4; ++k) c.line(left, top + (bottom - top) * k / 4, right, top + (bottom - top) * k / 4, grid);
    c.line(left, top, left, bottom, axis);
    c.line(left, bottom, right, bottom, axis);
    if (panel.reference >= 0) c.line(left, Y(panel.reference), right, Y(panel.reference), axis, 6);
    for (const auto& s : panel.series)
      for (size_t i = 0; i + 1 < s.x.size(); ++i) c.line(X(s.x[i]), Y(s.y[i]), X(s.x[i + 1]), Y(s.y[i + 1]), s.color);
  }
  write_png_rgb(path, c.pixels().data(), width, panel_height * static_cast<int>(panels.size()));
}

}  // namespace micromotion::cli
