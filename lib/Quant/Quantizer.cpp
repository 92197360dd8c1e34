//===- Quantizer.cpp - rtn, wmse, search and gptq -------------------------===//
//
// Rows of W are independent under every method (GPTQ's error feedback runs
// along a row), so work is split over rows: each row is computed by exactly
// one thread in a fixed order and results are bit-identical for any thread
// count.
//
//===----------------------------------------------------------------------===//
#include "smq/Quant/Quantizer.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

namespace smq::quant {

namespace {

using RowMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Runs fn(row) for every row on `threads` threads (0: one per core).
template <typename Fn> void forEachRow(int64_t rows, int threads, Fn fn) {
  if (threads <= 0)
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<int64_t>(threads, rows));
  if (threads <= 1) {
    for (int64_t r = 0; r < rows; ++r)
      fn(r);
    return;
  }
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int64_t r = next.fetch_add(1); r < rows; r = next.fetch_add(1))
        fn(r);
    });
  for (auto &t : pool)
    t.join();
}

QuantizedWeight emptyResult(int64_t rows, int64_t cols, const Config &c) {
  QuantizedWeight q;
  q.rows = rows;
  q.cols = cols;
  q.groupSize = c.groupSize > 0 ? std::min(c.groupSize, cols) : cols;
  q.bits = c.bits;
  q.symmetric = c.symmetric;
  q.codes.assign(rows * cols, 0);
  int64_t groups = rows * q.groupsPerRow();
  q.scales.assign(groups, 0.f);
  q.zeros.assign(groups, 0.f);
  q.clips.assign(groups, 1.f);
  return q;
}

/// Quantizes values[0..n) of one group with `p`, writing codes and
/// returning the dequantized values.
void applyGroup(const double *values, int64_t n, const GroupParams &p,
                int bits, uint8_t *codes, double *deq) {
  for (int64_t i = 0; i < n; ++i) {
    codes[i] = quantizeValue(values[i], p, bits);
    deq[i] = dequantizeValue(codes[i], p);
  }
}

/// The clip in the grid minimising Δᵀ M Δ over one group (M = I when `m`
/// is null; `ld` is M's row stride). Ties keep the larger clip.
double bestClip(const double *w, int64_t n, int bits, bool symmetric,
                const double *m, int64_t ld) {
  double best = 1.0, bestCost = INFINITY;
  std::vector<double> delta(n);
  for (double clip : clipGrid()) {
    GroupParams p = groupParams(w, n, bits, symmetric, clip);
    for (int64_t i = 0; i < n; ++i)
      delta[i] =
          dequantizeValue(quantizeValue(w[i], p, bits), p) - w[i];
    double cost = 0;
    if (!m) {
      for (int64_t i = 0; i < n; ++i)
        cost += delta[i] * delta[i];
    } else {
      for (int64_t i = 0; i < n; ++i) {
        double row = 0;
        for (int64_t j = 0; j < n; ++j)
          row += m[i * ld + j] * delta[j];
        cost += delta[i] * row;
      }
    }
    if (cost < bestCost) {
      bestCost = cost;
      best = clip;
    }
  }
  return best;
}

enum class ClipRule { MinMax, WeightMse, Weighted };

QuantizedWeight quantizeByGroups(const float *w, int64_t rows, int64_t cols,
                                 const Config &config, ClipRule rule,
                                 const double *m) {
  QuantizedWeight q = emptyResult(rows, cols, config);
  int64_t g = q.groupSize, groups = q.groupsPerRow();
  forEachRow(rows, config.threads, [&](int64_t r) {
    std::vector<double> values(g), deq(g);
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t c0 = gi * g, n = std::min(g, cols - c0);
      for (int64_t i = 0; i < n; ++i)
        values[i] = w[r * cols + c0 + i];
      double clip = 1.0;
      if (rule == ClipRule::WeightMse)
        clip = bestClip(values.data(), n, q.bits, q.symmetric, nullptr, 0);
      else if (rule == ClipRule::Weighted)
        clip = bestClip(values.data(), n, q.bits, q.symmetric,
                        m + c0 * cols + c0, cols);
      GroupParams p = groupParams(values.data(), n, q.bits, q.symmetric, clip);
      applyGroup(values.data(), n, p, q.bits, &q.codes[r * cols + c0],
                 deq.data());
      int64_t at = r * groups + gi;
      q.scales[at] = p.scale;
      q.zeros[at] = p.zero;
      q.clips[at] = static_cast<float>(clip);
    }
  });
  return q;
}

} // namespace

const std::vector<double> &clipGrid() {
  static const std::vector<double> grid = [] {
    std::vector<double> g;
    for (int i = 0; i <= 24; ++i)
      g.push_back(1.0 - 0.025 * i);
    return g;
  }();
  return grid;
}

GroupParams groupParams(const double *w, int64_t n, int bits, bool symmetric,
                        double clip) {
  double lo = 0, hi = 0; // the range always holds 0, so 0 is exact
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  lo *= clip;
  hi *= clip;
  double maxq = std::ldexp(1.0, bits) - 1;
  if (symmetric) {
    double a = std::max(-lo, hi);
    lo = -a;
    hi = a;
  }
  double scale = (hi - lo) / maxq;
  if (scale <= 0)
    return {1.0f, symmetric ? static_cast<float>((maxq + 1) / 2) : 0.0f};
  double zero = symmetric ? (maxq + 1) / 2 : std::nearbyint(-lo / scale);
  return {static_cast<float>(scale), static_cast<float>(zero)};
}

uint8_t quantizeValue(double x, const GroupParams &p, int bits) {
  double maxq = std::ldexp(1.0, bits) - 1;
  double q = std::nearbyint(x / p.scale) + p.zero;
  return static_cast<uint8_t>(std::clamp(q, 0.0, maxq));
}

std::vector<float> QuantizedWeight::dequantize() const {
  std::vector<float> out(rows * cols);
  int64_t groups = groupsPerRow();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t at = r * groups + c / groupSize;
      out[r * cols + c] = static_cast<float>(dequantizeValue(
          codes[r * cols + c], GroupParams{scales[at], zeros[at]}));
    }
  return out;
}

QuantizedWeight quantizeRtn(const float *w, int64_t rows, int64_t cols,
                            const Config &config) {
  return quantizeByGroups(w, rows, cols, config, ClipRule::MinMax, nullptr);
}

QuantizedWeight quantizeWmse(const float *w, int64_t rows, int64_t cols,
                             const Config &config) {
  return quantizeByGroups(w, rows, cols, config, ClipRule::WeightMse, nullptr);
}

QuantizedWeight quantizeSearch(const float *w, int64_t rows, int64_t cols,
                               const Config &config, const double *m) {
  return quantizeByGroups(w, rows, cols, config, ClipRule::Weighted, m);
}

bool quantizeGptq(const float *w, int64_t rows, int64_t cols,
                  const Config &config, const double *m, QuantizedWeight &out,
                  std::string *why, double dampFraction) {
  int64_t k = cols;
  Eigen::Map<const RowMatrix> mm(m, k, k);
  Eigen::MatrixXd h = mm;
  double meanDiag = h.diagonal().mean();
  for (int64_t i = 0; i < k; ++i)
    if (h(i, i) <= 0) // an input never seen: its error costs nothing
      h(i, i) = meanDiag > 0 ? meanDiag : 1.0;
  h.diagonal().array() += dampFraction * (meanDiag > 0 ? meanDiag : 1.0);
  Eigen::LLT<Eigen::MatrixXd> llt(h);
  if (llt.info() != Eigen::Success) {
    *why = "the statistic is not positive definite after damping";
    return false;
  }
  Eigen::MatrixXd hinv = llt.solve(Eigen::MatrixXd::Identity(k, k));
  Eigen::LLT<Eigen::MatrixXd> lltInv(hinv);
  if (lltInv.info() != Eigen::Success) {
    *why = "the inverse statistic is not positive definite";
    return false;
  }
  // Upper factor U with M⁻¹ = Uᵀ U: row i holds how the error of column i
  // moves to the columns after it.
  RowMatrix u = lltInv.matrixU();

  out = emptyResult(rows, cols, config);
  int64_t g = out.groupSize, groups = out.groupsPerRow();
  const double *hm = m; // the group clip search uses the undamped M
  forEachRow(rows, config.threads, [&](int64_t r) {
    std::vector<double> row(w + r * cols, w + (r + 1) * cols);
    std::vector<double> deq(g);
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t c0 = gi * g, n = std::min(g, cols - c0);
      // The group's clip is chosen on the weights as error feedback has
      // left them.
      double clip = bestClip(&row[c0], n, out.bits, out.symmetric,
                             hm + c0 * cols + c0, cols);
      GroupParams p = groupParams(&row[c0], n, out.bits, out.symmetric, clip);
      int64_t at = r * groups + gi;
      out.scales[at] = p.scale;
      out.zeros[at] = p.zero;
      out.clips[at] = static_cast<float>(clip);
      for (int64_t j = c0; j < c0 + n; ++j) {
        uint8_t code = quantizeValue(row[j], p, out.bits);
        out.codes[r * cols + j] = code;
        double err = (row[j] - dequantizeValue(code, p)) / u(j, j);
        for (int64_t t = j + 1; t < k; ++t)
          row[t] -= err * u(j, t);
      }
    }
  });
  return true;
}

double objective(const float *w, const float *wHat, int64_t rows,
                 int64_t cols, const double *m) {
  double total = 0;
  std::vector<double> delta(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      delta[c] = static_cast<double>(wHat[r * cols + c]) - w[r * cols + c];
    for (int64_t i = 0; i < cols; ++i) {
      double acc = 0;
      for (int64_t j = 0; j < cols; ++j)
        acc += m[i * cols + j] * delta[j];
      total += delta[i] * acc;
    }
  }
  return total;
}

std::vector<double> combineStatistics(const double *h, const double *d,
                                      int64_t k, double lambda) {
  auto meanDiag = [&](const double *s) {
    double t = 0;
    for (int64_t i = 0; i < k; ++i)
      t += s[i * k + i];
    return t / static_cast<double>(k);
  };
  double hn = meanDiag(h), dn = d ? meanDiag(d) : 0;
  std::vector<double> m(k * k, 0.0);
  for (int64_t i = 0; i < k * k; ++i) {
    if (hn > 0)
      m[i] += h[i] / hn;
    if (d && dn > 0 && lambda != 0)
      m[i] += lambda * d[i] / dn;
  }
  return m;
}

} // namespace smq::quant
