//===- SvgPlot.cpp - line plots as standalone SVG -------------------------===//

#include "smq/Support/SvgPlot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace smq::plot {

namespace {

// Okabe and Ito's palette, which stays distinct for colour-blind readers.
const char *const kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#999999"};
constexpr int kNumColours = sizeof(kColours) / sizeof(kColours[0]);
constexpr int kNumMarkers = 5;

constexpr double kPanelW = 440, kPanelH = 300;
constexpr double kLeft = 66, kRight = 18, kTop = 34, kBottom = 46;
constexpr double kHeader = 58, kLegendRow = 22, kLegendEntry = 190;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

void marker(std::ostream &os, int kind, double x, double y,
            const char *colour) {
  const double r = 4;
  switch (kind % kNumMarkers) {
  case 0:
    os << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"" << r
       << "\" fill=\"" << colour << "\"/>";
    break;
  case 1:
    os << "<rect x=\"" << num(x - r) << "\" y=\"" << num(y - r)
       << "\" width=\"" << 2 * r << "\" height=\"" << 2 * r << "\" fill=\""
       << colour << "\"/>";
    break;
  case 2:
    os << "<polygon points=\"" << num(x) << "," << num(y - r - 1) << " "
       << num(x - r - 1) << "," << num(y + r) << " " << num(x + r + 1) << ","
       << num(y + r) << "\" fill=\"" << colour << "\"/>";
    break;
  case 3:
    os << "<polygon points=\"" << num(x) << "," << num(y - r - 1) << " "
       << num(x + r + 1) << "," << num(y) << " " << num(x) << ","
       << num(y + r + 1) << " " << num(x - r - 1) << "," << num(y)
       << "\" fill=\"" << colour << "\"/>";
    break;
  default:
    os << "<circle cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"" << r
       << "\" fill=\"white\" stroke=\"" << colour
       << "\" stroke-width=\"2\"/>";
  }
}

/// Series without a group are a group of their own.
const std::string &groupOf(const Series &s) {
  return s.group.empty() ? s.label : s.group;
}

struct Style {
  const char *colour;
  int marker;
  bool dashed;
};

void renderPanel(std::ostream &os, const Panel &panel, double ox, double oy,
                 const std::map<std::string, Style> &styles) {
  double pw = kPanelW - kLeft - kRight, ph = kPanelH - kTop - kBottom;
  double px = ox + kLeft, py = oy + kTop;

  // Domains.
  // A point is drawn if both coordinates are finite (and y > 0 on a log
  // axis).
  auto drawn = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!panel.logY || y > 0);
  };
  std::vector<double> xs, ys;
  for (const Series &s : panel.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (drawn(s.x[i], s.y[i])) {
        xs.push_back(s.x[i]);
        ys.push_back(s.y[i]);
      }
  bool reference = panel.referenceY &&
                   drawn(0, *panel.referenceY);
  if (reference)
    ys.push_back(*panel.referenceY);
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  std::vector<double> xTicks, yTicks;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!xs.empty()) {
    if (panel.xTicksAtData) {
      xTicks = xs;
      double pad = xs.size() > 1 ? 0.15 * (xs.back() - xs.front()) : 0.5;
      x0 = xs.front() - pad;
      x1 = xs.back() + pad;
    } else {
      xTicks = niceTicks(xs.front(), xs.back(), 6);
      x0 = xTicks.front();
      x1 = xTicks.back();
    }
  }
  if (!ys.empty()) {
    auto [lo, hi] = std::minmax_element(ys.begin(), ys.end());
    yTicks = panel.logY ? logTicks(*lo, *hi) : niceTicks(*lo, *hi, 6);
    y0 = yTicks.front();
    y1 = yTicks.back();
  }
  if (x1 <= x0)
    x1 = x0 + 1;
  if (y1 <= y0)
    y1 = y0 + 1;
  auto sxAxis = [&](double x) { return px + (x - x0) / (x1 - x0) * pw; };
  if (panel.logY && !(y0 > 0 && y1 > y0)) {
    y0 = 1;
    y1 = 10;
  }
  auto sy = [&](double y) {
    if (panel.logY)
      return py + ph - std::log(y / y0) / std::log(y1 / y0) * ph;
    return py + ph - (y - y0) / (y1 - y0) * ph;
  };

  os << "<g class=\"panel\">\n";
  os << "<text x=\"" << num(px + pw / 2) << "\" y=\"" << num(oy + 20)
     << "\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
     << escapeXml(panel.title) << "</text>\n";
  os << "<rect x=\"" << num(px) << "\" y=\"" << num(py) << "\" width=\""
     << num(pw) << "\" height=\"" << num(ph)
     << "\" fill=\"none\" stroke=\"#444\"/>\n";

  // Grid and ticks.
  double yStep = yTicks.size() > 1 ? yTicks[1] - yTicks[0] : 1;
  for (double t : yTicks) {
    os << "<line x1=\"" << num(px) << "\" x2=\"" << num(px + pw) << "\" y1=\""
       << num(sy(t)) << "\" y2=\"" << num(sy(t))
       << "\" stroke=\"#ddd\"/><text x=\"" << num(px - 6) << "\" y=\""
       << num(sy(t) + 4) << "\" text-anchor=\"end\">"
       << escapeXml(tickLabel(t, panel.logY ? t : yStep)) << "</text>\n";
  }
  double xStep = 1;
  if (xTicks.size() > 1) {
    xStep = xTicks[1] - xTicks[0];
    for (size_t i = 2; i < xTicks.size(); ++i)
      xStep = std::min(xStep, xTicks[i] - xTicks[i - 1]);
  }
  for (double t : xTicks) {
    double x = sxAxis(t);
    os << "<line x1=\"" << num(x) << "\" x2=\"" << num(x) << "\" y1=\""
       << num(py + ph) << "\" y2=\"" << num(py + ph + 5)
       << "\" stroke=\"#444\"/><text x=\"" << num(x) << "\" y=\""
       << num(py + ph + 18) << "\" text-anchor=\"middle\">"
       << escapeXml(tickLabel(t, xStep)) << "</text>\n";
  }
  os << "<text x=\"" << num(px + pw / 2) << "\" y=\"" << num(py + ph + 36)
     << "\" text-anchor=\"middle\">" << escapeXml(panel.xLabel) << "</text>\n";
  os << "<text transform=\"translate(" << num(ox + 16) << ","
     << num(py + ph / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
     << escapeXml(panel.yLabel) << "</text>\n";

  if (xs.empty())
    os << "<text x=\"" << num(px + pw / 2) << "\" y=\"" << num(py + ph / 2)
       << "\" text-anchor=\"middle\" fill=\"#666\">no points to show</text>\n";
  if (reference) {
    double y = sy(*panel.referenceY);
    os << "<line class=\"reference\" x1=\"" << num(px) << "\" x2=\""
       << num(px + pw) << "\" y1=\"" << num(y) << "\" y2=\"" << num(y)
       << "\" stroke=\"#666\" stroke-dasharray=\"2,3\"/>";
    // Above the line, or below it when the line runs along the top.
    double ty = y - 4 < py + 12 ? y + 14 : y - 4;
    if (!panel.referenceLabel.empty())
      os << "<text x=\"" << num(px + pw - 4) << "\" y=\"" << num(ty)
         << "\" text-anchor=\"end\" fill=\"#666\">"
         << escapeXml(panel.referenceLabel) << "</text>";
    os << "\n";
  }

  // Series of one group that coincide (λ=0 and a λ that picked 0) would
  // hide each other: shift each a few pixels sideways within its group.
  std::map<std::string, int> inGroup, seen;
  for (const Series &s : panel.series)
    ++inGroup[groupOf(s)];
  for (const Series &s : panel.series) {
    const Style &style = styles.at(s.label);
    const std::string &group = groupOf(s);
    double dodge = (seen[group]++ - (inGroup[group] - 1) / 2.0) * 3;
    auto sx = [&](double x) { return sxAxis(x) + dodge; };
    // One polyline per run of finite points.
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (run.size() > 1) {
        os << "<polyline class=\"series\" fill=\"none\" stroke=\""
           << style.colour << "\" stroke-width=\"2\""
           << (style.dashed ? " stroke-dasharray=\"6,4\"" : "")
           << " points=\"";
        for (size_t i = 0; i < run.size(); ++i)
          os << (i ? " " : "") << num(sx(run[i].first)) << ","
             << num(sy(run[i].second));
        os << "\"/>\n";
      }
      run.clear();
    };
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (drawn(s.x[i], s.y[i]))
        run.push_back({s.x[i], s.y[i]});
      else
        flush();
    }
    flush();
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!drawn(s.x[i], s.y[i]))
        continue;
      os << "<g><title>" << escapeXml(s.label) << ": "
         << escapeXml(tickLabel(s.x[i], 1)) << ", " << s.y[i]
         << "</title>";
      marker(os, style.marker, sx(s.x[i]), sy(s.y[i]), style.colour);
      os << "</g>\n";
    }
  }
  os << "</g>\n";
}

} // namespace

std::vector<double> niceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi))
    return {0, 1};
  if (lo > hi)
    std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    double pad = lo != 0 ? std::fabs(lo) * 0.01 : 1;
    lo -= pad;
    hi += pad;
  }
  target = std::max(target, 2);
  double raw = (hi - lo) / (target - 1);
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw - 1e-12 * raw) {
      step = m * magnitude;
      break;
    }
  double first = std::floor(lo / step + 1e-9) * step;
  double last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0; first + i * step <= last + step * 1e-6; ++i) {
    double t = first + i * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::vector<double> logTicks(double lo, double hi) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi))
    return {1, 10};
  if (lo > hi)
    std::swap(lo, hi);
  std::vector<double> all;
  for (int k = static_cast<int>(std::floor(std::log10(lo))) - 1;
       k <= static_cast<int>(std::ceil(std::log10(hi))) + 1; ++k)
    for (double m : {1.0, 2.0, 5.0})
      all.push_back(m * std::pow(10.0, k));
  std::vector<double> ticks;
  for (size_t i = 0; i < all.size(); ++i) {
    bool below = i + 1 < all.size() && all[i + 1] <= lo * (1 + 1e-12);
    bool above = i > 0 && all[i - 1] >= hi * (1 - 1e-12);
    if (!below && !above)
      ticks.push_back(all[i]);
  }
  if (ticks.size() < 2)
    ticks = {ticks.empty() ? lo : ticks.front(), hi * 2};
  return ticks;
}

std::string tickLabel(double value, double step) {
  int decimals = 0;
  if (step > 0) {
    // Enough decimals that neighbouring ticks differ: 0.25 needs two.
    while (decimals < 8) {
      double scaled = step * std::pow(10, decimals);
      if (std::fabs(scaled - std::round(scaled)) < 1e-6 * scaled)
        break;
      ++decimals;
    }
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string escapeXml(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string renderSvg(const Figure &figure) {
  // Styles: a colour per group, a marker per label within its group.
  std::map<std::string, Style> styles;
  std::vector<std::string> legend;
  std::map<std::string, int> groupColour, groupCount;
  for (const Panel &p : figure.panels)
    for (const Series &s : p.series) {
      if (styles.count(s.label))
        continue;
      const std::string &group = groupOf(s);
      auto [it, inserted] =
          groupColour.emplace(group, static_cast<int>(groupColour.size()));
      int m = groupCount[group]++;
      styles[s.label] = {kColours[it->second % kNumColours],
                         (it->second + m) % kNumMarkers, s.dashed};
      legend.push_back(s.label);
    }

  int columns = std::max(1, figure.columns);
  int rows = (static_cast<int>(figure.panels.size()) + columns - 1) / columns;
  double width = columns * kPanelW;
  int perRow = std::max(1, static_cast<int>(width / kLegendEntry));
  int legendRows = (static_cast<int>(legend.size()) + perRow - 1) / perRow;
  double height = kHeader + rows * kPanelH + legendRows * kLegendRow + 16;

  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width)
     << "\" height=\"" << num(height) << "\" viewBox=\"0 0 " << num(width)
     << " " << num(height)
     << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
        "font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << num(width / 2)
     << "\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" "
        "font-weight=\"bold\">"
     << escapeXml(figure.title) << "</text>\n";
  if (!figure.subtitle.empty())
    os << "<text x=\"" << num(width / 2)
       << "\" y=\"44\" text-anchor=\"middle\" fill=\"#444\">"
       << escapeXml(figure.subtitle) << "</text>\n";
  for (size_t i = 0; i < figure.panels.size(); ++i)
    renderPanel(os, figure.panels[i], (i % columns) * kPanelW,
                kHeader + (i / columns) * kPanelH, styles);

  os << "<g class=\"legend\">\n";
  double ly = kHeader + rows * kPanelH + 8;
  double lx0 = (width - std::min<double>(legend.size(), perRow) *
                            kLegendEntry) /
               2;
  for (size_t i = 0; i < legend.size(); ++i) {
    const Style &style = styles[legend[i]];
    double x = lx0 + (i % perRow) * kLegendEntry;
    double y = ly + (i / perRow) * kLegendRow + 8;
    os << "<line x1=\"" << num(x) << "\" x2=\"" << num(x + 30) << "\" y1=\""
       << num(y) << "\" y2=\"" << num(y) << "\" stroke=\"" << style.colour
       << "\" stroke-width=\"2\""
       << (style.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>";
    marker(os, style.marker, x + 15, y, style.colour);
    os << "<text x=\"" << num(x + 38) << "\" y=\"" << num(y + 4) << "\">"
       << escapeXml(legend[i]) << "</text>\n";
  }
  os << "</g>\n</svg>\n";
  return os.str();
}

} // namespace smq::plot
