// RUN: smq-opt %s --smq-externalize-weights | FileCheck %s

// Weights (float blobs, and large integer ones) become arguments named by
// their blob key; small integer blobs are shape data and stay.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%arg0: tensor<1x4xf32> {smq.name = "x"}, %[[W:.*]]: tensor<4x2xf32> {smq.weight = "w"})
// CHECK: %[[S:.*]] = smq.constant dense_resource<shape> : tensor<2xi64>
// CHECK: smq.matmul %arg0, %[[W]]
func.func @main(%x: tensor<1x4xf32> {smq.name = "x"}) -> tensor<2x1xf32> {
  %w = smq.constant dense_resource<w> : tensor<4x2xf32>
  %s = smq.constant dense_resource<shape> : tensor<2xi64>
  %y = smq.matmul %x, %w : (tensor<1x4xf32>, tensor<4x2xf32>) -> tensor<1x2xf32>
  %r = smq.reshape %y, %s : (tensor<1x2xf32>, tensor<2xi64>) -> tensor<2x1xf32>
  return %r : tensor<2x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041",
      shape: "0x0800000002000000000000000100000000000000"
    }
  }
#-}
