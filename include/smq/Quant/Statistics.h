//===- Statistics.h - calibration statistics and their file -----*- C++ -*-===//
//
// Plain C++ (no MLIR). For every weight-bearing op, calibration accumulates
// over calibration token positions, in double precision:
//   H = Σ x xᵀ   (the input second moment: fitting)
//   D = Σ δ δᵀ   (δ = x(neighbour) − x: the neighbourhood statistic)
// keyed by the op's weight name (its resource key), which is stable across
// re-imports of the same model. `diag` mode keeps only the diagonals.
//
// File format (little-endian), version 1; see docs/StatsFormat.md:
//   "SMQSTATS" u32 version u32 reserved
//   u64 length + bytes: provenance text (model, data, options)
//   u64 entries, then per entry:
//     u64 length + bytes: key
//     u64 K, u8 diagonalOnly, u64 positions
//     f64 H[K*K or K], f64 D[K*K or K]
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

struct LayerStatistics {
  int64_t k = 0;
  bool diagonalOnly = false;
  int64_t positions = 0;
  std::vector<double> h, d; // K×K row-major, or K when diagonalOnly

  LayerStatistics() = default;
  LayerStatistics(int64_t k, bool diagonalOnly);
  /// Adds `rows` positions of activations x (rows×K, row-major) and their
  /// neighbour's x′; D gains (x′ − x)(x′ − x)ᵀ.
  void accumulate(const float *x, const float *neighbour, int64_t rows);
  /// H or D as a full K×K matrix (diagonal mode: zeros off the diagonal).
  std::vector<double> fullH() const;
  std::vector<double> fullD() const;
};

struct StatisticsFile {
  std::string provenance;
  std::map<std::string, LayerStatistics> layers;
};

constexpr uint32_t kStatisticsVersion = 1;

bool writeStatistics(const std::string &path, const StatisticsFile &stats,
                     std::string *why);
/// Returns nullopt and sets `why` for a missing, foreign, truncated or
/// inconsistent file, or an unknown version.
std::optional<StatisticsFile> readStatistics(const std::string &path,
                                             std::string *why);

} // namespace smq::quant

#endif // SMQ_QUANT_STATISTICS_H
