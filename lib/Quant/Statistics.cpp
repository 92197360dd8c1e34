//===- Statistics.cpp -----------------------------------------------------===//
#include "smq/Quant/Statistics.h"

#include "Parallel.h"

#include "smq/Support/AtomicFile.h"
#include "smq/Support/Unigram.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace smq::quant {

namespace {
constexpr char kMagic[8] = {'S', 'M', 'Q', 'S', 'T', 'A', 'T', 'S'};
/// Refuse absurd files before allocating for them.
constexpr uint64_t kMaxK = 1 << 20;

using RowMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void put(std::string &out, const void *p, size_t n) {
  out.append(static_cast<const char *>(p), n);
}
void putU64(std::string &out, uint64_t v) { put(out, &v, 8); }
void putString(std::string &out, const std::string &s) {
  putU64(out, s.size());
  out += s;
}

struct Reader {
  const std::string &data;
  size_t at = 0;
  bool get(void *p, size_t n) {
    if (n > data.size() - at)
      return false;
    // An empty vector's data() may be null, which memcpy must not get even
    // for no bytes (UBSan reports it).
    if (n)
      std::memcpy(p, data.data() + at, n);
    at += n;
    return true;
  }
  bool getU64(uint64_t &v) { return get(&v, 8); }
  bool getString(std::string &s) {
    uint64_t n;
    if (!getU64(n) || n > data.size() - at)
      return false;
    s.assign(data.data() + at, n);
    at += n;
    return true;
  }
};
} // namespace

LayerStatistics::LayerStatistics(int64_t k, bool diagonalOnly)
    : k(k), diagonalOnly(diagonalOnly),
      h(diagonalOnly ? k : k * k, 0.0) {}

namespace {
/// Rows of a K×K sum that one work item adds to: each element's sum over
/// positions runs in the same order as one product of the whole, so the
/// result is the same at any thread count.
constexpr int64_t kSumRows = 512;

/// s += aᵀ b (a rows×ka, b rows×K; s ka×K), in fixed blocks of s's rows on
/// `threads` threads.
void addCrossMoment(double *s, const RowMatrix &a, const RowMatrix &b,
                    int threads) {
  int64_t ka = a.cols(), k = b.cols();
  Eigen::Map<RowMatrix> m(s, ka, k);
  detail::forEachRow((ka + kSumRows - 1) / kSumRows, threads, [&](int64_t i) {
    int64_t r0 = i * kSumRows, nb = std::min(kSumRows, ka - r0);
    m.middleRows(r0, nb).noalias() += a.middleCols(r0, nb).transpose() * b;
  });
}

/// s += x xᵀ (or its diagonal) over `rows` positions.
void addSecondMoment(std::vector<double> &s, const RowMatrix &x, int64_t k,
                     bool diagonalOnly, int threads) {
  if (diagonalOnly) {
    Eigen::Map<Eigen::VectorXd> v(s.data(), k);
    v += x.array().square().colwise().sum().matrix().transpose();
  } else {
    addCrossMoment(s.data(), x, x, threads);
  }
}

std::vector<double> expand(const std::vector<double> &v, int64_t k,
                           bool diagonalOnly) {
  if (!diagonalOnly)
    return v;
  std::vector<double> full(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    full[i * k + i] = v[i];
  return full;
}

std::vector<double> without(std::vector<double> all,
                            const std::vector<double> &part) {
  for (size_t i = 0; i < part.size(); ++i)
    all[i] -= part[i];
  return all;
}
} // namespace

void LayerStatistics::accumulate(const float *x, const float *neighbour,
                                 int64_t rows, bool heldOut, int threads) {
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                 Eigen::RowMajor>>
      xf(x, rows, k);
  RowMatrix xd = xf.cast<double>();
  RowMatrix delta;
  if (neighbour)
    delta = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic,
                                           Eigen::Dynamic, Eigen::RowMajor>>(
                neighbour, rows, k)
                .cast<double>() -
            xd;
  addSecondMoment(h, xd, k, diagonalOnly, threads);
  if (neighbour) {
    if (d.empty())
      d.assign(h.size(), 0.0);
    addSecondMoment(d, delta, k, diagonalOnly, threads);
  }
  positions += rows;
  if (heldOut) {
    if (heldOutH.empty())
      heldOutH.assign(h.size(), 0.0);
    addSecondMoment(heldOutH, xd, k, diagonalOnly, threads);
    if (neighbour) {
      if (heldOutD.empty())
        heldOutD.assign(h.size(), 0.0);
      addSecondMoment(heldOutD, delta, k, diagonalOnly, threads);
    }
    heldOutPositions += rows;
  }
}

void LayerStatistics::accumulateShift(const float *floatX, const float *x,
                                      int64_t rows, int threads) {
  Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                 Eigen::RowMajor>>
      ff(floatX, rows, k), xf(x, rows, k);
  RowMatrix xd = xf.cast<double>();
  RowMatrix gap = ff.cast<double>() - xd;
  if (shift.empty())
    shift.assign(k * k, 0.0);
  addCrossMoment(shift.data(), gap, xd, threads);
}

void LayerStatistics::accumulateShiftThrough(const float *floatX,
                                             const float *x, int64_t rows,
                                             const float *w, int64_t n,
                                             bool holdsW, int threads) {
  using FloatRows =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const FloatRows> ff(floatX, rows, k), xf(x, rows, k);
  RowMatrix xd = xf.cast<double>();
  RowMatrix gap = ff.cast<double>() - xd;
  if (shift.empty()) {
    shift.assign(n * k, 0.0);
    shiftRows = n;
  }
  Eigen::Map<RowMatrix> we(shift.data(), n, k);
  // A block of W's rows at a time, in double: (W Δ)ᵀ for those outputs,
  // then their rows of W E. Fixed blocks, so the sums never depend on
  // anything but the data.
  constexpr int64_t kBlock = 256;
  detail::forEachRow((n + kBlock - 1) / kBlock, threads, [&](int64_t b) {
    int64_t r0 = b * kBlock, nb = std::min(kBlock, n - r0);
    Eigen::MatrixXd wt(k, nb); // the block's rows of W, transposed
    if (holdsW)
      wt = Eigen::Map<const FloatRows>(w + r0 * k, nb, k)
               .transpose()
               .cast<double>();
    else
      wt = Eigen::Map<const FloatRows>(w, k, n)
               .middleCols(r0, nb)
               .cast<double>();
    Eigen::MatrixXd projected = gap * wt; // rows × nb
    we.middleRows(r0, nb).noalias() += projected.transpose() * xd;
  });
}

std::vector<double> LayerStatistics::fullH(Sequences which) const {
  if (which == Sequences::NotHeldOut && !heldOutH.empty())
    return expand(without(h, heldOutH), k, diagonalOnly);
  return expand(h, k, diagonalOnly);
}
std::vector<double> LayerStatistics::fullD(Sequences which) const {
  if (d.empty()) // no neighbours were seen
    return std::vector<double>(k * k, 0.0);
  if (which == Sequences::NotHeldOut && !heldOutD.empty())
    return expand(without(d, heldOutD), k, diagonalOnly);
  return expand(d, k, diagonalOnly);
}

bool writeStatistics(const std::string &path, const StatisticsFile &stats,
                     std::string *why) {
  std::string out;
  put(out, kMagic, 8);
  uint32_t version = kStatisticsVersion, reserved = 0;
  put(out, &version, 4);
  put(out, &reserved, 4);
  putString(out, stats.provenance);
  putU64(out, stats.heldOutSequences());
  putU64(out, stats.heldOutLength);
  put(out, stats.heldOutTokens.data(), stats.heldOutTokens.size() * 8);
  putU64(out, stats.windows());
  putU64(out, stats.windowLength);
  put(out, stats.windowTokens.data(), stats.windowTokens.size() * 8);
  putU64(out, stats.seed);
  putU64(out, static_cast<uint64_t>(stats.holdout));
  uint8_t diagonal = stats.diagonal;
  put(out, &diagonal, 1);
  putU64(out, stats.layers.size());
  for (const auto &[key, s] : stats.layers) {
    putString(out, key);
    putU64(out, s.k);
    uint8_t diag = s.diagonalOnly;
    put(out, &diag, 1);
    putU64(out, s.positions);
    putU64(out, s.heldOutH.empty() ? 0 : s.heldOutPositions);
    put(out, s.h.data(), s.h.size() * 8);
    std::vector<double> zeros(s.d.empty() ? s.h.size() : 0, 0.0);
    const std::vector<double> &d = s.d.empty() ? zeros : s.d;
    put(out, d.data(), d.size() * 8);
    if (!s.heldOutH.empty()) {
      put(out, s.heldOutH.data(), s.heldOutH.size() * 8);
      std::vector<double> heldZeros(
          s.heldOutD.empty() ? s.heldOutH.size() : 0, 0.0);
      const std::vector<double> &hd =
          s.heldOutD.empty() ? heldZeros : s.heldOutD;
      put(out, hd.data(), hd.size() * 8);
    }
  }
  return writeFileAtomically(
      path, [&](std::ostream &os) { return bool(os << out); }, why);
}

namespace {
template <typename T, typename Bits, Bits kExponent>
int64_t firstNonFiniteOf(const T *x, int64_t n) {
  // A block at a time, by an integer test the compiler vectorizes (all
  // exponent bits set), then the element in the block that failed.
  constexpr int64_t kBlock = 256;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    int64_t i1 = std::min(n, i0 + kBlock);
    Bits any = 0;
    for (int64_t i = i0; i < i1; ++i) {
      Bits b;
      std::memcpy(&b, x + i, sizeof b);
      any |= (b & kExponent) == kExponent;
    }
    if (any)
      for (int64_t i = i0; i < i1; ++i)
        if (!std::isfinite(x[i]))
          return i;
  }
  return -1;
}
} // namespace

int64_t firstNonFinite(const float *x, int64_t n) {
  return firstNonFiniteOf<float, uint32_t, 0x7f800000u>(x, n);
}
int64_t firstNonFinite(const double *x, int64_t n) {
  return firstNonFiniteOf<double, uint64_t, 0x7ff0000000000000ull>(x, n);
}

const char *nonFiniteName(double v) {
  return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
}

std::optional<std::string> nonFiniteActivation(const float *x, int64_t rows,
                                               int64_t k, int64_t window,
                                               bool neighbour,
                                               const std::string &layer) {
  int64_t at = firstNonFinite(x, rows * k);
  if (at < 0)
    return std::nullopt;
  return "calibration window " + std::to_string(window) +
         (neighbour ? " (its neighbour)" : "") + ": the input of '" + layer +
         "' is " + nonFiniteName(x[at]) + " at position " +
         std::to_string(at / k) + ", feature " + std::to_string(at % k) +
         "; statistics of values that are not finite would be meaningless";
}

std::optional<StatisticsFile> readStatistics(const std::string &path,
                                             std::string *why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot open statistics file '" + path + "'";
    return std::nullopt;
  }
  std::string data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  Reader r{data};
  char magic[8];
  uint32_t version = 0, reserved = 0;
  if (!r.get(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) {
    *why = "'" + path + "' is not an SMQ statistics file";
    return std::nullopt;
  }
  if (!r.get(&version, 4) || !r.get(&reserved, 4) ||
      version < 1 || version > kStatisticsVersion) {
    *why = "'" + path + "' has statistics format version " +
           std::to_string(version) + "; this SMQ reads versions 1 to " +
           std::to_string(kStatisticsVersion);
    return std::nullopt;
  }
  StatisticsFile stats;
  uint64_t entries;
  if (!r.getString(stats.provenance)) {
    *why = "'" + path + "' is truncated";
    return std::nullopt;
  }
  if (version >= 2) {
    uint64_t sequences, length;
    if (!r.getU64(sequences) || !r.getU64(length) ||
        (sequences && (length == 0 || length > kMaxK)) ||
        sequences > (data.size() - r.at) / 8 / std::max<uint64_t>(length, 1)) {
      *why = "'" + path + "' is truncated or corrupt in its held-out tokens";
      return std::nullopt;
    }
    stats.heldOutLength = sequences ? static_cast<int64_t>(length) : 0;
    stats.heldOutTokens.resize(sequences * length);
    r.get(stats.heldOutTokens.data(), stats.heldOutTokens.size() * 8);
  }
  if (version >= 3) {
    uint64_t windows, length, holdout;
    uint8_t diagonal;
    if (!r.getU64(windows) || !r.getU64(length) ||
        (windows && (length == 0 || length > kMaxK)) ||
        windows > (data.size() - r.at) / 8 / std::max<uint64_t>(length, 1)) {
      *why = "'" + path + "' is truncated or corrupt in its windows";
      return std::nullopt;
    }
    stats.windowLength = windows ? static_cast<int64_t>(length) : 0;
    stats.windowTokens.resize(windows * length);
    r.get(stats.windowTokens.data(), stats.windowTokens.size() * 8);
    if (!r.getU64(stats.seed) || !r.getU64(holdout) || !r.get(&diagonal, 1) ||
        holdout > (uint64_t(1) << 32) || diagonal > 1) {
      *why = "'" + path + "' is truncated or corrupt in its options";
      return std::nullopt;
    }
    stats.holdout = static_cast<int64_t>(holdout);
    stats.diagonal = diagonal != 0;
  }
  if (!r.getU64(entries)) {
    *why = "'" + path + "' is truncated";
    return std::nullopt;
  }
  for (uint64_t e = 0; e < entries; ++e) {
    std::string key;
    uint64_t k, positions, heldOut = 0;
    uint8_t diag;
    if (!r.getString(key) || !r.getU64(k) || !r.get(&diag, 1) ||
        !r.getU64(positions) || (version >= 2 && !r.getU64(heldOut)) ||
        k == 0 || k > kMaxK || diag > 1 || heldOut > positions) {
      *why = "'" + path + "' is truncated or corrupt at entry " +
             std::to_string(e);
      return std::nullopt;
    }
    // Its matrices must be in the file before they are allocated: a few
    // corrupt bytes must not ask for K×K doubles of memory.
    uint64_t entryBytes = (diag ? k : k * k) * 8 * (heldOut ? 4 : 2);
    if (entryBytes > data.size() - r.at) {
      *why = "'" + path + "' is truncated in entry '" + key + "' (K = " +
             std::to_string(k) + " needs " + std::to_string(entryBytes) +
             " bytes, " + std::to_string(data.size() - r.at) + " are left)";
      return std::nullopt;
    }
    LayerStatistics s(static_cast<int64_t>(k), diag != 0);
    s.d.resize(s.h.size());
    s.positions = static_cast<int64_t>(positions);
    if (!r.get(s.h.data(), s.h.size() * 8) ||
        !r.get(s.d.data(), s.d.size() * 8)) {
      *why = "'" + path + "' is truncated in entry '" + key + "'";
      return std::nullopt;
    }
    if (heldOut) {
      s.heldOutPositions = static_cast<int64_t>(heldOut);
      s.heldOutH.resize(s.h.size());
      s.heldOutD.resize(s.d.size());
      if (!r.get(s.heldOutH.data(), s.heldOutH.size() * 8) ||
          !r.get(s.heldOutD.data(), s.heldOutD.size() * 8)) {
        *why = "'" + path + "' is truncated in entry '" + key + "'";
        return std::nullopt;
      }
    }
    for (const std::vector<double> *v : {&s.h, &s.d, &s.heldOutH, &s.heldOutD})
      if (int64_t i = firstNonFinite(v->data(), v->size()); i >= 0) {
        *why = "'" + path + "': the statistics of '" + key + "' hold " +
               nonFiniteName((*v)[i]) +
               " (the calibrated model's activations were not finite)";
        return std::nullopt;
      }
    stats.layers[key] = std::move(s);
  }
  if (r.at != data.size()) {
    *why = "'" + path + "' has trailing bytes";
    return std::nullopt;
  }
  return stats;
}

std::vector<std::vector<int64_t>>
neighbourWindows(const std::vector<std::vector<int64_t>> &windows,
                 uint64_t seed) {
  Unigram unigram(windows, 0);
  SplitMix64 rng{seed};
  std::vector<std::vector<int64_t>> out;
  out.reserve(windows.size());
  for (const auto &w : windows)
    out.push_back(unigram.neighbour(w, rng));
  return out;
}

} // namespace smq::quant
