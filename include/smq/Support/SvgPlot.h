//===- SvgPlot.h - line plots as standalone SVG -----------------*- C++ -*-===//
//
// Small multiples of line plots, written as one self-contained SVG file
// that a browser, a Markdown renderer or an XML parser reads as is. Series
// with the same label share a colour and a marker in every panel, and one
// legend serves the whole figure. Plain C++, no dependencies.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_SVGPLOT_H
#define SMQ_SUPPORT_SVGPLOT_H

#include <optional>
#include <string>
#include <vector>

namespace smq::plot {

struct Series {
  std::string label;
  /// Series of one group share a colour (a method, say); empty: the
  /// label is the group.
  std::string group;
  /// Points; a NaN y leaves a gap in the line.
  std::vector<double> x, y;
  bool dashed = false;
};

struct Panel {
  std::string title, xLabel, yLabel;
  std::vector<Series> series;
  /// A horizontal reference line (the float model, or ratio 1).
  std::optional<double> referenceY;
  std::string referenceLabel;
  /// Ticks on the x axis at the data's x values (bit widths), not at
  /// round numbers.
  bool xTicksAtData = true;
  /// A logarithmic y axis; values that are not positive are left out.
  bool logY = false;
};

struct Figure {
  std::string title, subtitle;
  std::vector<Panel> panels;
  int columns = 3;
};

/// Axis ticks: round steps (1, 2, 2.5 or 5 times a power of ten) whose
/// first tick is at or below `lo` and whose last is at or above `hi`,
/// about `target` of them.
std::vector<double> niceTicks(double lo, double hi, int target);

/// Ticks of a logarithmic axis: 1, 2 and 5 times powers of ten, from the
/// largest at or below `lo` to the smallest at or above `hi` (both > 0).
std::vector<double> logTicks(double lo, double hi);

/// A tick's text: as many decimals as the step between ticks needs.
std::string tickLabel(double value, double step);

/// The figure as an SVG document.
std::string renderSvg(const Figure &figure);

/// `s` with &, <, > and " escaped for XML text and attributes.
std::string escapeXml(const std::string &s);

} // namespace smq::plot

#endif // SMQ_SUPPORT_SVGPLOT_H
