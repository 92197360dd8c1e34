//===- Metrics.cpp --------------------------------------------------------===//
#include "smq/Eval/Metrics.h"
#include "smq/Eval/Sampling.h"

#include <algorithm>
#include <cmath>

namespace smq::eval {

std::vector<double> logSoftmax(const float *logits, int64_t n) {
  double max = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    max = std::max(max, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(logits[i] - max);
  double lse = max + std::log(sum);
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = logits[i] - lse;
  return out;
}

void LanguageModelStats::add(const float *logits, int64_t vocab,
                             int64_t target, const float *reference) {
  std::vector<double> lp = logSoftmax(logits, vocab);
  nll -= lp[target];
  ++count;
  if (!reference)
    return;
  std::vector<double> lq = logSoftmax(reference, vocab);
  double d = 0;
  for (int64_t i = 0; i < vocab; ++i)
    d += std::exp(lq[i]) * (lq[i] - lp[i]);
  kl += d;
  auto argmax = [&](const std::vector<double> &v) {
    return std::max_element(v.begin(), v.end()) - v.begin();
  };
  agree += argmax(lp) == argmax(lq);
  ++refCount;
}

double LanguageModelStats::perplexity() const { return std::exp(meanNll()); }

void CandidateStats::add(const float *logits, int64_t vocab) {
  std::vector<double> lp = logSoftmax(logits, vocab);
  double entropy = 0;
  int64_t n = 0;
  for (double l : lp) {
    double p = std::exp(l);
    entropy -= p * l;
    n += p >= 0.01;
  }
  expEntropy += std::exp(entropy);
  above += static_cast<double>(n);
  ++count;
}

double klDivergence(const float *p, const float *q, int64_t n) {
  std::vector<double> lp = logSoftmax(p, n), lq = logSoftmax(q, n);
  double kl = 0;
  for (int64_t i = 0; i < n; ++i)
    kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return kl > 0 ? kl : 0.0;
}

std::vector<int64_t> topK(const float *logits, int64_t vocab, int64_t k) {
  std::vector<int64_t> order(vocab);
  for (int64_t i = 0; i < vocab; ++i)
    order[i] = i;
  k = std::min(k, vocab);
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int64_t a, int64_t b) {
                      return logits[a] > logits[b] ||
                             (logits[a] == logits[b] && a < b);
                    });
  order.resize(k);
  return order;
}

void GreedyAgreement::add(int64_t sequence, const float *reference,
                          const float *model, int64_t vocab) {
  if (sequence >= sequences())
    seqs.resize(sequence + 1);
  Sequence &s = seqs[sequence];
  bool same = argmax(reference, vocab) == argmax(model, vocab);
  if (!same && s.firstDifference < 0)
    s.firstDifference = s.steps;
  ++s.steps;
  ++steps;
  top1 += same;
  std::vector<int64_t> a = topK(reference, vocab, k), b = topK(model, vocab, k);
  int64_t common = 0;
  for (int64_t t : a)
    common += std::find(b.begin(), b.end(), t) != b.end();
  kept += a.empty() ? 1.0 : double(common) / a.size();
}

double GreedyAgreement::meanTokensToDivergence() const {
  if (seqs.empty())
    return 0.0;
  double sum = 0;
  for (const Sequence &s : seqs)
    sum += s.firstDifference < 0 ? s.steps : s.firstDifference;
  return sum / seqs.size();
}

int64_t GreedyAgreement::minTokensToDivergence() const {
  int64_t least = -1;
  for (const Sequence &s : seqs) {
    int64_t n = s.firstDifference < 0 ? s.steps : s.firstDifference;
    least = least < 0 ? n : std::min(least, n);
  }
  return std::max<int64_t>(least, 0);
}

double GreedyAgreement::identicalRate() const {
  if (seqs.empty())
    return 0.0;
  int64_t same = 0;
  for (const Sequence &s : seqs)
    same += s.firstDifference < 0;
  return double(same) / seqs.size();
}

} // namespace smq::eval
