//===- CpuPipeline.cpp - smq to the LLVM dialect for CPUs -----------------===//
//
// The stages, in order:
//   0. quantized weights are repacked into the kernels' layout;
//   1. weights become arguments (smq-externalize-weights), so code size and
//      compile time do not grow with the model;
//   2. smq -> linalg/tensor/arith/math, then elementwise fusion;
//   3. one-shot bufferization with identity layouts at the boundary, results
//      as caller-provided out-parameters, and deallocation of temporaries;
//   4. f32 matmuls and attention call the runtime's kernels, and loops over
//      rows are outlined onto the runtime's threads;
//   5. the rest becomes loops, and everything the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "smq/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

// Every stage is added through its typed constructor, as upstream's GPU
// pipelines and CIRCT's firtool do: a renamed or removed pass breaks the
// build, not a user's run.
void smq::buildWeightPackingStages(OpPassManager &pm,
                                   const CpuPipelineOptions &options) {
  if (!options.useRuntimeMatmul)
    return;
  SmqPackQuantizedWeightsOptions pack;
  pack.activations = options.quantizedActivations;
  pm.addPass(createSmqPackQuantizedWeights(pack));
  pm.addPass(createSmqPackF32Weights());
}

void smq::buildWeightArgumentStages(OpPassManager &pm,
                                    const CpuPipelineOptions &options) {
  // Packing needs the codes as constants: before externalizing them.
  buildWeightPackingStages(pm, options);
  pm.addPass(createSmqExternalizeWeights());
}

void smq::buildCpuPipeline(OpPassManager &pm,
                           const CpuPipelineOptions &options) {
  buildWeightArgumentStages(pm, options);
  buildCpuLoweringStages(pm, options);
}

void smq::buildCpuLoweringStages(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  buildLinalgStages(pm, "kernel", options.indexChecks,
                    /*attentionKernel=*/options.useRuntimeMatmul &&
                        options.attentionKernel,
                    options.zeroPresentTail);
  if (options.approximateMath)
    pm.addNestedPass<func::FuncOp>(createSmqApproximateMath());
  pm.addNestedPass<func::FuncOp>(createSmqReassociateReductions());

  buildBufferizationStages(pm, /*resultsInPlace=*/true);
  // After deallocation, which rewrites private function signatures.
  if (options.useRuntimeMatmul)
    pm.addPass(createSmqLinalgToRuntimeCalls());
  pm.addNestedPass<func::FuncOp>(createSmqStridedCopiesToLoops());
  if (options.parallelRows)
    pm.addPass(createSmqOutlineParallelRows());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (options.outlineLoopNests)
    pm.addPass(createSmqOutlineLoopNests());
  buildLlvmLoweringStages(pm, /*runtimeBuffers=*/true);
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void smq::buildLlvmLoweringStages(OpPassManager &pm, bool runtimeBuffers) {
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = runtimeBuffers;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
}

void smq::buildLinalgStages(OpPassManager &pm, StringRef quantizedMatmul,
                            bool indexChecks, bool attentionKernel,
                            bool zeroPresentTail) {
  SmqDecomposeAttentionOptions attention;
  attention.kernel = attentionKernel;
  attention.stalePresentTail = !zeroPresentTail;
  pm.addPass(createSmqDecomposeAttention(attention));
  ConvertSmqToLinalgOptions toLinalg;
  toLinalg.quantizedMatmul = quantizedMatmul.str();
  toLinalg.indexChecks = indexChecks;
  pm.addPass(createConvertSmqToLinalg(toLinalg));
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void smq::buildBufferizationStages(OpPassManager &pm, bool resultsInPlace) {
  // An op whose result is inserted into a bigger tensor (a concatenation's
  // parts) computes into that tensor's slice instead of a buffer of its
  // own that is then copied.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // Before deallocation, which would add uses after the final copies.
  if (resultsInPlace)
    pm.addNestedPass<func::FuncOp>(createSmqResultsInPlace());
  bufferization::buildBufferDeallocationPipeline(pm);
}

void smq::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "smq-cpu-pipeline",
      "Lower smq IR to the LLVM dialect for CPUs (weights as arguments, "
      "results as out-parameters, matmuls on the runtime's kernels)",
      buildCpuPipeline);
}
