//===- Quantizer.h - grouped low-bit weight quantization --------*- C++ -*-===//
//
// Plain C++ (no MLIR types): the numerical core of SMQ's weight
// quantization, as ../shared/docs/SMOOTHNESS.md defines it.
//
// A weight W is N×K (out × in), row-major. Each row is cut into groups of
// `groupSize` consecutive inputs (0: one group per row, per channel); each
// group has a scale and a zero point, and each weight a `bits`-bit code:
//
//   ŵ = scale · (q − zero),   q ∈ [0, 2^bits − 1]
//
// Methods minimise E(Ŵ) = tr(ΔW M ΔWᵀ) for a K×K positive semi-definite M
// (M = H̄ + λ·D̄, see combineStatistics):
//   rtn    – per-group min/max, round to nearest (no data);
//   wmse   – per-group clip search on plain weight MSE (M = I);
//   search – per-group clip search on Δw_gᵀ M_gg Δw_g;
//   gptq   – column-by-column rounding with error feedback through the
//            Cholesky factor of M⁻¹ (1% damping), each group's clip chosen by
//            `search` on the error-compensated weights, or (static groups,
//            and with act-order, which takes columns in descending order
//            of diag(M)) on the original weights.
//
// How wmse, search and gptq choose a group's scale and zero point
// (ScaleSearch): `clip` scores 25 symmetric shrinks of the group's range;
// `grid` then scores a joint grid of the range's two ends around the best
// shrink (so scale and zero point move independently), and refits scale and
// zero point to the chosen codes by weighted least squares, a few rounds,
// each kept only if it lowers the weighted error.
//
// Every method is deterministic: the same inputs give bit-identical results.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_QUANT_QUANTIZER_H
#define SMQ_QUANT_QUANTIZER_H

#include <cstdint>
#include <string>
#include <vector>

namespace smq::quant {

enum class ScaleSearch {
  /// Symmetric shrinks of the group's range (clipGrid()).
  Clip,
  /// Clip, then a joint grid of both ends of the range, then refits.
  Grid,
};

struct Config {
  int bits = 4;
  /// Inputs per group; 0 means one group per row (per channel).
  int64_t groupSize = 64;
  bool symmetric = false;
  /// Threads to split rows over (0: one per core). Results do not depend
  /// on it.
  int threads = 0;
  /// gptq: quantize columns in descending order of diag(M) (act-order).
  /// Each group's scale and zero point are chosen when its first column
  /// comes up (or up front, with staticGroups); groups stay consecutive.
  bool actOrder = false;
  /// gptq: choose every group's scale and zero point on the original
  /// weights, before error feedback, so that any column order keeps the
  /// groups (and the runtime layout) as they are.
  bool staticGroups = false;
  /// How wmse, search and gptq choose each group's scale and zero point.
  ScaleSearch scaleSearch = ScaleSearch::Clip;
  /// search and gptq: refitRows once the codes are chosen.
  bool refit = false;
};

/// A quantized N×K weight.
struct QuantizedWeight {
  int64_t rows = 0, cols = 0, groupSize = 0;
  int bits = 0;
  bool symmetric = false;
  /// One code per weight, row-major, unpacked (one byte each).
  std::vector<uint8_t> codes;
  /// Per (row, group), row-major: rows × groupsPerRow().
  std::vector<float> scales, zeros;
  /// The clip factor each group was quantized with.
  std::vector<float> clips;

  int64_t groupsPerRow() const { return (cols + groupSize - 1) / groupSize; }
  /// Ŵ as floats, row-major N×K.
  std::vector<float> dequantize() const;
};

/// The clip shrink factors searched: 1.0, 0.975, ... down to 0.4.
const std::vector<double> &clipGrid();

/// Scale, zero point and codes for one group of `n` values at clip `clip`.
struct GroupParams {
  float scale, zero;
};
GroupParams groupParams(const double *w, int64_t n, int bits, bool symmetric,
                        double clip);
/// The scale and zero point that map [lo, hi] (lo ≤ 0 ≤ hi) onto the codes;
/// groupParams is this for the group's range shrunk by `clip`.
GroupParams rangeParams(double lo, double hi, int bits, bool symmetric);
/// The scale and zero point minimising (ŵ − w)ᵀ M (ŵ − w) for the codes `q`
/// of the group's n values w, ŵ_i = scale·(q_i − zero), by least squares:
/// scale and scale·zero jointly, then the zero point rounded to a whole code
/// in range and the scale solved again for it (asymmetric), or the scale
/// alone for the fixed mid-range zero point (symmetric). M is n×n with row
/// stride ld (identity when null). Returns `p` unchanged when the codes
/// leave the system singular or the fit would not be a positive scale.
GroupParams refitGroup(const double *w, const uint8_t *q, int64_t n,
                       const GroupParams &p, int bits, bool symmetric,
                       const double *m, int64_t ld);
/// The code of `x` under `p`, and its dequantized value.
uint8_t quantizeValue(double x, const GroupParams &p, int bits);
inline double dequantizeValue(uint8_t q, const GroupParams &p) {
  return static_cast<double>(p.scale) * (static_cast<double>(q) - p.zero);
}

QuantizedWeight quantizeRtn(const float *w, int64_t rows, int64_t cols,
                            const Config &config);
QuantizedWeight quantizeWmse(const float *w, int64_t rows, int64_t cols,
                             const Config &config);
/// `m` is K×K, row-major, symmetric.
QuantizedWeight quantizeSearch(const float *w, int64_t rows, int64_t cols,
                               const Config &config, const double *m);
/// Returns false and sets `why` if M is not positive definite even after
/// damping. M is the working matrix when it is exactly symmetric, so that
/// no copy of it is held (254 MB at K = 5632), and is M again, bit for bit,
/// when this returns.
bool quantizeGptq(const float *w, int64_t rows, int64_t cols,
                  const Config &config, double *m,
                  QuantizedWeight &out, std::string *why,
                  double dampFraction = 0.01);

/// The float target of sequential quantization (as GPTAQ fits it): the
/// weight that, fitted under H = Σ x xᵀ of the inputs x the quantized model
/// gives the layer, makes Ŵ x match the float model's W x_float. Expanding
/// Σ ‖Ŵx − W x_float‖² gives tr((Ŵ − T) H (Ŵ − T)ᵀ) + const with
/// T = W + W E H⁻¹, E = Σ (x_float − x) xᵀ (LayerStatistics::shift). H is
/// damped by `dampFraction` of its mean diagonal, as gptq damps it. T = W
/// exactly when E = 0. Returns false, with `why`, if H cannot be factored.
/// To hold no K×K matrix beyond these two: H is factored in its own buffer
/// when it is exactly symmetric and is H again, bit for bit, on return; E
/// is overwritten (with E H⁻¹). With `eTimesW`, `e` is W E (rows×K, see
/// LayerStatistics::shiftRows), and is overwritten with W E H⁻¹.
/// `target` may be the vector `w` points into (rows×K already), to hold
/// one copy of the weight less: each block of rows is read before it is
/// written.
bool floatTarget(const float *w, int64_t rows, int64_t cols, double *h,
                 double *e, std::vector<float> &target, std::string *why,
                 double dampFraction = 0.01, int threads = 0,
                 bool eTimesW = false);

/// Refits every row's scales and zero points to its codes by least squares
/// on the row's whole objective Δᵀ M Δ (M K×K, cross-group terms
/// included): scale and scale·zero of every group jointly, then the zero
/// points rounded to whole codes in range and the scales solved again
/// (symmetric: the scales alone). The codes do not change. A row keeps the
/// refit only if its objective drops and every scale stays positive.
void refitRows(const float *w, const double *m, QuantizedWeight &q,
               int threads);

/// Control (c) for the smoothness statistic (issue 13): Σ δδᵀ over
/// `samples` Gaussian perturbations δ ~ N(0, D/samples) of the layer input,
/// i.e. a statistic with D's own covariance but none of the structure that
/// swapping tokens gives it. D is K×K, positive semi-definite (a tiny ridge
/// makes it factorable). Deterministic for a seed.
std::vector<double> gaussianControl(const double *d, int64_t k,
                                    int64_t samples, uint64_t seed);

/// tr(ΔW M ΔWᵀ) with ΔW = Ŵ − W.
double objective(const float *w, const float *wHat, int64_t rows,
                 int64_t cols, const double *m);

/// M = H̄ + λ·D̄, each statistic normalised to a mean diagonal of 1
/// (a statistic with a zero trace contributes nothing).
std::vector<double> combineStatistics(const double *h, const double *d,
                                      int64_t k, double lambda);
/// The same, written to `m`, which may be `h` (M over H: a K×K matrix
/// fewer).
void combineStatisticsInto(const double *h, const double *d, int64_t k,
                           double lambda, double *m);

} // namespace smq::quant

#endif // SMQ_QUANT_QUANTIZER_H
