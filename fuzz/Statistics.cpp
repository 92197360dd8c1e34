//===- Statistics.cpp - libFuzzer target: calibration statistics files ----===//
#include "FuzzInput.h"

#include "smq/Quant/Statistics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  smq::fuzz::MemoryFile file(data, size);
  std::string why;
  auto stats = smq::quant::readStatistics(file.name(), &why);
  if (!stats)
    return 0;
  // What reads back must be whole: every matrix of its declared size.
  for (const auto &[key, s] : stats->layers) {
    size_t n = s.diagonalOnly ? s.k : s.k * s.k;
    if (s.h.size() != n || s.d.size() != n ||
        (!s.heldOutH.empty() && s.heldOutH.size() != n))
      __builtin_trap();
    (void)s.fullH();
  }
  return 0;
}
