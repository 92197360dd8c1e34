//===- Metrics.h - language-model quality measures --------------*- C++ -*-===//
//
// Plain C++ (no MLIR): next-token NLL and perplexity, agreement with a
// reference model (KL divergence, top-1 agreement), and the model-level
// measures of ../shared/docs/SMOOTHNESS.md (effective candidates,
// neighbourhood breadth, the smoothness proxy), accumulated over positions
// in double precision.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EVAL_METRICS_H
#define SMQ_EVAL_METRICS_H

#include <cstdint>
#include <vector>

namespace smq::eval {

/// log softmax of `logits[0..n)` in double precision.
std::vector<double> logSoftmax(const float *logits, int64_t n);

/// Running totals over predicted positions.
class LanguageModelStats {
public:
  /// Adds one position: the model's logits over `vocab` tokens and the token
  /// that came next. With `reference` logits, also the divergence from them.
  void add(const float *logits, int64_t vocab, int64_t target,
           const float *reference = nullptr);

  int64_t positions() const { return count; }
  double meanNll() const { return count ? nll / count : 0.0; }
  double perplexity() const;
  /// Mean KL(reference || model) in nats; 0 without a reference.
  double meanKl() const { return refCount ? kl / refCount : 0.0; }
  /// Fraction of positions where both models rank the same token first.
  double top1Agreement() const {
    return refCount ? static_cast<double>(agree) / refCount : 0.0;
  }

private:
  int64_t count = 0, refCount = 0, agree = 0;
  double nll = 0, kl = 0;
};

/// Effective candidates per position: exp(entropy) of the predictive
/// distribution, and the number of tokens with p >= 0.01.
class CandidateStats {
public:
  void add(const float *logits, int64_t vocab);
  int64_t positions() const { return count; }
  double meanExpEntropy() const { return count ? expEntropy / count : 0.0; }
  double meanAboveOnePercent() const { return count ? above / count : 0.0; }

private:
  int64_t count = 0;
  double expEntropy = 0, above = 0;
};

/// KL(softmax(p) ‖ softmax(q)) in nats, for logits p and q over n tokens.
double klDivergence(const float *p, const float *q, int64_t n);

/// The `k` tokens with the largest logits (the lower index first on ties).
std::vector<int64_t> topK(const float *logits, int64_t vocab, int64_t k);

/// How closely a model's greedy generation follows a reference's, measured
/// along the reference's greedy path: at every step both models have been
/// fed the same tokens (the reference's choices). Up to the first step
/// whose argmaxes differ, that path is also the model's own greedy path,
/// so that step is where free-running greedy generation diverges.
class GreedyAgreement {
public:
  explicit GreedyAgreement(int64_t k = 5) : k(k) {}
  /// One step of sequence `sequence` (0, 1, ...; steps in order).
  void add(int64_t sequence, const float *reference, const float *model,
           int64_t vocab);
  int64_t sequences() const { return static_cast<int64_t>(seqs.size()); }
  int64_t topKSize() const { return k; }
  /// Tokens generated alike before the first difference, averaged over
  /// sequences (a sequence with none counts all its steps).
  double meanTokensToDivergence() const;
  int64_t minTokensToDivergence() const;
  /// Share of sequences with no difference in any step.
  double identicalRate() const;
  /// Share of steps whose argmaxes agree.
  double top1Rate() const { return steps ? double(top1) / steps : 0.0; }
  /// Mean share of the reference's top-k tokens also in the model's top-k.
  double topKKept() const { return steps ? kept / steps : 0.0; }

private:
  struct Sequence {
    int64_t steps = 0, firstDifference = -1;
  };
  int64_t k;
  std::vector<Sequence> seqs;
  int64_t steps = 0, top1 = 0;
  double kept = 0;
};

/// Hutchinson's estimate of ‖∇L‖² from central differences: for a standard
/// normal direction v, ((L(x+εv) − L(x−εv)) / 2ε)² has expectation ‖∇L‖²
/// (up to O(ε²)); the estimate averages such terms.
class GradientNormEstimate {
public:
  void add(double lossPlus, double lossMinus, double epsilon) {
    double d = (lossPlus - lossMinus) / (2 * epsilon);
    sum += d * d;
    ++count;
  }
  int64_t directions() const { return count; }
  double mean() const { return count ? sum / count : 0.0; }

private:
  int64_t count = 0;
  double sum = 0;
};

} // namespace smq::eval

#endif // SMQ_EVAL_METRICS_H
