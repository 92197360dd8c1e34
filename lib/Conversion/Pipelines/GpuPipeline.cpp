//===- GpuPipeline.cpp - smq to GPU kernels and their host code -----------===//
//
// The stages, in order (each a `stop-after` value):
//   linalg   smq -> linalg, with quantized matmuls as one contraction that
//            decodes each weight where it is multiplied, then elementwise
//            fusion and polynomial math;
//   buffers  one-shot bufferization, results as out-parameters;
//   launch   every linalg op as parallel loops, collapsed and tiled into
//            blocks of block-size threads, mapped to gpu.launch;
//   kernels  launch bodies outlined into gpu.module kernels (constants
//            sunk in), host buffers allocated where kernels reach them;
//   device   kernels in SPIR-V (Vulkan compute) or the NVVM dialect;
//   binary   SPIR-V or PTX serialized into gpu.binary ops;
//   (end)    host code in the LLVM dialect, launching kernels through the
//            mgpu* runtime ABI with bare buffer pointers.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "smq/Transforms/Passes.h"

#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {

const char *const kStages[] = {"linalg",  "buffers", "launch",
                               "kernels", "device", "binary"};

} // namespace

LogicalResult smq::buildGpuPipeline(OpPassManager &pm,
                                    const GpuPipelineOptions &options) {
  bool spirv = options.target == "spirv";
  if (!spirv && options.target != "nvvm")
    return failure();
  StringRef stop = options.stopAfter;
  if (!stop.empty() && !llvm::is_contained(kStages, stop))
    return failure();
  if (options.blockSize < 1 || options.blockSize > 1024)
    return failure();

  // linalg
  buildLinalgStages(pm, "fused");
  pm.addNestedPass<func::FuncOp>(createSmqApproximateMath());
  if (stop == "linalg")
    return success();

  buildBufferizationStages(pm);
  if (stop == "buffers")
    return success();

  // launch
  // Integer powers as loops (neither PTX nor SPIR-V has one): for PTX in
  // functions of their own, which outlining copies into the kernels'
  // modules; SPIR-V kernels cannot call functions here, so in place.
  if (spirv)
    pm.addNestedPass<func::FuncOp>(createSmqExpandIntegerPow());
  else
    pm.addPass(createConvertMathToFuncs());
  pm.addNestedPass<func::FuncOp>(createSmqGpuParallelDimsFirst());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createSmqGpuByteBools());
  SmqGpuTileParallelLoopsOptions tile;
  tile.blockSize = options.blockSize;
  pm.addNestedPass<func::FuncOp>(createSmqGpuTileParallelLoops(tile));
  // Mapped before any canonicalization, which would merge each block loop
  // with its thread loop into one 2-D loop.
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (stop == "launch")
    return success();

  // kernels
  pm.addNestedPass<func::FuncOp>(createSmqGpuSinkViews());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addNestedPass<gpu::GPUModuleOp>(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSmqGpuHostBuffers());
  if (stop == "kernels")
    return success();

  // device
  if (spirv) {
    GpuSPIRVAttachTargetOptions attach;
    // Vulkan 1.1 guarantees SPIR-V 1.3; int64 for token ids, 8-bit
    // storage for quantized codes and bytes, 16-bit storage and float16 /
    // float64 for models that have them. Each module declares only the
    // capabilities it uses (spirv-update-vce), which the runtime checks.
    attach.spirvVersion = "v1.3";
    attach.spirvCapabilities = {"Shader",  "Int64",
                                "Int16",   "Int8",
                                "Float16", "Float64",
                                "StorageBuffer8BitAccess",
                                "StorageBuffer16BitAccess"};
    attach.spirvExtensions = {"SPV_KHR_storage_buffer_storage_class",
                              "SPV_KHR_8bit_storage", "SPV_KHR_16bit_storage"};
    attach.clientApi = "Vulkan";
    pm.addPass(createGpuSPIRVAttachTarget(attach));
    pm.addPass(createSmqGpuSpirvEntryPoints());
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertMathToSPIRVPass());
    pm.addPass(createConvertGPUToSPIRVPass());
    pm.addPass(createSmqGpuNestSpirvModules());
    OpPassManager &spv =
        pm.nest<gpu::GPUModuleOp>().nest<spirv::ModuleOp>();
    spv.addPass(spirv::createSPIRVLowerABIAttributesPass());
    spv.addPass(spirv::createSPIRVUpdateVCEPass());
  } else {
    GpuNVVMAttachTargetOptions attach;
    attach.chip = options.chip;
    attach.optLevel = 3;
    pm.addPass(createGpuNVVMAttachTarget(attach));
    ConvertGpuOpsToNVVMOpsOptions toNvvm;
    toNvvm.useBarePtrCallConv = true;
    pm.addNestedPass<gpu::GPUModuleOp>(createSCFToControlFlowPass());
    pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(toNvvm));
    pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  }
  if (stop == "device")
    return success();

  // binary
  GpuModuleToBinaryPassOptions binary;
  // SPIR-V binaries (loaded by size through mgpuModuleLoad), or PTX text:
  // cuModuleLoadData JIT-compiles it for the device it runs on, and no
  // CUDA toolkit is needed to build it.
  binary.compilationTarget = spirv ? "bin" : "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (stop == "binary")
    return success();

  // host
  buildLlvmLoweringStages(pm);
  GpuToLLVMConversionPassOptions toLlvm;
  toLlvm.kernelBarePtrCallConv = true;
  // Vulkan binds buffers, and needs each one's size beside its pointer.
  toLlvm.kernelIntersperseSizeCallConv = spirv;
  pm.addPass(createGpuToLLVMConversionPass(toLlvm));
  pm.addPass(createReconcileUnrealizedCastsPass());
  return success();
}

void smq::registerGpuPipeline() {
  registerPassPipeline(
      "smq-gpu-pipeline",
      "Lower smq IR to GPU kernels (SPIR-V for Vulkan, or PTX through NVVM) "
      "and host code in the LLVM dialect that launches them",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> error) -> LogicalResult {
        std::unique_ptr<GpuPipelineOptions> options =
            GpuPipelineOptions::createFromString(text);
        if (!options)
          return error("--smq-gpu-pipeline: cannot parse options '" + text +
                       "'");
        if (failed(buildGpuPipeline(pm, *options)))
          return error("--smq-gpu-pipeline: target must be 'spirv' or "
                       "'nvvm', block-size 1 to 1024, and stop-after one of "
                       "linalg, buffers, launch, kernels, device, binary (got "
                       "target=" +
                       options->target + ", block-size=" +
                       Twine(options->blockSize) + ", stop-after=" +
                       options->stopAfter + ")");
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> fn) {
        fn(GpuPipelineOptions());
      });
}
