// Each stage of --smq-gpu-pipeline on a quantized matmul (W4, groups of
// 32), an exp and a boolean select.
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=linalg" | FileCheck %s --check-prefix=LINALG
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=buffers" | FileCheck %s --check-prefix=BUFFERS
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=launch" | FileCheck %s --check-prefix=LAUNCH
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=kernels" | FileCheck %s --check-prefix=KERNELS
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=device" | FileCheck %s --check-prefix=SPIRV
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv stop-after=binary" | FileCheck %s --check-prefix=SPVBIN
// RUN: smq-opt %s --smq-gpu-pipeline="target=spirv" | FileCheck %s --check-prefix=SPVHOST
// RUN: smq-opt %s --smq-gpu-pipeline="target=nvvm stop-after=device chip=sm_80" | FileCheck %s --check-prefix=NVVM
// RUN: smq-opt %s --smq-gpu-pipeline="target=nvvm stop-after=binary chip=sm_80" | FileCheck %s --check-prefix=PTX80
// RUN: smq-opt %s --smq-gpu-pipeline="target=nvvm stop-after=binary chip=sm_90" | FileCheck %s --check-prefix=PTX90
// RUN: smq-opt %s --smq-gpu-pipeline="target=nvvm chip=sm_90" | FileCheck %s --check-prefix=NVHOST
// RUN: not smq-opt %s --smq-gpu-pipeline="target=metal" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not smq-opt %s --smq-gpu-pipeline="stop-after=everything" 2>&1 | FileCheck %s --check-prefix=BAD

// The quantized matmul is one contraction that decodes codes in its body.
// LINALG-LABEL: func.func @main
// LINALG-SAME: %{{.*}}: tensor<8x32xi8>
// LINALG: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// LINALG: arith.shrui
// LINALG-NOT: linalg.matmul
// LINALG: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]
// LINALG: arith.select

// Results become out-parameters.
// BUFFERS: func.func @main({{.*}}%arg1: memref<8x32xi8>{{.*}}, %arg5: memref<1x2x8xf32>)

// Every op is a launch of one block of 16 threads (2 x 8 outputs); the
// mask is stored as bytes.
// LAUNCH: func.func @main({{.*}}%arg4: memref<2x8xi8>
// LAUNCH-COUNT-3: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c16, %{{.*}} = %c1, %{{.*}} = %c1)
// LAUNCH-NOT: gpu.launch

// Kernels take buffers only (constants sunk in); the codes reach the
// matmul kernel as bytes, and buffers are device-shared.
// KERNELS: gpu.alloc host_shared () : memref<2x8xf32>
// KERNELS: gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c16, %c1, %c1) args(%{{.*}} : memref<2x64xf32>, %arg1 : memref<8x32xi8>, %arg2 : memref<8x2xf32>, %arg3 : memref<8x2xf32>, %{{.*}} : memref<2x8xf32>)
// KERNELS: gpu.module @main_kernel_0
// KERNELS-NEXT: gpu.func @main_kernel(%arg0: memref<2x64xf32>, %arg1: memref<8x32xi8>, %arg2: memref<8x2xf32>, %arg3: memref<8x2xf32>, %arg4: memref<2x8xf32>) kernel attributes {known_block_size = array<i32: 16, 1, 1>
// KERNELS: memref.load %arg1{{.*}} : memref<8x32xi8>

// SPIR-V for Vulkan, inside each gpu.module: 8-bit loads of the codes, a
// workgroup of 16.
// SPIRV: gpu.module @main_kernel_0 [#spirv.target_env<{{.*}}api=Vulkan
// SPIRV-NEXT: spirv.module @__spv__main_kernel_0 Logical GLSL450 requires #spirv.vce<{{.*}}StorageBuffer8BitAccess
// SPIRV: spirv.GlobalVariable @main_kernel_arg_1 bind(0, 1) : !spirv.ptr<!spirv.struct<(!spirv.array<256 x i8, stride=1> [0])>, StorageBuffer>
// SPIRV: spirv.Load "StorageBuffer" %{{.*}} : i8
// SPIRV: spirv.ExecutionMode @main_kernel "LocalSize", 16, 1, 1

// SPVBIN-COUNT-3: gpu.binary @main_kernel{{.*}} [#gpu.object<#spirv.target_env
// SPVBIN-NOT: gpu.module

// The host code launches through the mgpu* ABI: each buffer's pointer and
// its size in bytes, for Vulkan's bindings.
// SPVHOST: llvm.func @main(
// SPVHOST: gpu.launch_func @main_kernel_0::@main_kernel {{.*}} args(%{{.*}} : !llvm.ptr, %{{.*}} : i64, %{{.*}} : !llvm.ptr, %{{.*}} : i64,

// NVVM: gpu.module @main_kernel_0 [#nvvm.target<O = 3, chip = "sm_80">]
// NVVM: llvm.func @main_kernel(%arg0: !llvm.ptr, %arg1: !llvm.ptr
// NVVM: llvm.load %{{.*}} : !llvm.ptr -> i8

// PTX text for each SM; the matmul kernel loads codes as bytes.
// PTX80: gpu.binary @main_kernel_0 {{.*}}.target sm_80{{.*}}ld.global.b8
// PTX90: gpu.binary @main_kernel_0 {{.*}}.target sm_90{{.*}}ld.global.b8

// NVHOST: gpu.launch_func @main_kernel_0::@main_kernel {{.*}} args(%{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)

// BAD: --smq-gpu-pipeline: target must be 'spirv' or 'nvvm'
func.func @main(%x: tensor<1x2x64xf32>, %c: tensor<8x32xui8>, %s: tensor<8x2xf32>, %z: tensor<8x2xf32>, %m: tensor<2x8xi1>) -> tensor<1x2x8xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<1x2x64xf32>, tensor<8x32xui8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<1x2x8xf32>
  %e = smq.exp %y : tensor<1x2x8xf32>
  %w = smq.where %m, %e, %y : (tensor<2x8xi1>, tensor<1x2x8xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  return %w : tensor<1x2x8xf32>
}
