//===- ModelLoading.h - what every running tool does first ------*- C++ -*-===//
#ifndef SMQ_TOOLS_COMMON_MODELLOADING_H
#define SMQ_TOOLS_COMMON_MODELLOADING_H

#include "smq/Import/Onnx/OnnxImporter.h"
#include "smq/Support/HostArray.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"

#include <map>
#include <optional>
#include <string>

namespace smq::tools {

/// `--threads N`. libMLIR already registers a global `threads` option
/// (cl::opt<int>, "Number of threads to use"), and LLVM's command line
/// refuses a second; tools adopt that one into their category.
class ThreadsOption {
public:
  explicit ThreadsOption(llvm::cl::OptionCategory &category);
  /// The value given, or 1.
  int get() const;

private:
  llvm::cl::opt<int> *option = nullptr;
};

/// Applies SMQ_CPU_ISA (see Runtime.h): empty on success, else why the
/// level cannot be used ("SMQ_CPU_ISA=avx9: unknown CPU level ...").
std::string applyCpuIsaFromEnv();

/// `--max-memory SIZE`: what a tool may allocate for a run (and, in
/// smq-calibrate, the statistics), else SMQ_MAX_MEMORY, else the machine's
/// memory.
class MaxMemoryOption {
public:
  explicit MaxMemoryOption(llvm::cl::OptionCategory &category);
  /// Checks the option and SMQ_MAX_MEMORY; on error prints "<tool>: ..."
  /// and returns false.
  bool check(llvm::StringRef tool) const;
  /// In bytes (0: not given), for CompileOptions::maxMemoryBytes.
  uint64_t bytes() const;

private:
  llvm::cl::opt<std::string> option;
};

/// How compiled models use the runtime's kernels: `--quantized-activations
/// f32|int8`, the instruction-set level SMQ_CPU_ISA forces, and the device
/// (`--device cpu|vulkan|cuda`).
class KernelOptions {
public:
  explicit KernelOptions(llvm::cl::OptionCategory &category);
  /// Applies SMQ_CPU_ISA and checks the options; on error prints
  /// "<tool>: ..." and returns false.
  bool apply(llvm::StringRef tool) const;
  /// "int8" (the default) or "f32", for CompileOptions::quantizedActivations.
  std::string quantizedActivations() const;
  /// `--device cpu|vulkan|cuda`, for CompileOptions::device.
  std::string device() const;
  /// `--attention kernel|primitives`, for CompileOptions::attentionKernel.
  bool attentionKernel() const;
  /// `--max-memory SIZE` in bytes (0: not given), for
  /// CompileOptions::maxMemoryBytes.
  uint64_t maxMemoryBytes() const;
  /// Where compiled models run, as timing lines report it: "2 threads, cpu
  /// avx512vnni", or "vulkan device 'llvmpipe ...'" (once it is open).
  std::string runsOn(int threads) const;

private:
  llvm::cl::opt<std::string> activations;
  llvm::cl::opt<std::string> deviceName;
  llvm::cl::opt<std::string> attention;
  MaxMemoryOption maxMemory;
};

/// Registers every dialect and pass a tool that compiles models needs.
void registerCompilerDialects(mlir::MLIRContext &context);

/// Loads an .onnx/.onnxtxt model (importing it with `inputShapes`) or an
/// .mlir/.mlirbc module (whose dynamic inputs then take `inputShapes`:
/// smq-specialize-shapes). Emits diagnostics and returns null on failure.
mlir::OwningOpRef<mlir::ModuleOp>
loadModel(const std::string &path, mlir::MLIRContext &context,
          const std::map<std::string, std::vector<int64_t>> &inputShapes);

/// Loads a language model for [1, seqLen] token windows: an ONNX model's
/// first graph input is specialised to that shape (its name is found by a
/// probe import in a context of its own, so that `context`'s weight keys
/// are exactly the model's names). A decoder with a KV cache (ONNX or an
/// .mlir kept dynamic) is bound to windows without its cache
/// (mlir::smq::bindDecoderForWindows).
mlir::OwningOpRef<mlir::ModuleOp> loadTokenModel(const std::string &path,
                                                 mlir::MLIRContext &context,
                                                 int64_t seqLen);

/// Reads an input tensor: .npy, or an ONNX TensorProto (.pb).
std::optional<HostArray> readTensor(const std::string &path, std::string *why);

} // namespace smq::tools

#endif // SMQ_TOOLS_COMMON_MODELLOADING_H
