//===- Sweep.cpp - quantize and evaluate over bits x methods x lambda ------===//
//
// See Sweep.h for the steps and smq-sweep.cpp for the command line.
//
//===----------------------------------------------------------------------===//
#include "Sweep.h"

#include "smq/Transforms/DecoderContract.h"

#include "ModelLoading.h"
#include "ToolDiagnostics.h"

#include "smq/Support/AtomicFile.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <thread>

using namespace llvm;

namespace smq::sweep {

namespace {

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

} // namespace

std::string bitsText(double bits) {
  return formatv("{0}", format("%g", bits)).str();
}

std::string duration(double s) {
  if (s < 120)
    return formatv("{0:f1} s", s).str();
  return formatv("{0}m{1:d2}s", static_cast<int>(s) / 60,
                 static_cast<int>(s) % 60)
      .str();
}


int checkConfig(const Config &c) {
  std::string isaError = smq::tools::applyCpuIsaFromEnv();
  if (!isaError.empty()) {
    errs() << "smq-sweep: error: " << isaError << "\n";
    return 2;
  }
  if (c.jsonPath.empty() && c.svgPath.empty()) {
    errs() << "smq-sweep: error: nothing to write: give --json and/or "
              "--svg\n";
    return 2;
  }
  // A sweep takes minutes: find out now, not at the end, that an output
  // cannot be written.
  for (const std::string &out : {c.jsonPath, c.svgPath}) {
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
  if (c.generate < 0 || c.generateTokens < 1 || c.generatePromptLen < 1) {
    errs() << "smq-sweep: error: --generate must be 0 or more, and "
              "--generate-tokens and --generate-prompt-len at least 1\n";
    return 2;
  }
  if (c.calibText.empty() == c.calibTokens.empty() ||
      c.evalText.empty() == c.evalTokens.empty()) {
    errs() << "smq-sweep: error: give one of --calib-text and "
              "--calib-tokens, and one of --eval-text and --eval-tokens\n";
    return 2;
  }
  if ((!c.calibText.empty() || !c.evalText.empty()) && !c.byteTokens) {
    errs() << "smq-sweep: error: a text needs a tokenizer; only "
              "--byte-tokens is supported\n";
    return 2;
  }
  for (const std::string &data :
       {c.calibText, c.calibTokens, c.evalText, c.evalTokens})
    if (!data.empty() && !sys::fs::is_regular_file(data)) {
      errs() << data << ": error: no such file\n";
      return 1;
    }
  if (c.seqLen < 2 || c.numSeqs < 1 || c.maxTokens < 0 || c.groupSize < 0 ||
      c.holdout < 0 || c.holdout == 1) {
    errs() << "smq-sweep: error: --seq-len must be at least 2, --num-seqs "
              "positive, --max-tokens and --group-size non-negative, "
              "--holdout 0 or at least 2\n";
    return 2;
  }
  for (double b : c.bits)
    if (isMixed(b) ? !(b > 2 && b < 4)
                   : b != 2 && b != 3 && b != 4 && b != 8) {
      errs() << "smq-sweep: error: --bits: '" << bitsText(b)
             << "' is not 2, 3, 4 or 8, or an average between 2 and 4 "
                "(mixed precision)\n";
      return 2;
    }
  bool needsStats = false, anyAuto = false;
  for (const std::string &m : c.methods) {
    if (m != "rtn" && m != "wmse" && m != "search" && m != "gptq") {
      errs() << "smq-sweep: error: --methods: unknown method '" << m
             << "' (rtn, wmse, search or gptq)\n";
      return 2;
    }
    needsStats |= m == "search" || m == "gptq";
  }
  for (const std::string &l : c.lambdas) {
    double v;
    if (l != "auto" && (!to_float(l, v) || v < 0)) {
      errs() << "smq-sweep: error: --lambdas: '" << l
             << "' is not 'auto' or a non-negative number\n";
      return 2;
    }
    anyAuto |= l == "auto";
  }
  if (needsStats && anyAuto && c.holdout == 0) {
    errs() << "smq-sweep: error: lambda=auto needs held-out calibration "
              "sequences; --holdout 0 keeps none\n";
    return 2;
  }
  return 0;
}

std::optional<SweepTools> SweepTools::find(const std::string &self) {
  SweepTools tools;
  tools.binDir = self;
  sys::path::remove_filename(tools.binDir);
  for (StringRef name : {"smq-calibrate", "smq-opt", "smq-eval"})
    if (!sys::fs::can_execute(tools.path(name))) {
      errs() << "smq-sweep: error: cannot find " << name << " beside "
             << self << "\n";
      return std::nullopt;
    }
  return tools;
}

std::string SweepTools::path(StringRef name) const {
  SmallString<256> p(binDir);
  sys::path::append(p, name);
  return std::string(p);
}

std::optional<WorkFolder> WorkFolder::create(const std::string &named) {
  WorkFolder work;
  work.isTemporary = named.empty();
  if (work.isTemporary) {
    if (auto ec = sys::fs::createUniqueDirectory("smq-sweep", work.folder)) {
      errs() << "smq-sweep: error: cannot create a temporary folder: "
             << ec.message() << "\n";
      return std::nullopt;
    }
  } else {
    work.folder = named;
    if (auto ec = sys::fs::create_directories(work.folder)) {
      errs() << named << ": error: cannot create the folder: " << ec.message()
             << "\n";
      return std::nullopt;
    }
  }
  return work;
}

WorkFolder::WorkFolder(WorkFolder &&other)
    : folder(other.folder), isTemporary(other.isTemporary) {
  other.isTemporary = false;
}

WorkFolder::~WorkFolder() {
  if (isTemporary)
    sys::fs::remove_directories(folder);
}

std::string WorkFolder::path(const Twine &name) const {
  SmallString<256> p(folder);
  sys::path::append(p, name);
  return std::string(p);
}

bool importModel(const Config &c, const std::string &out) {
  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  // Generation needs the decoder with its cache, kept dynamic; the tools
  // that score windows bind it to windows themselves.
  auto module = c.generate > 0
                    ? smq::tools::loadModel(c.model, context, {})
                    : smq::tools::loadTokenModel(c.model, context, c.seqLen);
  if (!module)
    return false;
  if (c.generate > 0 && !mlir::smq::isDecoderWithCache(*module)) {
    errs() << c.model << ": error: --generate needs a decoder with a KV "
              "cache in Hugging Face's contract (input_ids, attention_mask, "
              "past_key_values.*)\n";
    return false;
  }
  std::error_code ec;
  raw_fd_ostream os(out, ec);
  if (ec) {
    errs() << out << ": error: " << ec.message() << "\n";
    return false;
  }
  if (failed(mlir::writeBytecodeToFile(*module, os))) {
    errs() << out << ": error: cannot write the model\n";
    return false;
  }
  if (!c.quiet)
    errs() << "sweep: imported " << c.model << " in "
           << duration(secondsSince(start)) << "\n";
  return true;
}

std::vector<Setting> planSettings(const Config &c) {
  std::vector<Setting> settings;
  for (double b : c.bits)
    for (const std::string &m : c.methods) {
      bool takesLambda = m == "search" || m == "gptq";
      // Mixed precision weighs layers by their statistics: rtn and wmse,
      // which use none, skip those widths.
      if (isMixed(b) && !takesLambda)
        continue;
      for (const std::string &l :
           takesLambda ? c.lambdas : std::vector<std::string>{""}) {
        Setting s{b, m, l, "w" + bitsText(b) + "-" + m, {}, {}};
        if (!l.empty())
          s.name += "-l" + l;
        settings.push_back(std::move(s));
      }
    }
  return settings;
}

std::vector<Stage> planStages(const Config &c,
                              const std::vector<Setting> &settings,
                              const SweepTools &tools, const WorkFolder &work,
                              const std::string &imported, int childThreads) {
  std::vector<Stage> stages;
  auto dataArgs = [&](StringRef text, StringRef tokens) {
    std::vector<std::string> a;
    if (!text.empty())
      a = {"--text", text.str(), "--byte-tokens"};
    else
      a = {"--tokens", tokens.str()};
    a.push_back("--seq-len=" + std::to_string(c.seqLen));
    return a;
  };
  auto threadArg = "--threads=" + std::to_string(childThreads);
  auto evalArgs = [&](const std::string &model, const std::string &name) {
    std::vector<std::string> a = {tools.path("smq-eval"), model};
    for (std::string &d : dataArgs(c.evalText, c.evalTokens))
      a.push_back(std::move(d));
    a.push_back("--max-tokens=" + std::to_string(c.maxTokens));
    // Given explicitly, smq-eval treats a model with no findable embedding
    // as an error; left at its default, as a note.
    if (c.smoothnessDirsGiven)
      a.push_back("--smoothness-dirs=" + std::to_string(c.smoothnessDirs));
    char eps[40];
    std::snprintf(eps, sizeof eps, "--epsilon=%.17g", c.epsilon);
    a.push_back(eps);
    a.push_back("--neighbours=" + std::to_string(c.neighbours));
    a.push_back("--measure-windows=" + std::to_string(c.measureWindows));
    a.push_back("--seed=" + std::to_string(c.seed));
    a.push_back(threadArg);
    a.push_back("--json=" + work.path(name + ".eval.json"));
    return a;
  };
  bool needsStats = llvm::any_of(
      settings, [](const Setting &s) { return !s.lambda.empty(); });
  size_t calibrate = SIZE_MAX;
  if (needsStats) {
    Stage s;
    s.kind = "calibrate";
    s.title = "calibrate";
    s.argv = {tools.path("smq-calibrate"), imported};
    for (std::string &d : dataArgs(c.calibText, c.calibTokens))
      s.argv.push_back(std::move(d));
    s.argv.insert(s.argv.end(),
                  {"--num-seqs=" + std::to_string(c.numSeqs),
                   "--holdout=" + std::to_string(c.holdout),
                   "--seed=" + std::to_string(c.seed), "-o",
                   work.path("model.stats"), "--quiet", threadArg});
    s.log = work.path("calibrate.log");
    calibrate = stages.size();
    stages.push_back(std::move(s));
  }
  {
    Stage s;
    s.kind = "evaluate";
    s.title = "evaluate float";
    s.argv = evalArgs(imported, "float");
    s.log = work.path("float.eval.log");
    stages.push_back(std::move(s));
  }
  for (size_t i = 0; i < settings.size(); ++i) {
    const Setting &set = settings[i];
    std::string model = work.path(set.name + ".mlirbc");
    std::string options =
        formatv("{0}={1} group-size={2} method={3}",
                isMixed(set.bits) ? "average-bits" : "bits",
                bitsText(set.bits), c.groupSize, set.method);
    Stage q;
    q.kind = set.lambda == "auto" ? "quantize-auto" : "quantize";
    q.title = "quantize W" + bitsText(set.bits) + " " + set.label();
    if (!set.lambda.empty()) {
      options += " stats=" + work.path("model.stats") + " lambda=" + set.lambda;
      if (set.lambda == "auto")
        options += " lambda-grid=" + c.lambdaGrid;
      q.after.push_back(calibrate);
    }
    options += " report=" + work.path(set.name + ".report.json") +
               " quiet=true threads=" + std::to_string(childThreads);
    q.argv = {tools.path("smq-opt"), imported,
              "--smq-quantize-weights=" + options, "--emit-bytecode", "-o",
              model};
    q.log = work.path(set.name + ".quantize.log");
    q.setting = static_cast<int>(i);
    size_t qi = stages.size();
    stages.push_back(std::move(q));

    Stage e;
    e.kind = "evaluate";
    e.title = "evaluate W" + bitsText(set.bits) + " " + set.label();
    e.argv = evalArgs(model, set.name);
    e.log = work.path(set.name + ".eval.log");
    e.setting = static_cast<int>(i);
    e.after.push_back(qi);
    // Generation before evaluation, which removes the model when done.
    if (c.generate > 0) {
      Stage g;
      g.kind = "generate";
      g.title = "generate W" + bitsText(set.bits) + " " + set.label();
      g.argv = {tools.path("smq-eval"), model, "--reference", imported};
      if (!c.evalText.empty())
        g.argv.insert(g.argv.end(), {"--text", c.evalText, "--byte-tokens"});
      else
        g.argv.insert(g.argv.end(), {"--tokens", c.evalTokens});
      g.argv.insert(
          g.argv.end(),
          {"--seq-len=" + std::to_string(c.generatePromptLen),
           "--generate=" + std::to_string(c.generate),
           "--generate-tokens=" + std::to_string(c.generateTokens), threadArg,
           "--json=" + work.path(set.name + ".gen.json")});
      g.log = work.path(set.name + ".gen.log");
      g.setting = static_cast<int>(i);
      g.after.push_back(qi);
      e.after.push_back(stages.size());
      stages.push_back(std::move(g));
    }
    stages.push_back(std::move(e));
  }
  for (Stage &s : stages)
    s.out = s.log.substr(0, s.log.size() - 4) + ".out";
  return stages;
}

namespace {

/// The signal that asked the sweep to stop (SIGINT, SIGTERM or SIGHUP),
/// or 0. The handler only records it; the stage loop acts on it.
volatile std::sig_atomic_t stopSignal = 0;

extern "C" void recordStop(int signal) { stopSignal = signal; }

/// Stops every running stage (SIGTERM, then waits for it).
void stopAll(std::vector<Stage> &stages) {
  for (Stage &s : stages)
    if (s.state == Stage::Running) {
      ::kill(s.process.Pid, SIGTERM);
      sys::Wait(s.process, std::nullopt);
      s.state = Stage::Done;
    }
}

/// Stops the sweep at `failed`: its command and log tail on stderr, every
/// other running stage killed.
void failStage(Stage &failed, std::vector<Stage> &stages,
               const std::string &why) {
  errs() << "smq-sweep: error: " << failed.title << " failed: " << why
         << "\n";
  std::string command;
  for (const std::string &a : failed.argv)
    command += (command.empty() ? "" : " ") + a;
  errs() << "  command: " << command << "\n";
  std::string log = tail(failed.log, 30);
  if (!log.empty())
    errs() << "  its stderr (last lines):\n" << log;
  stopAll(stages);
}

/// Starts every pending stage whose inputs are done, up to `parallel`
/// running; false (after failStage) if one cannot start.
bool startReady(std::vector<Stage> &stages, size_t &running,
                unsigned parallel) {
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
    s.process = sys::ExecuteNoWait(s.argv[0], args, std::nullopt, redirects,
                                   0, &why, &failedToStart);
    if (failedToStart || s.process.Pid <= 0) {
      failStage(s, stages, "cannot start it: " + why);
      return false;
    }
    s.state = Stage::Running;
    s.started = std::chrono::steady_clock::now();
    ++running;
  }
  return true;
}

/// What a finished stage adds: its time, and a quantization's report.
/// Returns what to say after its title ("(picked λ=0.25)"), or nullopt after
/// failStage.
std::optional<std::string> finish(const Config &c, Stage &s,
                                  std::vector<Stage> &stages,
                                  std::vector<Setting> &settings,
                                  const WorkFolder &work) {
  // A stage that succeeded may still have something to say (a model with
  // no findable embedding gets no proxy, for one).
  if (auto log = MemoryBuffer::getFile(s.log); log && !c.quiet) {
    SmallVector<StringRef> lines;
    (*log)->getBuffer().split(lines, '\n', -1, false);
    for (StringRef line : lines)
      if (line.contains(": note: ") || line.contains(": warning: "))
        errs() << "sweep: " << s.title << ": " << line << "\n";
  }
  if (s.setting < 0)
    return std::string();
  Setting &set = settings[s.setting];
  if (s.kind == "generate")
    return std::string();
  if (s.kind == "evaluate") {
    set.evaluateSeconds = s.seconds;
    if (!c.keepModels || work.temporary())
      sys::fs::remove(work.path(set.name + ".mlirbc"));
    return std::string();
  }
  set.quantizeSeconds = s.seconds;
  std::string why;
  auto report = readJson(work.path(set.name + ".report.json"), why);
  if (!report) {
    failStage(s, stages, "no report: " + why);
    return std::nullopt;
  }
  if (auto *l = report->getObject("lambda"))
    if (auto picked = l->getNumber("picked")) {
      set.lambdaPicked = *picked;
      if (set.lambda == "auto")
        return " (picked λ=" + shortNumber(*picked) + ")";
    }
  return std::string();
}

} // namespace

bool runStages(const Config &c, std::vector<Stage> &stages,
               std::vector<Setting> &settings, const WorkFolder &work,
               unsigned parallel,
               std::chrono::steady_clock::time_point sweepStart) {
  Estimator estimator;
  size_t finished = 0, running = 0;
  while (finished < stages.size()) {
    if (stopSignal) {
      stopAll(stages);
      return false;
    }
    if (!startReady(stages, running, parallel))
      return false;
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
      // Ctrl-C reaches the stages too: one that died of it did not fail.
      if (result.ReturnCode != 0 && stopSignal) {
        stopAll(stages);
        return false;
      }
      if (result.ReturnCode != 0) {
        failStage(s, stages,
                  result.ReturnCode < 0
                      ? "it crashed or was killed" +
                            (why.empty() ? "" : ": " + why)
                      : "exit status " + std::to_string(result.ReturnCode));
        return false;
      }
      estimator.record(s.kind, s.seconds);
      std::optional<std::string> extra = finish(c, s, stages, settings, work);
      if (!extra)
        return false;
      if (c.quiet)
        continue;
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
                        finished, stages.size(), s.title, duration(s.seconds),
                        *extra, duration(secondsSince(sweepStart)),
                        known ? duration(remaining / parallel)
                              : std::string("?"));
    }
    if (!progressed)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::optional<json::Object>
gatherResults(const Config &c, std::vector<Setting> &settings,
              const WorkFolder &work, unsigned parallel, int childThreads,
              double seconds, json::Object &floatEval) {
  std::string why;
  auto floatRead = readJson(work.path("float.eval.json"), why);
  if (!floatRead) {
    errs() << "smq-sweep: error: " << why << "\n";
    return std::nullopt;
  }
  floatEval = std::move(*floatRead);
  double floatPpl = number(floatEval, "perplexity");
  for (Setting &set : settings) {
    auto measured = readJson(work.path(set.name + ".eval.json"), why);
    if (!measured) {
      errs() << "smq-sweep: error: " << why << "\n";
      return std::nullopt;
    }
    set.measured = std::move(*measured);
    if (c.generate > 0) {
      auto generation = readJson(work.path(set.name + ".gen.json"), why);
      if (!generation) {
        errs() << "smq-sweep: error: " << why << "\n";
        return std::nullopt;
      }
      set.generation = std::move(*generation);
    }
  }
  auto findSetting = [&](double b, const std::string &m,
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
      double v = number(set.measured, key), ref = number(floatEval, key);
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
    if (c.generate > 0) {
      json::Object g;
      for (StringRef key :
           {"prompts", "prompt_tokens", "generated_tokens",
            "mean_tokens_to_divergence", "min_tokens_to_divergence",
            "identical_rate", "greedy_match_rate", "top_k", "top_k_kept"})
        if (auto v = set.generation.getNumber(key))
          g[key] = *v;
      r["generation"] = std::move(g);
    }
    r["quantize_seconds"] = set.quantizeSeconds;
    r["evaluate_seconds"] = set.evaluateSeconds;
    runs.push_back(std::move(r));
  }

  json::Object floatOut;
  for (StringRef key : {"perplexity", "mean_nll", "exp_entropy",
                        "candidates_p01", "breadth", "swap_kl",
                        "smoothness_proxy"})
    if (auto v = floatEval.getNumber(key))
      floatOut[key] = *v;
  return json::Object{
      {"model", c.model},
      {"seq_len", c.seqLen},
      {"group_size", c.groupSize},
      {"calibration",
       json::Object{
           {"data", c.calibText.empty() ? c.calibTokens : c.calibText},
           {"sequences", c.numSeqs},
           {"holdout", c.holdout},
           {"lambda_grid", c.lambdaGrid},
       }},
      {"evaluation",
       json::Object{
           {"data", c.evalText.empty() ? c.evalTokens : c.evalText},
           {"max_tokens", c.maxTokens},
           {"predictions", number(floatEval, "predictions")},
           // Absent when the proxy was not measured (JSON has no NaN).
           {"smoothness_dirs",
            floatEval.getNumber("smoothness_dirs")
                ? json::Value(*floatEval.getNumber("smoothness_dirs"))
                : json::Value(nullptr)},
           {"epsilon", c.epsilon},
           {"neighbours", c.neighbours},
           {"measure_windows", c.measureWindows},
           {"seed", static_cast<int64_t>(c.seed)},
       }},
      {"float", std::move(floatOut)},
      {"runs", std::move(runs)},
      {"jobs", static_cast<int64_t>(parallel)},
      {"threads_per_job", childThreads},
      {"seconds", seconds},
  };
}

smq::plot::Figure sweepFigure(const Config &c,
                              const std::vector<Setting> &settings,
                              const json::Object &floatEval) {
  // One line per method and λ; λ=0 dashed.
  smq::plot::Figure figure;
  // The model's folder and file: "gpt-byte/model.onnx" says more than
  // "model.onnx".
  SmallString<256> shown(sys::path::filename(sys::path::parent_path(c.model)));
  sys::path::append(shown, sys::path::filename(c.model));
  figure.title = "SMQ sweep: " + std::string(shown);
  figure.subtitle =
      formatv("group size {0}; {1} calibration sequences of {2} tokens; "
              "{3} predictions evaluated; ratios are quantized / float",
              c.groupSize, c.numSeqs, c.seqLen,
              static_cast<int64_t>(number(floatEval, "predictions")))
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
    double reference = number(floatEval, spec.key);
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
        series.x.push_back(s.bits);
        series.y.push_back(v);
      }
      panel.series.push_back(std::move(series));
    }
    figure.panels.push_back(std::move(panel));
  }
  return figure;
}

void printTable(const std::vector<Setting> &settings, const json::Array &runs,
                double floatPerplexity) {
  auto pad = [](const std::string &s, size_t width, bool right) {
    size_t chars = 0; // code points, not bytes: λ is two
    for (char ch : s)
      chars += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
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
  outs() << pad("-    float", 29, false) << " " << cell(floatPerplexity)
         << "\n";
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
    outs() << pad("W" + bitsText(set.bits), 5, false)
           << pad(label, 24, false) << " " << cell(get("perplexity"))
           << cell(get("smoothness_proxy_ratio"))
           << cell(get("exp_entropy_ratio"))
           << cell(get("candidates_p01_ratio")) << cell(get("breadth_ratio"))
           << cell(get("swap_kl_ratio")) << cell(get("gap_recovered")) << "\n";
  }
  if (runs.empty() || !runs[0].getAsObject()->getObject("generation"))
    return;
  outs() << "\ngeneration along the float model's greedy path:\n";
  outs() << pad("bits method", 29, false) << pad("to diverge", 11, true)
         << pad("identical", 10, true) << pad("match", 10, true)
         << pad("top-k kept", 11, true) << "\n";
  for (size_t i = 0; i < settings.size(); ++i) {
    const json::Object &g =
        *runs[i].getAsObject()->getObject("generation");
    auto get = [&](StringRef key) {
      auto v = g.getNumber(key);
      return v ? *v : std::nan("");
    };
    outs() << pad("W" + bitsText(settings[i].bits), 5, false)
           << pad(settings[i].label(), 24, false) << " "
           << pad(formatv("{0:f2}", get("mean_tokens_to_divergence")).str(), 10,
                  true)
           << cell(get("identical_rate")) << cell(get("greedy_match_rate"))
           << " " << cell(get("top_k_kept")) << "\n";
  }
}

int runSweep(const Config &c, const std::string &self) {
  auto sweepStart = std::chrono::steady_clock::now();
  if (int status = checkConfig(c))
    return status;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  unsigned parallel = c.jobs ? c.jobs : cores;
  int childThreads = c.threads > 1
                         ? c.threads
                         : static_cast<int>(std::max(1u, cores / parallel));
  std::optional<SweepTools> tools = SweepTools::find(self);
  if (!tools)
    return 1;
  std::optional<WorkFolder> work = WorkFolder::create(c.workDir);
  if (!work)
    return 1;
  // Interrupted or terminated, the sweep stops its stages (child
  // processes, which would otherwise run on, orphaned) and removes its
  // temporary folder before it exits, as killed by the signal would.
  struct sigaction stop = {};
  stop.sa_handler = recordStop;
  sigemptyset(&stop.sa_mask);
  for (int signal : {SIGINT, SIGTERM, SIGHUP})
    sigaction(signal, &stop, nullptr);
  auto interrupted = [&] {
    if (!stopSignal)
      return false;
    errs() << "smq-sweep: stopped by signal " << int(stopSignal) << " ("
           << strsignal(stopSignal) << "); its stages were stopped and "
           << (work->temporary() ? "its temporary folder removed"
                                 : "nothing was written")
           << "\n";
    return true;
  };
  std::string imported = work->path("model.mlirbc");
  if (!importModel(c, imported))
    return 1;

  std::vector<Setting> settings = planSettings(c);
  std::vector<Stage> stages =
      planStages(c, settings, *tools, *work, imported, childThreads);
  if (!c.quiet)
    errs() << formatv("sweep: {0} setting{1} ({2} bit width{3}), {4} stages, "
                      "{5} at a time, {6} thread{7} each, in {8}\n",
                      settings.size(), settings.size() == 1 ? "" : "s",
                      c.bits.size(), c.bits.size() == 1 ? "" : "s",
                      stages.size(), parallel, childThreads,
                      childThreads == 1 ? "" : "s", work->dir());
  bool ran = runStages(c, stages, settings, *work, parallel, sweepStart);
  if (interrupted())
    return 128 + stopSignal;
  if (!ran)
    return 1;

  json::Object floatEval;
  std::optional<json::Object> result =
      gatherResults(c, settings, *work, parallel, childThreads,
                    secondsSince(sweepStart), floatEval);
  if (!result)
    return 1;
  if (interrupted())
    return 128 + stopSignal;
  smq::plot::Figure figure = sweepFigure(c, settings, floatEval);
  json::Array runs = *result->getArray("runs");
  std::string why;
  if (!c.jsonPath.empty() &&
      !smq::writeFileAtomically(
          c.jsonPath,
          [&](std::ostream &os) {
            std::string text =
                formatv("{0:2}", json::Value(std::move(*result))).str();
            return bool(os << text << "\n");
          },
          &why)) {
    errs() << "smq-sweep: error: " << why << "\n";
    return 1;
  }
  if (!c.svgPath.empty() &&
      !smq::writeFileAtomically(
          c.svgPath,
          [&](std::ostream &os) {
            return bool(os << smq::plot::renderSvg(figure));
          },
          &why)) {
    errs() << "smq-sweep: error: " << why << "\n";
    return 1;
  }
  printTable(settings, runs, number(floatEval, "perplexity"));
  if (!c.quiet)
    errs() << "sweep: done in " << duration(secondsSince(sweepStart)) << "\n";
  return 0;
}

} // namespace smq::sweep
