// RUN: smq-opt %s --smq-linalg-to-runtime-calls | FileCheck %s

// CHECK: func.func private @smq_rt_matmul_f32(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @matmul
// CHECK: %[[A:.*]] = memref.cast %arg0
// CHECK: %[[B:.*]] = memref.cast %arg1
// CHECK: %[[C:.*]] = memref.cast %arg2
// CHECK: call @smq_rt_matmul_f32(%[[A]], %[[B]], %[[C]])
// CHECK-NOT: linalg.matmul
func.func @matmul(%a: memref<128x192xf32>, %b: memref<192x256xf32>, %c: memref<128x256xf32>) {
  linalg.matmul ins(%a, %b : memref<128x192xf32>, memref<192x256xf32>) outs(%c : memref<128x256xf32>)
  return
}

// CHECK-LABEL: func.func @batch
// CHECK: call @smq_rt_batch_matmul_f32
func.func @batch(%a: memref<4x8x3xf32>, %b: memref<4x3x5xf32>, %c: memref<4x8x5xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<4x8x3xf32>, memref<4x3x5xf32>) outs(%c : memref<4x8x5xf32>)
  return
}

// Other element types stay loops.
// CHECK-LABEL: func.func @f64
// CHECK: linalg.matmul
func.func @f64(%a: memref<2x3xf64>, %b: memref<3x4xf64>, %c: memref<2x4xf64>) {
  linalg.matmul ins(%a, %b : memref<2x3xf64>, memref<3x4xf64>) outs(%c : memref<2x4xf64>)
  return
}
