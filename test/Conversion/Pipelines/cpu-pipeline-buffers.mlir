// The compiled code's temporaries come from the runtime's kept blocks
// (smq_rt_buffer_alloc/free behind MLIR's generic allocation functions),
// not from malloc on every call: the intermediate of two chained matmuls
// is allocated and freed through them.
// RUN: smq-opt %s --smq-cpu-pipeline | FileCheck %s
// CHECK-DAG: llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
// CHECK-NOT: llvm.func @malloc
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: llvm.call @smq_rt_matmul_f32
// CHECK: llvm.call @smq_rt_matmul_f32
// CHECK: llvm.call @_mlir_memref_to_llvm_free
func.func @main(%x: tensor<3x4xf32>, %w: tensor<4x5xf32>, %v: tensor<5x2xf32>) -> tensor<3x2xf32> {
  %y = smq.matmul %x, %w : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  %z = smq.matmul %y, %v : (tensor<3x5xf32>, tensor<5x2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}
