// RUN: smq-opt %s --convert-smq-to-linalg="index-checks=false" | FileCheck %s
// RUN: smq-opt %s --convert-smq-to-linalg | FileCheck %s --check-prefix=ON

// index-checks=false: data-dependent indices are only clamped (maxsi,
// minsi); no check loop, and no declaration of the error function.
// CHECK-NOT: smq_rt_index_error
// CHECK-LABEL: func.func @gather_unchecked
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK-LABEL: func.func @scatter_nd_unchecked
// CHECK-NOT: smq_rt_index_error
// CHECK: linalg.generic
// CHECK: scf.for
// CHECK: arith.maxsi
// CHECK: arith.minsi

// The default checks both.
// ON: func.func private @smq_rt_index_error
// ON-LABEL: func.func @gather_unchecked
// ON: func.call @smq_rt_index_error
// ON-LABEL: func.func @scatter_nd_unchecked
// ON: func.call @smq_rt_index_error
func.func @gather_unchecked(%t: tensor<10x6xf32>, %i: tensor<3xi64>) -> tensor<3x6xf32> {
  %0 = smq.gather %t[%i] {axis = 0 : i64} : (tensor<10x6xf32>, tensor<3xi64>) -> tensor<3x6xf32>
  return %0 : tensor<3x6xf32>
}

func.func @scatter_nd_unchecked(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %0 = smq.scatter_nd %d[%i], %u {reduction = "add"} : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
