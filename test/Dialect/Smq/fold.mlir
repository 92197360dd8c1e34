// Folders evaluate shape computations on constants so that a torch export
// becomes static. Each case is one folding behaviour.
// RUN: smq-opt %s -canonicalize -split-input-file | FileCheck %s

// The Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain of a torch
// export collapses to a reshape by a constant.
// CHECK-LABEL: func.func @torch_reshape_chain
// CHECK-NEXT: %[[S:.*]] = smq.constant dense<[2, 3, 4, 2]> : tensor<4xi64>
// CHECK-NEXT: %[[R:.*]] = smq.reshape %arg0, %[[S]] : (tensor<2x3x8xf32>, tensor<4xi64>) -> tensor<2x3x4x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @torch_reshape_chain(%x: tensor<2x3x8xf32>) -> tensor<2x3x4x2xf32> {
  %shape = smq.shape %x {start = 0 : i64, end = 3 : i64} : (tensor<2x3x8xf32>) -> tensor<3xi64>
  %i0 = smq.constant dense<0> : tensor<i64>
  %i1 = smq.constant dense<1> : tensor<i64>
  %b = smq.gather %shape[%i0] {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %s = smq.gather %shape[%i1] {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %bu = smq.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %su = smq.unsqueeze %s {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %tail = smq.constant dense<[4, 2]> : tensor<2xi64>
  %target = smq.concat %bu, %su, %tail {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = smq.reshape %x, %target : (tensor<2x3x8xf32>, tensor<4xi64>) -> tensor<2x3x4x2xf32>
  %c = smq.cast %r : tensor<2x3x4x2xf32> to tensor<2x3x4x2xf32>
  return %c : tensor<2x3x4x2xf32>
}

// -----

// Integer arithmetic on shape values: (7 - 1) * 2 / 4 = 3 and
// (-3 - 1) * 2 / 4 = -2.
// CHECK-LABEL: func.func @shape_arith
// CHECK-NEXT: %[[C:.*]] = smq.constant dense<[3, -2]> : tensor<2xi64>
// CHECK-NEXT: return %[[C]]
func.func @shape_arith() -> tensor<2xi64> {
  %a = smq.constant dense<[7, -3]> : tensor<2xi64>
  %one = smq.constant dense<1> : tensor<i64>
  %two = smq.constant dense<2> : tensor<i64>
  %four = smq.constant dense<4> : tensor<i64>
  %0 = smq.sub %a, %one : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %1 = smq.mul %0, %two : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  %2 = smq.div %1, %four : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
  return %2 : tensor<2xi64>
}

// -----

// Range, Equal, Not and Where on constants, as a causal mask is built.
// CHECK-LABEL: func.func @causal_mask
// CHECK-NEXT: %[[M:.*]] = smq.constant dense<{{\[}}[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
// CHECK-NEXT: return %[[M]]
func.func @causal_mask() -> tensor<3x3xi1> {
  %ones = smq.constant dense<1> : tensor<3x3xi64>
  %tri = smq.trilu %ones {upper = false} : tensor<3x3xi64>
  %zero = smq.constant dense<0> : tensor<i64>
  %masked = smq.equal %tri, %zero : (tensor<3x3xi64>, tensor<i64>) -> tensor<3x3xi1>
  %keep = smq.not %masked : tensor<3x3xi1>
  return %keep : tensor<3x3xi1>
}

// -----

// Comparisons on constants: NaN compares false, unsigned types compare as
// unsigned (200 > 100 as ui8 even though the bits are negative as i8), and
// Greater(a, b) is less(b, a).
// CHECK-LABEL: func.func @compare
// CHECK-DAG: smq.constant dense<[true, false, false, false]> : tensor<4xi1>
// CHECK-DAG: smq.constant dense<[true, true, false, false]> : tensor<4xi1>
// CHECK-DAG: smq.constant dense<[true, false]> : tensor<2xi1>
func.func @compare() -> (tensor<4xi1>, tensor<4xi1>, tensor<2xi1>) {
  %a = smq.constant dense<[1.0, 2.0, 3.0, 0x7FC00000]> : tensor<4xf32>
  %two = smq.constant dense<2.0> : tensor<f32>
  %lt = smq.less %a, %two : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %le = smq.less_equal %a, %two : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %u = smq.constant dense<[200, 50]> : tensor<2xui8>
  %h = smq.constant dense<100> : tensor<ui8>
  %gt = smq.less %h, %u : (tensor<ui8>, tensor<2xui8>) -> tensor<2xi1>
  return %lt, %le, %gt : tensor<4xi1>, tensor<4xi1>, tensor<2xi1>
}

// -----

// And, Or and Xor on constant masks, broadcast.
// CHECK-LABEL: func.func @logical
// CHECK-DAG: smq.constant dense<[true, false, false, false]> : tensor<4xi1>
// CHECK-DAG: smq.constant dense<[true, true, true, false]> : tensor<4xi1>
// CHECK-DAG: smq.constant dense<[false, true, true, false]> : tensor<4xi1>
func.func @logical() -> (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %a = smq.constant dense<[true, true, false, false]> : tensor<4xi1>
  %b = smq.constant dense<[true, false, true, false]> : tensor<4xi1>
  %and = smq.and %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %or = smq.or %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %xor = smq.xor %a, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %and, %or, %xor : tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

// -----

// Slice walks back from the last element with step -2: 4, 2, 0.
// CHECK-LABEL: func.func @range_and_slice
// CHECK-DAG: smq.constant dense<[0, 1, 2, 3, 4]> : tensor<5xi64>
// CHECK-DAG: smq.constant dense<[4, 2, 0]> : tensor<3xi64>
func.func @range_and_slice() -> (tensor<5xi64>, tensor<3xi64>) {
  %s = smq.constant dense<0> : tensor<i64>
  %l = smq.constant dense<5> : tensor<i64>
  %d = smq.constant dense<1> : tensor<i64>
  %r = smq.range %s, %l, %d : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<5xi64>
  %st = smq.constant dense<-1> : tensor<1xi64>
  %en = smq.constant dense<-9223372036854775807> : tensor<1xi64>
  %ax = smq.constant dense<0> : tensor<1xi64>
  %sp = smq.constant dense<-2> : tensor<1xi64>
  %b = smq.slice %r[%st, %en, %ax, %sp] : (tensor<5xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  return %r, %b : tensor<5xi64>, tensor<3xi64>
}

// -----

// Folds that return an operand unchanged.
// CHECK-LABEL: func.func @identities
// CHECK-NEXT: return %arg0, %arg0, %arg0
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %t = smq.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = smq.constant dense<[2, 3]> : tensor<2xi64>
  %r = smq.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %e = smq.expand %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %t, %r, %e : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Float constants fold too (the attention scale 1/sqrt(48) of the GPT).
// CHECK-LABEL: func.func @float_scalars
// CHECK-NEXT: smq.constant dense<0.144337565> : tensor<f32>
func.func @float_scalars() -> tensor<f32> {
  %d = smq.constant dense<48.0> : tensor<f32>
  %s = smq.sqrt %d : tensor<f32>
  %r = smq.reciprocal %s : tensor<f32>
  return %r : tensor<f32>
}

// -----

// ConstantOfShape becomes a splat; weights (dense_resource) never fold into
// inline data.
// CHECK-LABEL: func.func @no_weight_folding
// CHECK-DAG: %[[W:.*]] = smq.constant dense_resource<w> : tensor<2x2xf32>
// CHECK-DAG: smq.transpose %[[W]]
// CHECK-DAG: smq.constant dense<0.000000e+00> : tensor<4x4xf32>
func.func @no_weight_folding() -> (tensor<2x2xf32>, tensor<4x4xf32>) {
  %w = smq.constant dense_resource<w> : tensor<2x2xf32>
  %t = smq.transpose %w {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = smq.constant dense<[4, 4]> : tensor<2xi64>
  %z = smq.constant_of_shape %s {value = 0.0 : f32} : (tensor<2xi64>) -> tensor<4x4xf32>
  return %t, %z : tensor<2x2xf32>, tensor<4x4xf32>
}
