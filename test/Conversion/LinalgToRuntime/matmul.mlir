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

// A bufferized kernel op becomes one call; its params are {bits, group,
// activations (0 = f32, 1 = int8)}.
// CHECK-LABEL: func.func @qmatmul
// CHECK: %[[P:.*]] = memref.alloca() : memref<3xi64>
// CHECK: %[[BITS:.*]] = arith.constant 4 : i64
// CHECK: memref.store %[[BITS]], %[[P]]
// CHECK: %[[GROUP:.*]] = arith.constant 64 : i64
// CHECK: memref.store %[[GROUP]], %[[P]]
// CHECK: %[[ACTS:.*]] = arith.constant 1 : i64
// CHECK: memref.store %[[ACTS]], %[[P]]
// CHECK: call @smq_rt_qmatmul_packed_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xi64, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
// CHECK-NOT: smq.ukernel.qmatmul
func.func @qmatmul(%x: memref<2x128xf32>, %codes: memref<96x64xi8>, %s: memref<96x2xf32>, %z: memref<96x2xf32>, %y: memref<2x96xf32>) {
  smq.ukernel.qmatmul ins(%x, %codes, %s, %z : memref<2x128xf32>, memref<96x64xi8>, memref<96x2xf32>, memref<96x2xf32>) outs(%y : memref<2x96xf32>) {bits = 4 : i64, group_size = 64 : i64, int8_activations}
  return
}

// On tensors (before bufferization) it is left alone.
// CHECK-LABEL: func.func @on_tensors
// CHECK: smq.ukernel.qmatmul
func.func @on_tensors(%x: tensor<1x32xf32>, %codes: tensor<8x8xi8>, %s: tensor<8x1xf32>, %z: tensor<8x1xf32>, %y: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %r = smq.ukernel.qmatmul ins(%x, %codes, %s, %z : tensor<1x32xf32>, tensor<8x8xi8>, tensor<8x1xf32>, tensor<8x1xf32>) outs(%y : tensor<1x8xf32>) {bits = 2 : i64, group_size = 32 : i64} -> tensor<1x8xf32>
  return %r : tensor<1x8xf32>
}

// The f32 panel kernel op becomes one call, operands in order.
// CHECK-LABEL: func.func @panels
// CHECK: call @smq_rt_matmul_panels_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
// CHECK-NOT: smq.ukernel.matmul
func.func @panels(%x: memref<2x64xf32>, %p: memref<2x64x32xf32>, %b: memref<40xf32>, %y: memref<2x40xf32>) {
  smq.ukernel.matmul ins(%x, %p, %b : memref<2x64xf32>, memref<2x64x32xf32>, memref<40xf32>) outs(%y : memref<2x40xf32>)
  return
}

// With gelu, the kernel that applies it as it stores.
// CHECK-LABEL: func.func @panels_gelu
// CHECK: call @smq_rt_matmul_panels_gelu_f32(
func.func @panels_gelu(%x: memref<2x64xf32>, %p: memref<2x64x32xf32>, %b: memref<40xf32>, %y: memref<2x40xf32>) {
  smq.ukernel.matmul ins(%x, %p, %b : memref<2x64xf32>, memref<2x64x32xf32>, memref<40xf32>) outs(%y : memref<2x40xf32>) {gelu}
  return
}

// The attention kernel op becomes one call: query, keys, values, positions,
// then {scale, softcap} and {window}, then the output.
// CHECK-LABEL: func.func @attention
// CHECK: %[[F:.*]] = memref.alloca() : memref<2xf32>
// CHECK: %[[SCALE:.*]] = arith.constant 2.500000e-01 : f32
// CHECK: memref.store %[[SCALE]], %[[F]]
// CHECK: %[[CAP:.*]] = arith.constant 3.000000e+01 : f32
// CHECK: memref.store %[[CAP]], %[[F]]
// CHECK: %[[W:.*]] = memref.alloca() : memref<1xi64>
// CHECK: %[[WIN:.*]] = arith.constant 16 : i64
// CHECK: memref.store %[[WIN]], %[[W]]
// CHECK: call @smq_rt_attention_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?xi64, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xi64, strided<[?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>) -> ()
// CHECK-NOT: smq.ukernel.attention
func.func @attention(%q: memref<1x8x4x16xf32>, %k: memref<1x2x64x16xf32>, %v: memref<1x2x64x16xf32>, %pos: memref<1x8xi64>, %y: memref<1x8x4x16xf32>) {
  smq.ukernel.attention ins(%q, %k, %v, %pos : memref<1x8x4x16xf32>, memref<1x2x64x16xf32>, memref<1x2x64x16xf32>, memref<1x8xi64>) outs(%y : memref<1x8x4x16xf32>) {scale = 2.500000e-01 : f32, softcap = 3.000000e+01 : f32, local_window_size = 16 : i64}
  return
}

// The KV update op becomes one call: past, fresh, positions, {zero the
// tail: 1, or 0 with stale_tail}, present.
// CHECK-LABEL: func.func @kv_place
// CHECK: %[[Z:.*]] = memref.alloca() : memref<1xi64>
// CHECK: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: memref.store %[[ONE]], %[[Z]]
// CHECK: call @smq_rt_kv_place_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?xi64, strided<[?, ?], offset: ?>>, memref<?xi64, strided<[?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>) -> ()
// CHECK: %[[Z2:.*]] = memref.alloca() : memref<1xi64>
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: memref.store %[[ZERO]], %[[Z2]]
// CHECK: call @smq_rt_kv_place_f32
// CHECK-NOT: smq.ukernel.kv_place
func.func @kv_place(%past: memref<1x2x56x16xf32>, %fresh: memref<1x8x2x16xf32>, %pos: memref<1x8xi64>, %y: memref<1x2x64x16xf32>) {
  smq.ukernel.kv_place ins(%past, %fresh, %pos : memref<1x2x56x16xf32>, memref<1x8x2x16xf32>, memref<1x8xi64>) outs(%y : memref<1x2x64x16xf32>)
  smq.ukernel.kv_place ins(%past, %fresh, %pos : memref<1x2x56x16xf32>, memref<1x8x2x16xf32>, memref<1x8xi64>) outs(%y : memref<1x2x64x16xf32>) {stale_tail}
  return
}
