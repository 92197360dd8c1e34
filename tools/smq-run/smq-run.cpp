//===- smq-run.cpp - JIT-compile a model and run it -----------------------===//
//
//   smq-run model.{onnx,mlir} --input name=path.{npy,pb} ...
//           --output-dir DIR [--threads N] [--bench N]
//
// An ONNX model is imported with its input shapes taken from the inputs
// given, so shape computations fold and the graph compiles statically.
// Outputs are written as DIR/<output name>.npy, each only once complete.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "ToolDiagnostics.h"

#include "smq/Execution/CompiledModel.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/AtomicFile.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

using namespace llvm;

static cl::OptionCategory category("smq-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
                                      cl::cat(category));
static cl::list<std::string>
    inputArgs("input", cl::desc("A graph input: NAME=FILE.npy or FILE.pb"),
              cl::value_desc("name=file"), cl::cat(category));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where to write outputs"),
                                      cl::value_desc("dir"), cl::cat(category));
static cl::opt<int> bench("bench",
                          cl::desc("Time N passes after 3 warm-ups and print "
                                   "min / median / max ms per pass"),
                          cl::init(0), cl::cat(category));
static cl::opt<unsigned> optLevel(
    "jit-opt-level", cl::desc("LLVM optimisation level of the JIT (0-3)"),
    cl::init(2), cl::cat(category));
static cl::opt<bool> noRuntimeMatmul(
    "no-runtime-matmul",
    cl::desc("Compile matmuls to loops instead of calling the runtime's "
             "kernels (for comparison)"),
    cl::cat(category));
static cl::opt<bool> noOutlineLoopNests(
    "no-outline-loop-nests",
    cl::desc("Compile every loop nest inline in the model's function (for "
             "comparison)"),
    cl::init(false), cl::cat(category));
static cl::opt<bool> noIndexChecks(
    "no-index-checks",
    cl::desc("Do not check data-dependent Gather and ScatterND indices: one "
             "out of range is clamped silently (for measuring the checks)"),
    cl::cat(category));
static cl::opt<bool> noParallelRows(
    "no-parallel-rows",
    cl::desc("Run elementwise and normalisation loops on the calling thread "
             "only (for comparison)"),
    cl::cat(category));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::ThreadsOption threads(category);
  smq::tools::KernelOptions kernelOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ model runner\n");
  if (!kernelOptions.apply("smq-run"))
    return 1;

  std::map<std::string, smq::HostArray> inputs;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string &arg : inputArgs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      errs() << "smq-run: --input expects NAME=FILE, got '" << arg << "'\n";
      return 2;
    }
    std::string why;
    auto a = smq::tools::readTensor(arg.substr(eq + 1), &why);
    if (!a) {
      errs() << "smq-run: " << why << "\n";
      return 1;
    }
    shapes[arg.substr(0, eq)] = a->shape;
    inputs[arg.substr(0, eq)] = std::move(*a);
  }

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = smq::tools::loadModel(modelPath, context, shapes);
  if (!module)
    return 1;

  mlir::smq::CompileOptions options;
  options.runtimeMatmul = !noRuntimeMatmul;
  options.parallelRows = !noParallelRows;
  options.outlineLoopNests = !noOutlineLoopNests;
  options.indexChecks = !noIndexChecks;
  options.quantizedActivations = kernelOptions.quantizedActivations();
  options.attentionKernel = kernelOptions.attentionKernel();
  options.device = kernelOptions.device();
  options.maxMemoryBytes = kernelOptions.maxMemoryBytes();
  options.optLevel = std::min(3u, optLevel.getValue());
  auto model = mlir::smq::CompiledModel::compile(*module, options);
  if (!model)
    return 1;

  std::vector<const smq::HostArray *> ordered;
  for (const auto &spec : model->inputs()) {
    auto it = inputs.find(spec.name);
    if (it == inputs.end()) {
      errs() << "smq-run: missing --input " << spec.name << "=FILE\n";
      return 1;
    }
    ordered.push_back(&it->second);
  }
  for (const auto &[name, array] : inputs)
    if (std::none_of(model->inputs().begin(), model->inputs().end(),
                     [&](const auto &s) { return s.name == name; })) {
      errs() << "smq-run: the model has no input named '" << name << "'\n";
      return 1;
    }

  smq_rt_set_num_threads(threads.get());
  std::vector<smq::HostArray> outputs;
  std::string why;
  if (!model->run(ordered, outputs, &why)) {
    errs() << "smq-run: " << why << "\n";
    return 1;
  }
  if (bench > 0) {
    for (int i = 0; i < 3; ++i)
      model->run(ordered, outputs, &why);
    std::vector<double> ms;
    for (int i = 0; i < bench; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      model->run(ordered, outputs, &why);
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
    }
    std::sort(ms.begin(), ms.end());
    outs() << format("compile %.1f ms%s; ms per pass: min %.3f median %.3f max "
                     "%.3f (%s)\n",
                     model->compileSeconds() * 1e3,
                     model->fromCache() ? " (cached)" : "", ms.front(),
                     ms[ms.size() / 2], ms.back(),
                     kernelOptions.runsOn(threads.get()).c_str());
  }
  if (!outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(outputDir.getValue(), ec);
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string name = model->outputs()[i].name;
      std::replace(name.begin(), name.end(), '/', '_');
      std::string path = outputDir + "/" + name + ".npy";
      std::string bytes = smq::npyBytes(outputs[i]);
      if (!smq::writeFileAtomically(
              path, [&](std::ostream &os) { return bool(os << bytes); },
              &why)) {
        errs() << "smq-run: " << why << "\n";
        return 1;
      }
    }
  }
  return 0;
}
