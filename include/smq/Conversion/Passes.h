//===- Passes.h - conversions out of smq ------------------------*- C++ -*-===//
#ifndef SMQ_CONVERSION_PASSES_H
#define SMQ_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::smq {

#define GEN_PASS_DECL
#include "smq/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smq/Conversion/Passes.h.inc"

/// The stages both pipelines begin with: attention decomposed (into
/// smq.ukernel.attention with `attentionKernel`), smq -> linalg
/// (`quantizedMatmul`: "kernel" or "fused", as the pass's option),
/// elementwise fusion, canonicalization and CSE.
void buildLinalgStages(OpPassManager &pm, StringRef quantizedMatmul,
                       bool indexChecks = true, bool attentionKernel = false,
                       bool zeroPresentTail = true);

/// One-shot bufferization with identity layouts at the function boundary,
/// results as caller-provided out-parameters, and deallocation of
/// temporaries (after empty-tensor elimination, so that an op whose result
/// is inserted into a bigger tensor computes into its slice). With
/// `resultsInPlace`, results are computed straight into the out-parameters
/// where they can be (smq-results-in-place; host code only).
void buildBufferizationStages(OpPassManager &pm, bool resultsInPlace = false);

/// Loops, memrefs, math, arith, functions and control flow to the LLVM
/// dialect. The unrealized casts between memrefs and their descriptors are
/// left for the caller to reconcile, after any conversion of its own (the
/// GPU pipeline's kernel launches). With `runtimeBuffers`, memref.alloc
/// and memref.dealloc call MLIR's generic allocation functions
/// (_mlir_memref_to_llvm_alloc/_free), which SMQ's runtime implements as a
/// cache of blocks reused across calls (Runtime.h); else malloc and free.
void buildLlvmLoweringStages(OpPassManager &pm, bool runtimeBuffers = false);

/// Options of the CPU pipeline.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> useRuntimeMatmul{
      *this, "runtime-matmul",
      llvm::cl::desc("Call the runtime's matmul kernels (else: loops)"),
      llvm::cl::init(true)};
  Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Vectorizable polynomials for exp, tanh, erf, ... "
                     "(else: libm calls)"),
      llvm::cl::init(true)};
  Option<std::string> quantizedActivations{
      *this, "quantized-activations",
      llvm::cl::desc("Decoding quantized matmuls: int8 activations (integer "
                     "dot products) or f32 (exact)"),
      llvm::cl::init("int8")};
  Option<bool> parallelRows{
      *this, "parallel-rows",
      llvm::cl::desc("Run elementwise and normalisation loops over rows on "
                     "the runtime's threads (smq-outline-parallel-rows)"),
      llvm::cl::init(true)};
  Option<bool> outlineLoopNests{
      *this, "outline-loop-nests",
      llvm::cl::desc("One function per distinct loop nest, shared by the "
                     "layers (smq-outline-loop-nests)"),
      llvm::cl::init(true)};
  Option<bool> attentionKernel{
      *this, "attention-kernel",
      llvm::cl::desc("Attention through the runtime's kernel, over each "
                     "row's own slots (else: masked primitives over every "
                     "slot of the cache); needs runtime-matmul"),
      llvm::cl::init(true)};
  Option<bool> zeroPresentTail{
      *this, "zero-present-tail",
      llvm::cl::desc("With attention-kernel: zero a KV cache present's "
                     "slots after the new rows, as GroupQueryAttention "
                     "defines it (else they keep what the output buffer "
                     "held: smq-generate reads only the new rows)"),
      llvm::cl::init(true)};
  Option<bool> indexChecks{
      *this, "index-checks",
      llvm::cl::desc("Check data-dependent Gather and ScatterND indices at "
                     "run time (else: clamp them silently)"),
      llvm::cl::init(true)};
};

/// With the runtime's kernels, quantized codes and f32 matmul weights
/// packed into the kernels' layouts; nothing otherwise. They need only the
/// weights' dims, so they may run before a model's shapes are specialised
/// (Generator packs once for all its variants).
void buildWeightPackingStages(OpPassManager &pm,
                              const CpuPipelineOptions &options);

/// The pipeline's first stages: the packing stages, then weights made
/// arguments of the entry function. CompiledModel runs them alone first, to
/// read the weights' blobs off the signature.
void buildWeightArgumentStages(OpPassManager &pm,
                               const CpuPipelineOptions &options);

/// The rest: smq -> linalg -> bufferized loops -> LLVM dialect, on a module
/// whose weights are arguments already.
void buildCpuLoweringStages(OpPassManager &pm,
                            const CpuPipelineOptions &options);

/// smq -> linalg -> bufferized loops -> LLVM dialect, with weights as
/// arguments and results as out-parameters (see docs/Architecture.md): the
/// weight-argument stages, then the lowering stages.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `--smq-cpu-pipeline`.
void registerCpuPipeline();

/// Options of the GPU pipeline.
struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("Device code: 'spirv' (Vulkan compute) or 'nvvm' (PTX "
                     "for NVIDIA GPUs)"),
      llvm::cl::init("spirv")};
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("nvvm: the SM the PTX is built for (sm_80, sm_90, ...)"),
      llvm::cl::init("sm_80")};
  Option<int64_t> blockSize{*this, "block-size",
                            llvm::cl::desc("Threads per block"),
                            llvm::cl::init(64)};
  Option<std::string> stopAfter{
      *this, "stop-after",
      llvm::cl::desc("Stop after a stage, to inspect it: 'linalg', "
                     "'buffers', 'launch', 'kernels', 'device', 'binary' "
                     "(default: run to the LLVM dialect)"),
      llvm::cl::init("")};
};

/// smq -> linalg (quantized matmuls fused with their decode) -> buffers
/// -> parallel loops tiled into blocks -> gpu.launch -> outlined kernels
/// -> SPIR-V or NVVM -> serialized binaries in the module, and the host
/// code (kernel launches through the mgpu* runtime ABI) in the LLVM
/// dialect. See docs/Gpu.md.
LogicalResult buildGpuPipeline(OpPassManager &pm,
                               const GpuPipelineOptions &options);

/// Registers `--smq-gpu-pipeline`.
void registerGpuPipeline();

} // namespace mlir::smq

#endif // SMQ_CONVERSION_PASSES_H
