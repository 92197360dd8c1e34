//===- quant_bench.cpp - time the quantization methods on big layers ------===//
//
//   smq-bench-quant [--rows N] [--cols K] [--bits B] [--group G]
//
// Quantizes a seeded random N×K weight with a random full-rank statistic
// M = H̄ + 0.5·D̄ (H and D Gram matrices of K+64 random rows) and prints the
// time of search and gptq and the process's peak RSS. The goals
// (4096×4096 at W3 g128 on 2 cores): search <= 2 s, gptq <= 10 s. Then what
// the pass's defaults add to gptq (issue 13): the float target
// T = W + W·E·H⁻¹ for a random E, and the least-squares refit of each row's
// scales and zero points. Then what calibrating the layer costs: H and D
// (and E, for the float target) summed over 64 windows of 128 positions,
// as smq-calibrate and sequential mode sum them, and what their checks
// for NaN and infinities cost next to that: the scan of each window's
// activations and its neighbour's (nonFiniteActivation), and of the
// weight before it is quantized (firstNonFinite).
//
//===----------------------------------------------------------------------===//
#include "smq/Quant/Quantizer.h"
#include "smq/Quant/Statistics.h"

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <sys/resource.h>

using RowMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

static std::vector<double> gram(int64_t k, std::mt19937_64 &rng) {
  std::normal_distribution<double> n(0.0, 1.0);
  RowMatrix x(k + 64, k);
  for (int64_t i = 0; i < x.size(); ++i)
    x.data()[i] = n(rng);
  RowMatrix g = x.transpose() * x;
  return std::vector<double>(g.data(), g.data() + g.size());
}

int main(int argc, char **argv) {
  int64_t rows = 4096, cols = 4096, bits = 3, group = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int64_t v = std::atoll(argv[i + 1]);
    if (a == "--rows") rows = v;
    else if (a == "--cols") cols = v;
    else if (a == "--bits") bits = v;
    else if (a == "--group") group = v;
  }
  std::mt19937_64 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> w(rows * cols);
  for (float &x : w)
    x = n(rng);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<double> h = gram(cols, rng), d = gram(cols, rng);
  std::vector<double> m = smq::quant::combineStatistics(h.data(), d.data(), cols, 0.5);
  auto seconds = [](auto a, auto b) {
    return std::chrono::duration<double>(b - a).count();
  };
  auto t1 = std::chrono::steady_clock::now();
  smq::quant::Config config{static_cast<int>(bits), group, false, 0};
  auto s = smq::quant::quantizeSearch(w.data(), rows, cols, config, m.data());
  auto t2 = std::chrono::steady_clock::now();
  smq::quant::QuantizedWeight g;
  std::string why;
  if (!smq::quant::quantizeGptq(w.data(), rows, cols, config, m.data(), g, &why)) {
    std::fprintf(stderr, "gptq: %s\n", why.c_str());
    return 1;
  }
  auto t3 = std::chrono::steady_clock::now();
  // E as the pass sums it: Σ (x_float − x)xᵀ, here from small random shifts.
  std::vector<double> e(cols * cols);
  {
    std::normal_distribution<double> nd(0.0, 0.05);
    for (double &v : e)
      v = nd(rng);
  }
  auto t4 = std::chrono::steady_clock::now();
  std::vector<float> target;
  if (!smq::quant::floatTarget(w.data(), rows, cols, h.data(), e.data(),
                               target, &why)) {
    std::fprintf(stderr, "float target: %s\n", why.c_str());
    return 1;
  }
  auto t5 = std::chrono::steady_clock::now();
  config.refit = true;
  smq::quant::QuantizedWeight r;
  if (!smq::quant::quantizeGptq(target.data(), rows, cols, config, m.data(), r,
                                &why)) {
    std::fprintf(stderr, "gptq: %s\n", why.c_str());
    return 1;
  }
  auto t6 = std::chrono::steady_clock::now();
  // Calibration: random activations stand in for the model's.
  smq::quant::LayerStatistics layer(cols, false);
  std::vector<float> x(128 * cols), near(128 * cols), xf(128 * cols);
  double accumulateSeconds = 0, shiftSeconds = 0, checkSeconds = 0;
  for (int window = 0; window < 64; ++window) {
    for (int64_t i = 0; i < 128 * cols; ++i) {
      x[i] = n(rng);
      near[i] = x[i] + 0.1f * n(rng);
      xf[i] = x[i] + 0.01f * n(rng);
    }
    auto check = std::chrono::steady_clock::now();
    if (smq::quant::nonFiniteActivation(x.data(), 128, cols, window, false,
                                        "W") ||
        smq::quant::nonFiniteActivation(near.data(), 128, cols, window, true,
                                        "W"))
      return 1;
    auto a = std::chrono::steady_clock::now();
    checkSeconds += seconds(check, a);
    layer.accumulate(x.data(), near.data(), 128, window % 8 == 7);
    auto b = std::chrono::steady_clock::now();
    layer.accumulateShift(xf.data(), x.data(), 128);
    auto c = std::chrono::steady_clock::now();
    accumulateSeconds += seconds(a, b);
    shiftSeconds += seconds(b, c);
  }
  // The weight's scan, as the pass runs it before quantizing (best of 5).
  double weightCheck = 1e9;
  for (int i = 0; i < 5; ++i) {
    auto a = std::chrono::steady_clock::now();
    if (smq::quant::firstNonFinite(w.data(), rows * cols) >= 0)
      return 1;
    weightCheck = std::min(weightCheck,
                           seconds(a, std::chrono::steady_clock::now()));
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%lldx%lld W%lld g%lld: statistics %.2f s, search %.2f s, "
              "gptq %.2f s, float target %.2f s, gptq with refit %.2f s, "
              "peak RSS %ld MB\n"
              "calibrating it on 64 windows of 128 positions (one thread): "
              "H and D %.2f s, E %.2f s\n"
              "checks for NaN and Inf: activations %.4f s (%.2f%% of H and "
              "D), the weight %.4f s (%.3f%% of gptq)\n",
              (long long)rows, (long long)cols, (long long)bits,
              (long long)group, seconds(t0, t1), seconds(t1, t2),
              seconds(t2, t3), seconds(t4, t5), seconds(t5, t6),
              ru.ru_maxrss / 1024, accumulateSeconds, shiftSeconds,
              checkSeconds, 100 * checkSeconds / accumulateSeconds,
              weightCheck, 100 * weightCheck / seconds(t2, t3));
  (void)s;
  return 0;
}
