//===- Dispatch.cpp - choose the kernels' instruction-set level -----------===//
//
// The level is chosen once, from CPUID (through the compiler's
// __builtin_cpu_supports, which also checks that the OS saves the wider
// registers), or forced by SMQ_CPU_ISA so that tests and benchmarks reach
// every path on one machine.
//
//===----------------------------------------------------------------------===//
#include "Kernels.h"

#include "smq/Runtime/Runtime.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace smq::rt {
namespace {

const char *const kNames[SMQ_ISA_COUNT] = {"baseline", "avx2", "avxvnni",
                                           "avx512", "avx512vnni"};

/// What each level needs beyond the one it builds on, as
/// __builtin_cpu_supports names them.
std::string missingFeatures(int isa) {
  __builtin_cpu_init();
  std::string missing;
  auto need = [&](bool have, const char *name) {
    if (!have)
      missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  if (isa == SMQ_ISA_BASELINE)
    return missing;
  need(__builtin_cpu_supports("avx2"), "avx2");
  need(__builtin_cpu_supports("fma"), "fma");
  need(__builtin_cpu_supports("bmi2"), "bmi2");
  need(__builtin_cpu_supports("x86-64-v3"), "x86-64-v3");
  if (isa == SMQ_ISA_AVXVNNI)
    need(__builtin_cpu_supports("avxvnni"), "avxvnni");
  if (isa >= SMQ_ISA_AVX512) {
    need(__builtin_cpu_supports("avx512f"), "avx512f");
    need(__builtin_cpu_supports("avx512bw"), "avx512bw");
    need(__builtin_cpu_supports("avx512vl"), "avx512vl");
    need(__builtin_cpu_supports("avx512dq"), "avx512dq");
    need(__builtin_cpu_supports("x86-64-v4"), "x86-64-v4");
  }
  if (isa == SMQ_ISA_AVX512VNNI)
    need(__builtin_cpu_supports("avx512vnni"), "avx512vnni");
  return missing;
}

/// The best level this CPU runs, preferring AVX-512-VNNI, AVX-512, AVX-VNNI,
/// AVX2, baseline in that order.
int bestIsa() {
  for (int isa : {SMQ_ISA_AVX512VNNI, SMQ_ISA_AVX512, SMQ_ISA_AVXVNNI,
                  SMQ_ISA_AVX2})
    if (missingFeatures(isa).empty())
      return isa;
  return SMQ_ISA_BASELINE;
}

const KernelTable *const kTables[SMQ_ISA_COUNT] = {
    &kBaselineKernels, &kAvx2Kernels, &kAvxVnniKernels, &kAvx512Kernels,
    &kAvx512VnniKernels};

std::atomic<int> current{-1};

void setError(char *err, size_t errLen, const std::string &text) {
  if (err && errLen)
    std::snprintf(err, errLen, "%s", text.c_str());
}

/// Parses a level name; -1 if unknown.
int parseIsa(const char *name) {
  if (std::strcmp(name, "best") == 0)
    return bestIsa();
  for (int i = 0; i < SMQ_ISA_COUNT; ++i)
    if (std::strcmp(name, kNames[i]) == 0)
      return i;
  return -1;
}

int select(const char *name, char *err, size_t errLen) {
  int isa = parseIsa(name);
  if (isa < 0) {
    setError(err, errLen,
             std::string("unknown CPU level '") + name +
                 "' (expected best, baseline, avx2, avxvnni, avx512 or "
                 "avx512vnni)");
    return -1;
  }
  std::string missing = missingFeatures(isa);
  if (!missing.empty()) {
    setError(err, errLen,
             std::string("this CPU cannot run the ") + kNames[isa] +
                 " kernels: it lacks " + missing);
    return -1;
  }
  current.store(isa);
  return 0;
}

int currentIsa() {
  int isa = current.load();
  if (isa >= 0)
    return isa;
  // First use without a tool having applied SMQ_CPU_ISA: apply it now. A
  // library has no channel for the error, so it warns and runs the best.
  char err[256];
  if (smq_rt_select_isa_from_env(err, sizeof err) != 0) {
    int best = bestIsa();
    std::fprintf(stderr, "smq runtime: %s; using %s\n", err, kNames[best]);
    current.store(best);
  }
  return current.load();
}

} // namespace

const KernelTable &kernels() { return *kTables[currentIsa()]; }

} // namespace smq::rt

extern "C" int smq_rt_cpu_isa(void) { return smq::rt::currentIsa(); }

extern "C" const char *smq_rt_isa_name(int isa) {
  return isa >= 0 && isa < SMQ_ISA_COUNT ? smq::rt::kNames[isa] : "unknown";
}

extern "C" int smq_rt_isa_supported(int isa) {
  return isa >= 0 && isa < SMQ_ISA_COUNT &&
         smq::rt::missingFeatures(isa).empty();
}

extern "C" int smq_rt_select_isa(const char *name, char *err, size_t errLen) {
  if (!name) {
    smq::rt::setError(err, errLen, "no CPU level named");
    return -1;
  }
  return smq::rt::select(name, err, errLen);
}

extern "C" int smq_rt_select_isa_from_env(char *err, size_t errLen) {
  const char *name = std::getenv("SMQ_CPU_ISA");
  if (!name || !*name)
    name = "best";
  if (smq::rt::select(name, err, errLen) == 0)
    return 0;
  std::string why = err ? err : "";
  smq::rt::setError(err, errLen, std::string("SMQ_CPU_ISA=") + name + ": " + why);
  return -1;
}
