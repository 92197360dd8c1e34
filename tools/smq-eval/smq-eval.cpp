//===- smq-eval.cpp - perplexity and agreement of a language model --------===//
//
//   smq-eval model.{onnx,mlir} (--text FILE --byte-tokens | --tokens IDS.npy)
//            [--seq-len 128] [--max-tokens N] [--reference OTHER]
//            [--smoothness-dirs R] [--epsilon E] [--neighbours R]
//            [--measure-windows N] [--seed S] [--json OUT.json] [--threads N]
//   smq-eval kv-model --reference kv-float (--text F --byte-tokens | --tokens
//            IDS.npy) --seq-len P --generate N [--generate-tokens M]
//            [--generate-top-k K]
//
// Splits the tokens into non-overlapping windows of --seq-len and scores the
// prediction of every token but the first of each window from the tokens
// before it. Prints perplexity (exp of the mean next-token NLL), the
// effective candidates, and, on the first --measure-windows windows, the
// neighbourhood breadth and the smoothness proxy of
// ../shared/docs/SMOOTHNESS.md; with --reference, KL(reference || model),
// top-1 agreement and every measure's ratio to the reference's.
//
// With --generate, both models are decoders with a KV cache instead: each of
// N prompts is continued greedily along the reference's path, and the tool
// reports the tokens until the model's greedy choice first differs, the
// share of steps it agrees, and the share of the reference's top-k
// continuations it keeps (smq::eval::GreedyAgreement).
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "TokenData.h"
#include "ToolDiagnostics.h"

#include "smq/Eval/Metrics.h"
#include "smq/Eval/Sampling.h"
#include "smq/Execution/CompiledModel.h"
#include "smq/Execution/Generation.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/AtomicFile.h"
#include "smq/Support/Random.h"
#include "smq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
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
static cl::opt<int> smoothnessDirs(
    "smoothness-dirs",
    cl::desc("Random directions per window for the smoothness proxy (0: "
             "skip it)"),
    cl::init(32), cl::cat(category));
static cl::opt<double> epsilon(
    "epsilon", cl::desc("Step of the proxy's central differences"),
    cl::init(1e-3), cl::cat(category));
static cl::opt<int> neighbours(
    "neighbours",
    cl::desc("Neighbour contexts per window for the breadth (0: skip it)"),
    cl::init(4), cl::cat(category));
static cl::opt<int64_t> measureWindows(
    "measure-windows",
    cl::desc("Windows the proxy and the breadth are measured on (0: all)"),
    cl::init(32), cl::cat(category));
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of directions and neighbours"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string> jsonPath("json", cl::desc("Write results as JSON"),
                                     cl::value_desc("file"), cl::cat(category));
static cl::opt<int64_t> generatePrompts(
    "generate",
    cl::desc("Generation measures instead: N prompts (the first N windows of "
             "--seq-len tokens), greedy, both models decoders with a KV cache; "
             "needs --reference"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t> generateTokens(
    "generate-tokens", cl::desc("Tokens generated per prompt (--generate)"),
    cl::init(32), cl::cat(category));
static cl::opt<int64_t> generateTopK(
    "generate-top-k",
    cl::desc("k of the reference's top-k continuations kept (--generate)"),
    cl::init(5), cl::cat(category));

namespace {

/// How the tool compiles models (--quantized-activations).
mlir::smq::CompileOptions compileOptions;

/// A compiled model that maps [1, T] int64 tokens to [1, T, V] logits, and
/// (for the smoothness proxy) a second one that takes the token embeddings
/// as well, with the embedding table to compute them.

struct Scorer {
  std::unique_ptr<mlir::smq::CompiledModel> model, perturbable;
  const float *table = nullptr;
  int64_t vocab = 0, width = 0;
  std::string noEmbedding;

  bool load(const std::string &path, mlir::MLIRContext &context) {
    int64_t seqLen = tokenOptions.seqLen;
    auto module = smq::tools::loadTokenModel(path, context, seqLen);
    if (!module)
      return false;
    if (smoothnessDirs > 0 && !splitAtEmbedding(module->clone(), context))
      return false;
    model = mlir::smq::CompiledModel::compile(*module, compileOptions);
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

  /// Compiles `module` with its token embedding as an input. A model whose
  /// embedding cannot be found gets no proxy (`noEmbedding` says why).
  bool splitAtEmbedding(mlir::ModuleOp module, mlir::MLIRContext &context) {
    mlir::OwningOpRef<mlir::ModuleOp> owned(module);
    {
      std::string message;
      mlir::ScopedDiagnosticHandler capture(&context, [&](mlir::Diagnostic &d) {
        message = d.str();
        return mlir::success();
      });
      mlir::PassManager pm(&context);
      pm.addPass(mlir::smq::createSmqEmbeddingAsInput());
      if (failed(pm.run(module))) {
        noEmbedding = message;
        return true;
      }
    }
    auto func = *module.getOps<mlir::func::FuncOp>().begin();
    auto key = func->getAttrOfType<mlir::StringAttr>("smq.embedding_table");
    auto *entry = mlir::DenseResourceElementsHandle::getManagerInterface(
                      &context)
                      .getBlobManager()
                      .lookup(key.getValue());
    if (!entry || !entry->getBlob()) {
      noEmbedding = "the embedding table has no data";
      return true;
    }
    table = reinterpret_cast<const float *>(entry->getBlob()->getData().data());
    perturbable = mlir::smq::CompiledModel::compile(module, compileOptions);
    if (!perturbable)
      return false;
    const auto &inputs = perturbable->inputs();
    width = inputs.back().shape.back();
    return true;
  }

  /// The mean next-token NLL of a window whose embeddings are `emb`.
  bool loss(const smq::HostArray &tokens, const smq::HostArray &emb,
            const std::vector<int64_t> &w, double &out) {
    std::vector<smq::HostArray> outputs;
    std::string why;
    if (!perturbable->run({&tokens, &emb}, outputs, &why)) {
      errs() << "smq-eval: " << why << "\n";
      return false;
    }
    smq::eval::LanguageModelStats s;
    for (size_t t = 0; t + 1 < w.size(); ++t)
      s.add(outputs[0].data<float>() + t * vocab, vocab, w[t + 1]);
    out = s.meanNll();
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

/// The measures beyond perplexity, for one model.
struct Measures {
  smq::eval::CandidateStats candidates;
  double breadth = 0;
  int64_t breadthPositions = 0;
  /// KL(p(·|c) ‖ p(·|c′)) summed over the predictions after each
  /// neighbour's swapped token, and their count.
  double swapKl = 0;
  int64_t swapPositions = 0;
  smq::eval::GradientNormEstimate proxyWindow;
  double proxy = 0;
  int64_t proxyWindows = 0;
};

smq::HostArray tokenArray(const std::vector<int64_t> &w) {
  smq::HostArray a;
  a.dtype = smq::DType::I64;
  a.shape = {1, static_cast<int64_t>(w.size())};
  a.bytes.resize(w.size() * 8);
  std::memcpy(a.bytes.data(), w.data(), w.size() * 8);
  return a;
}

/// Mean size over positions of the union of the top-5 tokens of the window
/// and of each neighbour at that position; and the swap KL: at every
/// prediction from the swapped token on (the ones whose context differs),
/// KL(p(·|window) ‖ p(·|neighbour)).
bool measureBreadth(Scorer &scorer, const std::vector<int64_t> &w,
                    const smq::HostArray &logits,
                    const std::vector<std::vector<int64_t>> &near,
                    Measures &m) {
  int64_t t1 = static_cast<int64_t>(w.size()) - 1, v = scorer.vocab;
  std::vector<std::vector<int64_t>> sets(t1);
  for (int64_t t = 0; t < t1; ++t)
    sets[t] = smq::eval::topK(logits.data<float>() + t * v, v, 5);
  for (const auto &n : near) {
    smq::HostArray nl;
    if (!scorer.logits(tokenArray(n), nl))
      return false;
    for (int64_t t = 0; t < t1; ++t)
      for (int64_t k : smq::eval::topK(nl.data<float>() + t * v, v, 5))
        if (std::find(sets[t].begin(), sets[t].end(), k) == sets[t].end())
          sets[t].push_back(k);
    // The first position the neighbour differs at (none: it drew the same
    // token, and adds nothing).
    int64_t swapped = 0;
    while (swapped <= t1 && n[swapped] == w[swapped])
      ++swapped;
    for (int64_t t = swapped; t < t1; ++t) {
      m.swapKl += smq::eval::klDivergence(logits.data<float>() + t * v,
                                          nl.data<float>() + t * v, v);
      ++m.swapPositions;
    }
  }
  for (const auto &set : sets)
    m.breadth += static_cast<double>(set.size());
  m.breadthPositions += t1;
  return true;
}

/// Hutchinson over `dirs` Gaussian directions of the window's embeddings.
bool measureProxy(Scorer &scorer, const std::vector<int64_t> &w, int dirs,
                  uint64_t windowSeed, Measures &m) {
  int64_t t = static_cast<int64_t>(w.size()), d = scorer.width;
  smq::HostArray tokens = tokenArray(w), plus, minus;
  plus.dtype = minus.dtype = smq::DType::F32;
  plus.shape = minus.shape = {1, t, d};
  plus.bytes.resize(t * d * 4);
  minus.bytes.resize(t * d * 4);
  smq::SplitMix64 rng{windowSeed};
  smq::eval::GradientNormEstimate estimate;
  for (int r = 0; r < dirs; ++r) {
    for (int64_t i = 0; i < t; ++i)
      for (int64_t j = 0; j < d; ++j) {
        float e = scorer.table[w[i] * d + j];
        double v = rng.normal();
        plus.data<float>()[i * d + j] = static_cast<float>(e + epsilon * v);
        minus.data<float>()[i * d + j] = static_cast<float>(e - epsilon * v);
      }
    double lp, lm;
    if (!scorer.loss(tokens, plus, w, lp) || !scorer.loss(tokens, minus, w, lm))
      return false;
    estimate.add(lp, lm, epsilon);
  }
  m.proxy += estimate.mean();
  ++m.proxyWindows;
  return true;
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

/// --generate: loads `path` into `context` and compiles it for generation.
std::unique_ptr<mlir::smq::Generator>
loadGenerator(const std::string &path, mlir::MLIRContext &context,
              int64_t batch, int64_t contextLength) {
  auto module = smq::tools::loadModel(path, context, {});
  if (!module)
    return nullptr;
  mlir::smq::GeneratorOptions options;
  options.batch = batch;
  options.maxContext = contextLength;
  options.compile = compileOptions;
  return mlir::smq::Generator::create(*module, options);
}

/// --generate: greedy agreement of the model with the reference along the
/// reference's greedy path (smq::eval::GreedyAgreement).
int runGeneration(int threads) {
  if (referencePath.empty()) {
    errs() << "smq-eval: --generate compares with a --reference model\n";
    return 2;
  }
  if (generateTokens < 1 || generateTopK < 1) {
    errs() << "smq-eval: --generate-tokens and --generate-top-k must be at "
              "least 1\n";
    return 2;
  }
  smq::tools::TokenSource source = tokenOptions.source();
  source.maxWindows = generatePrompts;
  auto prompts = smq::tools::loadTokenWindows(source);
  if (!prompts)
    return 1;
  if (int64_t(prompts->size()) < generatePrompts) {
    errs() << "smq-eval: --generate " << generatePrompts << " needs that many "
           << "windows of " << tokenOptions.seqLen << " tokens; the data has "
           << prompts->size() << "\n";
    return 1;
  }
  int64_t rows = generatePrompts;
  int64_t contextLength = tokenOptions.seqLen + generateTokens - 1;
  // Each model in a context of its own: both may carry the same weight
  // names.
  mlir::MLIRContext modelContext, referenceContext;
  smq::tools::registerCompilerDialects(modelContext);
  smq::tools::registerCompilerDialects(referenceContext);
  smq::tools::ToolDiagnosticHandler modelDiagnostics(&modelContext),
      referenceDiagnostics(&referenceContext);
  auto model = loadGenerator(modelPath, modelContext, rows, contextLength);
  if (!model)
    return 1;
  auto reference =
      loadGenerator(referencePath, referenceContext, rows, contextLength);
  if (!reference)
    return 1;
  if (model->contract().vocab != reference->contract().vocab) {
    errs() << "smq-eval: the reference has " << reference->contract().vocab
           << " tokens, the model " << model->contract().vocab << "\n";
    return 1;
  }
  smq_rt_set_num_threads(threads);
  auto start = std::chrono::steady_clock::now();
  smq::eval::GreedyAgreement agreement(generateTopK);
  std::vector<std::vector<float>> logits, refLogits;
  std::string why;
  if (!model->prefill(*prompts, logits, &why) ||
      !reference->prefill(*prompts, refLogits, &why)) {
    errs() << "smq-eval: " << why << "\n";
    return 1;
  }
  std::vector<int64_t> next(rows);
  for (int64_t t = 0; t < generateTokens; ++t) {
    for (int64_t b = 0; b < rows; ++b) {
      int64_t v = refLogits[b].size();
      agreement.add(b, refLogits[b].data(), logits[b].data(), v);
      next[b] = smq::eval::argmax(refLogits[b].data(), v);
    }
    if (t + 1 < generateTokens &&
        (!model->step(next, logits, &why) ||
         !reference->step(next, refLogits, &why))) {
      errs() << "smq-eval: " << why << "\n";
      return 1;
    }
  }
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  outs() << "model:        " << modelPath << "\n";
  outs() << "reference:    " << referencePath << "\n";
  outs() << format("generation:   %lld prompts of %lld tokens, %lld greedy "
                   "tokens each, along the reference's path\n",
                   (long long)rows, (long long)tokenOptions.seqLen,
                   (long long)generateTokens.getValue());
  outs() << format("tokens until the first divergence: mean %.2f, min %lld; "
                   "identical: %.4f of prompts\n",
                   agreement.meanTokensToDivergence(),
                   (long long)agreement.minTokensToDivergence(),
                   agreement.identicalRate());
  outs() << format("greedy match rate: %.4f of steps\n", agreement.top1Rate());
  outs() << format("top-%lld continuations kept: %.4f\n",
                   (long long)generateTopK.getValue(), agreement.topKKept());
  outs() << format("time:         %.2f s\n", seconds);
  if (!jsonPath.empty()) {
    std::string json = "{\n";
    json += "  \"model\": " + jsonString(modelPath) + ",\n";
    json += "  \"reference\": " + jsonString(referencePath) + ",\n";
    json += formatv("  \"prompts\": {0},\n  \"prompt_tokens\": {1},\n"
                    "  \"generated_tokens\": {2},\n",
                    rows, tokenOptions.seqLen.getValue(),
                    generateTokens.getValue())
                .str();
    json += formatv("  \"mean_tokens_to_divergence\": {0:f4},\n"
                    "  \"min_tokens_to_divergence\": {1},\n"
                    "  \"identical_rate\": {2:f6},\n"
                    "  \"greedy_match_rate\": {3:f6},\n"
                    "  \"top_k\": {4},\n  \"top_k_kept\": {5:f6}\n}\n",
                    agreement.meanTokensToDivergence(),
                    agreement.minTokensToDivergence(),
                    agreement.identicalRate(), agreement.top1Rate(),
                    generateTopK.getValue(), agreement.topKKept())
                .str();
    if (!smq::writeFileAtomically(
            jsonPath, [&](std::ostream &os) { return bool(os << json); },
            &why)) {
      errs() << "smq-eval: " << why << "\n";
      return 1;
    }
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  smq::tools::KernelOptions kernelOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ language-model evaluation\n");
  if (!kernelOptions.apply("smq-eval"))
    return 1;
  compileOptions.quantizedActivations = kernelOptions.quantizedActivations();
  compileOptions.attentionKernel = kernelOptions.attentionKernel();
  compileOptions.device = kernelOptions.device();
  compileOptions.maxMemoryBytes = kernelOptions.maxMemoryBytes();
  if (generatePrompts > 0)
    return runGeneration(threads.get());
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
  if (smoothnessDirs > 0 && !model.perturbable) {
    if (smoothnessDirs.getNumOccurrences()) {
      errs() << modelPath << ": error: no smoothness proxy: "
             << model.noEmbedding << "\n";
      return 1;
    }
    errs() << modelPath << ": note: no smoothness proxy: "
           << model.noEmbedding << "\n";
  }
  if (smoothnessDirs > 0 && !(epsilon > 0)) {
    errs() << "smq-eval: --epsilon must be positive\n";
    return 2;
  }
  bool proxy = model.perturbable && (!withReference || reference.perturbable);
  smq::tools::Unigram unigram(*windows, model.vocab);

  smq::eval::LanguageModelStats stats, refStats;
  Measures measures, refMeasures;
  int64_t index = 0;
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
    for (int64_t t = 0; t + 1 < seqLen; ++t) {
      stats.add(logits.data<float>() + t * model.vocab, model.vocab, w[t + 1],
                withReference ? refLogits.data<float>() + t * model.vocab
                              : nullptr);
      measures.candidates.add(logits.data<float>() + t * model.vocab,
                              model.vocab);
      if (withReference) {
        refMeasures.candidates.add(refLogits.data<float>() + t * model.vocab,
                                   model.vocab);
        refStats.add(refLogits.data<float>() + t * model.vocab, model.vocab,
                     w[t + 1], nullptr);
      }
    }
    // Both models see the same neighbours and directions.
    if (measureWindows == 0 || index < measureWindows) {
      uint64_t windowSeed = seed * 0x100000001b3ULL + index;
      if (neighbours > 0) {
        smq::SplitMix64 rng{windowSeed ^ 0x6e656967ULL};
        std::vector<std::vector<int64_t>> near;
        for (int i = 0; i < neighbours; ++i)
          near.push_back(unigram.neighbour(w, rng));
        if (!measureBreadth(model, w, logits, near, measures) ||
            (withReference &&
             !measureBreadth(reference, w, refLogits, near, refMeasures)))
          return 1;
      }
      if (proxy && (!measureProxy(model, w, smoothnessDirs, windowSeed,
                                  measures) ||
                    (withReference && !measureProxy(reference, w,
                                                    smoothnessDirs, windowSeed,
                                                    refMeasures))))
        return 1;
    }
    ++index;
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
    outs() << format("reference perplexity: %.4f\n", refStats.perplexity());
    outs() << format("KL(ref||model): %.6f nats/token\n", stats.meanKl());
    outs() << format("top-1 agreement: %.4f\n", stats.top1Agreement());
  }
  auto breadthOf = [](const Measures &m) {
    return m.breadthPositions ? m.breadth / m.breadthPositions : 0.0;
  };
  auto swapKlOf = [](const Measures &m) {
    return m.swapPositions ? m.swapKl / m.swapPositions : 0.0;
  };
  auto proxyOf = [](const Measures &m) {
    return m.proxyWindows ? m.proxy / m.proxyWindows : 0.0;
  };
  auto ratio = [](double a, double b) { return b != 0 ? a / b : 0.0; };
  outs() << format("effective candidates: exp(entropy) %.4f, p>=0.01 %.4f\n",
                   measures.candidates.meanExpEntropy(),
                   measures.candidates.meanAboveOnePercent());
  if (neighbours > 0)
    outs() << format("neighbourhood breadth: %.4f (top-5 over %d neighbours, "
                     "%lld windows)\n",
                     breadthOf(measures), neighbours.getValue(),
                     (long long)(measures.breadthPositions / (seqLen - 1)));
  if (neighbours > 0)
    outs() << format("swap KL:      %.6f nats (KL(p(.|c) || p(.|c')) after "
                     "the swapped token, %lld predictions)\n",
                     swapKlOf(measures), (long long)measures.swapPositions);
  if (proxy)
    outs() << format("smoothness proxy: %.6g (|dL/dE|^2; %d directions, "
                     "epsilon %g, %lld windows)\n",
                     proxyOf(measures), smoothnessDirs.getValue(),
                     epsilon.getValue(), (long long)measures.proxyWindows);
  if (withReference) {
    outs() << format("ratios to the reference: exp(entropy) %.4f, p>=0.01 "
                     "%.4f",
                     ratio(measures.candidates.meanExpEntropy(),
                           refMeasures.candidates.meanExpEntropy()),
                     ratio(measures.candidates.meanAboveOnePercent(),
                           refMeasures.candidates.meanAboveOnePercent()));
    if (neighbours > 0)
      outs() << format(", breadth %.4f, swap KL %.4f",
                       ratio(breadthOf(measures), breadthOf(refMeasures)),
                       ratio(swapKlOf(measures), swapKlOf(refMeasures)));
    if (proxy)
      outs() << format(", smoothness proxy %.4f",
                       ratio(proxyOf(measures), proxyOf(refMeasures)));
    outs() << "\n";
  }
  outs() << format("time:         %.2f s\n", seconds);

  if (!jsonPath.empty()) {
    std::string json = "{\n";
    json += "  \"model\": " + jsonString(modelPath) + ",\n";
    json += "  \"windows\": " + std::to_string(windows->size()) + ",\n";
    json += "  \"seq_len\": " + std::to_string(seqLen) + ",\n";
    json += "  \"predictions\": " + std::to_string(stats.positions()) + ",\n";
    json += formatv("  \"mean_nll\": {0:f8},\n", stats.meanNll()).str();
    json += formatv("  \"perplexity\": {0:f6},\n", stats.perplexity()).str();
    json += formatv("  \"exp_entropy\": {0:f6},\n  \"candidates_p01\": {1:f6}",
                    measures.candidates.meanExpEntropy(),
                    measures.candidates.meanAboveOnePercent())
                .str();
    if (neighbours > 0)
      json += formatv(",\n  \"breadth\": {0:f6},\n  \"swap_kl\": {1:e6}",
                      breadthOf(measures), swapKlOf(measures))
                  .str();
    if (proxy)
      json += formatv(",\n  \"smoothness_proxy\": {0:e6},\n"
                      "  \"smoothness_dirs\": {1},\n  \"epsilon\": {2:e3}",
                      proxyOf(measures), smoothnessDirs.getValue(),
                      epsilon.getValue())
                  .str();
    if (withReference) {
      json += ",\n  \"reference\": " + jsonString(referencePath) + ",\n";
      json += formatv("  \"reference_perplexity\": {0:f6},\n",
                      refStats.perplexity())
                  .str();
      json += formatv("  \"kl\": {0:f8},\n", stats.meanKl()).str();
      json += formatv("  \"top1_agreement\": {0:f6},\n", stats.top1Agreement())
                  .str();
      json += formatv("  \"exp_entropy_ratio\": {0:f6},\n"
                      "  \"candidates_p01_ratio\": {1:f6}",
                      ratio(measures.candidates.meanExpEntropy(),
                            refMeasures.candidates.meanExpEntropy()),
                      ratio(measures.candidates.meanAboveOnePercent(),
                            refMeasures.candidates.meanAboveOnePercent()))
                  .str();
      if (neighbours > 0)
        json += formatv(",\n  \"breadth_ratio\": {0:f6},\n"
                        "  \"swap_kl_ratio\": {1:f6}",
                        ratio(breadthOf(measures), breadthOf(refMeasures)),
                        ratio(swapKlOf(measures), swapKlOf(refMeasures)))
                    .str();
      if (proxy)
        json += formatv(",\n  \"smoothness_proxy_ratio\": {0:f6}",
                        ratio(proxyOf(measures), proxyOf(refMeasures)))
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
