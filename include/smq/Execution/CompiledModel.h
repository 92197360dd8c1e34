//===- CompiledModel.h - JIT-compiled smq models ----------------*- C++ -*-===//
//
// Compiles an smq module through --smq-cpu-pipeline and MLIR's
// ExecutionEngine (or takes its object code from the compile cache,
// ObjectCache.h), links it with ORC, and runs it on host arrays. Weights are not compiled in:
// they stay in the module's resource blobs (protobuf buffers or mmapped
// external data) and are passed to the code on every call. A CompiledModel
// must not outlive the MLIRContext of the module it was compiled from.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_COMPILEDMODEL_H
#define SMQ_EXECUTION_COMPILEDMODEL_H

#include "smq/Support/HostArray.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace mlir::smq {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  ::smq::DType dtype;
};

struct CompileOptions {
  std::string entry = "main";
  /// LLVM optimisation level of the JIT (0-3).
  unsigned optLevel = 2;
  /// Call the runtime's matmul kernels rather than compiled loops.
  bool runtimeMatmul = true;
  /// Run elementwise and normalisation loops over rows on the runtime's
  /// threads (smq-outline-parallel-rows).
  bool parallelRows = true;
  /// One function per distinct loop nest (smq-outline-loop-nests).
  bool outlineLoopNests = true;
  /// Check data-dependent Gather and ScatterND indices at run time: a run
  /// with an index out of range fails, naming the node. Without, such an
  /// index is clamped silently (for measuring the checks' cost).
  bool indexChecks = true;
  /// Attention through the runtime's kernel, which attends only each row's
  /// own slots of the cache; else masked primitives over every slot (for
  /// comparison). CPU with runtime kernels only.
  bool attentionKernel = true;
  /// Zero a KV cache present's slots after the new rows, as
  /// GroupQueryAttention defines them; the generator, which reads only the
  /// new rows, turns it off so a step does not write the whole cache.
  bool zeroPresentTail = true;
  /// Decoding quantized matmuls: "int8" activations (integer dot products;
  /// the default, see docs/Benchmarks.md) or "f32" (exact).
  std::string quantizedActivations = "int8";
  /// The CPU generated code is built for: empty for the JIT's default (the
  /// host, or the generic CPU of the level SMQ_CPU_ISA forces), else an
  /// LLVM CPU name ("x86-64", "x86-64-v3", "skylake-avx512", ...). The
  /// runtime's kernels dispatch by CPU either way.
  std::string targetCpu;
  /// Where the model runs: "cpu", "vulkan" (SPIR-V kernels through the
  /// Vulkan runtime) or "cuda" (PTX through the CUDA driver); see
  /// docs/Gpu.md. GPU models take their weights onto the device once, when
  /// compiled.
  std::string device = "cpu";
  /// The most memory one run may need (MemoryEstimate.h), in bytes: a
  /// model estimated to need more is refused before it is compiled, with
  /// the estimate. 0: defaultMemoryLimit() (SMQ_MAX_MEMORY, else the
  /// machine's physical memory).
  uint64_t maxMemoryBytes = 0;
};

/// A module's interface once weights are arguments: inputs and outputs in
/// order, and the weights passed between them, each with its bytes (owned
/// by the module's context).
struct ModelSignature {
  std::vector<TensorSpec> inputs, outputs;
  /// name = the weight's blob key.
  std::vector<TensorSpec> weights;
  std::vector<llvm::ArrayRef<char>> weightBytes;
};

/// Packs `module`'s weights into the kernels' layouts as lowerModel would
/// (nothing for a GPU device or without the runtime's kernels). It may run
/// while the inputs' shapes are still dynamic: clones made afterwards share
/// the packed weights, and lowering them finds nothing left to pack.
LogicalResult packWeights(ModuleOp module, const CompileOptions &options);

/// Lowers `module` in place through --smq-cpu-pipeline, after reading its
/// signature (weights packed and made arguments first). The entry function
/// `options.entry` then has the C interface `_mlir_ciface_<entry>` taking
/// one memref descriptor pointer per input, weight and output, in that
/// order. Emits diagnostics and fails on dynamic shapes or a missing entry.
FailureOr<ModelSignature> lowerModel(ModuleOp module,
                                     const CompileOptions &options);

/// Relocatable, position-independent object code of a lowered module for
/// `options.targetCpu` (empty: "x86-64"), as a shared library needs it.
FailureOr<std::string> emitRelocatableObject(ModuleOp module,
                                             const CompileOptions &options);

class CompiledModel {
public:
  /// Lowers `module` in place and JIT-compiles it. Emits diagnostics and
  /// returns null on failure (for example, dynamic shapes).
  static std::unique_ptr<CompiledModel> compile(ModuleOp module,
                                                const CompileOptions &options);
  ~CompiledModel();

  const std::vector<TensorSpec> &inputs() const { return inputSpecs; }
  const std::vector<TensorSpec> &outputs() const { return outputSpecs; }

  /// Runs the model. `inputs` follow inputs() in order; returns false and
  /// sets `why` if one does not match its spec, or if a data-dependent
  /// index (a token id, a position) was out of range. With
  /// `outputInInput`, output i whose entry is an input's index j >= 0 is
  /// written into input j's bytes (same type and shape; CPU models only)
  /// and its HostArray is left empty: the caller promises that the model
  /// reads input j only before it writes output i over it (a KV cache's
  /// past and present, see Generation.cpp).
  bool run(const std::vector<const ::smq::HostArray *> &inputs,
           std::vector<::smq::HostArray> &outputs, std::string *why,
           const std::vector<int> *outputInInput = nullptr);

  /// Seconds spent lowering and JIT-compiling (or loading from the cache).
  double compileSeconds() const { return seconds; }
  /// Whether the object code came from the compile cache (ObjectCache.h).
  bool fromCache() const { return cached; }

private:
  CompiledModel() = default;

  struct Weight {
    const char *data;
    std::vector<int64_t> shape;
    size_t bytes;
  };
  /// Links `object` and finds the packed entry `_mlir__mlir_ciface_<entry>`.
  bool load(llvm::StringRef object, const std::string &entry,
            std::string *why);

  std::unique_ptr<llvm::orc::LLJIT> jit;
  void (*entryFn)(void **) = nullptr;
  /// GPU models: what loads and unloads their kernels (smq_gpu_init and
  /// smq_gpu_fini), and the device buffers of weights, inputs and outputs.
  void (*gpuFini)() = nullptr;
  bool onDevice = false;
  std::vector<void *> deviceWeights, deviceInputs, deviceOutputs;
  bool cached = false;
  std::string entry;
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  std::vector<Weight> weights;
  /// What each data-dependent index check guards ("node '/tok/Gather'
  /// (smq.gather)"), by site number (module attribute smq.index_sites).
  std::vector<std::string> indexSites;
  double seconds = 0;
};

/// Maps an MLIR element type to a host dtype.
std::optional<::smq::DType> dtypeOf(Type elementType);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_COMPILEDMODEL_H
