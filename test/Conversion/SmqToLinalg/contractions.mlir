// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file | FileCheck %s

// A 2-D weight folds the batch into M: one linalg.matmul.
// CHECK-LABEL: func.func @weight_matmul
// CHECK: %[[A:.*]] = tensor.reshape %arg0(%{{.*}}) : (tensor<1x128x192xf32>, tensor<2xi64>) -> tensor<128x192xf32>
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[C:.*]] = linalg.matmul ins(%[[A]], %arg1 : tensor<128x192xf32>, tensor<192x256xf32>) outs(%[[Z]] : tensor<128x256xf32>)
// CHECK: tensor.reshape %[[C]](%{{.*}}) : (tensor<128x256xf32>, tensor<3xi64>) -> tensor<1x128x256xf32>
func.func @weight_matmul(%x: tensor<1x128x192xf32>, %w: tensor<192x256xf32>) -> tensor<1x128x256xf32> {
  %0 = smq.matmul %x, %w : (tensor<1x128x192xf32>, tensor<192x256xf32>) -> tensor<1x128x256xf32>
  return %0 : tensor<1x128x256xf32>
}

// -----

// Attention: batch dims collapse into one batch_matmul dim.
// CHECK-LABEL: func.func @attention_matmul
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<4x128x48xf32>, tensor<4x48x128xf32>) outs(%{{.*}} : tensor<4x128x128xf32>)
func.func @attention_matmul(%q: tensor<1x4x128x48xf32>, %k: tensor<1x4x48x128xf32>) -> tensor<1x4x128x128xf32> {
  %0 = smq.matmul %q, %k : (tensor<1x4x128x48xf32>, tensor<1x4x48x128xf32>) -> tensor<1x4x128x128xf32>
  return %0 : tensor<1x4x128x128xf32>
}

// -----

// Broadcast batch dims are materialised before the batch_matmul.
// CHECK-LABEL: func.func @broadcast_batch
// CHECK: linalg.generic
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<6x2x3xf32>, tensor<6x3x5xf32>)
func.func @broadcast_batch(%a: tensor<2x1x2x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<2x3x2x5xf32> {
  %0 = smq.matmul %a, %b : (tensor<2x1x2x3xf32>, tensor<3x3x5xf32>) -> tensor<2x3x2x5xf32>
  return %0 : tensor<2x3x2x5xf32>
}

// -----

// Softmax: max, exp of the difference, sum, divide.
// CHECK-LABEL: func.func @softmax
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = smq.softmax %x {axis = 1 : i64} : tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// Packed codes go to the kernel op, with the batch folded into M; nothing
// is decoded into a float weight.
// CHECK-LABEL: func.func @qmatmul_packed
// CHECK: %[[X:.*]] = tensor.reshape %arg0({{.*}}) : (tensor<2x3x64xf32>, tensor<2xi64>) -> tensor<6x64xf32>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<6x8xf32>
// CHECK: %[[Y:.*]] = smq.ukernel.qmatmul ins(%[[X]], %arg1, %arg2, %arg3 : tensor<6x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xf32>) outs(%[[INIT]] : tensor<6x8xf32>) {bits = 4 : i64, group_size = 32 : i64, int8_activations} -> tensor<6x8xf32>
// CHECK: tensor.reshape %[[Y]]({{.*}}) : (tensor<6x8xf32>, tensor<3xi64>) -> tensor<2x3x8xf32>
// CHECK-NOT: linalg.matmul
func.func @qmatmul_packed(%x: tensor<2x3x64xf32>, %c: tensor<8x32xui8>, %s: tensor<8x2xf32>, %z: tensor<8x2xf32>) -> tensor<2x3x8xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64, packed, int8_activations} : (tensor<2x3x64xf32>, tensor<8x32xui8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// Unpacked codes are decoded by a generic and multiplied as f32.
// CHECK-LABEL: func.func @qmatmul_unpacked
// CHECK: %[[W:.*]] = linalg.generic
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]] : tensor<1x64xf32>, tensor<64x8xf32>)
// CHECK-NOT: smq.ukernel
func.func @qmatmul_unpacked(%x: tensor<1x64xf32>, %c: tensor<8x32xui8>, %s: tensor<8x2xf32>, %z: tensor<8x2xf32>) -> tensor<1x8xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<1x64xf32>, tensor<8x32xui8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// f32 weight panels go to the kernel op with the batch folded into M; no
// fill of the output, and a zero bias when the op has none.
// CHECK-LABEL: func.func @packed_matmul
// CHECK: %[[X:.*]] = tensor.reshape %arg0({{.*}}) : (tensor<2x3x64xf32>, tensor<2xi64>) -> tensor<6x64xf32>
// CHECK: %[[B:.*]] = arith.constant dense<0.000000e+00> : tensor<40xf32>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<6x40xf32>
// CHECK-NOT: linalg.fill
// CHECK: %[[Y:.*]] = smq.ukernel.matmul ins(%[[X]], %arg1, %[[B]] : tensor<6x64xf32>, tensor<2x64x32xf32>, tensor<40xf32>) outs(%[[INIT]] : tensor<6x40xf32>) -> tensor<6x40xf32>
// CHECK: tensor.reshape %[[Y]]({{.*}}) : (tensor<6x40xf32>, tensor<3xi64>) -> tensor<2x3x40xf32>
func.func @packed_matmul(%x: tensor<2x3x64xf32>, %p: tensor<2x64x32xf32>) -> tensor<2x3x40xf32> {
  %y = smq.packed_matmul %x, %p {n = 40 : i64} : (tensor<2x3x64xf32>, tensor<2x64x32xf32>) -> tensor<2x3x40xf32>
  return %y : tensor<2x3x40xf32>
}

// -----

// CHECK-LABEL: func.func @packed_matmul_bias
// CHECK: smq.ukernel.matmul ins(%arg0, %arg1, %arg2 : tensor<4x64xf32>, tensor<2x64x32xf32>, tensor<40xf32>)
func.func @packed_matmul_bias(%x: tensor<4x64xf32>, %p: tensor<2x64x32xf32>, %b: tensor<40xf32>) -> tensor<4x40xf32> {
  %y = smq.packed_matmul %x, %p, %b {n = 40 : i64} : (tensor<4x64xf32>, tensor<2x64x32xf32>, tensor<40xf32>) -> tensor<4x40xf32>
  return %y : tensor<4x40xf32>
}

// -----

// CHECK-LABEL: func.func @packed_matmul_gelu
// CHECK: smq.ukernel.matmul ins({{.*}}) outs({{.*}}) {gelu}
func.func @packed_matmul_gelu(%x: tensor<4x64xf32>, %p: tensor<2x64x32xf32>) -> tensor<4x40xf32> {
  %y = smq.packed_matmul %x, %p {gelu, n = 40 : i64} : (tensor<4x64xf32>, tensor<2x64x32xf32>) -> tensor<4x40xf32>
  return %y : tensor<4x40xf32>
}

// -----

// Gemm: transposes first, the product, then alpha * AB + beta * C with C
// broadcast.
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @gemm
// CHECK: linalg.transpose ins(%arg1 : tensor<3x8xf32>) outs(%{{.*}} : tensor<8x3xf32>) permutation = [1, 0]
// CHECK: %[[AB:.*]] = linalg.matmul ins(%arg0, %{{.*}} : tensor<4x8xf32>, tensor<8x3xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[C]], #{{.*}}]{{.*}} ins(%[[AB]], %arg2 : tensor<4x3xf32>, tensor<3xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @gemm(%a: tensor<4x8xf32>, %b: tensor<3x8xf32>, %c: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = smq.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transB = true} : (tensor<4x8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
