//===- gemm_bench.cpp - SMQ's f32 kernel against OpenBLAS -------------------===//
//
//   smq-bench-gemm [--threads T]
//
// Times C += A·B with smq_rt_matmul_f32 on every CPU level this machine has,
// C = A·W with smq_rt_matmul_panels_f32 (weights packed once, as compiled
// models run them), and with OpenBLAS's cblas_sgemm (Debian's libopenblas,
// its own dispatch),
// on the shapes SMQ's models run: the bundled GPT's (d 192, MLP 768) and the
// synthetic decoder's (d 1024, MLP 4096), for 128-token prompts and single
// tokens, and the KV decoder's 32-token prompt chunks. Rows marked * are
// cold: B rotates among copies 4x the L3 in all, as a model meets its
// weights. Prints median ms and GFLOP/s. OpenBLAS's threads are set to T
// like SMQ's. Either way both see the same cache state. The
// machine's limit is the FMA peak of one core at 256 and 512 bits, measured
// here with independent FMA chains.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include <cblas.h>

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename F> double medianSeconds(int reps, F f) {
  std::vector<double> t;
  for (int r = 0; r < reps + 3; ++r) {
    double t0 = now();
    f();
    if (r >= 3)
      t.push_back(now() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// GFLOP/s of 12 independent FMA chains on one core, at one width.
#define SMQ_FMA_PEAK(NAME, TARGET, V, SET, FMA, LANES)                         \
  __attribute__((target(TARGET))) double NAME() {                             \
    V acc[12];                                                                 \
    for (int i = 0; i < 12; ++i)                                               \
      acc[i] = SET(0.001f * i);                                                \
    V m = SET(0.9999f), c = SET(1e-6f);                                        \
    const long n = 20000000;                                                   \
    double t0 = now();                                                         \
    for (long i = 0; i < n; ++i)                                               \
      for (int j = 0; j < 12; ++j)                                             \
        acc[j] = FMA(acc[j], m, c);                                            \
    double t = now() - t0;                                                     \
    for (int j = 1; j < 12; ++j)                                               \
      acc[0] = acc[0] + acc[j];                                                \
    float sink[LANES];                                                         \
    std::memcpy(sink, &acc[0], sizeof sink);                                   \
    if (sink[0] == 12345.0f)                                                   \
      std::printf(" ");                                                        \
    return 2.0 * LANES * 12 * n / t / 1e9;                                     \
  }
SMQ_FMA_PEAK(peak256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
SMQ_FMA_PEAK(peak512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
#undef SMQ_FMA_PEAK

} // namespace

int main(int argc, char **argv) {
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--threads" && i + 1 < argc)
      threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: smq-bench-gemm [--threads T]\n");
      return 2;
    }
  }
  smq_rt_set_num_threads(threads);
  openblas_set_num_threads(threads);
  struct Shape {
    const char *what;
    int64_t m, n, k;
  };
  const Shape shapes[] = {
      {"gpt qkvo", 128, 192, 192},     {"gpt up", 128, 768, 192},
      {"gpt down", 128, 192, 768},     {"gpt head", 128, 256, 192},
      {"gpt qkvo 1x1", 1, 192, 192},   {"gpt up 1x1", 1, 768, 192},
      {"dec qkvo", 128, 1024, 1024},   {"dec up", 128, 4096, 1024},
      {"dec down", 128, 1024, 4096},   {"dec up 1x1", 1, 4096, 1024},
      {"dec down 1x1", 1, 1024, 4096},
      // The KV decoder of bench/generate.sh, a 32-token prompt chunk.
      {"kv qo 32", 32, 768, 768},      {"kv kv 32", 32, 256, 768},
      {"kv up 32", 32, 3072, 768},     {"kv down 32", 32, 768, 3072},
  };
  std::printf("%d thread(s); median ms (GFLOP/s)\n", threads);
  if (smq_rt_isa_supported(SMQ_ISA_AVX2))
    std::printf("one core's FMA peak: 256-bit %.1f GFLOP/s", peak256());
  if (smq_rt_isa_supported(SMQ_ISA_AVX512))
    std::printf(", 512-bit %.1f GFLOP/s", peak512());
  std::printf("\n%-14s %-7s %16s", "shape MxNxK", "B", "OpenBLAS");
  for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa)
    if (smq_rt_isa_supported(isa))
      std::printf(" %18s", smq_rt_isa_name(isa));
  std::printf("\n");
  for (const Shape &s : shapes) {
    std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f),
        c(s.m * s.n, 0.0f);
    int64_t count = (s.n + 31) / 32;
    std::vector<float> panels(count * s.k * 32), bias(s.n, 0.125f);
    smq_rt_pack_f32_panels(s.k, s.n, b.data(), s.n, panels.data());
    double flops = 2.0 * s.m * s.n * s.k;
    int reps = flops > 1e8 ? 20 : 200;
    // Cold weights, as a model's prompt meets them: B rotates among
    // copies that together are 4x this machine's 32 MiB L3, so every call
    // streams its weights from memory.
    int64_t bytes = s.k * s.n * 4;
    int64_t copies = std::max<int64_t>(1, (int64_t(128) << 20) / bytes);
    std::vector<std::vector<float>> coldB, coldPanels;
    if (s.m > 1)
      for (int64_t i = 0; i < copies; ++i) {
        coldB.push_back(b);
        coldPanels.push_back(panels);
      }
    for (int layout = 0; layout < (s.m > 1 ? 4 : 2); ++layout) {
      bool cold = layout >= 2;
      int64_t next = 0;
      auto pick = [&](std::vector<float> &warm,
                      std::vector<std::vector<float>> &set) {
        return cold ? set[next % copies].data() : warm.data();
      };
      double blas = medianSeconds(reps, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k,
                    1.0f, a.data(), s.k, pick(b, coldB), s.n, 1.0f, c.data(),
                    s.n);
        ++next;
      });
      const char *what = layout == 0 ? s.what : "";
      const char *kind = layout % 2 == 0 ? (cold ? "rows*" : "rows")
                                         : (cold ? "panels*" : "panels");
      if (layout % 2 == 0)
        std::printf("%-14s %-7s %7.3f (%6.1f)", what, kind, blas * 1e3,
                    flops / blas / 1e9);
      else
        std::printf("%-14s %-7s %16s", "", kind, "");
      for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa) {
        if (!smq_rt_isa_supported(isa))
          continue;
        smq_rt_select_isa(smq_rt_isa_name(isa), nullptr, 0);
        double t = medianSeconds(reps, [&] {
          SmqMemRef2F32 ra{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
          SmqMemRef2F32 rc{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
          if (layout % 2 == 0) {
            float *pb = pick(b, coldB);
            SmqMemRef2F32 rb{pb, pb, 0, {s.k, s.n}, {s.n, 1}};
            _mlir_ciface_smq_rt_matmul_f32(&ra, &rb, &rc);
          } else {
            float *pp = pick(panels, coldPanels);
            SmqMemRef3F32 rp{pp, pp, 0, {count, s.k, 32}, {s.k * 32, 32, 1}};
            SmqMemRef1F32 rbias{bias.data(), bias.data(), 0, {s.n}, {1}};
            _mlir_ciface_smq_rt_matmul_panels_f32(&ra, &rp, &rbias, &rc);
          }
          ++next;
        });
        std::printf(" %9.3f (%6.1f)", t * 1e3, flops / t / 1e9);
      }
      std::printf("\n");
    }
  }
  return 0;
}
