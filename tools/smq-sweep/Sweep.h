//===- Sweep.h - quantize and evaluate over bits x methods x lambda -*- C++ -*-===//
//
// What smq-sweep does, as steps a driver calls (smq-sweep.cpp parses the
// command line into a Config and calls runSweep):
//
//   checkConfig      what the children would only find out later
//   SweepTools       the sibling tools beside the executable
//   WorkFolder       where the intermediate files go (removed at the end
//                    unless the user named it)
//   importModel      once, in process, with the importer's diagnostics
//   planSettings     bits × methods × λ
//   planStages       the child processes and what each waits for
//   runStages        -j at a time, with progress and an ETA
//   gatherResults    the JSON
//   sweepFigure      the SVG figure
//   printTable       the table on stdout
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_TOOLS_SMQ_SWEEP_SWEEP_H
#define SMQ_TOOLS_SMQ_SWEEP_SWEEP_H

#include "smq/Support/SvgPlot.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smq::sweep {

/// Everything the command line says.
struct Config {
  std::string model;
  std::string calibText, calibTokens, evalText, evalTokens;
  bool byteTokens = false;
  int64_t seqLen = 128, numSeqs = 64, holdout = 8, maxTokens = 0;
  int64_t groupSize = 64;
  /// 2, 3, 4 or 8; or an average between 2 and 4 (mixed precision:
  /// average-bits, with search and gptq).
  std::vector<double> bits;
  std::vector<std::string> methods, lambdas;
  std::string lambdaGrid;
  /// smq-eval's measures; smoothnessDirs is passed on only when given.
  int smoothnessDirs = 32;
  bool smoothnessDirsGiven = false;
  double epsilon = 1e-3;
  int neighbours = 4;
  int64_t measureWindows = 32;
  uint64_t seed = 0;
  /// Stages at once (0: one per core), and threads per stage (0: cores
  /// shared among the stages).
  unsigned jobs = 0;
  int threads = 0;
  /// Generation measures (smq-eval --generate) for a decoder with a KV
  /// cache: prompts (0: none), tokens generated per prompt, prompt length.
  int64_t generate = 0, generateTokens = 32, generatePromptLen = 32;
  std::string jsonPath, svgPath, workDir;
  bool keepModels = false, quiet = false;
};

/// One point of the sweep.
struct Setting {
  double bits;
  std::string method;
  std::string lambda; // "auto", a number, or "" for methods with no λ
  std::string name;   // file stem
  std::string label() const {
    return lambda.empty() ? method : method + " λ=" + lambda;
  }
  /// What smq-opt's report says it used (auto: what it picked).
  std::optional<double> lambdaPicked;
  llvm::json::Object measured; // smq-eval's JSON
  llvm::json::Object generation; // smq-eval --generate's JSON
  double quantizeSeconds = 0, evaluateSeconds = 0;
};

/// A child process of the sweep.
struct Stage {
  std::string kind; // calibrate, quantize, quantize-auto, generate, evaluate
  std::string title;
  std::vector<std::string> argv;
  std::string log, out;
  std::vector<size_t> after;
  int setting = -1; // -1: the float model
  enum { Pending, Running, Done } state = Pending;
  llvm::sys::ProcessInfo process;
  std::chrono::steady_clock::time_point started;
  double seconds = 0;
};

/// Checks what the children would only find out later, printing
/// "smq-sweep: error: ..."; returns the exit status (0: go on).
int checkConfig(const Config &c);

/// smq-calibrate, smq-opt and smq-eval beside this executable.
class SweepTools {
public:
  /// Finds them beside `self`; prints an error and fails if one is missing.
  static std::optional<SweepTools> find(const std::string &self);
  std::string path(llvm::StringRef name) const;

private:
  llvm::SmallString<256> binDir;
};

/// The work folder: a temporary one, removed at the end, or the one the
/// user named, kept.
class WorkFolder {
public:
  /// Prints an error and fails if it cannot be created.
  static std::optional<WorkFolder> create(const std::string &named);
  WorkFolder(WorkFolder &&other);
  WorkFolder(const WorkFolder &) = delete;
  ~WorkFolder();
  std::string path(const llvm::Twine &name) const;
  bool temporary() const { return isTemporary; }
  llvm::StringRef dir() const { return folder; }

private:
  WorkFolder() = default;
  llvm::SmallString<256> folder;
  bool isTemporary = false;
};

/// Imports the model once, in this process (a bad model fails here with the
/// importer's diagnostics), and writes it as bytecode to `out`.
bool importModel(const Config &c, const std::string &out);

std::vector<Setting> planSettings(const Config &c);

/// The stages: calibration (if a method needs statistics), the float
/// model's evaluation, and each setting's quantization and evaluation.
std::vector<Stage> planStages(const Config &c,
                              const std::vector<Setting> &settings,
                              const SweepTools &tools, const WorkFolder &work,
                              const std::string &imported, int childThreads);

/// Runs the stages `parallel` at a time in dependency order, reading each
/// quantization's report into its setting. On a failure kills the others,
/// prints the stage's command and log tail, and returns false.
bool runStages(const Config &c, std::vector<Stage> &stages,
               std::vector<Setting> &settings, const WorkFolder &work,
               unsigned parallel,
               std::chrono::steady_clock::time_point sweepStart);

/// Reads every evaluation and builds the JSON; nullopt after an error.
std::optional<llvm::json::Object>
gatherResults(const Config &c, std::vector<Setting> &settings,
              const WorkFolder &work, unsigned parallel, int childThreads,
              double seconds, llvm::json::Object &floatEval);

/// Perplexity, the proxy and the candidate measures against bits, one line
/// per method and λ.
smq::plot::Figure sweepFigure(const Config &c,
                              const std::vector<Setting> &settings,
                              const llvm::json::Object &floatEval);

void printTable(const std::vector<Setting> &settings,
                const llvm::json::Array &runs, double floatPerplexity);

/// The whole sweep; returns the exit status.
int runSweep(const Config &c, const std::string &self);

/// A bit width as the tables and file names write it: "4", "2.5".
std::string bitsText(double bits);

/// Whether `bits` is an average (mixed precision) rather than one width.
inline bool isMixed(double bits) { return bits != static_cast<int>(bits); }

/// "1.5 s", or "2m05s" from two minutes on.
std::string duration(double seconds);

} // namespace smq::sweep

#endif // SMQ_TOOLS_SMQ_SWEEP_SWEEP_H
