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
#include "ToolDiagnostics.h"

#include "smq/Support/AtomicFile.h"
#include "smq/Support/SvgPlot.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <map>
#include <thread>

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
static cl::opt<std::string> bitsList("bits", cl::desc("Bit widths"),
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

namespace {

/// One point of the sweep.
struct Setting {
  int64_t bits;
  std::string method;
  std::string lambda; // "auto", a number, or "" for methods with no λ
  std::string name;   // file stem
  std::string label() const {
    return lambda.empty() ? method : method + " λ=" + lambda;
  }
  /// What smq-opt's report says it used (auto: what it picked).
  std::optional<double> lambdaPicked;
  json::Object measured; // smq-eval's JSON
  double quantizeSeconds = 0, evaluateSeconds = 0;
};

/// A child process of the sweep.
struct Stage {
  std::string kind; // calibrate, quantize, quantize-auto, evaluate
  std::string title;
  std::vector<std::string> argv;
  std::string log, out;
  std::vector<size_t> after;
  int setting = -1; // -1: the float model
  enum { Pending, Running, Done } state = Pending;
  sys::ProcessInfo process;
  std::chrono::steady_clock::time_point started;
  double seconds = 0;
};

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

/// A number as a person writes it: 0.25, 1, 1e-05.
std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string duration(double s) {
  if (s < 120)
    return formatv("{0:f1} s", s).str();
  return formatv("{0}m{1:d2}s", static_cast<int>(s) / 60,
                 static_cast<int>(s) % 60)
      .str();
}

/// Mean time of each kind of stage so far, for the ETA.
class Estimator {
public:
  void record(const std::string &kind, double s) {
    auto &[sum, n] = byKind[kind];
    sum += s;
    ++n;
    total += s;
    ++count;
  }
  /// Expected seconds of a stage of `kind`; negative when nothing is known.
  double expect(const std::string &kind) const {
    auto it = byKind.find(kind);
    if (it != byKind.end())
      return it->second.first / it->second.second;
    return count ? total / count : -1;
  }

private:
  std::map<std::string, std::pair<double, int>> byKind;
  double total = 0;
  int count = 0;
};

std::string tail(const std::string &path, size_t lines) {
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return "";
  StringRef text = (*buffer)->getBuffer();
  size_t at = text.size();
  for (size_t seen = 0; at > 0 && seen <= lines;) {
    --at;
    if (text[at] == '\n')
      ++seen;
  }
  return text.substr(at).ltrim("\n").str();
}

std::optional<json::Object> readJson(const std::string &path,
                                     std::string &why) {
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer) {
    why = path + ": " + buffer.getError().message();
    return std::nullopt;
  }
  auto value = json::parse((*buffer)->getBuffer());
  if (!value) {
    why = path + ": " + toString(value.takeError());
    return std::nullopt;
  }
  if (auto *object = value->getAsObject())
    return std::move(*object);
  why = path + ": not a JSON object";
  return std::nullopt;
}

double number(const json::Object &o, StringRef key) {
  if (auto v = o.getNumber(key))
    return *v;
  return std::nan("");
}

/// The measures smq-eval reports, and their ratios to the float model's.
const char *const kMeasures[] = {"exp_entropy", "candidates_p01", "breadth",
                                 "swap_kl", "smoothness_proxy"};

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
  auto sweepStart = std::chrono::steady_clock::now();

  // Check everything the children would only find out later.
  std::string isaError = smq::tools::applyCpuIsaFromEnv();
  if (!isaError.empty()) {
    errs() << "smq-sweep: error: " << isaError << "\n";
    return 2;
  }
  if (jsonPath.empty() && svgPath.empty()) {
    errs() << "smq-sweep: error: nothing to write: give --json and/or "
              "--svg\n";
    return 2;
  }
  // A sweep takes minutes: find out now, not at the end, that an output
  // cannot be written.
  for (const std::string &out : {jsonPath.getValue(), svgPath.getValue()}) {
    if (out.empty() || out == "-")
      continue;
    SmallString<256> dir(out);
    sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    if (!sys::fs::is_directory(dir) ||
        sys::fs::access(dir, sys::fs::AccessMode::Write)) {
      errs() << out << ": error: cannot write there (no such folder, or "
                       "not writable)\n";
      return 1;
    }
  }
  if (calibText.empty() == calibTokens.empty() ||
      evalText.empty() == evalTokens.empty()) {
    errs() << "smq-sweep: error: give one of --calib-text and "
              "--calib-tokens, and one of --eval-text and --eval-tokens\n";
    return 2;
  }
  if ((!calibText.empty() || !evalText.empty()) && !byteTokens) {
    errs() << "smq-sweep: error: a text needs a tokenizer; only "
              "--byte-tokens is supported\n";
    return 2;
  }
  for (const std::string &data :
       {calibText.getValue(), calibTokens.getValue(), evalText.getValue(),
        evalTokens.getValue()})
    if (!data.empty() && !sys::fs::is_regular_file(data)) {
      errs() << data << ": error: no such file\n";
      return 1;
    }
  if (seqLen < 2 || numSeqs < 1 || maxTokens < 0 || groupSize < 0 ||
      holdout < 0 || holdout == 1) {
    errs() << "smq-sweep: error: --seq-len must be at least 2, --num-seqs "
              "positive, --max-tokens and --group-size non-negative, "
              "--holdout 0 or at least 2\n";
    return 2;
  }
  SmallVector<std::string> bitsItems, methods, lambdas;
  if (!splitList(bitsList, "bits", bitsItems) ||
      !splitList(methodsList, "methods", methods) ||
      !splitList(lambdasList, "lambdas", lambdas))
    return 2;
  SmallVector<int64_t> bits;
  for (const std::string &b : bitsItems) {
    int64_t v;
    if (!to_integer(b, v, 10) || (v != 2 && v != 3 && v != 4 && v != 8)) {
      errs() << "smq-sweep: error: --bits: '" << b
             << "' is not 2, 3, 4 or 8\n";
      return 2;
    }
    bits.push_back(v);
  }
  bool needsStats = false, anyAuto = false;
  for (const std::string &m : methods) {
    if (m != "rtn" && m != "wmse" && m != "search" && m != "gptq") {
      errs() << "smq-sweep: error: --methods: unknown method '" << m
             << "' (rtn, wmse, search or gptq)\n";
      return 2;
    }
    needsStats |= m == "search" || m == "gptq";
  }
  for (const std::string &l : lambdas) {
    double v;
    if (l != "auto" && (!to_float(l, v) || v < 0)) {
      errs() << "smq-sweep: error: --lambdas: '" << l
             << "' is not 'auto' or a non-negative number\n";
      return 2;
    }
    anyAuto |= l == "auto";
  }
  if (needsStats && anyAuto && holdout == 0) {
    errs() << "smq-sweep: error: lambda=auto needs held-out calibration "
              "sequences; --holdout 0 keeps none\n";
    return 2;
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  unsigned parallel = jobs ? jobs.getValue() : cores;
  int childThreads = threads.get() > 1
                         ? threads.get()
                         : static_cast<int>(std::max(1u, cores / parallel));

  // The sibling tools.
  std::string self = sys::fs::getMainExecutable(argv[0], (void *)&main);
  SmallString<256> binDir(self);
  sys::path::remove_filename(binDir);
  auto tool = [&](StringRef name) {
    SmallString<256> p(binDir);
    sys::path::append(p, name);
    return std::string(p);
  };
  for (StringRef name : {"smq-calibrate", "smq-opt", "smq-eval"})
    if (!sys::fs::can_execute(tool(name))) {
      errs() << "smq-sweep: error: cannot find " << name << " beside "
             << self << "\n";
      return 1;
    }

  // The work folder.
  SmallString<256> work;
  bool temporary = workDir.empty();
  if (temporary) {
    if (auto ec = sys::fs::createUniqueDirectory("smq-sweep", work)) {
      errs() << "smq-sweep: error: cannot create a temporary folder: "
             << ec.message() << "\n";
      return 1;
    }
  } else {
    work = workDir;
    if (auto ec = sys::fs::create_directories(work)) {
      errs() << workDir << ": error: cannot create the folder: "
             << ec.message() << "\n";
      return 1;
    }
  }
  struct Cleanup {
    SmallString<256> dir;
    bool active;
    ~Cleanup() {
      if (active)
        sys::fs::remove_directories(dir);
    }
  } cleanup{work, temporary};
  auto inWork = [&](const Twine &name) {
    SmallString<256> p(work);
    sys::path::append(p, name);
    return std::string(p);
  };

  // Import once, in this process, so that a bad model fails here with the
  // importer's own diagnostics.
  std::string imported = inWork("model.mlirbc");
  {
    auto start = std::chrono::steady_clock::now();
    mlir::MLIRContext context;
    smq::tools::registerCompilerDialects(context);
    smq::tools::ToolDiagnosticHandler diagnostics(&context);
    auto module = smq::tools::loadTokenModel(modelPath, context, seqLen);
    if (!module)
      return 1;
    std::error_code ec;
    raw_fd_ostream os(imported, ec);
    if (ec) {
      errs() << imported << ": error: " << ec.message() << "\n";
      return 1;
    }
    if (failed(mlir::writeBytecodeToFile(*module, os))) {
      errs() << imported << ": error: cannot write the model\n";
      return 1;
    }
    if (!quiet)
      errs() << "sweep: imported " << modelPath << " in "
             << duration(secondsSince(start)) << "\n";
  }

  // The stages.
  std::vector<Setting> settings;
  for (int64_t b : bits)
    for (const std::string &m : methods) {
      bool takesLambda = m == "search" || m == "gptq";
      for (const std::string &l :
           takesLambda ? lambdas : SmallVector<std::string>{""}) {
        Setting s{b, m, l, "w" + std::to_string(b) + "-" + m, {}, {}};
        if (!l.empty())
          s.name += "-l" + l;
        settings.push_back(std::move(s));
      }
    }

  std::vector<Stage> stages;
  auto dataArgs = [&](StringRef text, StringRef tokens) {
    std::vector<std::string> a;
    if (!text.empty())
      a = {"--text", text.str(), "--byte-tokens"};
    else
      a = {"--tokens", tokens.str()};
    a.push_back("--seq-len=" + std::to_string(seqLen));
    return a;
  };
  auto threadArg = "--threads=" + std::to_string(childThreads);
  auto evalArgs = [&](const std::string &model, const std::string &name) {
    std::vector<std::string> a = {tool("smq-eval"), model};
    for (std::string &d : dataArgs(evalText, evalTokens))
      a.push_back(std::move(d));
    a.push_back("--max-tokens=" + std::to_string(maxTokens));
    // Given explicitly, smq-eval treats a model with no findable embedding
    // as an error; left at its default, as a note.
    if (smoothnessDirs.getNumOccurrences())
      a.push_back("--smoothness-dirs=" + std::to_string(smoothnessDirs));
    char eps[40];
    std::snprintf(eps, sizeof eps, "--epsilon=%.17g", epsilon.getValue());
    a.push_back(eps);
    a.push_back("--neighbours=" + std::to_string(neighbours));
    a.push_back("--measure-windows=" + std::to_string(measureWindows));
    a.push_back("--seed=" + std::to_string(seed));
    a.push_back(threadArg);
    a.push_back("--json=" + inWork(name + ".eval.json"));
    return a;
  };
  size_t calibrate = SIZE_MAX;
  if (needsStats) {
    Stage s;
    s.kind = "calibrate";
    s.title = "calibrate";
    s.argv = {tool("smq-calibrate"), imported};
    for (std::string &d : dataArgs(calibText, calibTokens))
      s.argv.push_back(std::move(d));
    s.argv.insert(s.argv.end(),
                  {"--num-seqs=" + std::to_string(numSeqs),
                   "--holdout=" + std::to_string(holdout),
                   "--seed=" + std::to_string(seed), "-o",
                   inWork("model.stats"), "--quiet", threadArg});
    s.log = inWork("calibrate.log");
    calibrate = stages.size();
    stages.push_back(std::move(s));
  }
  {
    Stage s;
    s.kind = "evaluate";
    s.title = "evaluate float";
    s.argv = evalArgs(imported, "float");
    s.log = inWork("float.eval.log");
    stages.push_back(std::move(s));
  }
  for (size_t i = 0; i < settings.size(); ++i) {
    const Setting &set = settings[i];
    std::string model = inWork(set.name + ".mlirbc");
    std::string options = formatv("bits={0} group-size={1} method={2}",
                                  set.bits, groupSize.getValue(), set.method);
    Stage q;
    q.kind = set.lambda == "auto" ? "quantize-auto" : "quantize";
    q.title = "quantize W" + std::to_string(set.bits) + " " + set.label();
    if (!set.lambda.empty()) {
      options += " stats=" + inWork("model.stats") + " lambda=" + set.lambda;
      if (set.lambda == "auto")
        options += " lambda-grid=" + lambdaGrid;
      q.after.push_back(calibrate);
    }
    options += " report=" + inWork(set.name + ".report.json") +
               " quiet=true threads=" + std::to_string(childThreads);
    q.argv = {tool("smq-opt"), imported,
              "--smq-quantize-weights=" + options, "--emit-bytecode", "-o",
              model};
    q.log = inWork(set.name + ".quantize.log");
    q.setting = static_cast<int>(i);
    size_t qi = stages.size();
    stages.push_back(std::move(q));

    Stage e;
    e.kind = "evaluate";
    e.title = "evaluate W" + std::to_string(set.bits) + " " + set.label();
    e.argv = evalArgs(model, set.name);
    e.log = inWork(set.name + ".eval.log");
    e.setting = static_cast<int>(i);
    e.after.push_back(qi);
    stages.push_back(std::move(e));
  }
  for (Stage &s : stages)
    s.out = s.log.substr(0, s.log.size() - 4) + ".out";

  if (!quiet)
    errs() << formatv("sweep: {0} setting{1} ({2} bit width{3}), {4} stages, "
                      "{5} at a time, {6} thread{7} each, in {8}\n",
                      settings.size(), settings.size() == 1 ? "" : "s",
                      bits.size(), bits.size() == 1 ? "" : "s", stages.size(),
                      parallel, childThreads, childThreads == 1 ? "" : "s",
                      work);

  // Run them.
  Estimator estimator;
  size_t finished = 0, running = 0;
  auto failStage = [&](Stage &s, const std::string &why) {
    errs() << "smq-sweep: error: " << s.title << " failed: " << why << "\n";
    std::string command;
    for (const std::string &a : s.argv)
      command += (command.empty() ? "" : " ") + a;
    errs() << "  command: " << command << "\n";
    std::string log = tail(s.log, 30);
    if (!log.empty())
      errs() << "  its stderr (last lines):\n" << log;
    for (Stage &other : stages)
      if (other.state == Stage::Running && &other != &s) {
        ::kill(other.process.Pid, SIGTERM);
        sys::Wait(other.process, std::nullopt);
      }
    return 1;
  };
  while (finished < stages.size()) {
    for (size_t i = 0; i < stages.size() && running < parallel; ++i) {
      Stage &s = stages[i];
      if (s.state != Stage::Pending ||
          !llvm::all_of(s.after, [&](size_t d) {
            return stages[d].state == Stage::Done;
          }))
        continue;
      SmallVector<StringRef> args(s.argv.begin(), s.argv.end());
      std::optional<StringRef> redirects[] = {StringRef(""), StringRef(s.out),
                                              StringRef(s.log)};
      std::string why;
      bool failedToStart = false;
      s.process = sys::ExecuteNoWait(s.argv[0], args, std::nullopt,
                                     redirects, 0, &why, &failedToStart);
      if (failedToStart || s.process.Pid <= 0)
        return failStage(s, "cannot start it: " + why);
      s.state = Stage::Running;
      s.started = std::chrono::steady_clock::now();
      ++running;
    }
    bool progressed = false;
    for (Stage &s : stages) {
      if (s.state != Stage::Running)
        continue;
      std::string why;
      sys::ProcessInfo result = sys::Wait(s.process, 0, &why);
      if (result.Pid == 0)
        continue; // still running
      progressed = true;
      s.seconds = secondsSince(s.started);
      s.state = Stage::Done;
      --running;
      ++finished;
      if (result.ReturnCode != 0)
        return failStage(s, result.ReturnCode < 0
                                ? "it crashed or was killed" +
                                      (why.empty() ? "" : ": " + why)
                                : "exit status " +
                                      std::to_string(result.ReturnCode));
      estimator.record(s.kind, s.seconds);
      // A stage that succeeded may still have something to say (a model
      // with no findable embedding gets no proxy, for one).
      if (auto log = MemoryBuffer::getFile(s.log); log && !quiet) {
        SmallVector<StringRef> lines;
        (*log)->getBuffer().split(lines, '\n', -1, false);
        for (StringRef line : lines)
          if (line.contains(": note: ") || line.contains(": warning: "))
            errs() << "sweep: " << s.title << ": " << line << "\n";
      }
      std::string extra;
      if (s.setting >= 0) {
        Setting &set = settings[s.setting];
        if (s.kind == "evaluate") {
          set.evaluateSeconds = s.seconds;
          if (!keepModels || temporary)
            sys::fs::remove(inWork(set.name + ".mlirbc"));
        } else {
          set.quantizeSeconds = s.seconds;
          std::string jwhy;
          auto report = readJson(inWork(set.name + ".report.json"), jwhy);
          if (!report)
            return failStage(s, "no report: " + jwhy);
          if (auto *l = report->getObject("lambda"))
            if (auto picked = l->getNumber("picked")) {
              set.lambdaPicked = *picked;
              if (set.lambda == "auto")
                extra = " (picked λ=" + shortNumber(*picked) + ")";
            }
        }
      }
      if (!quiet) {
        double remaining = 0;
        bool known = true;
        for (const Stage &o : stages) {
          double e = estimator.expect(o.kind);
          known &= e >= 0;
          if (o.state == Stage::Pending)
            remaining += e;
          else if (o.state == Stage::Running)
            remaining += std::max(0.0, e - secondsSince(o.started));
        }
        errs() << formatv("sweep: [{0}/{1}] {2}: {3}{4}; {5} elapsed, ETA "
                          "{6}\n",
                          finished, stages.size(), s.title,
                          duration(s.seconds), extra,
                          duration(secondsSince(sweepStart)),
                          known ? duration(remaining / parallel)
                                : std::string("?"));
      }
    }
    if (!progressed)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // Gather the results.
  std::string why;
  auto floatEval = readJson(inWork("float.eval.json"), why);
  if (!floatEval) {
    errs() << "smq-sweep: error: " << why << "\n";
    return 1;
  }
  double floatPpl = number(*floatEval, "perplexity");
  for (Setting &set : settings) {
    auto measured = readJson(inWork(set.name + ".eval.json"), why);
    if (!measured) {
      errs() << "smq-sweep: error: " << why << "\n";
      return 1;
    }
    set.measured = std::move(*measured);
  }
  auto findSetting = [&](int64_t b, const std::string &m,
                         const std::string &l) -> const Setting * {
    for (const Setting &s : settings)
      if (s.bits == b && s.method == m && s.lambda == l)
        return &s;
    return nullptr;
  };

  json::Array runs; // one per setting, in order
  for (const Setting &set : settings) {
    json::Object r;
    r["bits"] = set.bits;
    r["method"] = set.method;
    if (set.lambda.empty())
      r["lambda"] = nullptr;
    else if (set.lambda == "auto")
      r["lambda"] = "auto";
    else
      r["lambda"] = std::stod(set.lambda);
    if (set.lambdaPicked && !set.lambda.empty())
      r["lambda_picked"] = *set.lambdaPicked;
    r["label"] = set.label();
    for (StringRef key : {"perplexity", "mean_nll"})
      r[key] = number(set.measured, key);
    for (const char *key : kMeasures) {
      double v = number(set.measured, key),
             ref = number(*floatEval, key);
      if (std::isnan(v))
        continue;
      r[key] = v;
      if (!std::isnan(ref) && ref != 0)
        r[std::string(key) + "_ratio"] = v / ref;
    }
    // How much of the fitting-only (λ=0) perplexity gap to the float
    // model a λ closes.
    if (!set.lambda.empty() && set.lambda != "0")
      if (const Setting *zero = findSetting(set.bits, set.method, "0")) {
        double p0 = number(zero->measured, "perplexity");
        double p = number(set.measured, "perplexity");
        if (p0 > floatPpl)
          r["gap_recovered"] = (p0 - p) / (p0 - floatPpl);
      }
    r["quantize_seconds"] = set.quantizeSeconds;
    r["evaluate_seconds"] = set.evaluateSeconds;
    runs.push_back(std::move(r));
  }
  double totalSeconds = secondsSince(sweepStart);

  json::Object floatOut;
  for (StringRef key : {"perplexity", "mean_nll", "exp_entropy",
                        "candidates_p01", "breadth", "swap_kl",
                        "smoothness_proxy"})
    if (auto v = floatEval->getNumber(key))
      floatOut[key] = *v;
  json::Object result{
      {"model", modelPath.getValue()},
      {"seq_len", seqLen.getValue()},
      {"group_size", groupSize.getValue()},
      {"calibration",
       json::Object{
           {"data", calibText.empty() ? calibTokens.getValue()
                                      : calibText.getValue()},
           {"sequences", numSeqs.getValue()},
           {"holdout", holdout.getValue()},
           {"lambda_grid", lambdaGrid.getValue()},
       }},
      {"evaluation",
       json::Object{
           {"data", evalText.empty() ? evalTokens.getValue()
                                     : evalText.getValue()},
           {"max_tokens", maxTokens.getValue()},
           {"predictions", number(*floatEval, "predictions")},
           {"smoothness_dirs", number(*floatEval, "smoothness_dirs")},
           {"epsilon", epsilon.getValue()},
           {"neighbours", neighbours.getValue()},
           {"measure_windows", measureWindows.getValue()},
           {"seed", static_cast<int64_t>(seed.getValue())},
       }},
      {"float", std::move(floatOut)},
      {"runs", json::Array(runs)},
      {"jobs", static_cast<int64_t>(parallel)},
      {"threads_per_job", childThreads},
      {"seconds", totalSeconds},
  };

  // The figure: one line per method and λ; λ=0 dashed.
  smq::plot::Figure figure;
  // The model's folder and file: "gpt-byte/model.onnx" says more than
  // "model.onnx".
  SmallString<256> shown(sys::path::filename(sys::path::parent_path(modelPath)));
  sys::path::append(shown, sys::path::filename(modelPath));
  figure.title = "SMQ sweep: " + std::string(shown);
  figure.subtitle =
      formatv("group size {0}; {1} calibration sequences of {2} tokens; "
              "{3} predictions evaluated; ratios are quantized / float",
              groupSize.getValue(), numSeqs.getValue(), seqLen.getValue(),
              static_cast<int64_t>(number(*floatEval, "predictions")))
          .str();
  // How each panel shows a measure: as is, as a ratio to the float
  // model's, or (log scale) as the percentage it lies above it.
  enum class Show { Value, Ratio, PercentAbove };
  struct PanelSpec {
    const char *title, *yLabel, *key;
    Show show;
  };
  const PanelSpec specs[] = {
      {"Perplexity", "validation perplexity", "perplexity", Show::Value},
      {"Perplexity above float", "% above float (log scale)", "perplexity",
       Show::PercentAbove},
      {"Smoothness proxy", "E|dL/dE|² ratio", "smoothness_proxy",
       Show::Ratio},
      {"Effective candidates", "exp(entropy) ratio", "exp_entropy",
       Show::Ratio},
      {"Tokens with p ≥ 0.01", "count ratio", "candidates_p01", Show::Ratio},
      {"Neighbourhood breadth", "top-5 union ratio", "breadth", Show::Ratio},
  };
  for (const PanelSpec &spec : specs) {
    double reference = number(*floatEval, spec.key);
    if (std::isnan(reference))
      continue; // not measured (no embedding, or turned off)
    smq::plot::Panel panel;
    panel.title = spec.title;
    panel.xLabel = "bits per weight";
    panel.yLabel = spec.yLabel;
    panel.logY = spec.show == Show::PercentAbove;
    if (spec.show == Show::Value) {
      panel.referenceY = reference;
      panel.referenceLabel = "float";
    } else if (spec.show == Show::Ratio) {
      panel.referenceY = 1.0;
      panel.referenceLabel = "float = 1";
    }
    std::vector<std::string> labels;
    for (const Setting &s : settings)
      if (!llvm::is_contained(labels, s.label()))
        labels.push_back(s.label());
    for (const std::string &label : labels) {
      smq::plot::Series series;
      series.label = label;
      for (const Setting &s : settings) {
        if (s.label() != label)
          continue;
        series.group = s.method;
        series.dashed = s.lambda == "0";
        double v = number(s.measured, spec.key);
        if (spec.show == Show::Ratio)
          v /= reference;
        else if (spec.show == Show::PercentAbove)
          v = 100 * (v / reference - 1);
        series.x.push_back(static_cast<double>(s.bits));
        series.y.push_back(v);
      }
      panel.series.push_back(std::move(series));
    }
    figure.panels.push_back(std::move(panel));
  }

  if (!jsonPath.empty() &&
      !smq::writeFileAtomically(
          jsonPath,
          [&](std::ostream &os) {
            std::string text =
                formatv("{0:2}", json::Value(std::move(result))).str();
            return bool(os << text << "\n");
          },
          &why)) {
    errs() << "smq-sweep: error: " << why << "\n";
    return 1;
  }
  if (!svgPath.empty() &&
      !smq::writeFileAtomically(
          svgPath,
          [&](std::ostream &os) {
            return bool(os << smq::plot::renderSvg(figure));
          },
          &why)) {
    errs() << "smq-sweep: error: " << why << "\n";
    return 1;
  }

  // A table for the terminal.
  auto pad = [](const std::string &s, size_t width, bool right) {
    size_t chars = 0; // code points, not bytes: λ is two
    for (char c : s)
      chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    std::string fill(width > chars ? width - chars : 0, ' ');
    return right ? fill + s : s + fill;
  };
  auto cell = [&](double v) {
    return pad(std::isnan(v) ? "-" : formatv("{0:f4}", v).str(), 10, true);
  };
  outs() << pad("", 29, false) << pad("", 11, true)
         << "   ratio to float:\n";
  outs() << pad("bits method", 29, false) << pad("perplexity", 11, true)
         << pad("proxy", 10, true) << pad("exp(H)", 10, true)
         << pad("p>=1%", 10, true) << pad("breadth", 10, true)
         << pad("swap KL", 10, true) << pad("recovered", 10, true) << "\n";
  outs() << pad("-    float", 29, false) << " " << cell(floatPpl) << "\n";
  for (size_t i = 0; i < settings.size(); ++i) {
    const Setting &set = settings[i];
    const json::Object &r = *runs[i].getAsObject();
    std::string label = set.label();
    if (auto p = r.getNumber("lambda_picked"); p && set.lambda == "auto")
      label += " (" + shortNumber(*p) + ")";
    auto get = [&](StringRef key) {
      auto v = r.getNumber(key);
      return v ? *v : std::nan("");
    };
    outs() << pad("W" + std::to_string(set.bits), 5, false)
           << pad(label, 24, false) << " " << cell(get("perplexity"))
           << cell(get("smoothness_proxy_ratio"))
           << cell(get("exp_entropy_ratio"))
           << cell(get("candidates_p01_ratio")) << cell(get("breadth_ratio"))
           << cell(get("swap_kl_ratio")) << cell(get("gap_recovered")) << "\n";
  }
  if (!quiet)
    errs() << "sweep: done in " << duration(totalSeconds) << "\n";
  return 0;
}
