//===- MixedPrecision.h - bit widths per layer under a budget ---*- C++ -*-===//
//
// Mixed precision (issue 13): an average number of bits per weight (2.5,
// say) is spent where it saves the most error. Each layer's error at each
// candidate width is measured by the caller (the quantize pass: the
// layer's output error under its calibration statistics); this chooses
// the widths. Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_QUANT_MIXEDPRECISION_H
#define SMQ_QUANT_MIXEDPRECISION_H

#include <cstdint>
#include <string>
#include <vector>

namespace smq::quant {

struct LayerBitCosts {
  /// Weights in the layer (what one more bit per weight costs).
  int64_t weights = 0;
  /// The layer's error at each candidate width, in the candidates' order.
  std::vector<double> error;
};

/// One index into `candidates` (ascending widths) per layer, such that the
/// weighted mean width is at most `averageBits` and the summed error is
/// small: every layer starts at the narrowest width, then the upgrade (to
/// any wider candidate) that saves the most error per extra bit-weight is
/// taken while the budget holds it, ties going to the earlier layer.
/// Deterministic. Returns an empty vector and sets `why` if `averageBits`
/// is outside the candidates' range or the costs are malformed.
std::vector<int> allocateBits(const std::vector<LayerBitCosts> &layers,
                              const std::vector<int> &candidates,
                              double averageBits, std::string *why);

} // namespace smq::quant

#endif // SMQ_QUANT_MIXEDPRECISION_H
