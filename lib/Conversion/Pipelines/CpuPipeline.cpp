//===- CpuPipeline.cpp - smq to the LLVM dialect for CPUs -----------------===//
//
// The stages, in order:
//   0. quantized weights are repacked into the kernels' layout;
//   1. weights become arguments (smq-externalize-weights), so code size and
//      compile time do not grow with the model;
//   2. smq -> linalg/tensor/arith/math, then elementwise fusion;
//   3. one-shot bufferization with identity layouts at the boundary, results
//      as caller-provided out-parameters, and deallocation of temporaries;
//   4. f32 matmuls call the runtime's micro-kernels;
//   5. the rest becomes loops, and everything the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "smq/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

static const char *kBufferize =
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{modify-public-functions},";

static const char *kToLLVM =
    "func.func(convert-linalg-to-loops),lower-affine,convert-scf-to-cf,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    "convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,"
    "convert-arith-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,"
    "reconcile-unrealized-casts";

void smq::buildCpuPipeline(OpPassManager &pm,
                           const CpuPipelineOptions &options) {
  std::string pipeline =
      // Packing needs the codes as constants: before externalizing them.
      (options.useRuntimeMatmul
           ? "smq-pack-quantized-weights{activations=" +
                 options.quantizedActivations + "},"
           : std::string()) +
      std::string("smq-externalize-weights,convert-smq-to-linalg,"
                  "canonicalize,func.func(linalg-fuse-elementwise-ops),"
                  "canonicalize,cse,") +
      (options.approximateMath ? "func.func(smq-approximate-math)," : "") +
      kBufferize + "buffer-deallocation-pipeline," +
      // After deallocation, which rewrites private function signatures.
      (options.useRuntimeMatmul ? "smq-linalg-to-runtime-calls," : "") +
      kToLLVM;
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("smq-cpu-pipeline: a stage is not registered");
}

void smq::registerCpuPipeline() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "smq-cpu-pipeline",
      "Lower smq IR to the LLVM dialect for CPUs (weights as arguments, "
      "results as out-parameters, matmuls on the runtime's kernels)",
      buildCpuPipeline);
}
