//===- ModelLoading.cpp ---------------------------------------------------===//
#include "ModelLoading.h"

#include "ToolDiagnostics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "smq/Dialect/Smq/IR/SmqDialect.h"
#include "smq/Import/Onnx/TensorFile.h"
#include "smq/Runtime/GpuRuntime.h"
#include "smq/Runtime/Runtime.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "smq/Conversion/Passes.h"
#include "smq/Execution/MemoryEstimate.h"
#include "smq/Execution/Generation.h"
#include "smq/Execution/Registration.h"
#include "smq/Transforms/Passes.h"
#include "llvm/ADT/StringRef.h"

#include <algorithm>

namespace smq::tools {

ThreadsOption::ThreadsOption(llvm::cl::OptionCategory &category) {
  auto &registered = llvm::cl::getRegisteredOptions();
  auto it = registered.find("threads");
  if (it != registered.end())
    option = dynamic_cast<llvm::cl::opt<int> *>(it->second);
  if (!option)
    option = new llvm::cl::opt<int>("threads", llvm::cl::init(1));
  option->setDescription("Threads the kernels may use");
  option->addCategory(category);
}

int ThreadsOption::get() const {
  return option->getNumOccurrences() ? std::max(1, option->getValue()) : 1;
}

std::string applyCpuIsaFromEnv() {
  char err[256];
  return smq_rt_select_isa_from_env(err, sizeof err) == 0 ? std::string()
                                                          : std::string(err);
}

KernelOptions::KernelOptions(llvm::cl::OptionCategory &category)
    : activations("quantized-activations",
                  llvm::cl::desc("Decoding quantized matmuls (at most 4 rows): "
                                 "int8 activations (integer dot products) or "
                                 "f32 (exact)"),
                  llvm::cl::init("int8"), llvm::cl::cat(category)),
      deviceName("device",
                 llvm::cl::desc("Where the model runs: cpu, vulkan (SPIR-V "
                                "compute) or cuda (PTX); see docs/Gpu.md"),
                 llvm::cl::init("cpu"), llvm::cl::cat(category)),
      attention("attention",
                llvm::cl::desc("Attention ops on the CPU: kernel (the "
                               "runtime's, over each row's own slots of the "
                               "cache) or primitives (masked, over every "
                               "slot; for comparison)"),
                llvm::cl::init("kernel"), llvm::cl::cat(category)),
      maxMemory(category) {}

MaxMemoryOption::MaxMemoryOption(llvm::cl::OptionCategory &category)
    : option("max-memory",
             llvm::cl::desc("Refuse a model whose run would need more "
                            "memory than this (bytes, or 512M, 8G, ...); "
                            "default: SMQ_MAX_MEMORY, else the machine's "
                            "memory"),
             llvm::cl::value_desc("size"), llvm::cl::cat(category)) {}

bool MaxMemoryOption::check(llvm::StringRef tool) const {
  if (!option.empty() && !mlir::smq::parseByteSize(option)) {
    llvm::errs() << tool << ": --max-memory takes a size (bytes, or 512M, "
                 << "8G, ...), not '" << option << "'\n";
    return false;
  }
  if (const char *env = std::getenv("SMQ_MAX_MEMORY");
      env && !mlir::smq::parseByteSize(env)) {
    llvm::errs() << tool << ": SMQ_MAX_MEMORY takes a size (bytes, or 512M, "
                 << "8G, ...), not '" << env << "'\n";
    return false;
  }
  return true;
}

uint64_t MaxMemoryOption::bytes() const {
  return option.empty() ? 0 : mlir::smq::parseByteSize(option).value_or(0);
}

bool KernelOptions::apply(llvm::StringRef tool) const {
  if (activations != "f32" && activations != "int8") {
    llvm::errs() << tool << ": --quantized-activations must be f32 or int8, "
                 << "not '" << activations << "'\n";
    return false;
  }
  if (deviceName != "cpu" && deviceName != "vulkan" && deviceName != "cuda") {
    llvm::errs() << tool << ": --device must be cpu, vulkan or cuda, not '"
                 << deviceName << "'\n";
    return false;
  }
  if (attention != "kernel" && attention != "primitives") {
    llvm::errs() << tool << ": --attention must be kernel or primitives, not '"
                 << attention << "'\n";
    return false;
  }
  if (!maxMemory.check(tool))
    return false;
  std::string isaError = applyCpuIsaFromEnv();
  if (!isaError.empty()) {
    llvm::errs() << tool << ": " << isaError << "\n";
    return false;
  }
  return true;
}

std::string KernelOptions::quantizedActivations() const { return activations; }

std::string KernelOptions::device() const { return deviceName; }

bool KernelOptions::attentionKernel() const { return attention == "kernel"; }

uint64_t KernelOptions::maxMemoryBytes() const { return maxMemory.bytes(); }

std::string KernelOptions::runsOn(int threads) const {
  if (deviceName == "cpu")
    return std::to_string(threads) + " threads, cpu " +
           smq_rt_isa_name(smq_rt_cpu_isa());
  return deviceName + " device '" + smq_gpu_device_name() + "'";
}

void registerCompilerDialects(mlir::MLIRContext &context) {
  static bool passes = [] {
    mlir::registerAllPasses();
    mlir::smq::registerSmqTransformsPasses();
    mlir::smq::registerSmqConversionPasses();
    return true;
  }();
  (void)passes;
  mlir::DialectRegistry registry;
  mlir::smq::registerCompilerDialects(registry);
  context.appendDialectRegistry(registry);
}

mlir::OwningOpRef<mlir::ModuleOp>
loadModel(const std::string &path, mlir::MLIRContext &context,
          const std::map<std::string, std::vector<int64_t>> &inputShapes) {
  llvm::StringRef p(path);
  if (p.ends_with(".mlir") || p.ends_with(".mlirbc")) {
    auto module = mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
    // A module kept with dynamic inputs (a decoder with a KV cache, say)
    // takes the shapes given, as an import would.
    if (module && mlir::smq::hasDynamicInput(*module, &inputShapes) &&
        failed(mlir::smq::specializeInputShapes(*module, inputShapes)))
      return nullptr;
    return module;
  }
  mlir::smq::OnnxImportOptions options;
  options.inputShapes = inputShapes;
  return mlir::smq::importOnnxFile(path, &context, options);
}

mlir::OwningOpRef<mlir::ModuleOp> loadTokenModel(const std::string &path,
                                                 mlir::MLIRContext &context,
                                                 int64_t seqLen) {
  // A decoder with a KV cache scores windows without its cache.
  auto windowsOfDecoder =
      [&](mlir::OwningOpRef<mlir::ModuleOp> module)
      -> mlir::OwningOpRef<mlir::ModuleOp> {
    if (module && mlir::smq::isDecoderWithCache(*module) &&
        failed(mlir::smq::bindDecoderForWindows(*module, seqLen)))
      return nullptr;
    return module;
  };
  llvm::StringRef p(path);
  if (p.ends_with(".mlir") || p.ends_with(".mlirbc"))
    return windowsOfDecoder(loadModel(path, context, {}));
  std::string inputName;
  bool decoder = false;
  {
    mlir::MLIRContext probeContext;
    registerCompilerDialects(probeContext);
    ToolDiagnosticHandler probeDiagnostics(&probeContext);
    auto probe = loadModel(path, probeContext, {});
    if (!probe)
      return nullptr;
    decoder = mlir::smq::isDecoderWithCache(*probe);
    for (auto func : probe->getOps<mlir::func::FuncOp>())
      if (func.getNumArguments() > 0)
        if (auto n = func.getArgAttrOfType<mlir::StringAttr>(0, "smq.name"))
          inputName = n.getValue().str();
  }
  if (decoder)
    return windowsOfDecoder(loadModel(path, context, {}));
  if (inputName.empty())
    return loadModel(path, context, {});
  return loadModel(path, context, {{inputName, {1, seqLen}}});
}

std::optional<HostArray> readTensor(const std::string &path,
                                    std::string *why) {
  if (llvm::StringRef(path).ends_with(".pb"))
    return readOnnxTensorFile(path, why);
  return readNpy(path, why);
}

} // namespace smq::tools
