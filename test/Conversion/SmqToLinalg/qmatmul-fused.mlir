// RUN: smq-opt %s --convert-smq-to-linalg="quantized-matmul=fused" --split-input-file -verify-diagnostics | FileCheck %s

// One contraction over (m, n, k): the code's byte is read at
// (n, k * 4 floordiv 8), its group's scale and zero point at
// (n, k floordiv 32), and the weight is decoded in the body, where it is
// multiplied. No float weight tensor and no separate matmul.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[BYTE:.*]] = affine_map<(d0, d1, d2) -> (d1, (d2 * 4) floordiv 8)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2 floordiv 32)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @w4
// CHECK: %[[X2:.*]] = tensor.reshape %arg0({{.*}}) : (tensor<2x3x64xf32>, tensor<2xi64>) -> tensor<6x64xf32>
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[BYTE]], #[[GROUP]], #[[GROUP]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X2]], %arg1, %arg2, %arg3 : tensor<6x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xf32>) outs(%[[Z]] : tensor<6x8xf32>)
// CHECK-NEXT: ^bb0(%[[XV:.*]]: f32, %[[B:.*]]: i8, %[[S:.*]]: f32, %[[ZP:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[K:.*]] = linalg.index 2 : index
// CHECK: %[[BIT:.*]] = arith.muli %[[K]], %c4
// CHECK: %[[WORD:.*]] = arith.extui %[[B]] : i8 to i32
// CHECK-NOT: tensor.extract
// CHECK: %[[SH:.*]] = arith.shrui %[[WORD]]
// CHECK: %[[Q:.*]] = arith.andi %[[SH]], %c15_i32
// CHECK: %[[QF:.*]] = arith.uitofp %[[Q]] : i32 to f32
// CHECK: %[[D:.*]] = arith.subf %[[QF]], %[[ZP]]
// CHECK: %[[W:.*]] = arith.mulf %[[S]], %[[D]]
// CHECK: %[[P:.*]] = arith.mulf %[[XV]], %[[W]]
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[P]]
// CHECK: linalg.yield %[[SUM]]
// CHECK: tensor.reshape %[[Y]]({{.*}}) : (tensor<6x8xf32>, tensor<3xi64>) -> tensor<2x3x8xf32>
// CHECK-NOT: linalg.matmul
func.func @w4(%x: tensor<2x3x64xf32>, %c: tensor<8x32xui8>, %s: tensor<8x2xf32>, %z: tensor<8x2xf32>) -> tensor<2x3x8xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x64xf32>, tensor<8x32xui8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// -----

// 3-bit codes can straddle two bytes: the next byte (clamped to the row)
// is read too and shifted above the first.
// CHECK-LABEL: func.func @w3
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[N:.*]] = linalg.index 1 : index
// CHECK: arith.minui %{{.*}}, %c23
// CHECK: tensor.extract %arg1[%[[N]], %{{.*}}] : tensor<4x24xi8>
// CHECK: arith.shli %{{.*}}, %c8_i32
// CHECK: arith.andi %{{.*}}, %c7_i32
func.func @w3(%x: tensor<1x64xf32>, %c: tensor<4x24xui8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) -> tensor<1x4xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 3 : i64, group_size = 64 : i64} : (tensor<1x64xf32>, tensor<4x24xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// A decode (up to 4 rows; here 1, K = 256) splits K into 64 lanes:
// partial[m, n, c] sums k = j * 64 + c over j, with x read as [1, 4, 64]
// so that every loop's range is an operand's dim; then each output sums
// its 64 lanes. The codes are still decoded where they are multiplied.
// CHECK-DAG: #[[GX:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[GBYTE:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, ((d3 * 64 + d2) * 4) floordiv 8)>
// CHECK-DAG: #[[GGROUP:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3 * 2 + d2 floordiv 32)>
// CHECK-DAG: #[[GPART:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[RIN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @gemv
// CHECK: %[[X3:.*]] = tensor.reshape %arg0({{.*}}) : (tensor<1x256xf32>, tensor<3xi64>) -> tensor<1x4x64xf32>
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[GX]], #[[GBYTE]], #[[GGROUP]], #[[GGROUP]], #[[GPART]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X3]], %arg1, %arg2, %arg3 : {{.*}}) outs(%{{.*}} : tensor<1x8x64xf32>)
// CHECK: %[[C:.*]] = linalg.index 2 : index
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[JL:.*]] = arith.muli %[[J]], %c64
// CHECK: %[[K:.*]] = arith.addi %[[JL]], %[[C]]
// CHECK: arith.muli %[[K]], %c4
// CHECK: arith.shrui
// CHECK: linalg.generic {indexing_maps = [#[[RIN]], #[[ROUT]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]] : tensor<1x8x64xf32>) outs(%{{.*}} : tensor<1x8xf32>)
// CHECK-NOT: linalg.matmul
func.func @gemv(%x: tensor<1x256xf32>, %c: tensor<8x128xui8>, %s: tensor<8x8xf32>, %z: tensor<8x8xf32>) -> tensor<1x8xf32> {
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<1x256xf32>, tensor<8x128xui8>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// Packed codes are in the CPU kernels' layout: not lowered here.
func.func @packed(%x: tensor<1x64xf32>, %c: tensor<8x32xui8>, %s: tensor<8x2xf32>, %z: tensor<8x2xf32>) -> tensor<1x8xf32> {
  // expected-error @+1 {{failed to legalize operation 'smq.quantized_matmul'}}
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64, packed} : (tensor<1x64xf32>, tensor<8x32xui8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
