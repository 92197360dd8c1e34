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

/// For each of `rows` groups of n values (row i at w + i·stride), the clip
/// in the grid minimising Δᵀ M Δ (M = I when `m` is null; `ld` is M's row
/// stride). Ties keep the larger clip. The groups share M's block, so the
/// costs of every clip of every group come from one matrix product.
void bestClips(const double *w, int64_t stride, int64_t rows, int64_t n,
               int bits, bool symmetric, const double *m, int64_t ld,
               double *clipsOut) {
  const std::vector<double> &grid = clipGrid();
  int64_t clips = static_cast<int64_t>(grid.size());
  // One column of errors per (group, clip).
  Eigen::MatrixXd delta(n, rows * clips);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < clips; ++c) {
      const double *v = w + r * stride;
      GroupParams p = groupParams(v, n, bits, symmetric, grid[c]);
      for (int64_t i = 0; i < n; ++i)
        delta(i, r * clips + c) =
            dequantizeValue(quantizeValue(v[i], p, bits), p) - v[i];
    }
  Eigen::VectorXd cost;
  if (!m) {
    cost = delta.array().square().colwise().sum().transpose();
  } else {
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                                   Eigen::RowMajor>,
               0, Eigen::OuterStride<>>
        block(m, n, n, Eigen::OuterStride<>(ld));
    Eigen::MatrixXd md = block * delta;
    cost = (delta.array() * md.array()).colwise().sum().transpose();
  }
  for (int64_t r = 0; r < rows; ++r) {
    double best = 1.0, bestCost = INFINITY;
    for (int64_t c = 0; c < clips; ++c)
      if (cost[r * clips + c] < bestCost) { // ties keep the larger clip
        bestCost = cost[r * clips + c];
        best = grid[c];
      }
    clipsOut[r] = best;
  }
}

double bestClip(const double *w, int64_t n, int bits, bool symmetric,
                const double *m, int64_t ld) {
  double clip;
  bestClips(w, n, 1, n, bits, symmetric, m, ld, &clip);
  return clip;
}

enum class ClipRule { MinMax, WeightMse, Weighted };

QuantizedWeight quantizeByGroups(const float *w, int64_t rows, int64_t cols,
                                 const Config &config, ClipRule rule,
                                 const double *m) {
  QuantizedWeight q = emptyResult(rows, cols, config);
  int64_t g = q.groupSize, groups = q.groupsPerRow();
  // Rows go in fixed blocks, whatever the threads, so that a group's clips
  // are scored together with the same groups of the block's other rows.
  constexpr int64_t kRowBlock = 16;
  int64_t rowBlocks = (rows + kRowBlock - 1) / kRowBlock;
  forEachRow(rowBlocks, config.threads, [&](int64_t rb) {
    int64_t r0 = rb * kRowBlock, nr = std::min(kRowBlock, rows - r0);
    std::vector<double> values(nr * g), deq(g), clips(nr, 1.0);
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t c0 = gi * g, n = std::min(g, cols - c0);
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t i = 0; i < n; ++i)
          values[r * g + i] = w[(r0 + r) * cols + c0 + i];
      if (rule == ClipRule::WeightMse)
        bestClips(values.data(), g, nr, n, q.bits, q.symmetric, nullptr, 0,
                  clips.data());
      else if (rule == ClipRule::Weighted)
        bestClips(values.data(), g, nr, n, q.bits, q.symmetric,
                  m + c0 * cols + c0, cols, clips.data());
      for (int64_t r = 0; r < nr; ++r) {
        GroupParams p =
            groupParams(&values[r * g], n, q.bits, q.symmetric, clips[r]);
        applyGroup(&values[r * g], n, p, q.bits,
                   &q.codes[(r0 + r) * cols + c0], deq.data());
        int64_t at = (r0 + r) * groups + gi;
        q.scales[at] = p.scale;
        q.zeros[at] = p.zero;
        q.clips[at] = static_cast<float>(clips[r]);
      }
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
  // act-order: columns in descending order of diag(M), so the inputs whose
  // error costs most are quantized while the most columns are left to
  // absorb it. Ties keep their order. M is permuted in place (rows, then
  // columns), so it is never held twice.
  std::vector<int64_t> perm(k);
  for (int64_t i = 0; i < k; ++i)
    perm[i] = i;
  if (config.actOrder) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h(a, a) > h(b, b);
    });
    Eigen::PermutationMatrix<Eigen::Dynamic> p(k);
    for (int64_t j = 0; j < k; ++j)
      p.indices()[j] = static_cast<int>(perm[j]);
    // (Pᵀ M P)(a, b) = M(perm[a], perm[b]); Eigen applies each
    // permutation to its own operand in place.
    h = p.transpose() * h;
    h = h * p;
  }
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
  // Upper factor U with M⁻¹ = Uᵀ U (in the processing order): row i holds
  // how the error of column i moves to the columns after it.
  RowMatrix u = lltInv.matrixU();

  out = emptyResult(rows, cols, config);
  int64_t g = out.groupSize, groups = out.groupsPerRow();
  const double *hm = m; // the group clip search uses the undamped M
  // Static groups: each group's scale and zero point are chosen on the
  // original weights before any error feedback. Act-order without them
  // chooses a group's when its first column comes up, on its columns as
  // error feedback has left them by then. Either way the groups stay runs
  // of consecutive inputs whatever the order.
  const bool staticGroups = config.staticGroups;
  const bool firstEncounter = config.actOrder && !staticGroups;
  std::vector<int64_t> pos(k);
  for (int64_t j = 0; j < k; ++j)
    pos[perm[j]] = j;
  // GPTQ's lazy batching: inside a block of columns, errors update only the
  // block; at its end they update the columns after it in one matrix
  // product. Without static groups a block never splits a group that
  // starts inside it, so every group's clip is chosen on exactly the
  // weights the column-by-column algorithm would see. Rows go in fixed
  // blocks, whatever the threads.
  constexpr int64_t kRowBlock = 32;
  int64_t colBlock = staticGroups || firstEncounter || g >= k
                         ? 128
                         : (g <= 128 ? g * (128 / g) : g);
  int64_t rowBlocks = (rows + kRowBlock - 1) / kRowBlock;
  forEachRow(rowBlocks, config.threads, [&](int64_t rb) {
    int64_t r0 = rb * kRowBlock, nr = std::min(kRowBlock, rows - r0);
    RowMatrix wb(nr, k);
    for (int64_t i = 0; i < nr; ++i)
      for (int64_t j = 0; j < k; ++j)
        wb(i, j) = w[(r0 + i) * cols + perm[j]];
    RowMatrix err(nr, colBlock);
    std::vector<GroupParams> params(staticGroups || firstEncounter
                                        ? nr * groups
                                        : nr);
    std::vector<char> chosen(firstEncounter ? nr * groups : 0, 0);
    std::vector<double> groupValues(firstEncounter ? g : 0);
    auto chooseGroup = [&](int64_t i, const double *wg, int64_t gi,
                           GroupParams &p) {
      int64_t j = gi * g, n = std::min(g, k - j);
      double clip = bestClip(wg, n, out.bits, out.symmetric,
                             hm + j * cols + j, cols);
      p = groupParams(wg, n, out.bits, out.symmetric, clip);
      int64_t at = (r0 + i) * groups + gi;
      out.scales[at] = p.scale;
      out.zeros[at] = p.zero;
      out.clips[at] = static_cast<float>(clip);
    };
    if (staticGroups) {
      std::vector<double> row(k);
      for (int64_t i = 0; i < nr; ++i) {
        for (int64_t j = 0; j < k; ++j)
          row[j] = w[(r0 + i) * cols + j];
        for (int64_t gi = 0; gi < groups; ++gi)
          chooseGroup(i, &row[gi * g], gi, params[i * groups + gi]);
      }
    }
    for (int64_t b0 = 0; b0 < k; b0 += colBlock) {
      int64_t b1 = std::min(k, b0 + colBlock);
      for (int64_t j = b0; j < b1; ++j) {
        // The group's clip is chosen on the weights as error feedback has
        // left them (without static groups, the order is the original).
        int64_t c = perm[j];
        if (firstEncounter) {
          int64_t gi = c / g, c0 = gi * g, n = std::min(g, k - c0);
          for (int64_t i = 0; i < nr; ++i) {
            if (chosen[i * groups + gi])
              continue;
            chosen[i * groups + gi] = 1;
            // None of the group's columns is quantized yet; those past this
            // block still owe it the block's errors so far.
            for (int64_t t = 0; t < n; ++t) {
              int64_t at = pos[c0 + t];
              double v = wb(i, at);
              if (at >= b1)
                for (int64_t e = b0; e < j; ++e)
                  v -= err(i, e - b0) * u(e, at);
              groupValues[t] = v;
            }
            chooseGroup(i, groupValues.data(), gi, params[i * groups + gi]);
          }
        } else if (!staticGroups && j % g == 0) {
          for (int64_t i = 0; i < nr; ++i)
            chooseGroup(i, &wb(i, j), j / g, params[i]);
        }
        for (int64_t i = 0; i < nr; ++i) {
          const GroupParams &p = staticGroups || firstEncounter
                                     ? params[i * groups + c / g]
                                     : params[i];
          uint8_t code = quantizeValue(wb(i, j), p, out.bits);
          out.codes[(r0 + i) * cols + c] = code;
          err(i, j - b0) = (wb(i, j) - dequantizeValue(code, p)) / u(j, j);
        }
        if (j + 1 < b1)
          wb.block(0, j + 1, nr, b1 - j - 1).noalias() -=
              err.col(j - b0) * u.row(j).segment(j + 1, b1 - j - 1);
      }
      if (b1 < k)
        wb.rightCols(k - b1).noalias() -=
            err.leftCols(b1 - b0) * u.block(b0, b1, b1 - b0, k - b1);
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
