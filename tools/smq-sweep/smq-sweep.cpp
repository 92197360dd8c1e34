//===- smq-sweep.cpp - quantize and evaluate over bits x methods x lambda -===//
//
//   smq-sweep model.onnx (--calib-text F --eval-text F --byte-tokens |
//                         --calib-tokens F.npy --eval-tokens F.npy)
//             [--bits 4,3,2] [--methods rtn,wmse,search,gptq]
//             [--lambdas 0,auto] [--group-size 64] [--seq-len 128]
//             [--num-seqs 64] [--max-tokens N] [-j N]
//             [--json sweep.json] [--svg sweep.svg] [--work-dir DIR]
//
// One command for the study of ../shared/docs/SMOOTHNESS.md on a model:
// imports it once, calibrates it once (smq-calibrate), measures the float
// model (smq-eval), then for every bit width, method and λ quantizes it
// (smq-opt --smq-quantize-weights) and measures the result. rtn and wmse
// take no λ, so they run once per bit width. The stages run as child
// processes, -j at a time, each with its log; a stage that fails stops the
// sweep with its log on stderr and nothing written. Progress, one line per
// finished stage with an ETA, goes to stderr unless --quiet.
//
// Writes JSON (every measure and its ratio to the float model, the λ that
// `auto` picked, how much of the fitting-only perplexity gap each λ
// recovered, the time of each stage) and an SVG figure: perplexity,
// smoothness-proxy ratio, effective-candidate ratio and breadth ratio
// against bits, one line per method and λ.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "Sweep.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("smq-sweep options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model>"), cl::cat(category));
static cl::opt<std::string> calibText("calib-text",
                                      cl::desc("Calibration text"),
                                      cl::value_desc("file"),
                                      cl::cat(category));
static cl::opt<std::string> calibTokens(
    "calib-tokens", cl::desc("Calibration token ids (int64 .npy [N, T])"),
    cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<std::string> evalText("eval-text",
                                     cl::desc("Evaluation text"),
                                     cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> evalTokens(
    "eval-tokens", cl::desc("Evaluation token ids (int64 .npy [N, T])"),
    cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<bool> byteTokens("byte-tokens",
                                cl::desc("Tokens are the texts' bytes"),
                                cl::cat(category));
static cl::opt<int64_t> seqLen("seq-len", cl::desc("Window length"),
                               cl::init(128), cl::cat(category));
static cl::opt<int64_t> numSeqs("num-seqs",
                                cl::desc("Calibration sequences"),
                                cl::init(64), cl::cat(category));
static cl::opt<int64_t> holdout(
    "holdout", cl::desc("Hold out every N-th calibration sequence for "
                        "lambda=auto (smq-calibrate --holdout)"),
    cl::init(8), cl::cat(category));
static cl::opt<int64_t> maxTokens(
    "max-tokens", cl::desc("Evaluate on at most the first N tokens (0: all)"),
    cl::init(0), cl::cat(category));
static cl::opt<std::string>
    bitsList("bits",
             cl::desc("Bit widths (an average such as 2.5: mixed precision, "
                      "with search and gptq)"),
             cl::init("4,3,2"), cl::cat(category));
static cl::opt<std::string> methodsList(
    "methods", cl::desc("Methods: rtn, wmse, search, gptq"),
    cl::init("rtn,wmse,search,gptq"), cl::cat(category));
static cl::opt<std::string> lambdasList(
    "lambdas",
    cl::desc("λ values for search and gptq: numbers, or auto (chosen on "
             "held-out sequences)"),
    cl::init("0,auto"), cl::cat(category));
static cl::opt<std::string> lambdaGrid(
    "lambda-grid", cl::desc("The λ values lambda=auto tries"),
    cl::init("0,0.25,0.5,1"), cl::cat(category));
static cl::opt<int64_t> groupSize("group-size",
                                  cl::desc("Inputs per quantization group"),
                                  cl::init(64), cl::cat(category));
static cl::opt<int> smoothnessDirs(
    "smoothness-dirs", cl::desc("smq-eval --smoothness-dirs"), cl::init(32),
    cl::cat(category));
static cl::opt<double> epsilon("epsilon", cl::desc("smq-eval --epsilon"),
                               cl::init(1e-3), cl::cat(category));
static cl::opt<int> neighbours("neighbours", cl::desc("smq-eval --neighbours"),
                               cl::init(4), cl::cat(category));
static cl::opt<int64_t> measureWindows(
    "measure-windows", cl::desc("smq-eval --measure-windows"), cl::init(32),
    cl::cat(category));
static cl::opt<uint64_t> seed(
    "seed", cl::desc("Seed of calibration neighbours and of the measures"),
    cl::init(0), cl::cat(category));
static cl::opt<unsigned> jobs("j",
                              cl::desc("Stages run at once (0: one per core)"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string> jsonPath("json", cl::desc("Write the results here"),
                                     cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> svgPath("svg", cl::desc("Write the figure here"),
                                    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> workDir(
    "work-dir",
    cl::desc("Keep the intermediate files and logs here (default: a "
             "temporary folder, removed at the end)"),
    cl::value_desc("dir"), cl::cat(category));
static cl::opt<bool> keepModels(
    "keep-models",
    cl::desc("With --work-dir, keep each quantized model (.mlirbc)"),
    cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No progress on stderr"),
                           cl::cat(category));
static cl::opt<int64_t> generate(
    "generate",
    cl::desc("Also measure greedy generation against the float model on N "
             "prompts of the eval data (a decoder with a KV cache)"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t> generateTokens(
    "generate-tokens", cl::desc("Tokens generated per prompt (--generate)"),
    cl::init(32), cl::cat(category));
static cl::opt<int64_t> generatePromptLen(
    "generate-prompt-len", cl::desc("Tokens per prompt (--generate)"),
    cl::init(32), cl::cat(category));

namespace {

bool splitList(StringRef list, StringRef what,
               SmallVectorImpl<std::string> &out) {
  for (StringRef item : split(list, ',')) {
    item = item.trim();
    if (item.empty()) {
      errs() << "smq-sweep: error: --" << what << " has an empty item: '"
             << list << "'\n";
      return false;
    }
    if (llvm::is_contained(out, item.str())) {
      errs() << "smq-sweep: error: --" << what << " lists '" << item
             << "' twice\n";
      return false;
    }
    out.push_back(item.str());
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "SMQ sweep: quantize and evaluate a model over "
                              "bit widths, methods and λ\n");
  smq::sweep::Config c;
  c.model = modelPath;
  c.calibText = calibText;
  c.calibTokens = calibTokens;
  c.evalText = evalText;
  c.evalTokens = evalTokens;
  c.byteTokens = byteTokens;
  c.seqLen = seqLen;
  c.numSeqs = numSeqs;
  c.holdout = holdout;
  c.maxTokens = maxTokens;
  c.groupSize = groupSize;
  c.lambdaGrid = lambdaGrid;
  c.smoothnessDirs = smoothnessDirs;
  c.smoothnessDirsGiven = smoothnessDirs.getNumOccurrences() > 0;
  c.epsilon = epsilon;
  c.neighbours = neighbours;
  c.measureWindows = measureWindows;
  c.seed = seed;
  c.jobs = jobs;
  c.threads = threads.get();
  c.jsonPath = jsonPath;
  c.svgPath = svgPath;
  c.workDir = workDir;
  c.keepModels = keepModels;
  c.quiet = quiet;
  c.generate = generate;
  c.generateTokens = generateTokens;
  c.generatePromptLen = generatePromptLen;
  SmallVector<std::string> bitsItems, methods, lambdas;
  if (!splitList(bitsList, "bits", bitsItems) ||
      !splitList(methodsList, "methods", methods) ||
      !splitList(lambdasList, "lambdas", lambdas))
    return 2;
  for (const std::string &b : bitsItems) {
    double v;
    if (!to_float(b, v)) {
      errs() << "smq-sweep: error: --bits: '" << b
             << "' is not 2, 3, 4 or 8, or an average between 2 and 4 "
                "(mixed precision)\n";
      return 2;
    }
    c.bits.push_back(v);
  }
  c.methods.assign(methods.begin(), methods.end());
  c.lambdas.assign(lambdas.begin(), lambdas.end());
  return smq::sweep::runSweep(
      c, sys::fs::getMainExecutable(argv[0], (void *)&main));
}
