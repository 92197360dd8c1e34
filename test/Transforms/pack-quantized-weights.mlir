// RUN: smq-opt %s --split-input-file --verify-diagnostics --smq-pack-quantized-weights=activations=f32 | FileCheck %s
// RUN: smq-opt %s --split-input-file --verify-diagnostics --smq-pack-quantized-weights | FileCheck %s --check-prefix=INT8

// Two rows of 32 4-bit codes, row r holding (k + r) mod 16. In the bit
// stream byte i is code 2i | code 2i+1 << 4 (0x10, 0x32, ...); packed, byte j
// is code j | code j+16 << 4 (0x00, 0x11, ... for row 0).
// CHECK-LABEL: func.func @four_bits
// CHECK: %[[C:.*]] = smq.constant dense_resource<codes.packed> : tensor<2x16xui8>
// CHECK: smq.quantized_matmul %arg0, %[[C]], {{.*}} {bits = 4 : i64, group_size = 32 : i64, packed}
// The default: int8 activations.
// CHECK-NOT: dense_resource<codes>
// CHECK: codes.packed: "0x0100000000112233445566778899AABBCCDDEEFF112233445566778899AABBCCDDEEFF00"
// INT8: {bits = 4 : i64, group_size = 32 : i64, int8_activations, packed}
func.func @four_bits(%x: tensor<1x32xf32>) -> tensor<1x2xf32> {
  %c = smq.constant dense_resource<codes> : tensor<2x16xui8>
  %s = smq.constant dense<0.5> : tensor<2x1xf32>
  %z = smq.constant dense<8.0> : tensor<2x1xf32>
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<1x32xf32>, tensor<2x16xui8>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      codes: "0x010000001032547698BADCFE1032547698BADCFE21436587A9CBED0F21436587A9CBED0F"
    }
  }
#-}

// -----

// 3 bits, K = 40 (two chunks, the second padded): 32 codes take 12 bytes,
// so a row is 24 bytes. Code 9 of row 0 is 7, every other code is 0: its
// low bits (3) sit in byte 1 at bits 2-3, its high bit in byte 9, bit 1.
// CHECK-LABEL: func.func @three_bits
// CHECK: smq.constant dense_resource<codes3.packed> : tensor<1x24xui8>
// CHECK: codes3.packed: "0x01000000000C00000000000000020000000000000000000000000000"
func.func @three_bits(%x: tensor<1x40xf32>) -> tensor<1x1xf32> {
  %c = smq.constant dense_resource<codes3> : tensor<1x15xui8>
  %s = smq.constant dense<0.5> : tensor<1x2xf32>
  %z = smq.constant dense<4.0> : tensor<1x2xf32>
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 3 : i64, group_size = 32 : i64} : (tensor<1x40xf32>, tensor<1x15xui8>, tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
{-#
  dialect_resources: {
    builtin: {
      codes3: "0x01000000000000380000000000000000000000"
    }
  }
#-}

// -----

// Formats no kernel takes stay unpacked, with a warning at the op.
// CHECK-LABEL: func.func @no_kernel
// CHECK: smq.quantized_matmul
// CHECK-NOT: packed
func.func @no_kernel(%x: tensor<1x48xf32>, %c: tensor<4x24xui8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) -> tensor<1x4xf32> {
  // expected-warning @+1 {{no quantized kernel takes 4-bit codes in groups of 48; the weight is decoded to f32 when the model runs}}
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 48 : i64} : (tensor<1x48xf32>, tensor<4x24xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// CHECK-LABEL: func.func @not_constant
func.func @not_constant(%x: tensor<1x32xf32>, %c: tensor<4x16xui8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) -> tensor<1x4xf32> {
  // expected-warning @+1 {{codes are not a constant; left unpacked}}
  %y = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64} : (tensor<1x32xf32>, tensor<4x16xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
