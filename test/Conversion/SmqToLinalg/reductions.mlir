// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file | FileCheck %s

// A sum over axes 0 and 2 with keepdims: a reduction generic from 0, then a
// reshape that re-inserts the unit dims.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @reduce_sum
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<3xf32>)
// CHECK: %[[S:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["reduction", "parallel", "reduction"]} ins(%arg0 : tensor<2x3x4xf32>) outs(%[[INIT]] : tensor<3xf32>)
// CHECK: arith.addf
// CHECK: tensor.reshape %[[S]](%{{.*}}) : (tensor<3xf32>, tensor<3xi64>) -> tensor<1x3x1xf32>
func.func @reduce_sum(%a: tensor<2x3x4xf32>) -> tensor<1x3x1xf32> {
  %0 = smq.reduce_sum %a {axes = array<i64: 0, 2>} : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
  return %0 : tensor<1x3x1xf32>
}

// -----

// The mean divides the sum by the count of reduced elements (2 * 4).
// CHECK-LABEL: func.func @reduce_mean
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: arith.divf
func.func @reduce_mean(%a: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %0 = smq.reduce_mean %a {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// No axes: every axis. Integer means divide as signed integers.
// CHECK-LABEL: func.func @reduce_mean_i64_all
// CHECK: iterator_types = ["reduction", "reduction"]
// CHECK: arith.addi
// CHECK: arith.constant 6 : i64
// CHECK: arith.divsi
func.func @reduce_mean_i64_all(%a: tensor<2x3xi64>) -> tensor<1x1xi64> {
  %0 = smq.reduce_mean %a {axes = array<i64>} : (tensor<2x3xi64>) -> tensor<1x1xi64>
  return %0 : tensor<1x1xi64>
}

// -----

// Max starts from -inf for floats.
// CHECK-LABEL: func.func @reduce_max
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
func.func @reduce_max(%a: tensor<5x7xf32>) -> tensor<5x1xf32> {
  %0 = smq.reduce_max %a {axes = array<i64: 1>} : (tensor<5x7xf32>) -> tensor<5x1xf32>
  return %0 : tensor<5x1xf32>
}

// -----

// ...from the type's lowest value for integers, by their signedness.
// CHECK-LABEL: func.func @reduce_max_ints
// CHECK: arith.constant -128 : i8
// CHECK: arith.maxsi
// CHECK: arith.constant 0 : i8
// CHECK: arith.maxui
func.func @reduce_max_ints(%a: tensor<4xsi8>, %b: tensor<4xui8>) -> (tensor<1xsi8>, tensor<1xui8>) {
  %0 = smq.reduce_max %a {axes = array<i64: 0>} : (tensor<4xsi8>) -> tensor<1xsi8>
  %1 = smq.reduce_max %b {axes = array<i64: 0>} : (tensor<4xui8>) -> tensor<1xui8>
  return %0, %1 : tensor<1xsi8>, tensor<1xui8>
}

// -----

// Layer norm over the last axis: mean, then the mean of squared deviations
// (two passes), then (x - mean) / sqrt(var + eps) * scale + bias.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @layer_norm
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.mulf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[COL]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.subf
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @layer_norm(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = smq.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Without a bias, the last generic reads four inputs.
// CHECK-LABEL: func.func @layer_norm_no_bias
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-NOT: linalg.generic
func.func @layer_norm_no_bias(%x: tensor<2x4x8xf32>, %s: tensor<4x8xf32>) -> tensor<2x4x8xf32> {
  %0 = smq.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<2x4x8xf32>, tensor<4x8xf32>
  return %0 : tensor<2x4x8xf32>
}
