// The kernel op bufferizes in place into its init's buffer, reading the
// rest, and never copies the init (it only writes it).
// RUN: smq-opt %s --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s

// CHECK-LABEL: func.func @kernel
// CHECK-SAME: (%[[X:.*]]: memref<1x32xf32{{.*}}>, %[[C:.*]]: memref<8x8xi8{{.*}}>, %[[S:.*]]: memref<8x1xf32{{.*}}>, %[[Z:.*]]: memref<8x1xf32{{.*}}>)
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}}: memref<1x8xf32>
// CHECK-NOT: memref.copy
// CHECK: smq.ukernel.qmatmul ins(%[[X]], %[[C]], %[[S]], %[[Z]] : {{.*}}) outs(%[[OUT]] : memref<1x8xf32>) {bits = 2 : i64, group_size = 32 : i64}
// CHECK-NOT: ->
// CHECK: return %[[OUT]]
func.func @kernel(%x: tensor<1x32xf32>, %codes: tensor<8x8xi8>, %s: tensor<8x1xf32>, %z: tensor<8x1xf32>) -> tensor<1x8xf32> {
  %init = tensor.empty() : tensor<1x8xf32>
  %r = smq.ukernel.qmatmul ins(%x, %codes, %s, %z : tensor<1x32xf32>, tensor<8x8xi8>, tensor<8x1xf32>, tensor<8x1xf32>) outs(%init : tensor<1x8xf32>) {bits = 2 : i64, group_size = 32 : i64} -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// The f32 panel kernel op likewise writes its init's buffer in place.
// CHECK-LABEL: func.func @panels
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}}: memref<2x40xf32>
// CHECK-NOT: memref.copy
// CHECK: smq.ukernel.matmul ins({{.*}}) outs(%[[OUT]] : memref<2x40xf32>)
// CHECK: return %[[OUT]]
func.func @panels(%x: tensor<2x64xf32>, %p: tensor<2x64x32xf32>, %b: tensor<40xf32>) -> tensor<2x40xf32> {
  %init = tensor.empty() : tensor<2x40xf32>
  %r = smq.ukernel.matmul ins(%x, %p, %b : tensor<2x64xf32>, tensor<2x64x32xf32>, tensor<40xf32>) outs(%init : tensor<2x40xf32>) -> tensor<2x40xf32>
  return %r : tensor<2x40xf32>
}
