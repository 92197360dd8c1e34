//===- smq-generate.cpp - generate tokens with a KV-cache decoder ---------===//
//
//   smq-generate MODEL.{onnx,mlir} (--prompt TEXT | --prompt-file F |
//                --prompt-tokens F.npy) [--byte-tokens]
//                [--max-new-tokens N] [--greedy | --temperature T
//                --top-k K --top-p P --seed S] [--batch]
//                [--max-context N] [--prompt-chunk N] [--json OUT.json]
//                [--threads N]
//
// The model is a decoder exported with a key/value cache in Hugging Face's
// contract (see include/smq/Execution/Generation.h), float or quantized
// (an .mlir kept with dynamic inputs: smq-translate --import-onnx, then
// smq-opt --smq-quantize-weights). New tokens stream to stdout (bytes with
// --byte-tokens, else ids); prompt and decode speed go to stderr.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "ToolDiagnostics.h"

#include "smq/Execution/Generation.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/AtomicFile.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("smq-generate options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
                                      cl::cat(category));
static cl::list<std::string> promptTexts(
    "prompt", cl::desc("A prompt as text (repeat for a batch)"),
    cl::value_desc("text"), cl::cat(category));
static cl::opt<std::string>
    promptFile("prompt-file",
               cl::desc("A file whose bytes are the prompt (with --batch, "
                        "each non-empty line is one prompt)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> promptTokens(
    "prompt-tokens",
    cl::desc("Token ids in a .npy file: [n] for one prompt, [batch, n] for "
             "several"),
    cl::value_desc("file.npy"), cl::cat(category));
static cl::opt<bool> byteTokens(
    "byte-tokens",
    cl::desc("Tokens are bytes (a byte-level model): text prompts become "
             "their bytes and new tokens are written as bytes"),
    cl::cat(category));
static cl::opt<bool> batchLines(
    "batch", cl::desc("Each non-empty line of --prompt-file is a prompt"),
    cl::cat(category));
static cl::opt<int64_t> maxNewTokens("max-new-tokens",
                                     cl::desc("Tokens to generate per prompt"),
                                     cl::init(64), cl::cat(category));
static cl::opt<bool> greedy("greedy",
                            cl::desc("Take the most likely token (the default "
                                     "without sampling options)"),
                            cl::cat(category));
static cl::opt<double> temperature("temperature",
                                   cl::desc("Sample with this temperature"),
                                   cl::init(1.0), cl::cat(category));
static cl::opt<int64_t> topK("top-k",
                             cl::desc("Sample from the K most likely tokens"),
                             cl::init(0), cl::cat(category));
static cl::opt<double> topP("top-p",
                            cl::desc("Sample from the most likely tokens "
                                     "whose probability reaches P"),
                            cl::init(1.0), cl::cat(category));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the sampler"),
                              cl::init(0), cl::cat(category));
static cl::opt<int64_t> maxContext(
    "max-context",
    cl::desc("Cache slots, compiled once (default: the longest prompt plus "
             "--max-new-tokens, rounded up to 32, at most the model's "
             "positions)"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t> promptChunk(
    "prompt-chunk", cl::desc("Prompt tokens per model call"), cl::init(32),
    cl::cat(category));
static cl::opt<bool> separateCache(
    "separate-cache",
    cl::desc("Copy a GroupQueryAttention model's cache into each step's "
             "presents instead of sharing its buffers (for comparison)"),
    cl::cat(category));
static cl::opt<std::string> jsonPath(
    "json", cl::desc("Write tokens and speeds as JSON to this file"),
    cl::value_desc("file"), cl::cat(category));

namespace {

std::vector<int64_t> bytesOf(StringRef text) {
  std::vector<int64_t> tokens;
  for (unsigned char c : text)
    tokens.push_back(c);
  return tokens;
}

/// The prompts the options name, or nullopt after printing why not.
std::optional<std::vector<std::vector<int64_t>>> readPrompts() {
  int sources = !promptTexts.empty() + !promptFile.empty() +
                !promptTokens.empty();
  if (sources != 1) {
    errs() << "smq-generate: give exactly one of --prompt, --prompt-file and "
              "--prompt-tokens\n";
    return std::nullopt;
  }
  std::vector<std::vector<int64_t>> prompts;
  if (!promptTokens.empty()) {
    std::string why;
    auto a = smq::tools::readTensor(promptTokens, &why);
    if (!a) {
      errs() << "smq-generate: " << why << "\n";
      return std::nullopt;
    }
    if ((a->dtype != smq::DType::I64 && a->dtype != smq::DType::I32) ||
        a->shape.empty() || a->shape.size() > 2 || a->numElements() == 0) {
      errs() << "smq-generate: " << promptTokens
             << ": token ids must be a non-empty int64 or int32 array of "
                "shape [n] or [batch, n]\n";
      return std::nullopt;
    }
    int64_t rows = a->shape.size() == 2 ? a->shape[0] : 1;
    int64_t n = a->shape.back();
    for (int64_t b = 0; b < rows; ++b) {
      prompts.emplace_back();
      for (int64_t i = 0; i < n; ++i)
        prompts.back().push_back(static_cast<int64_t>(a->at(b * n + i)));
    }
    return prompts;
  }
  if (!byteTokens) {
    errs() << "smq-generate: text prompts need a tokenizer, and SMQ reads "
              "none yet; pass --byte-tokens for a byte-level model, or token "
              "ids with --prompt-tokens\n";
    return std::nullopt;
  }
  if (!promptFile.empty()) {
    auto file = MemoryBuffer::getFile(promptFile, /*IsText=*/false);
    if (!file) {
      errs() << "smq-generate: cannot read " << promptFile << ": "
             << file.getError().message() << "\n";
      return std::nullopt;
    }
    StringRef text = (*file)->getBuffer();
    if (!batchLines) {
      prompts.push_back(bytesOf(text));
    } else {
      SmallVector<StringRef> lines;
      text.split(lines, '\n', -1, /*KeepEmpty=*/false);
      for (StringRef line : lines)
        prompts.push_back(bytesOf(line));
    }
  } else {
    for (const std::string &p : promptTexts)
      prompts.push_back(bytesOf(p));
  }
  for (size_t b = 0; b < prompts.size(); ++b)
    if (prompts[b].empty()) {
      errs() << "smq-generate: prompt " << b << " is empty\n";
      return std::nullopt;
    }
  if (prompts.empty()) {
    errs() << "smq-generate: no prompt given\n";
    return std::nullopt;
  }
  return prompts;
}

std::string textOf(const std::vector<int64_t> &tokens) {
  std::string s;
  for (int64_t t : tokens)
    s += static_cast<char>(t);
  return s;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  smq::tools::KernelOptions kernelOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ text generation\n");
  if (!kernelOptions.apply("smq-generate"))
    return 1;

  auto prompts = readPrompts();
  if (!prompts)
    return 2;
  bool sampling = temperature.getNumOccurrences() || topK.getNumOccurrences() ||
                  topP.getNumOccurrences() || seed.getNumOccurrences();
  if (greedy && sampling) {
    errs() << "smq-generate: --greedy takes no --temperature, --top-k, "
              "--top-p or --seed\n";
    return 2;
  }
  smq::eval::SamplingOptions sampler;
  sampler.greedy = !sampling;
  sampler.temperature = temperature;
  sampler.topK = topK;
  sampler.topP = topP;
  sampler.seed = seed;
  if (std::string bad = smq::eval::validate(sampler); !bad.empty()) {
    errs() << "smq-generate: " << bad << "\n";
    return 2;
  }
  if (maxNewTokens < 1) {
    errs() << "smq-generate: --max-new-tokens must be at least 1\n";
    return 2;
  }

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = smq::tools::loadModel(modelPath, context, {});
  if (!module)
    return 1;
  auto contract = mlir::smq::findDecoderContract(*module);
  if (failed(contract))
    return 1;

  int64_t longest = 0;
  for (const auto &p : *prompts)
    longest = std::max<int64_t>(longest, p.size());
  mlir::smq::GeneratorOptions options;
  options.batch = prompts->size();
  options.promptChunk = promptChunk;
  options.shareCache = !separateCache;
  options.maxContext = maxContext;
  if (maxContext == 0) {
    options.maxContext = (longest + maxNewTokens + 31) / 32 * 32;
    if (contract->positions > 0)
      options.maxContext = std::min(options.maxContext, contract->positions);
  }
  options.compile.quantizedActivations = kernelOptions.quantizedActivations();
  options.compile.attentionKernel = kernelOptions.attentionKernel();
  options.compile.device = kernelOptions.device();
  options.compile.maxMemoryBytes = kernelOptions.maxMemoryBytes();
  auto generator = mlir::smq::Generator::create(*module, options);
  if (!generator)
    return 1;

  smq_rt_set_num_threads(threads.get());
  bool stream = prompts->size() == 1 && jsonPath.empty();
  mlir::smq::GenerationResult result;
  std::string why;
  bool ok = mlir::smq::generate(
      *generator, *prompts, maxNewTokens, sampler,
      [&](int64_t, int64_t token) {
        if (!stream)
          return;
        if (byteTokens)
          outs() << static_cast<char>(token);
        else
          outs() << token << " ";
        outs().flush();
      },
      result, &why);
  if (!ok) {
    if (stream)
      outs() << "\n";
    errs() << "smq-generate: " << why << "\n";
    return 1;
  }
  if (!stream && jsonPath.empty())
    for (const auto &tokens : result.tokens) {
      if (byteTokens) {
        outs() << textOf(tokens);
      } else {
        for (int64_t t : tokens)
          outs() << t << " ";
      }
      outs() << "\n";
    }
  if (stream && sys::Process::StandardOutIsDisplayed())
    outs() << "\n";
  outs().flush();

  double promptRate = result.promptTokens / std::max(result.promptSeconds, 1e-9);
  double decodeRate =
      result.decodeTokens / std::max(result.decodeSeconds, 1e-9);
  errs() << format("prompt: %.1f tok/s, decode: %.1f tok/s", promptRate,
                   decodeRate)
         << format(" (%lld prompt tokens in %.1f ms, %lld decode steps x %lld "
                   "in %.1f ms; context %lld, compile %.2f s, %s)\n",
                   (long long)result.promptTokens, result.promptSeconds * 1e3,
                   (long long)(result.decodeTokens / generator->batch()),
                   (long long)generator->batch(), result.decodeSeconds * 1e3,
                   (long long)generator->capacity(),
                   generator->compileSeconds(),
                   kernelOptions.runsOn(threads.get()).c_str());

  if (!jsonPath.empty()) {
    std::string json;
    raw_string_ostream os(json);
    json::OStream j(os, 2);
    j.object([&] {
      j.attribute("model", modelPath.getValue());
      j.attribute("context", generator->capacity());
      j.attribute("batch", generator->batch());
      j.attribute("prompt_tokens", result.promptTokens);
      j.attribute("decode_tokens", result.decodeTokens);
      j.attribute("prompt_seconds", result.promptSeconds);
      j.attribute("decode_seconds", result.decodeSeconds);
      j.attribute("prompt_tokens_per_second", promptRate);
      j.attribute("decode_tokens_per_second", decodeRate);
      j.attribute("greedy", sampler.greedy);
      j.attributeArray("tokens", [&] {
        for (const auto &tokens : result.tokens)
          j.array([&] {
            for (int64_t t : tokens)
              j.value(t);
          });
      });
      if (byteTokens)
        j.attributeArray("text", [&] {
          for (const auto &tokens : result.tokens) {
            // JSON strings are UTF-8: bytes from 0x80 up are written as the
            // characters U+0080-U+00FF (read as latin-1).
            std::string s;
            for (int64_t t : tokens)
              if (t < 0x80)
                s += static_cast<char>(t);
              else {
                s += static_cast<char>(0xC0 | (t >> 6));
                s += static_cast<char>(0x80 | (t & 0x3F));
              }
            j.value(s);
          }
        });
    });
    os << "\n";
    if (!smq::writeFileAtomically(
            jsonPath, [&](std::ostream &out) { return bool(out << json); },
            &why)) {
      errs() << "smq-generate: " << why << "\n";
      return 1;
    }
  }
  return 0;
}
