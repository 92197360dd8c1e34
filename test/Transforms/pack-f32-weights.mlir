// RUN: smq-opt %s --split-input-file --smq-pack-f32-weights | FileCheck %s

// W is 2×33 with W[p][j] = 100p + j (as f32 bytes below): two panels, the
// second holding column 32 and zeros. The bias add moves into the op.
// CHECK-LABEL: func.func @linear_with_bias
// CHECK-DAG: %[[P:.*]] = smq.constant dense_resource<w.panels> : tensor<2x2x32xf32>
// CHECK-DAG: %[[B:.*]] = smq.constant dense_resource<b> : tensor<33xf32>
// CHECK: %[[Y:.*]] = smq.packed_matmul %arg0, %[[P]], %[[B]] {n = 33 : i64} : (tensor<1x4x2xf32>, tensor<2x2x32xf32>, tensor<33xf32>) -> tensor<1x4x33xf32>
// CHECK-NOT: smq.add
// CHECK-NOT: smq.matmul
// CHECK: return %[[Y]]
// Panel 0 row 0 starts 0, 1, 2 (64 floats in all); panel 1 row 0 is 32
// (0x42000000) then 31 zeros, and its row 1 starts 132 (0x43040000).
// CHECK: w.panels: "0x40000000000000000000803F00000040
// CHECK-SAME: 000000420000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000443
// CHECK-NOT: w:
func.func @linear_with_bias(%x: tensor<1x4x2xf32>) -> tensor<1x4x33xf32> {
  %w = smq.constant dense_resource<w> : tensor<2x33xf32>
  %b = smq.constant dense_resource<b> : tensor<33xf32>
  %m = smq.matmul %x, %w : (tensor<1x4x2xf32>, tensor<2x33xf32>) -> tensor<1x4x33xf32>
  %y = smq.add %b, %m : (tensor<33xf32>, tensor<1x4x33xf32>) -> tensor<1x4x33xf32>
  return %y : tensor<1x4x33xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041000080410000884100009041000098410000A0410000A8410000B0410000B8410000C0410000C8410000D0410000D8410000E0410000E8410000F0410000F841000000420000C8420000CA420000CC420000CE420000D0420000D2420000D4420000D6420000D8420000DA420000DC420000DE420000E0420000E2420000E4420000E6420000E8420000EA420000EC420000EE420000F0420000F2420000F4420000F6420000F8420000FA420000FC420000FE420000004300000143000002430000034300000443",
      b: "0x04000000000000000000003F0000803F0000C03F0000004000002040000040400000604000008040000090400000A0400000B0400000C0400000D0400000E0400000F0400000004100000841000010410000184100002041000028410000304100003841000040410000484100005041000058410000604100006841000070410000784100008041"
    }
  }
#-}

// -----

// One weight behind two products is packed once; a product whose result
// has another use keeps its add; an activation times an activation stays.
// CHECK-LABEL: func.func @shared_and_unfused
// CHECK: %[[P:.*]] = smq.constant dense_resource<w2.panels> : tensor<1x4x32xf32>
// CHECK: %[[M1:.*]] = smq.packed_matmul %arg0, %[[P]] {n = 8 : i64}
// CHECK: smq.add %[[M1]]
// CHECK: smq.packed_matmul %arg1, %[[P]] {n = 8 : i64}
// CHECK: smq.matmul %arg0, %arg2
func.func @shared_and_unfused(%x: tensor<3x4xf32>, %x2: tensor<3x4xf32>, %a: tensor<4x5xf32>) -> (tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x5xf32>) {
  %w = smq.constant dense_resource<w2> : tensor<4x8xf32>
  %b = smq.constant dense<1.0> : tensor<8xf32>
  %m1 = smq.matmul %x, %w : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
  %y1 = smq.add %m1, %b : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %m2 = smq.matmul %x2, %w : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
  %m3 = smq.matmul %x, %a : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %m1, %y1, %m2, %m3 : tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x5xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w2: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}

// -----

// GELU in the form ONNX exports of PyTorch write it, y·(1 + erf(y/√2))·0.5,
// on a product with a bias: the kernel applies it as it stores (gelu), and
// the elementwise chain goes.
// CHECK-LABEL: func.func @linear_gelu
// CHECK: %[[Y:.*]] = smq.packed_matmul %arg0, %{{.*}}, %{{.*}} {gelu, n = 8 : i64}
// CHECK-NOT: smq.erf
// CHECK-NOT: smq.mul
// CHECK: return %[[Y]]
func.func @linear_gelu(%x: tensor<3x4xf32>) -> tensor<3x8xf32> {
  %w = smq.constant dense_resource<w3> : tensor<4x8xf32>
  %b = smq.constant dense_resource<b3> : tensor<8xf32>
  %m = smq.matmul %x, %w : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
  %y = smq.add %m, %b : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %s = smq.constant dense<1.41421354> : tensor<f32>
  %d = smq.div %y, %s : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  %e = smq.erf %d : tensor<3x8xf32>
  %one = smq.constant dense<1.0> : tensor<f32>
  %a = smq.add %e, %one : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  %p = smq.mul %y, %a : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %half = smq.constant dense<0.5> : tensor<f32>
  %g = smq.mul %p, %half : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  return %g : tensor<3x8xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w3: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      b3: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}

// -----

// Not GELU: the last factor is 0.25, not 0.5. Nothing fuses.
// CHECK-LABEL: func.func @not_gelu
// CHECK: smq.packed_matmul %arg0, %{{.*}} {n = 8 : i64}
// CHECK: smq.erf
func.func @not_gelu(%x: tensor<3x4xf32>) -> tensor<3x8xf32> {
  %w = smq.constant dense_resource<w4> : tensor<4x8xf32>
  %y = smq.matmul %x, %w : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
  %s = smq.constant dense<1.41421354> : tensor<f32>
  %d = smq.div %y, %s : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  %e = smq.erf %d : tensor<3x8xf32>
  %one = smq.constant dense<1.0> : tensor<f32>
  %a = smq.add %e, %one : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  %p = smq.mul %y, %a : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  %c = smq.constant dense<0.25> : tensor<f32>
  %g = smq.mul %p, %c : (tensor<3x8xf32>, tensor<f32>) -> tensor<3x8xf32>
  return %g : tensor<3x8xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w4: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}
