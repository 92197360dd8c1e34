//===- smq-compile.cpp - ahead-of-time shared libraries of models ---------===//
//
//   smq-compile model.{onnx,mlir} -o libNAME.so
//               [--weights NAME.weights | --embed-weights]
//               [--target-cpu CPU] [--prefix P] [--input-shape name=1x128]
//               [--device cpu|vulkan|cuda]
//
// Lowers the model as the JIT does, emits position-independent object code
// for --target-cpu (default x86-64: any x86-64 CPU; the runtime's kernels
// dispatch by CPU either way), and links it with a generated C file (the
// model's description and the table of runtime kernels, Artifact.h) into a
// shared library that needs only libc and libm. Weights go to a separate,
// checksummed, page-aligned file that the runtime memory-maps, unless
// --embed-weights puts that same image inside the library. The only
// exported symbol is <prefix>_smq_model_v1 (prefix: NAME of libNAME.so).
// With --device vulkan or cuda the library's kernels are SPIR-V or PTX,
// embedded in it, and its host code calls the runtime's device layer;
// the runtime opens the device when it loads the library. Outputs appear
// only once complete.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "ToolDiagnostics.h"

#include "smq/Execution/AotLibrary.h"
#include "smq/Support/ShapeSpec.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"


using namespace llvm;

static cl::OptionCategory category("smq-compile options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
                                      cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("The shared library to write"),
                                       cl::value_desc("libNAME.so"),
                                       cl::cat(category));
static cl::opt<std::string>
    weightsPath("weights",
                cl::desc("The weights file to write (default: NAME.weights "
                         "beside the library)"),
                cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> embedWeights(
    "embed-weights",
    cl::desc("Put the weights inside the library instead of a file"),
    cl::cat(category));
static cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("CPU the generated code is for: x86-64 (default, any x86-64), "
             "x86-64-v3, skylake-avx512, native, ... The kernels dispatch "
             "at run time regardless"),
    cl::init("x86-64"), cl::cat(category));
static cl::opt<std::string>
    prefix("prefix",
           cl::desc("Prefix of the exported symbol <prefix>_smq_model_v1 "
                    "(default: NAME of libNAME.so)"),
           cl::cat(category));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Specialise a graph input's shape: NAME=DIMxDIM..."),
                cl::value_desc("name=1x128"), cl::cat(category));
static cl::opt<std::string> compilerDriver(
    "cc", cl::desc("C compiler that links the library (default: cc)"),
    cl::init("cc"), cl::cat(category));
static cl::opt<unsigned> optLevel("opt-level",
                                  cl::desc("LLVM optimisation level (0-3)"),
                                  cl::init(2), cl::cat(category));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::KernelOptions kernelOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ ahead-of-time compiler\n");
  if (!kernelOptions.apply("smq-compile"))
    return 1;
  mlir::smq::AotOptions options;
  options.libraryPath = outputPath;
  options.weightsPath = weightsPath;
  options.embedWeights = embedWeights;
  options.prefix = prefix;
  options.cc = compilerDriver;
  options.compile.quantizedActivations = kernelOptions.quantizedActivations();
  options.compile.attentionKernel = kernelOptions.attentionKernel();
  options.compile.optLevel = std::min(3u, optLevel.getValue());
  options.compile.targetCpu = targetCpu;
  options.compile.maxMemoryBytes = kernelOptions.maxMemoryBytes();
  options.compile.device = kernelOptions.device();
  if (embedWeights && !weightsPath.empty()) {
    errs() << "smq-compile: --weights and --embed-weights exclude each "
              "other\n";
    return 2;
  }

  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string &spec : inputShapes) {
    std::string why;
    auto parsed = smq::parseShapeSpec(spec, &why);
    if (!parsed) {
      errs() << "smq-compile: --input-shape: " << why << "\n";
      return 2;
    }
    shapes[parsed->name] = parsed->dims;
  }

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = smq::tools::loadModel(modelPath, context, shapes);
  if (!module)
    return 1;
  std::string why;
  auto written = mlir::smq::writeAotLibrary(*module, options, &why);
  if (mlir::failed(written)) {
    if (!why.empty())
      errs() << "smq-compile: " << why << "\n";
    return 1;
  }
  errs() << "smq-compile: wrote " << written->libraryPath;
  if (!embedWeights)
    errs() << " and " << written->weightsPath << " (" << written->weightsBytes
           << " bytes)";
  errs() << "; entry " << written->symbol << "\n";
  return 0;
}
