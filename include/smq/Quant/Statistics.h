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
// File format (little-endian), version 2 (version 1 still reads); see
// docs/StatsFormat.md:
//   "SMQSTATS" u32 version u32 reserved
//   u64 length + bytes: provenance text (model, data, options)
//   u64 held-out sequences S, u64 their length T, i64 tokens[S*T]  (v2)
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

  LayerStatistics() = default;
  LayerStatistics(int64_t k, bool diagonalOnly);
  /// Adds `rows` positions of activations x (rows×K, row-major) and their
  /// neighbour's x′; D gains (x′ − x)(x′ − x)ᵀ.
  void accumulate(const float *x, const float *neighbour, int64_t rows,
                  bool heldOut = false);
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

  int64_t heldOutSequences() const {
    return heldOutLength ? heldOutTokens.size() / heldOutLength : 0;
  }
};

constexpr uint32_t kStatisticsVersion = 2;

bool writeStatistics(const std::string &path, const StatisticsFile &stats,
                     std::string *why);
/// Returns nullopt and sets `why` for a missing, foreign, truncated or
/// inconsistent file, or an unknown version.
std::optional<StatisticsFile> readStatistics(const std::string &path,
                                             std::string *why);

} // namespace smq::quant

#endif // SMQ_QUANT_STATISTICS_H
