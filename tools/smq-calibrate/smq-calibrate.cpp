//===- smq-calibrate.cpp - collect H and D for every weight-bearing op ----===//
//
//   smq-calibrate model (--text calib.txt --byte-tokens | --tokens ids.npy)
//                 [--seq-len 128] [--num-seqs 64] [--seed S]
//                 [--stats full|diag|windows] [--holdout N] -o model.stats
//                 [--quiet]
//                 [--threads N]
//
// Runs the model on each calibration sequence and on its neighbour (one
// token, at a seeded random position, replaced by a token drawn from the
// calibration unigram distribution) and accumulates, per weight-bearing op,
// H = Σ x xᵀ and D = Σ δ δᵀ in double precision (see
// ../shared/docs/SMOOTHNESS.md). Prints per-sequence progress with an ETA
// on stderr unless --quiet. Every N-th sequence (--holdout, default 8) is
// held out: its share of H and D is kept apart and its tokens are stored,
// so that lambda=auto can score candidate quantizations on sequences their
// statistics never saw. `--stats windows` runs nothing and keeps only the
// windows, their seed and the hold-out: all that sequential quantization
// needs, for models whose one-shot statistics would not fit (a K×K double
// matrix per weight, two with D).
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "TokenData.h"
#include "ToolDiagnostics.h"

#include "smq/Execution/Calibration.h"
#include "smq/Quant/Statistics.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/Progress.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

using namespace llvm;

static cl::OptionCategory category("smq-calibrate options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model>"), cl::cat(category));
static smq::tools::TokenOptions tokenOptions(category);
static cl::opt<int64_t> numSeqs("num-seqs",
                                cl::desc("Calibration sequences to use"),
                                cl::init(64), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the neighbours"),
                              cl::init(0), cl::cat(category));
// LLVM owns a global `-stats` flag; `--stats full|diag` is rewritten to
// this option before parsing (see main).
static cl::opt<std::string> statsMode(
    "statistics-mode",
    cl::desc("--stats full: K×K statistics; --stats diag: diagonals only; "
             "--stats windows: the calibration windows only, for "
             "sequential quantization"),
    cl::init("full"), cl::cat(category));
static cl::opt<int64_t> holdout(
    "holdout",
    cl::desc("Hold out every N-th sequence for lambda=auto (0: none)"),
    cl::init(8), cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::desc("Statistics file"),
                                       cl::value_desc("file"), cl::Required,
                                       cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No progress on stderr"),
                           cl::cat(category));


int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  smq::tools::MaxMemoryOption maxMemory(category);
  cl::HideUnrelatedOptions(category);
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "--stats" || args[i] == "-stats") && i + 1 < args.size())
      args[i] = "--statistics-mode";
    else if (llvm::StringRef(args[i]).starts_with("--stats="))
      args[i] = "--statistics-mode=" + args[i].substr(8);
  }
  std::vector<const char *> argvRewritten;
  for (const std::string &a : args)
    argvRewritten.push_back(a.c_str());
  cl::ParseCommandLineOptions(static_cast<int>(argvRewritten.size()),
                              argvRewritten.data(), "SMQ calibration\n");
  std::string isaError = smq::tools::applyCpuIsaFromEnv();
  if (!isaError.empty()) {
    errs() << "smq-calibrate: " << isaError << "\n";
    return 1;
  }
  if (!maxMemory.check("smq-calibrate"))
    return 2;
  if (statsMode != "full" && statsMode != "diag" && statsMode != "windows") {
    errs() << "smq-calibrate: --stats must be full, diag or windows\n";
    return 2;
  }
  int64_t seqLen = tokenOptions.seqLen;
  if (seqLen < 1 || numSeqs < 1) {
    errs() << "smq-calibrate: --seq-len and --num-seqs must be positive\n";
    return 2;
  }
  if (holdout < 0 || holdout == 1) {
    errs() << "smq-calibrate: --holdout must be 0 (none) or at least 2\n";
    return 2;
  }
  smq::tools::TokenSource source = tokenOptions.source();
  source.maxWindows = numSeqs;
  auto windows = smq::tools::loadTokenWindows(source);
  if (!windows)
    return 1;
  if (static_cast<int64_t>(windows->size()) < numSeqs && !quiet)
    errs() << "smq-calibrate: only " << windows->size()
           << " sequences available\n";

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = smq::tools::loadTokenModel(modelPath, context, seqLen);
  if (!module)
    return 1;
  smq_rt_set_num_threads(threads.get());
  mlir::smq::CalibrationOptions options;
  options.seed = seed;
  options.diagonal = statsMode == "diag";
  options.windowsOnly = statsMode == "windows";
  options.holdout = holdout;
  options.maxMemoryBytes = maxMemory.bytes();
  ::smq::StderrProgress stderrProgress;
  if (!quiet)
    options.progress = &stderrProgress;
  std::string failure;
  auto calibrated = mlir::smq::calibrate(*module, *windows, options, &failure);
  if (mlir::failed(calibrated)) {
    if (!failure.empty())
      errs() << modelPath << ": error: " << failure << "\n";
    return 1;
  }
  smq::quant::StatisticsFile &stats = *calibrated;
  size_t n = windows->size();

  stats.provenance = "model=" + modelPath.getValue() +
                     " data=" +
                     (tokenOptions.text.empty() ? tokenOptions.tokens
                                                : tokenOptions.text) +
                     " seq-len=" + std::to_string(seqLen) +
                     " num-seqs=" + std::to_string(n) +
                     " seed=" + std::to_string(seed) + " stats=" + statsMode +
                     " holdout=" + std::to_string(holdout);
  std::string why;
  if (!smq::quant::writeStatistics(outputPath, stats, &why)) {
    errs() << "smq-calibrate: " << why << "\n";
    return 1;
  }
  if (!quiet)
    errs() << "calibrate: wrote " << stats.layers.size() << " layers ("
           << stats.heldOutSequences() << " of " << n
           << " sequences held out) to " << outputPath << "\n";
  return 0;
}
