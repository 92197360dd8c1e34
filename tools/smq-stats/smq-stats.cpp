//===- smq-stats.cpp - summarise a calibration statistics file ------------===//
//
//   smq-stats model.stats [--diagonal N]
//
// Prints the provenance and, per layer, K, the mode, the positions
// accumulated, and the traces of H and D (with --diagonal N, also the first
// N diagonal entries of each).
//
//===----------------------------------------------------------------------===//

#include "smq/Quant/Statistics.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::opt<std::string> path(cl::Positional, cl::Required,
                                 cl::desc("<statistics file>"));
static cl::opt<int> diagonal("diagonal",
                             cl::desc("Print the first N diagonal entries"),
                             cl::init(0));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "SMQ statistics summary\n");
  std::string why;
  auto stats = smq::quant::readStatistics(path, &why);
  if (!stats) {
    errs() << "smq-stats: error: " << why << "\n";
    return 1;
  }
  outs() << "provenance: " << stats->provenance << "\n";
  outs() << "held-out sequences: " << stats->heldOutSequences() << " of "
         << stats->heldOutLength << " tokens\n";
  outs() << "calibration windows: " << stats->windows() << " of "
         << stats->windowLength << " tokens (seed " << stats->seed
         << ", holdout " << stats->holdout << ")\n";
  outs() << "layers: " << stats->layers.size() << "\n";
  for (const auto &[key, s] : stats->layers) {
    double th = 0, td = 0;
    for (int64_t i = 0; i < s.k; ++i) {
      th += s.diagonalOnly ? s.h[i] : s.h[i * s.k + i];
      td += s.diagonalOnly ? s.d[i] : s.d[i * s.k + i];
    }
    outs() << format("%s K=%lld %s positions=%lld (held out %lld) "
                     "trace(H)=%.6g trace(D)=%.6g",
                     key.c_str(), (long long)s.k, s.diagonalOnly ? "diag" : "full",
                     (long long)s.positions, (long long)s.heldOutPositions,
                     th, td);
    for (int i = 0; i < diagonal && i < s.k; ++i)
      outs() << format(" H%d=%.6g", i, s.diagonalOnly ? s.h[i] : s.h[i * s.k + i]);
    for (int i = 0; i < diagonal && i < s.k; ++i)
      outs() << format(" D%d=%.6g", i, s.diagonalOnly ? s.d[i] : s.d[i * s.k + i]);
    outs() << "\n";
  }
  return 0;
}
