//===- Quantizer.cpp - rtn, wmse, search and gptq -------------------------===//
//
// Rows of W are independent under every method (GPTQ's error feedback runs
// along a row), so work is split over rows: each row is computed by exactly
// one thread in a fixed order and results are bit-identical for any thread
// count.
//
//===----------------------------------------------------------------------===//
#include "smq/Quant/Quantizer.h"

#include "Parallel.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "smq/Support/Random.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

namespace smq::quant {

namespace {

using RowMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using detail::forEachRow;
using detail::threadCount;

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

/// The range of a group's n values, always holding 0 (so 0 is exact).
void groupRange(const double *w, int64_t n, double &lo, double &hi) {
  lo = 0;
  hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
}

/// Δᵀ M Δ (M = I when `m` is null; `ld` is M's row stride) of each
/// candidate: rows r = 0..rows-1 of n values (row r at w + r·stride), each
/// with `count` candidates cand[r·count + c]. The rows share M's block, so
/// every cost comes from one matrix product.
Eigen::VectorXd scoreCandidates(const double *w, int64_t stride, int64_t rows,
                                int64_t n, int bits, const GroupParams *cand,
                                int64_t count, const double *m, int64_t ld) {
  Eigen::MatrixXd delta(n, rows * count);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < count; ++c) {
      const double *v = w + r * stride;
      const GroupParams &p = cand[r * count + c];
      for (int64_t i = 0; i < n; ++i)
        delta(i, r * count + c) =
            dequantizeValue(quantizeValue(v[i], p, bits), p) - v[i];
    }
  if (!m)
    return delta.array().square().colwise().sum().transpose();
  Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> block(
      m, n, n, Eigen::OuterStride<>(ld));
  Eigen::MatrixXd md = block * delta;
  return (delta.array() * md.array()).colwise().sum().transpose();
}

/// The index of the lowest cost among count candidates; ties keep the
/// earliest.
int64_t argmin(const Eigen::VectorXd &cost, int64_t first, int64_t count) {
  int64_t best = 0;
  for (int64_t c = 1; c < count; ++c)
    if (cost[first + c] < cost[first + best])
      best = c;
  return best;
}

/// Chooses the scale and zero point of `rows` groups of n values (row r at
/// w + r·stride) under M (see scoreCandidates), and the clip each came from
/// (with the grid, the share of the group's range the chosen scale spans).
void chooseGroups(const double *w, int64_t stride, int64_t rows, int64_t n,
                  int bits, bool symmetric, ScaleSearch search,
                  const double *m, int64_t ld, GroupParams *params,
                  double *clipsOut) {
  const std::vector<double> &grid = clipGrid();
  int64_t clips = static_cast<int64_t>(grid.size());
  std::vector<double> lo(rows), hi(rows);
  std::vector<GroupParams> cand(rows * clips);
  for (int64_t r = 0; r < rows; ++r) {
    groupRange(w + r * stride, n, lo[r], hi[r]);
    for (int64_t c = 0; c < clips; ++c)
      cand[r * clips + c] =
          rangeParams(lo[r] * grid[c], hi[r] * grid[c], bits, symmetric);
  }
  Eigen::VectorXd cost =
      scoreCandidates(w, stride, rows, n, bits, cand.data(), clips, m, ld);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t c = argmin(cost, r * clips, clips); // ties keep the larger clip
    params[r] = cand[r * clips + c];
    clipsOut[r] = grid[c];
  }
  if (search == ScaleSearch::Clip)
    return;

  // The joint grid: each end of the range moves on its own around the best
  // shrink, so the zero point is searched along with the scale. Symmetric
  // codes have one end; their scale is searched more finely instead.
  static const double kEnds[] = {1.0, 0.9, 0.95, 1.05, 1.1};
  static const double kHalf[] = {1.0,  0.96, 0.97, 0.98, 0.99,
                                 1.01, 1.02, 1.03, 1.04};
  int64_t count = symmetric ? 9 : 25;
  cand.assign(rows * count, GroupParams{});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < count; ++c) {
      double fl = symmetric ? kHalf[c] : kEnds[c / 5];
      double fh = symmetric ? kHalf[c] : kEnds[c % 5];
      cand[r * count + c] = rangeParams(lo[r] * clipsOut[r] * fl,
                                        hi[r] * clipsOut[r] * fh, bits,
                                        symmetric);
    }
  cost = scoreCandidates(w, stride, rows, n, bits, cand.data(), count, m, ld);
  double maxq = std::ldexp(1.0, bits) - 1;
  std::vector<uint8_t> codes(n);
  for (int64_t r = 0; r < rows; ++r) {
    const double *v = w + r * stride;
    int64_t c = argmin(cost, r * count, count);
    GroupParams p = cand[r * count + c];
    double pCost = cost[r * count + c];
    // Refit scale and zero point to the codes; requantize; keep it only if
    // the error drops.
    for (int round = 0; round < 4; ++round) {
      for (int64_t i = 0; i < n; ++i)
        codes[i] = quantizeValue(v[i], p, bits);
      GroupParams next =
          refitGroup(v, codes.data(), n, p, bits, symmetric, m, ld);
      if (next.scale == p.scale && next.zero == p.zero)
        break;
      double nextCost =
          scoreCandidates(v, n, 1, n, bits, &next, 1, m, ld)[0];
      if (!(nextCost < pCost))
        break;
      p = next;
      pCost = nextCost;
    }
    params[r] = p;
    double span = symmetric ? 2 * std::max(-lo[r], hi[r]) : hi[r] - lo[r];
    clipsOut[r] = span > 0 ? p.scale * maxq / span : 1.0;
  }
}

/// Whether K×K `m` equals its transpose bit for bit. Then its own
/// row-major buffer, read column-major, is the same matrix, and its strict
/// upper triangle, which Eigen's in-place Cholesky factorisation (lower)
/// never touches, still holds it afterwards.
bool exactlySymmetric(const double *m, int64_t k) {
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      if (std::memcmp(&m[i * k + j], &m[j * k + i], sizeof(double)) != 0)
        return false;
  return true;
}

/// The working matrix for damping and factoring a symmetric K×K M: M's
/// own buffer where M is exactly symmetric (a K×K matrix fewer held at
/// once: 254 MB at K = 5632), a copy where it is not. restore() makes the
/// buffer M again, bit for bit: the strict lower triangle from the strict
/// upper one, `undo` for any reordering the caller did, then the diagonal
/// as it was.
class FactorWorkspace {
public:
  FactorWorkspace(double *m, int64_t k)
      : k(k), inPlace(exactlySymmetric(m, k)) {
    if (inPlace) {
      data = m;
      diagonal = Eigen::Map<Eigen::MatrixXd>(m, k, k).diagonal();
    } else {
      copy = Eigen::Map<const RowMatrix>(m, k, k);
      data = copy.data();
    }
  }
  Eigen::Map<Eigen::MatrixXd> matrix() { return {data, k, k}; }
  template <typename Undo> void restore(Undo undo) {
    if (!inPlace)
      return;
    Eigen::Map<Eigen::MatrixXd> a = matrix();
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = j + 1; i < k; ++i)
        a(i, j) = a(j, i);
    undo(a);
    a.diagonal() = diagonal;
  }
  void restore() {
    restore([](Eigen::Map<Eigen::MatrixXd> &) {});
  }

private:
  int64_t k;
  bool inPlace;
  double *data = nullptr;
  Eigen::MatrixXd copy;
  Eigen::VectorXd diagonal;
};

/// M (K×K) as gptq and the float target factor it, in place: an input
/// never seen (a diagonal entry ≤ 0) gets the mean diagonal, its error
/// costing nothing; returns what to add to the diagonal, `dampFraction` of
/// that mean.
double fillUnseen(Eigen::Map<Eigen::MatrixXd> h, double dampFraction) {
  int64_t k = h.rows();
  double meanDiag = h.diagonal().mean();
  double fill = meanDiag > 0 ? meanDiag : 1.0;
  for (int64_t i = 0; i < k; ++i)
    if (h(i, i) <= 0)
      h(i, i) = fill;
  return dampFraction * fill;
}

/// The upper triangular U with H⁻¹ = Uᵀ U, for symmetric positive definite
/// H, in H's own buffer. With J the order reversal and J H J = L Lᵀ
/// (Cholesky), H⁻¹ = (J L⁻¹ J)ᵀ (J L⁻¹ J), and J L⁻¹ J is upper
/// triangular: one factorisation and one triangular inverse, a quarter of
/// the work of inverting H and factoring the inverse.
///
/// L⁻¹ is solved in fixed blocks of columns; a block's columns are zero
/// above it, so only the trailing system is solved, and it reads only L's
/// columns from the block on. So blocks go in waves of `threads`, in
/// order: a wave solves into its own buffers while the columns it reads
/// are still L's, then writes L⁻¹ over its own columns, which no later
/// wave reads. Each block is solved the same way whatever the threads.
///
/// On return the buffer, read row-major, holds U on and above the
/// diagonal and H's strict lower triangle below it; read column-major (as
/// `h`), H's strict upper triangle is where it was. So one K×K matrix is
/// held, not two: 254 MB fewer at K = 5632. False (H's strict upper
/// triangle still in place) if H is not positive definite.
bool inverseUpperFactorInPlace(Eigen::Map<Eigen::MatrixXd> h, int threads) {
  int64_t k = h.rows();
  h.reverseInPlace();
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> llt(h);
  if (llt.info() != Eigen::Success) {
    // H's strict upper triangle back where it was.
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = j + 1; i < k; ++i)
        h(i, j) = h(j, i);
    h.reverseInPlace();
    return false;
  }
  constexpr int64_t kColBlock = 128;
  int64_t blocks = (k + kColBlock - 1) / kColBlock;
  threads = threadCount(threads);
  std::vector<Eigen::MatrixXd> solved(threads);
  for (int64_t first = 0; first < blocks; first += threads) {
    int64_t count = std::min<int64_t>(threads, blocks - first);
    forEachRow(count, threads, [&](int64_t i) {
      int64_t c0 = (first + i) * kColBlock, n = std::min(kColBlock, k - c0);
      Eigen::MatrixXd &x = solved[i];
      x = Eigen::MatrixXd::Identity(k - c0, n);
      h.bottomRightCorner(k - c0, k - c0)
          .triangularView<Eigen::Lower>()
          .solveInPlace(x);
    });
    for (int64_t i = 0; i < count; ++i) {
      int64_t c0 = (first + i) * kColBlock, n = solved[i].cols();
      for (int64_t t = 0; t < n; ++t)
        h.col(c0 + t).tail(k - c0 - t) =
            solved[i].col(t).tail(k - c0 - t);
    }
  }
  // L⁻¹ is on and below the diagonal, J H J's strict upper triangle above
  // it. Reversed, U = J L⁻¹ J is on and above the diagonal and H's strict
  // lower triangle below it; transposed, a row-major reading sees U.
  h.reverseInPlace();
  h.transposeInPlace();
  return true;
}

/// M's diagonal block of each group of columns: all that the clip search
/// reads of M, copied out so that gptq's factor can take M's place while
/// it runs (K·g doubles, where M is K·K). Each row keeps its address
/// modulo 64 bytes (the leading dimension is ≡ K modulo 8), so Eigen
/// vectorises its sums over a block exactly as over M itself.
class GroupBlocks {
public:
  GroupBlocks(const double *m, int64_t k, int64_t g)
      : ld(g + ((k - g) % 8 + 8) % 8), slot(g * ld + 8) {
    int64_t groups = (k + g - 1) / g;
    storage.resize(groups * slot);
    starts.resize(groups);
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t j = gi * g, n = std::min(g, k - j);
      const double *src = m + j * k + j;
      double *at = storage.data() + gi * slot;
      auto residue = [](const double *p) {
        return reinterpret_cast<uintptr_t>(p) % 64 / sizeof(double);
      };
      at += (residue(src) + 8 - residue(at)) % 8;
      for (int64_t r = 0; r < n; ++r)
        std::memcpy(at + r * ld, src + r * k, n * sizeof(double));
      starts[gi] = at;
    }
  }
  const double *group(int64_t gi) const { return starts[gi]; }
  const int64_t ld;

private:
  int64_t slot;
  std::vector<double> storage;
  std::vector<const double *> starts;
};

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
      std::vector<GroupParams> chosen(nr);
      if (rule == ClipRule::MinMax)
        for (int64_t r = 0; r < nr; ++r)
          chosen[r] = groupParams(&values[r * g], n, q.bits, q.symmetric, 1.0);
      else
        chooseGroups(values.data(), g, nr, n, q.bits, q.symmetric,
                     config.scaleSearch,
                     rule == ClipRule::Weighted ? m + c0 * cols + c0 : nullptr,
                     cols, chosen.data(), clips.data());
      for (int64_t r = 0; r < nr; ++r) {
        const GroupParams &p = chosen[r];
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

GroupParams rangeParams(double lo, double hi, int bits, bool symmetric) {
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

GroupParams groupParams(const double *w, int64_t n, int bits, bool symmetric,
                        double clip) {
  double lo, hi;
  groupRange(w, n, lo, hi);
  return rangeParams(lo * clip, hi * clip, bits, symmetric);
}

GroupParams refitGroup(const double *w, const uint8_t *q, int64_t n,
                       const GroupParams &p, int bits, bool symmetric,
                       const double *m, int64_t ld) {
  // The quadratic forms of the codes q, the ones vector and w under M.
  double qMq = 0, qM1 = 0, oneM1 = 0, qMw = 0, oneMw = 0;
  for (int64_t i = 0; i < n; ++i) {
    double mq = 0, m1 = 0;
    if (!m) {
      mq = q[i];
      m1 = 1;
    } else {
      for (int64_t j = 0; j < n; ++j) {
        mq += m[i * ld + j] * q[j];
        m1 += m[i * ld + j];
      }
    }
    qMq += q[i] * mq;
    qM1 += q[i] * m1;
    oneM1 += m1;
    qMw += w[i] * mq;
    oneMw += w[i] * m1;
  }
  double maxq = std::ldexp(1.0, bits) - 1;
  // The scale alone for a fixed zero point z: x = q − z, s = xᵀMw / xᵀMx.
  auto scaleFor = [&](double z) {
    double xMx = qMq - 2 * z * qM1 + z * z * oneM1;
    double xMw = qMw - z * oneMw;
    return xMx > 0 ? xMw / xMx : 0.0;
  };
  double zero = p.zero;
  if (!symmetric) {
    // ŵ = s·q − t with t = s·zero: the 2×2 normal equations
    // [qMq −qM1; −qM1 1M1] [s t]ᵀ = [qMw −1Mw]ᵀ.
    double det = qMq * oneM1 - qM1 * qM1;
    if (!(det > 1e-12 * qMq * oneM1))
      return p;
    double s = (qMw * oneM1 - qM1 * oneMw) / det;
    double t = (qM1 * qMw - qMq * oneMw) / det;
    if (!(s > 0))
      return p;
    zero = std::clamp(std::nearbyint(t / s), 0.0, maxq);
  }
  double s = scaleFor(zero);
  if (!(s > 0) || !std::isfinite(s))
    return p;
  return {static_cast<float>(s), static_cast<float>(zero)};
}

uint8_t quantizeValue(double x, const GroupParams &p, int bits) {
  double maxq = static_cast<double>((1 << bits) - 1);
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

void refitRows(const float *w, const double *m, QuantizedWeight &q,
               int threads) {
  int64_t k = q.cols, g = q.groupSize, groups = q.groupsPerRow();
  Eigen::Map<const RowMatrix> mm(m, k, k);
  double maxq = std::ldexp(1.0, q.bits) - 1;
  auto first = [&](int64_t gi) { return gi * g; };
  auto width = [&](int64_t gi) { return std::min(g, k - gi * g); };
  // ŵ = Σ_i s_i (q − z_i) on group i, so the objective (Ŵ − W) M (Ŵ − W)ᵀ
  // of a row needs M only through these sums over blocks of groups (j, i):
  //   QQ = q_jᵀ M_ji q_i, Q1 = q_jᵀ M_ji 1, 1Q = 1ᵀ M_ji q_i, 11 = 1ᵀ M_ji 1,
  //   WQ = wᵀ M_·i q_i,  W1 = wᵀ M_·i 1.
  // The products M_·i q_i of every group are what costs (K² per row), so
  // they are formed for a block of rows at once, as matrix products. M_·i 1
  // and 11 are the same for every row.
  // Summed in plain loops: Eigen vectorises a sum over memory it did not
  // allocate from wherever the first aligned element is, so the order (and
  // the last bits) would depend on where the allocator put M.
  Eigen::MatrixXd m1(k, groups), oneOne(groups, groups);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t i = 0; i < groups; ++i) {
      double sum = 0;
      for (int64_t c = first(i), end = c + width(i); c < end; ++c)
        sum += m[r * k + c];
      m1(r, i) = sum;
    }
  for (int64_t i = 0; i < groups; ++i)
    for (int64_t j = 0; j < groups; ++j)
      oneOne(j, i) = m1.col(i).segment(first(j), width(j)).sum();
  constexpr int64_t kRowBlock = 32;
  int64_t blocks = (q.rows + kRowBlock - 1) / kRowBlock;
  forEachRow(blocks, threads, [&](int64_t b) {
    int64_t r0 = b * kRowBlock, rows = std::min(kRowBlock, q.rows - r0);
    RowMatrix codes(rows, k);
    for (int64_t rr = 0; rr < rows; ++rr)
      for (int64_t c = 0; c < k; ++c)
        codes(rr, c) = q.codes[(r0 + rr) * k + c];
    // Each row's sums, a group at a time: M_·i q_i of the block's rows is
    // K×rows, where all groups' at once would be K×(groups·rows), 127 MB
    // per thread at K = 5632. A group's products sit where they would in
    // that one matrix modulo 64 bytes, so that Eigen's sums over them
    // (vectorised from the first aligned element) keep their order.
    std::vector<Eigen::VectorXd> wr(rows), qr(rows), wqOf(rows), w1Of(rows);
    std::vector<Eigen::MatrixXd> qqOf(rows), q1Of(rows), oneQOf(rows);
    for (int64_t rr = 0; rr < rows; ++rr) {
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, 1>> wf(
          w + (r0 + rr) * k, k);
      wr[rr] = wf.cast<double>();
      qr[rr] = codes.row(rr).transpose();
      wqOf[rr].resize(groups);
      w1Of[rr].resize(groups);
      qqOf[rr].resize(groups, groups);
      q1Of[rr].resize(groups, groups);
      oneQOf[rr].resize(groups, groups);
    }
    constexpr int64_t kAlign = 8; // doubles in 64 bytes
    std::vector<double> mqStore(k * rows + 2 * kAlign);
    double *base = mqStore.data() +
                   (kAlign - reinterpret_cast<uintptr_t>(mqStore.data()) /
                                 sizeof(double) % kAlign) %
                       kAlign;
    for (int64_t i = 0; i < groups; ++i) {
      Eigen::Map<Eigen::MatrixXd> mqi(base + i * rows * k % kAlign, k, rows);
      mqi.noalias() = mm.middleCols(first(i), width(i)) *
                      codes.middleCols(first(i), width(i)).transpose();
      for (int64_t rr = 0; rr < rows; ++rr) {
        auto col = mqi.col(rr);
        wqOf[rr][i] = wr[rr].dot(col);
        w1Of[rr][i] = wr[rr].dot(m1.col(i));
        for (int64_t j = 0; j < groups; ++j) {
          int64_t c0 = first(j), n = width(j);
          qqOf[rr](j, i) = qr[rr].segment(c0, n).dot(col.segment(c0, n));
          oneQOf[rr](j, i) = col.segment(c0, n).sum();
          q1Of[rr](j, i) = qr[rr].segment(c0, n).dot(m1.col(i).segment(c0, n));
        }
      }
    }
    for (int64_t rr = 0; rr < rows; ++rr) {
      int64_t r = r0 + rr;
      const Eigen::MatrixXd &qq = qqOf[rr], &q1 = q1Of[rr],
                            &oneQ = oneQOf[rr];
      const Eigen::VectorXd &wq = wqOf[rr], &w1 = w1Of[rr];
      // For zero points z: the normal equations of the scales, and the
      // objective less wᵀMw for scales s.
      auto scaleSystem = [&](const std::vector<double> &z,
                             Eigen::MatrixXd &btb, Eigen::VectorXd &rhs) {
        btb.resize(groups, groups);
        rhs.resize(groups);
        for (int64_t i = 0; i < groups; ++i) {
          rhs[i] = wq[i] - z[i] * w1[i];
          for (int64_t j = 0; j < groups; ++j)
            btb(j, i) = qq(j, i) - z[i] * q1(j, i) -
                        z[j] * (oneQ(j, i) - z[i] * oneOne(j, i));
        }
      };
      auto objective = [&](const std::vector<double> &z,
                           const std::vector<double> &sc) {
        Eigen::MatrixXd btb;
        Eigen::VectorXd rhs;
        scaleSystem(z, btb, rhs);
        // A copy Eigen allocated (aligned): see m1.
        Eigen::VectorXd sv =
            Eigen::Map<const Eigen::VectorXd>(sc.data(), groups);
        return sv.dot(btb * sv) - 2 * sv.dot(rhs);
      };
      std::vector<double> zeros(groups), scales(groups);
      for (int64_t gi = 0; gi < groups; ++gi) {
        zeros[gi] = q.zeros[r * groups + gi];
        scales[gi] = q.scales[r * groups + gi];
      }
      double before = objective(zeros, scales);
      if (!q.symmetric) {
        // θ = (s_0, t_0, s_1, t_1, ...) with t = s·z, jointly.
        Eigen::MatrixXd ata(2 * groups, 2 * groups);
        Eigen::VectorXd rhs(2 * groups);
        for (int64_t i = 0; i < groups; ++i) {
          rhs[2 * i] = wq[i];
          rhs[2 * i + 1] = -w1[i];
          for (int64_t j = 0; j < groups; ++j) {
            ata(2 * j, 2 * i) = qq(j, i);
            ata(2 * j + 1, 2 * i) = -oneQ(j, i);
            ata(2 * j, 2 * i + 1) = -q1(j, i);
            ata(2 * j + 1, 2 * i + 1) = oneOne(j, i);
          }
        }
        Eigen::LDLT<Eigen::MatrixXd> ldlt(ata);
        if (ldlt.info() != Eigen::Success)
          continue;
        Eigen::VectorXd theta = ldlt.solve(rhs);
        bool usable = true;
        for (int64_t gi = 0; gi < groups && usable; ++gi) {
          double sc = theta[2 * gi];
          usable = sc > 0 && std::isfinite(theta[2 * gi + 1]);
          if (usable)
            zeros[gi] = std::clamp(std::nearbyint(theta[2 * gi + 1] / sc),
                                   0.0, maxq);
        }
        if (!usable)
          continue;
      }
      // The scales for whole zero points.
      Eigen::MatrixXd btb;
      Eigen::VectorXd rhs;
      scaleSystem(zeros, btb, rhs);
      Eigen::LDLT<Eigen::MatrixXd> ldlt(btb);
      if (ldlt.info() != Eigen::Success)
        continue;
      Eigen::VectorXd sc = ldlt.solve(rhs);
      std::vector<double> next(groups);
      bool usable = true;
      for (int64_t gi = 0; gi < groups && usable; ++gi) {
        usable = sc[gi] > 0 && std::isfinite(sc[gi]);
        // As stored.
        next[gi] = static_cast<float>(sc[gi]);
      }
      if (!usable || !(objective(zeros, next) < before))
        continue;
      for (int64_t gi = 0; gi < groups; ++gi) {
        q.scales[r * groups + gi] = static_cast<float>(next[gi]);
        q.zeros[r * groups + gi] = static_cast<float>(zeros[gi]);
      }
    }
  });
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
  QuantizedWeight q =
      quantizeByGroups(w, rows, cols, config, ClipRule::Weighted, m);
  if (config.refit)
    refitRows(w, m, q, config.threads);
  return q;
}

bool quantizeGptq(const float *w, int64_t rows, int64_t cols,
                  const Config &config, double *m, QuantizedWeight &out,
                  std::string *why, double dampFraction) {
  int64_t k = cols;
  out = emptyResult(rows, cols, config);
  int64_t g = out.groupSize, groups = out.groupsPerRow();
  // The group clip search reads the undamped M's diagonal blocks.
  const GroupBlocks mBlocks(m, k, g);
  FactorWorkspace work(m, k);
  Eigen::Map<Eigen::MatrixXd> h = work.matrix();
  double damping = fillUnseen(h, dampFraction);
  // act-order: columns in descending order of diag(M), so the inputs whose
  // error costs most are quantized while the most columns are left to
  // absorb it. Ties keep their order. M is permuted in place (rows, then
  // columns), so it is never held twice.
  std::vector<int64_t> perm(k);
  for (int64_t i = 0; i < k; ++i)
    perm[i] = i;
  Eigen::PermutationMatrix<Eigen::Dynamic> p(k);
  if (config.actOrder) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return h(a, a) > h(b, b);
    });
    for (int64_t j = 0; j < k; ++j)
      p.indices()[j] = static_cast<int>(perm[j]);
    // (Pᵀ M P)(a, b) = M(perm[a], perm[b]); Eigen applies each
    // permutation to its own operand in place.
    h = p.transpose() * h;
    h = h * p;
  }
  h.diagonal().array() += damping;
  // Upper factor U with M⁻¹ = Uᵀ U (in the processing order), over M: row
  // i holds how the error of column i moves to the columns after it.
  bool factored = inverseUpperFactorInPlace(h, config.threads);
  // M again, for the refit, once U is done with.
  auto restoreM = [&] {
    work.restore([&](Eigen::Map<Eigen::MatrixXd> &a) {
      if (config.actOrder) {
        a = p * a;
        a = a * p.transpose();
      }
    });
  };
  if (!factored) {
    restoreM();
    *why = "the statistic is not positive definite after damping";
    return false;
  }
  const Eigen::Map<const RowMatrix> u(h.data(), k, k);

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
    std::vector<double> blockClips(nr);
    std::vector<double> groupValues(firstEncounter ? g : 0);
    auto chooseGroup = [&](int64_t i, const double *wg, int64_t gi,
                           GroupParams &p) {
      int64_t j = gi * g, n = std::min(g, k - j);
      double clip;
      chooseGroups(wg, n, 1, n, out.bits, out.symmetric, config.scaleSearch,
                   mBlocks.group(gi), mBlocks.ld, &p, &clip);
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
          // Every row of the block at once: their clips are scored in one
          // product with the group's block of M.
          int64_t gi = j / g, n = std::min(g, k - j);
          chooseGroups(&wb(0, j), k, nr, n, out.bits, out.symmetric,
                       config.scaleSearch, mBlocks.group(gi), mBlocks.ld,
                       params.data(), blockClips.data());
          for (int64_t i = 0; i < nr; ++i) {
            int64_t at = (r0 + i) * groups + gi;
            out.scales[at] = params[i].scale;
            out.zeros[at] = params[i].zero;
            out.clips[at] = static_cast<float>(blockClips[i]);
          }
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
  // The factor is done with: M takes its place again, for the refit.
  restoreM();
  if (config.refit)
    refitRows(w, m, out, config.threads);
  return true;
}

bool floatTarget(const float *w, int64_t rows, int64_t cols, double *h,
                 double *e, std::vector<float> &target, std::string *why,
                 double dampFraction, int threads, bool eTimesW) {
  int64_t k = cols;
  FactorWorkspace work(h, k);
  Eigen::Map<Eigen::MatrixXd> damped = work.matrix();
  damped.diagonal().array() += fillUnseen(damped, dampFraction);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(damped);
  if (llt.info() != Eigen::Success) {
    work.restore();
    *why = "the statistic is not positive definite after damping";
    return false;
  }
  // C = E H⁻¹ (or W C = (W E) H⁻¹), so Cᵀ = H⁻¹ Eᵀ (H symmetric): in
  // fixed blocks of Cᵀ's columns, on `threads` threads, so the result does
  // not depend on how many there are. A block of Cᵀ's columns needs only
  // the same rows of E, so C is written over E: no third K×K matrix.
  constexpr int64_t kBlock = 128;
  int64_t eRows = eTimesW ? rows : k;
  Eigen::Map<RowMatrix> em(e, eRows, k);
  forEachRow((eRows + kBlock - 1) / kBlock, threads, [&](int64_t b) {
    int64_t c0 = b * kBlock, n = std::min(kBlock, eRows - c0);
    Eigen::MatrixXd ct = llt.solve(em.middleRows(c0, n).transpose());
    em.middleRows(c0, n) = ct.transpose();
  });
  work.restore();
  const Eigen::Map<const RowMatrix> cm(e, eRows, k);
  // T = W + W C. In double precision: W C sums large terms that cancel (H
  // is damped by only 1% of its mean diagonal), and forming it in single
  // precision costs the GPT at W3 a third of its gap to float.
  target.resize(rows * k);
  forEachRow((rows + kBlock - 1) / kBlock, threads, [&](int64_t b) {
    int64_t r0 = b * kBlock, n = std::min(kBlock, rows - r0);
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                   Eigen::RowMajor>>
        wf(w + r0 * k, n, k);
    RowMatrix wd = wf.cast<double>();
    RowMatrix t = eTimesW ? RowMatrix(wd + cm.middleRows(r0, n))
                          : RowMatrix(wd + wd * cm);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c)
        target[(r0 + r) * k + c] = static_cast<float>(t(r, c));
  });
  return true;
}

std::vector<double> gaussianControl(const double *d, int64_t k,
                                    int64_t samples, uint64_t seed) {
  Eigen::Map<const RowMatrix> dm(d, k, k);
  Eigen::MatrixXd cov = dm / static_cast<double>(std::max<int64_t>(samples, 1));
  double ridge = 1e-9 * std::max(cov.diagonal().mean(), 1e-300);
  cov.diagonal().array() += ridge;
  Eigen::LLT<Eigen::MatrixXd> llt(cov);
  Eigen::MatrixXd l = llt.matrixL();
  ::smq::SplitMix64 rng{seed};
  // In blocks of positions, so the product stays a matrix product.
  constexpr int64_t kBlock = 256;
  RowMatrix out = RowMatrix::Zero(k, k);
  for (int64_t p0 = 0; p0 < samples; p0 += kBlock) {
    int64_t n = std::min(kBlock, samples - p0);
    Eigen::MatrixXd z(k, n);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t i = 0; i < k; ++i)
        z(i, c) = rng.normal();
    Eigen::MatrixXd delta = l * z;
    out.noalias() += delta * delta.transpose();
  }
  return std::vector<double>(out.data(), out.data() + k * k);
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

void combineStatisticsInto(const double *h, const double *d, int64_t k,
                           double lambda, double *m) {
  auto meanDiag = [&](const double *s) {
    double t = 0;
    for (int64_t i = 0; i < k; ++i)
      t += s[i * k + i];
    return t / static_cast<double>(k);
  };
  double hn = meanDiag(h), dn = d ? meanDiag(d) : 0;
  // Each element is read before it is written: `m` may be `h`.
  for (int64_t i = 0; i < k * k; ++i) {
    double v = 0.0;
    if (hn > 0)
      v += h[i] / hn;
    if (d && dn > 0 && lambda != 0)
      v += lambda * d[i] / dn;
    m[i] = v;
  }
}

std::vector<double> combineStatistics(const double *h, const double *d,
                                      int64_t k, double lambda) {
  std::vector<double> m(k * k);
  combineStatisticsInto(h, d, k, lambda, m.data());
  return m;
}

} // namespace smq::quant
