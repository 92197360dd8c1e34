//===- Statistics.h - calibration statistics and their file -----*- C++ -*-===//
//
// Plain C++ (no MLIR). For every weight-bearing op, calibration accumulates
// over calibration token positions, in double precision:
//   H = Σ x xᵀ   (the input second moment: fitting)
//   D = Σ δ δᵀ   (δ = x(neighbour) − x: the neighbourhood statistic)
// keyed by the op's weight name (its resource key), which is stable across
// re-imports of the same model. `diag` mode keeps only the diagonals.
//
// Calibration may hold out some sequences (lambda=auto scores candidate
// quantizations on them): H and D then also keep the held-out sequences'
// share, so that the statistics of the rest can be told apart, and the file
// keeps the held-out tokens.
//
// Sequential quantization (layer l's statistics collected with the layers
// before it already quantized) replays calibration, so the file also keeps
// every calibration window and the options that drew their neighbours.
//
// File format (little-endian), version 3 (versions 1 and 2 still read); see
// docs/StatsFormat.md:
//   "SMQSTATS" u32 version u32 reserved
//   u64 length + bytes: provenance text (model, data, options)
//   u64 held-out sequences S, u64 their length T, i64 tokens[S*T]  (v2)
//   u64 windows W, u64 their length L, i64 tokens[W*L],
//   u64 seed, u64 holdout interval, u8 diagonal only               (v3)
//   u64 entries, then per entry:
//     u64 length + bytes: key
//     u64 K, u8 diagonalOnly, u64 positions
//     u64 held-out positions P                                    (v2)
//     f64 H[K*K or K], f64 D[K*K or K]        (all sequences)
//     if P > 0: f64 H, f64 D of the held-out sequences alone       (v2)
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_QUANT_STATISTICS_H
#define SMQ_QUANT_STATISTICS_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smq::quant {

/// Which sequences a statistic covers.
enum class Sequences {
  All,
  /// All but the held-out ones: what lambda=auto fits candidates to.
  NotHeldOut,
};

struct LayerStatistics {
  int64_t k = 0;
  bool diagonalOnly = false;
  int64_t positions = 0;
  std::vector<double> h, d; // K×K row-major, or K when diagonalOnly
  /// The held-out sequences' share of positions, h and d (empty if none).
  int64_t heldOutPositions = 0;
  std::vector<double> heldOutH, heldOutD;
  /// Sequential quantization with a float target only, never in a file:
  /// E = Σ (x_float − x) xᵀ, K×K, where x is the input the model quantized
  /// so far gives the layer (the one `accumulate` sees) and x_float the
  /// float model's (see floatTarget in Quantizer.h).
  std::vector<double> shift;
  /// 0: `shift` is E. n > 0: it is W E (n×K) for the one weight W (n×K)
  /// that takes this input, accumulated as Σ (W (x_float − x)) xᵀ: where
  /// n < K (an MLP's down projection, K = 2.75 n) that is the smaller
  /// matrix, and the cheaper to accumulate and to solve for.
  int64_t shiftRows = 0;

  LayerStatistics() = default;
  LayerStatistics(int64_t k, bool diagonalOnly);
  /// Adds `rows` positions of activations x (rows×K, row-major) and their
  /// neighbour's x′; D gains (x′ − x)(x′ − x)ᵀ. Without a neighbour (null)
  /// only H gains (D, not needed, stays as it is). Each of these sums on
  /// `threads` threads (0: one per core), bit-identical at any count.
  void accumulate(const float *x, const float *neighbour, int64_t rows,
                  bool heldOut = false, int threads = 1);
  /// Adds `rows` positions to `shift`: the float model's inputs and the
  /// quantized model's (rows×K each). Full statistics only.
  void accumulateShift(const float *floatX, const float *x, int64_t rows,
                       int threads = 1);
  /// Adds `rows` positions to `shift` as W E (see shiftRows). The weight is
  /// W, n×K row-major, or (holdsW false) its K×n transpose, as a matmul's
  /// operand holds it. Every call must give the same n.
  void accumulateShiftThrough(const float *floatX, const float *x,
                              int64_t rows, const float *w, int64_t n,
                              bool holdsW, int threads = 1);
  /// H or D as a full K×K matrix (diagonal mode: zeros off the diagonal).
  std::vector<double> fullH(Sequences which = Sequences::All) const;
  std::vector<double> fullD(Sequences which = Sequences::All) const;
};

struct StatisticsFile {
  std::string provenance;
  /// Held-out calibration sequences, each `heldOutLength` tokens, row-major.
  int64_t heldOutLength = 0;
  std::vector<int64_t> heldOutTokens;
  std::map<std::string, LayerStatistics> layers;
  /// Every calibration window, `windowLength` tokens each, row-major, and
  /// how their statistics were taken (version 3; empty in older files).
  int64_t windowLength = 0;
  std::vector<int64_t> windowTokens;
  uint64_t seed = 0;
  int64_t holdout = 0;
  bool diagonal = false;

  int64_t heldOutSequences() const {
    return heldOutLength ? heldOutTokens.size() / heldOutLength : 0;
  }
  int64_t windows() const {
    return windowLength ? windowTokens.size() / windowLength : 0;
  }
};

constexpr uint32_t kStatisticsVersion = 3;

/// Whether calibration holds out window `index` under `holdout` (every
/// holdout-th window: indices holdout−1, 2·holdout−1, ...; 0: none).
inline bool isHeldOut(size_t index, int64_t holdout) {
  return holdout > 0 &&
         index % static_cast<size_t>(holdout) ==
             static_cast<size_t>(holdout) - 1;
}

/// The neighbour of each window (../shared/docs/SMOOTHNESS.md), drawn as
/// calibration draws them: from the windows' unigram distribution, by one
/// splitmix64 generator seeded with `seed`, window by window in order.
std::vector<std::vector<int64_t>>
neighbourWindows(const std::vector<std::vector<int64_t>> &windows,
                 uint64_t seed);

/// Index of the first NaN or infinity among x[0, n), or -1. Calibration
/// and quantization call it on every activation and weight they take in,
/// so that a value that is not finite is reported where it enters, never
/// summed into statistics or folded into a scale. It costs one read of the
/// data: nothing next to the K-fold work that follows.
int64_t firstNonFinite(const float *x, int64_t n);
int64_t firstNonFinite(const double *x, int64_t n);

/// "NaN", "+Inf" or "-Inf".
const char *nonFiniteName(double v);

/// Index of the first NaN or infinity among the rows × k activations
/// `x` that calibration window `window` (or, with `neighbour`, its
/// neighbour) feeds to layer `layer`, or nullopt; where there is one, the
/// message that names it: "calibration window 3 (its neighbour): the input
/// of 'W' is NaN at position 5, feature 17; ...". Calibration and
/// sequential quantization give the same message.
std::optional<std::string> nonFiniteActivation(const float *x, int64_t rows,
                                               int64_t k, int64_t window,
                                               bool neighbour,
                                               const std::string &layer);

bool writeStatistics(const std::string &path, const StatisticsFile &stats,
                     std::string *why);
/// Returns nullopt and sets `why` for a missing, foreign, truncated or
/// inconsistent file, an unknown version, or statistics that are not
/// finite.
std::optional<StatisticsFile> readStatistics(const std::string &path,
                                             std::string *why);

} // namespace smq::quant

#endif // SMQ_QUANT_STATISTICS_H
