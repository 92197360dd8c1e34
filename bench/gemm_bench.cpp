//===- gemm_bench.cpp - SMQ's f32 kernel against OpenBLAS -------------------===//
//
//   smq-bench-gemm [--threads T]
//
// Times C += A·B with smq_rt_matmul_f32 on every CPU level this machine has
// and with OpenBLAS's cblas_sgemm (Debian's libopenblas, its own dispatch),
// on the shapes SMQ's models run: the bundled GPT's (d 192, MLP 768) and the
// synthetic decoder's (d 1024, MLP 4096), for 128-token prompts and single
// tokens. Prints median ms and GFLOP/s. OpenBLAS's threads are set to T
// like SMQ's. Weights (B) are warm: both see the same cache state.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
  };
  std::printf("%d thread(s); median ms (GFLOP/s)\n", threads);
  std::printf("%-14s %16s", "shape MxNxK", "OpenBLAS");
  for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa)
    if (smq_rt_isa_supported(isa))
      std::printf(" %18s", smq_rt_isa_name(isa));
  std::printf("\n");
  for (const Shape &s : shapes) {
    std::vector<float> a(s.m * s.k, 0.5f), b(s.k * s.n, 0.25f),
        c(s.m * s.n, 0.0f);
    double flops = 2.0 * s.m * s.n * s.k;
    int reps = flops > 1e8 ? 20 : 200;
    double blas = medianSeconds(reps, [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k,
                  1.0f, a.data(), s.k, b.data(), s.n, 1.0f, c.data(), s.n);
    });
    std::printf("%-14s %7.3f (%6.1f)", s.what, blas * 1e3, flops / blas / 1e9);
    for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa) {
      if (!smq_rt_isa_supported(isa))
        continue;
      smq_rt_select_isa(smq_rt_isa_name(isa), nullptr, 0);
      double t = medianSeconds(reps, [&] {
        SmqMemRef2F32 ra{a.data(), a.data(), 0, {s.m, s.k}, {s.k, 1}};
        SmqMemRef2F32 rb{b.data(), b.data(), 0, {s.k, s.n}, {s.n, 1}};
        SmqMemRef2F32 rc{c.data(), c.data(), 0, {s.m, s.n}, {s.n, 1}};
        _mlir_ciface_smq_rt_matmul_f32(&ra, &rb, &rc);
      });
      std::printf(" %9.3f (%6.1f)", t * 1e3, flops / t / 1e9);
    }
    std::printf("   %s\n", "");
  }
  return 0;
}
