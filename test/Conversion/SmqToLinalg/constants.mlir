// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @dense
// CHECK: arith.constant dense<[1.500000e+00, -2.000000e+00]> : tensor<2xf32>
func.func @dense() -> tensor<2xf32> {
  %0 = smq.constant dense<[1.5, -2.0]> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Unsigned constants keep their bits as signless integers: 200 is -56.
// CHECK-LABEL: func.func @unsigned
// CHECK: arith.constant dense<[-56, 7]> : tensor<2xi8>
func.func @unsigned() -> tensor<2xui8> {
  %0 = smq.constant dense<[200, 7]> : tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

// Blobs left in the code become dense attributes; i1 blobs hold a byte per
// element.
// CHECK-LABEL: func.func @bool_blob
// CHECK: arith.constant dense<[true, false, true]> : tensor<3xi1>
func.func @bool_blob() -> tensor<3xi1> {
  %0 = smq.constant dense_resource<mask> : tensor<3xi1>
  return %0 : tensor<3xi1>
}
{-#
  dialect_resources: {
    builtin: {
      mask: "0x01000000010001"
    }
  }
#-}

// -----

// CHECK-LABEL: func.func @f32_blob
// CHECK: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
func.func @f32_blob() -> tensor<2xf32> {
  %0 = smq.constant dense_resource<w> : tensor<2xf32>
  return %0 : tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// Range and ConstantOfShape that did not fold compute dynamic shapes.
func.func @range_dynamic(%n: tensor<i64>) -> tensor<?xi64> {
  %zero = smq.constant dense<0> : tensor<i64>
  %one = smq.constant dense<1> : tensor<i64>
  // expected-error @+1 {{failed to legalize operation 'smq.range'}}
  %0 = smq.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %0 : tensor<?xi64>
}

// -----

func.func @constant_of_shape_dynamic(%s: tensor<2xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{failed to legalize operation 'smq.constant_of_shape'}}
  %0 = smq.constant_of_shape %s {value = 0.0 : f32} : (tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
