// RUN: smq-opt %s --convert-smq-to-linalg --split-input-file -verify-diagnostics | FileCheck %s

// Reshape, Unsqueeze and Squeeze are one tensor.reshape to the result's
// static shape; the shape operand is not read.
// CHECK-LABEL: func.func @reshapes
// CHECK: %[[A:.*]] = tensor.reshape %arg0(%{{.*}}) : (tensor<2x6xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
// CHECK: %[[B:.*]] = tensor.reshape %[[A]](%{{.*}}) : (tensor<3x2x2xf32>, tensor<4xi64>) -> tensor<3x1x2x2xf32>
// CHECK: tensor.reshape %[[B]](%{{.*}}) : (tensor<3x1x2x2xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
func.func @reshapes(%x: tensor<2x6xf32>, %s: tensor<3xi64>) -> tensor<3x2x2xf32> {
  %0 = smq.reshape %x, %s : (tensor<2x6xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
  %1 = smq.unsqueeze %0 {axes = array<i64: 1>} : (tensor<3x2x2xf32>) -> tensor<3x1x2x2xf32>
  %2 = smq.squeeze %1 {axes = array<i64: 1>} : (tensor<3x1x2x2xf32>) -> tensor<3x2x2xf32>
  return %2 : tensor<3x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3x4xf32>) outs(%[[E]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = smq.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// Concat inserts each part at its offset along the axis into one tensor.
// CHECK-LABEL: func.func @concat
// CHECK: %[[T:.*]] = bufferization.alloc_tensor() : tensor<2x7xf32>
// CHECK: %[[P:.*]] = tensor.insert_slice %arg0 into %[[T]][0, 0] [2, 3] [1, 1]
// CHECK: tensor.insert_slice %arg1 into %[[P]][0, 3] [2, 4] [1, 1]
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<2x7xf32> {
  %0 = smq.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

// Constant bounds with positive steps: one extract_slice. ONNX's ends are
// exclusive and clamped: [1, 10) step 2 of 8 elements is 1, 3, 5, 7.
// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %arg0[0, 1] [3, 4] [1, 2] : tensor<3x8xf32> to tensor<3x4xf32>
func.func @slice(%x: tensor<3x8xf32>) -> tensor<3x4xf32> {
  %b = smq.constant dense<[1]> : tensor<1xi64>
  %e = smq.constant dense<[10]> : tensor<1xi64>
  %a = smq.constant dense<[1]> : tensor<1xi64>
  %s = smq.constant dense<[2]> : tensor<1xi64>
  %0 = smq.slice %x[%b, %e, %a, %s] : (tensor<3x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// A negative step reads data[begin + i * step]: 7, 6, 5 from -1 to 4.
// CHECK-LABEL: func.func @slice_reversed
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 0 : index
// CHECK: %[[S:.*]] = arith.muli %[[I]], %c-1
// CHECK: %[[J:.*]] = arith.addi %[[S]], %c7
// CHECK: tensor.extract %arg0[%[[J]]]
func.func @slice_reversed(%x: tensor<8xf32>) -> tensor<3xf32> {
  %b = smq.constant dense<[-1]> : tensor<1xi64>
  %e = smq.constant dense<[4]> : tensor<1xi64>
  %a = smq.constant dense<[0]> : tensor<1xi64>
  %s = smq.constant dense<[-1]> : tensor<1xi64>
  %0 = smq.slice %x[%b, %e, %a, %s] : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Bounds computed at run time are refused, naming the op.
func.func @slice_dynamic(%x: tensor<8xf32>, %b: tensor<1xi64>) -> tensor<3xf32> {
  %e = smq.constant dense<[4]> : tensor<1xi64>
  %a = smq.constant dense<[0]> : tensor<1xi64>
  %s = smq.constant dense<[1]> : tensor<1xi64>
  // expected-error @+1 {{failed to legalize operation 'smq.slice'}}
  %0 = smq.slice %x[%b, %e, %a, %s] : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @split
// CHECK: %[[A:.*]] = tensor.extract_slice %arg0[0, 0] [2, 4] [1, 1] : tensor<2x10xf32> to tensor<2x4xf32>
// CHECK: %[[B:.*]] = tensor.extract_slice %arg0[0, 4] [2, 6] [1, 1] : tensor<2x10xf32> to tensor<2x6xf32>
// CHECK: return %[[A]], %[[B]]
func.func @split(%x: tensor<2x10xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>) {
  %0:2 = smq.split %x {axis = 1 : i64, sizes = array<i64: 4, 6>} : (tensor<2x10xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>)
  return %0#0, %0#1 : tensor<2x4xf32>, tensor<2x6xf32>
}

// -----

// Trilu keeps col - row >= k (upper) and zeroes the rest.
// CHECK-LABEL: func.func @trilu_upper
// CHECK: %[[R:.*]] = linalg.index 0 : index
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: %[[D:.*]] = arith.subi %[[C]], %[[R]]
// CHECK: %[[KEEP:.*]] = arith.cmpi sge, %[[D]], %c1
// CHECK: arith.select %[[KEEP]]
func.func @trilu_upper(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = smq.trilu %x {k = 1 : i64} : tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// ...and col - row <= k (lower), on the last two dims of a batch.
// CHECK-LABEL: func.func @trilu_lower
// CHECK: linalg.index 1 : index
// CHECK: linalg.index 2 : index
// CHECK: arith.cmpi sle
// CHECK: arith.constant 0 : i32
// CHECK: arith.select
func.func @trilu_lower(%x: tensor<2x3x3xi32>) -> tensor<2x3x3xi32> {
  %0 = smq.trilu %x {upper = false} : tensor<2x3x3xi32>
  return %0 : tensor<2x3x3xi32>
}

// -----

// Gather with indices only known at run time: a check loop reports any
// index outside [-10, 10) through smq_rt_index_error before the gather.
// CHECK-LABEL: func.func private @smq_rt_index_error(i64, i64, i64)
// CHECK-LABEL: func.func @gather_checked
// CHECK: scf.for
// CHECK: arith.cmpi slt, %{{.*}}, %c-10_i64
// CHECK: arith.cmpi sge, %{{.*}}, %c10_i64
// CHECK: scf.if
// CHECK: func.call @smq_rt_index_error
// CHECK: linalg.generic
// CHECK: tensor.extract %arg0
func.func @gather_checked(%t: tensor<10x6xf32>, %i: tensor<3xi64>) -> tensor<3x6xf32> {
  %0 = smq.gather %t[%i] {axis = 0 : i64} : (tensor<10x6xf32>, tensor<3xi64>) -> tensor<3x6xf32>
  return %0 : tensor<3x6xf32>
}

// -----

// ScatterND with a reduction, over few elements × tuples: one generic over
// the data, each element folding in, in the tuples' order, the updates of
// the tuples that land on it (a kernel of whole buffers on a GPU).
// CHECK-LABEL: func.func @scatter_nd_add
// CHECK: func.call @smq_rt_index_error
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x3xf32>)
// CHECK: %[[P0:.*]] = linalg.index 0
// CHECK: %[[P1:.*]] = linalg.index 1
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c2{{.*}} iter_args(%[[V:.*]] = %in) -> (f32)
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[LANDS:.*]] = arith.cmpi eq, %{{.*}}, %[[P0]]
// CHECK: %[[U:.*]] = tensor.extract %{{.*}}[%[[T]], %[[P1]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[V]], %[[U]]
// CHECK: arith.select %[[LANDS]], %[[SUM]], %[[V]]
// CHECK: return %[[R]]
func.func @scatter_nd_add(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %0 = smq.scatter_nd %d[%i], %u {reduction = "add"} : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Beyond 2^24 elements × tuples, a loop over the index tuples, each
// inserting its update slice combined with the old values at the clamped
// index.
// CHECK-LABEL: func.func @scatter_nd_add_large
// CHECK: %[[R:.*]] = scf.for %{{.*}} = %{{.*}} to %c1{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %arg0) -> (tensor<4096x4097xf32>)
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[OLD:.*]] = tensor.extract_slice %[[ACC]]
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: tensor.insert_slice %{{.*}} into %[[ACC]]
// CHECK: return %[[R]]
func.func @scatter_nd_add_large(%d: tensor<4096x4097xf32>, %i: tensor<1x1xi64>, %u: tensor<1x4097xf32>) -> tensor<4096x4097xf32> {
  %0 = smq.scatter_nd %d[%i], %u {reduction = "add"} : (tensor<4096x4097xf32>, tensor<1x1xi64>, tensor<1x4097xf32>) -> tensor<4096x4097xf32>
  return %0 : tensor<4096x4097xf32>
}

// -----

// Constant indices are checked by the verifier: no run-time check.
// CHECK-LABEL: func.func @scatter_nd_constant
// CHECK-NOT: smq_rt_index_error
// CHECK: scf.for
// CHECK-NOT: linalg.generic
// CHECK: tensor.insert_slice
func.func @scatter_nd_constant(%d: tensor<4xi64>, %u: tensor<2xi64>) -> tensor<4xi64> {
  %i = smq.constant dense<[[3], [0]]> : tensor<2x1xi64>
  %0 = smq.scatter_nd %d[%i], %u : (tensor<4xi64>, tensor<2x1xi64>, tensor<2xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}
