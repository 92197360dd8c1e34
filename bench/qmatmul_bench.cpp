//===- qmatmul_bench.cpp - the quantized kernels against the memory limit ===//
//
//   smq-bench-qmatmul [--quick | --decode] [--hot] [--threads T]
//   smq-bench-qmatmul --copy-bandwidth
//
// For every instruction-set level this CPU runs, times
// smq_rt_qmatmul_packed_f32 on Llama-shaped weights (N×K 4096×4096,
// 11008×4096, 4096×11008) at M = 1, 4, 16, 128 rows, bits 2/3/4, groups of
// 32/64/128, f32 and int8 activations for decoding. Weights are cold: the
// benchmark rotates through copies worth more than 4× the last-level cache.
// --hot reuses one copy instead (what a peer timed on one weight sees;
// the weights may then sit in the last-level cache). SMQ_CPU_ISA restricts
// the run to one level; --decode only times the decode GEMV (M = 1) of
// 4096×11008 at groups of 32 and 128. It prints the median time, the weight bytes streamed per second (codes,
// scales and zero points), and that as a share of the copy bandwidth it
// measures itself (memcpy of a 1 GiB buffer on one thread), which bounds a
// memory-bound decode GEMV; plus the f32 kernel on the same shapes as the
// floor the quantized kernels must beat. --copy-bandwidth prints only the
// copy bandwidth, in GB/s (for scripts that relate other speeds to it).
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/PackedLayout.h"
#include "smq/Runtime/Runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t lastLevelCache() {
  size_t best = 32 << 20;
  for (int i = 0; i < 5; ++i) {
    std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" +
                    std::to_string(i) + "/size");
    std::string s;
    if (f >> s) {
      size_t v = std::stoul(s);
      if (s.back() == 'K')
        v <<= 10;
      else if (s.back() == 'M')
        v <<= 20;
      best = i == 0 ? v : std::max(best, v);
    }
  }
  return best;
}

/// GB/s of memcpy on one thread over a buffer far larger than any cache.
double copyBandwidth() {
  size_t bytes = size_t(1) << 30;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  std::vector<double> t;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    std::memcpy(b.data(), a.data(), bytes);
    t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  // A copy reads and writes every byte.
  return 2.0 * bytes / t[t.size() / 2] / 1e9;
}

struct Weights {
  int64_t n, k, bits, group, groups, rowBytes;
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  size_t bytes() const {
    return codes.size() + 4 * (scales.size() + zeros.size());
  }
};

Weights makeWeights(int64_t n, int64_t k, int64_t bits, int64_t group,
                    std::mt19937 &rng) {
  Weights w{n, k, bits, group, (k + group - 1) / group,
            smq::packedRowBytes(k, bits), {}, {}, {}};
  w.codes.resize(n * w.rowBytes);
  for (auto &c : w.codes)
    c = static_cast<uint8_t>(rng());
  w.scales.assign(n * w.groups, 0.01f);
  w.zeros.assign(n * w.groups, float(1 << (bits - 1)));
  return w;
}

double timeQ(std::vector<Weights> &copies, std::vector<float> &a,
             std::vector<float> &c, int64_t m, int acts, int reps) {
  std::vector<double> t;
  size_t next = 0;
  for (int r = 0; r < reps + 2; ++r) {
    Weights &w = copies[next++ % copies.size()];
    int64_t params[3] = {w.bits, w.group, acts};
    SmqMemRef2F32 ra{a.data(), a.data(), 0, {m, w.k}, {w.k, 1}};
    SmqMemRef2F32 rc{c.data(), c.data(), 0, {m, w.n}, {w.n, 1}};
    SmqMemRef2U8 rcodes{w.codes.data(), w.codes.data(), 0, {w.n, w.rowBytes},
                        {w.rowBytes, 1}};
    SmqMemRef2F32 rs{w.scales.data(), w.scales.data(), 0, {w.n, w.groups},
                     {w.groups, 1}};
    SmqMemRef2F32 rz{w.zeros.data(), w.zeros.data(), 0, {w.n, w.groups},
                     {w.groups, 1}};
    SmqMemRef1I64 rp{params, params, 0, {3}, {1}};
    double t0 = now();
    _mlir_ciface_smq_rt_qmatmul_packed_f32(&ra, &rcodes, &rs, &rz, &rp, &rc);
    if (r >= 2)
      t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double timeF32(std::vector<std::vector<float>> &copies, std::vector<float> &a,
               std::vector<float> &c, int64_t m, int64_t n, int64_t k,
               int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps + 2; ++r) {
    std::vector<float> &b = copies[r % copies.size()];
    SmqMemRef2F32 ra{a.data(), a.data(), 0, {m, k}, {k, 1}};
    SmqMemRef2F32 rb{b.data(), b.data(), 0, {k, n}, {n, 1}};
    SmqMemRef2F32 rc{c.data(), c.data(), 0, {m, n}, {n, 1}};
    double t0 = now();
    _mlir_ciface_smq_rt_matmul_f32(&ra, &rb, &rc);
    if (r >= 2)
      t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false, hot = false, decode = false;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick")
      quick = true;
    else if (arg == "--decode")
      decode = true;
    else if (arg == "--hot")
      hot = true;
    else if (arg == "--threads" && i + 1 < argc)
      threads = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--copy-bandwidth" && argc == 2) {
      std::printf("%.1f\n", copyBandwidth());
      return 0;
    } else {
      std::fprintf(stderr, "usage: smq-bench-qmatmul [--quick | --decode] [--hot] "
                           "[--threads T] | --copy-bandwidth\n");
      return 2;
    }
  }
  char err[256];
  if (smq_rt_select_isa_from_env(err, sizeof err) != 0) {
    std::fprintf(stderr, "smq-bench-qmatmul: %s\n", err);
    return 1;
  }
  smq_rt_set_num_threads(threads);
  size_t llc = lastLevelCache();
  double bw = copyBandwidth();
  std::printf("last-level cache %.0f MiB; memcpy %.1f GB/s (1 thread); "
              "%d thread(s); weights %s\n",
              llc / 1048576.0, bw, threads,
              hot ? "hot (one copy)" : "cold (copies > 4x the LLC)");
  bool oneLevel = std::getenv("SMQ_CPU_ISA") != nullptr;
  int forced = smq_rt_cpu_isa();
  std::printf("%-11s %-12s %4s %4s %5s %5s %10s %8s %7s %10s\n", "level",
              "N x K", "M", "bits", "group", "acts", "ms", "GB/s", "% copy",
              "f32 ms");
  struct Shape {
    int64_t n, k;
  };
  std::vector<Shape> shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  std::vector<int64_t> ms = {1, 4, 16, 128};
  std::vector<int64_t> bitsList = {2, 3, 4}, groups = {32, 64, 128};
  if (quick) {
    shapes = {{4096, 11008}};
    ms = {1, 4, 128};
    groups = {32, 128};
    bitsList = {2, 3, 4};
  }
  if (decode) {
    shapes = {{4096, 11008}};
    ms = {1};
    groups = {32, 128};
  }
  std::mt19937 rng(1);
  for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa) {
    if (!smq_rt_isa_supported(isa) || (oneLevel && isa != forced))
      continue;
    smq_rt_select_isa(smq_rt_isa_name(isa), nullptr, 0);
    for (Shape s : shapes) {
      // f32 weights: one copy is already far larger than the cache.
      std::vector<std::vector<float>> fcopies(
          hot ? 1 : std::max<size_t>(2, 4 * llc / (s.n * s.k * 4) + 1),
          std::vector<float>(s.n * s.k, 0.5f));
      for (int64_t bits : bitsList)
        for (int64_t g : groups) {
          Weights w0 = makeWeights(s.n, s.k, bits, g, rng);
          size_t copies = hot ? 1 : 4 * llc / w0.bytes() + 2;
          std::vector<Weights> ws(copies, w0);
          for (int64_t m : ms) {
            std::vector<float> a(m * s.k, 0.25f), c(m * s.n);
            int reps = m >= 16 ? 5 : 20;
            double f32 = bits == bitsList.front() && g == groups.front()
                             ? timeF32(fcopies, a, c, m, s.n, s.k, reps)
                             : 0;
            for (int acts : {0, 1}) {
              if (acts == 1 && m > 4)
                continue;
              double t = timeQ(ws, a, c, m, acts, reps);
              double gbs = w0.bytes() / t / 1e9;
              char f32col[32] = "";
              if (f32 > 0 && acts == 0)
                std::snprintf(f32col, sizeof f32col, "%10.3f", f32 * 1e3);
              std::printf("%-11s %5lldx%-6lld %4lld %4lld %5lld %5s %10.3f "
                          "%8.1f %6.0f%% %10s\n",
                          smq_rt_isa_name(isa), (long long)s.n,
                          (long long)s.k, (long long)m, (long long)bits,
                          (long long)g, acts ? "int8" : "f32", t * 1e3, gbs,
                          100 * gbs / bw, f32col);
              std::fflush(stdout);
            }
          }
        }
    }
  }
  return 0;
}
