// RUN: smq-opt %s --canonicalize --split-input-file --verify-diagnostics | FileCheck %s

// Hand-derived: K=4 inputs of 2 bits, N=2 rows, one group per row.
// Row 0 codes (0,1,2,3) (byte 0b11100100), scale 0.5, zero 1:
//   -0.5, 0, 0.5, 1. Row 1 codes (3,2,1,0) (byte 0b00011011), scale 2,
//   zero 0: 6, 4, 2, 0. The result is the K×N transpose, row-major:
//   [[-0.5, 6], [0, 4], [0.5, 2], [1, 0]].
// CHECK-LABEL: func.func @fold
// CHECK: %[[W:.*]] = smq.constant dense_resource<dequantized> : tensor<4x2xf32>
// CHECK-NOT: smq.dequantize
// CHECK: return %[[W]]
// CHECK: dequantized: "0x04000000000000BF0000C04000000000000080400000003F000000400000803F00000000"
func.func @fold() -> tensor<4x2xf32> {
  %c = smq.constant dense<[[228], [27]]> : tensor<2x1xui8>
  %s = smq.constant dense<[[0.5], [2.0]]> : tensor<2x1xf32>
  %z = smq.constant dense<[[1.0], [0.0]]> : tensor<2x1xf32>
  %w = smq.dequantize %c, %s, %z {bits = 2 : i64, group_size = 4 : i64} : (tensor<2x1xui8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}

// -----

func.func @bad_row_bytes(%c: tensor<2x2xui8>, %s: tensor<2x1xf32>, %z: tensor<2x1xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{codes must hold 1 bytes per row for 4 inputs of 2 bits, not 2}}
  %w = smq.dequantize %c, %s, %z {bits = 2 : i64, group_size = 4 : i64} : (tensor<2x2xui8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}

// -----

func.func @bad_columns(%c: tensor<3x1xui8>, %s: tensor<3x1xf32>, %z: tensor<3x1xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{result must have one column per row of codes}}
  %w = smq.dequantize %c, %s, %z {bits = 2 : i64, group_size = 4 : i64} : (tensor<3x1xui8>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}
