// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file -verify-diagnostics | FileCheck %s

// Numpy broadcasting becomes indexing maps: a size-1 dim read by a larger
// result dim indexes with 0; missing leading dims are dropped.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @broadcast_add
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: arith.addf
func.func @broadcast_add(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = smq.add %a, %b : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Unsigned tensors become signless; the op keeps its unsigned meaning.
// CHECK-LABEL: func.func @unsigned_div
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<4xi8>) -> tensor<4xi8>
// CHECK: arith.divui
func.func @unsigned_div(%a: tensor<4xui8>, %b: tensor<4xui8>) -> tensor<4xui8> {
  %0 = smq.div %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// CHECK-LABEL: func.func @gelu_erf
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: arith.mulf
func.func @gelu_erf(%a: tensor<8xf32>) -> tensor<8xf32> {
  %0 = smq.gelu %a : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @cast_float_to_bool
// CHECK: arith.cmpf une
func.func @cast_float_to_bool(%a: tensor<3xf32>) -> tensor<3xi1> {
  %0 = smq.cast %a : tensor<3xf32> to tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// Gather clamps indices after wrapping negative ones.
// CHECK-LABEL: func.func @gather
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %arg0
func.func @gather(%t: tensor<10x6xf32>, %i: tensor<2x3xi64>) -> tensor<2x3x6xf32> {
  %0 = smq.gather %t[%i] {axis = 0 : i64} : (tensor<10x6xf32>, tensor<2x3xi64>) -> tensor<2x3x6xf32>
  return %0 : tensor<2x3x6xf32>
}

// -----

// Shape ops that did not fold compute dynamic shapes: refused, with the op.
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<2xi64> {
  // expected-error @+1 {{failed to legalize operation 'smq.shape'}}
  %0 = smq.shape %x {start = 0 : i64, end = 2 : i64} : (tensor<?x4xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}
