//===- smq-eval.cpp - perplexity and agreement of a language model --------===//
//
//   smq-eval model.{onnx,mlir} (--text FILE --byte-tokens | --tokens IDS.npy)
//            [--seq-len 128] [--max-tokens N] [--reference OTHER]
//            [--json OUT.json] [--threads N]
//
// Splits the tokens into non-overlapping windows of --seq-len and scores the
// prediction of every token but the first of each window from the tokens
// before it. Prints perplexity (exp of the mean next-token NLL) and, with
// --reference, KL(reference || model) and top-1 agreement.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "TokenData.h"
#include "ToolDiagnostics.h"

#include "smq/Eval/Metrics.h"
#include "smq/Execution/CompiledModel.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/AtomicFile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

using namespace llvm;

static cl::OptionCategory category("smq-eval options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model>"), cl::cat(category));
static smq::tools::TokenOptions tokenOptions(category);
static cl::opt<int64_t> maxTokens("max-tokens",
                                  cl::desc("Score at most the first N tokens"),
                                  cl::init(0), cl::cat(category));
static cl::opt<std::string> referencePath(
    "reference", cl::desc("A model to compare with (KL, top-1 agreement)"),
    cl::value_desc("model"), cl::cat(category));
static cl::opt<std::string> jsonPath("json", cl::desc("Write results as JSON"),
                                     cl::value_desc("file"), cl::cat(category));

namespace {

/// A compiled model that maps [1, T] int64 tokens to [1, T, V] logits.
struct Scorer {
  std::unique_ptr<mlir::smq::CompiledModel> model;
  int64_t vocab = 0;

  bool load(const std::string &path, mlir::MLIRContext &context) {
    int64_t seqLen = tokenOptions.seqLen;
    auto module = smq::tools::loadTokenModel(path, context, seqLen);
    if (!module)
      return false;
    model = mlir::smq::CompiledModel::compile(*module, {});
    if (!model)
      return false;
    if (model->inputs().size() != 1 ||
        model->inputs()[0].dtype != smq::DType::I64 ||
        model->inputs()[0].shape !=
            std::vector<int64_t>{1, seqLen}) {
      errs() << path << ": error: expected one int64 input of shape [1, "
             << seqLen << "]\n";
      return false;
    }
    const auto &out = model->outputs()[0];
    if (out.dtype != smq::DType::F32 || out.shape.size() != 3 ||
        out.shape[1] != seqLen) {
      errs() << path << ": error: expected float32 logits of shape [1, "
             << seqLen << ", V] as the first output\n";
      return false;
    }
    vocab = out.shape[2];
    return true;
  }

  bool logits(const smq::HostArray &tokens, smq::HostArray &out) {
    std::vector<smq::HostArray> outputs;
    std::string why;
    if (!model->run({&tokens}, outputs, &why)) {
      errs() << "smq-eval: " << why << "\n";
      return false;
    }
    out = std::move(outputs[0]);
    return true;
  }
};

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ language-model evaluation\n");
  int64_t seqLen = tokenOptions.seqLen;
  if (seqLen < 2) {
    errs() << "smq-eval: --seq-len must be at least 2\n";
    return 2;
  }
  smq::tools::TokenSource source = tokenOptions.source();
  source.maxTokens = maxTokens;
  auto windows = smq::tools::loadTokenWindows(source);
  if (!windows)
    return 1;

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  Scorer model, reference;
  if (!model.load(modelPath, context))
    return 1;
  bool withReference = !referencePath.empty();
  if (withReference) {
    if (!reference.load(referencePath, context))
      return 1;
    if (reference.vocab != model.vocab) {
      errs() << "smq-eval: the reference has " << reference.vocab
             << " tokens, the model " << model.vocab << "\n";
      return 1;
    }
  }
  smq_rt_set_num_threads(threads.get());

  smq::eval::LanguageModelStats stats;
  smq::HostArray tokens;
  tokens.dtype = smq::DType::I64;
  tokens.shape = {1, seqLen};
  tokens.bytes.resize(seqLen * 8);
  auto start = std::chrono::steady_clock::now();
  for (const auto &w : *windows) {
    for (int64_t i : w)
      if (i < 0 || i >= model.vocab) {
        errs() << "smq-eval: token " << i << " is outside the vocabulary\n";
        return 1;
      }
    std::memcpy(tokens.bytes.data(), w.data(), seqLen * 8);
    smq::HostArray logits, refLogits;
    if (!model.logits(tokens, logits) ||
        (withReference && !reference.logits(tokens, refLogits)))
      return 1;
    for (int64_t t = 0; t + 1 < seqLen; ++t)
      stats.add(logits.data<float>() + t * model.vocab, model.vocab, w[t + 1],
                withReference ? refLogits.data<float>() + t * model.vocab
                              : nullptr);
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();

  outs() << "model:        " << modelPath << "\n";
  outs() << format("windows:      %zu x %lld tokens (%lld predictions)\n",
                   windows->size(), (long long)seqLen,
                   (long long)stats.positions());
  outs() << format("mean NLL:     %.6f nats/token\n", stats.meanNll());
  outs() << format("perplexity:   %.4f\n", stats.perplexity());
  if (withReference) {
    outs() << "reference:    " << referencePath << "\n";
    outs() << format("KL(ref||model): %.6f nats/token\n", stats.meanKl());
    outs() << format("top-1 agreement: %.4f\n", stats.top1Agreement());
  }
  outs() << format("time:         %.2f s\n", seconds);

  if (!jsonPath.empty()) {
    std::string json = "{\n";
    json += "  \"model\": " + jsonString(modelPath) + ",\n";
    json += "  \"windows\": " + std::to_string(windows->size()) + ",\n";
    json += "  \"seq_len\": " + std::to_string(seqLen) + ",\n";
    json += "  \"predictions\": " + std::to_string(stats.positions()) + ",\n";
    json += formatv("  \"mean_nll\": {0:f8},\n", stats.meanNll()).str();
    json += formatv("  \"perplexity\": {0:f6}", stats.perplexity()).str();
    if (withReference) {
      json += ",\n  \"reference\": " + jsonString(referencePath) + ",\n";
      json += formatv("  \"kl\": {0:f8},\n", stats.meanKl()).str();
      json += formatv("  \"top1_agreement\": {0:f6}", stats.top1Agreement())
                  .str();
    }
    json += "\n}\n";
    std::string why;
    if (!smq::writeFileAtomically(
            jsonPath, [&](std::ostream &os) { return bool(os << json); },
            &why)) {
      errs() << "smq-eval: " << why << "\n";
      return 1;
    }
  }
  return 0;
}
