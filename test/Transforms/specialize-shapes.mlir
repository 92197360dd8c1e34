// smq-specialize-shapes gives dynamic inputs static shapes and refolds: the
// Shape -> Gather -> Range -> LessOrEqual chain of a causal mask becomes a
// constant, and every result type becomes static. A quantized matmul on
// dynamic rows (quantized once, before the shapes are known) specialises
// too.
// RUN: smq-opt %s --smq-specialize-shapes="shapes=ids=1x3,x=1x3x64" | FileCheck %s
// RUN: not smq-opt %s --smq-specialize-shapes="shapes=ids=1x3x2" 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not smq-opt %s --smq-specialize-shapes="shapes=nope=1" 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not smq-opt %S/Inputs/specialize-mismatch.mlir --smq-specialize-shapes="shapes=x=2x5,y=3" 2>&1 | FileCheck %s --check-prefix=MISMATCH

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%arg0: tensor<1x3xi64> {smq.name = "ids"}, %arg1: tensor<1x3x64xf32> {smq.name = "x"})
// CHECK-SAME: -> (tensor<3x3xi1>, tensor<1x3x4xf32>)
// CHECK: %[[MASK:.*]] = smq.constant dense<{{\[}}[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
// CHECK: %[[Q:.*]] = smq.quantized_matmul %arg1, {{.*}} -> tensor<1x3x4xf32>
// CHECK: return %[[MASK]], %[[Q]]
// RANK: error: input 'ids' is 'tensor<?x?xi64>'; it cannot take the shape 1x3x2
// MISMATCH: error: {{.*}}smq.add
// NAME: error: the model has no input named 'nope'
func.func @main(%ids: tensor<?x?xi64> {smq.name = "ids"}, %x: tensor<?x?x64xf32> {smq.name = "x"}) -> (tensor<?x?xi1>, tensor<?x?x4xf32>) {
  %shape = smq.shape %ids {start = 0 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<2xi64>
  %one = smq.constant dense<1> : tensor<i64>
  %zero = smq.constant dense<0> : tensor<i64>
  %seq = smq.gather %shape[%one] {axis = 0 : i64} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %r = smq.range %zero, %seq, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %ax = smq.constant dense<1> : tensor<1xi64>
  %col = smq.unsqueeze %r {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
  %mask = smq.less_equal %r, %col : (tensor<?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %c = smq.constant dense<0> : tensor<4x32xui8>
  %s = smq.constant dense<1.0> : tensor<4x1xf32>
  %z = smq.constant dense<8.0> : tensor<4x1xf32>
  %q = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 64 : i64} : (tensor<?x?x64xf32>, tensor<4x32xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<?x?x4xf32>
  return %mask, %q : tensor<?x?xi1>, tensor<?x?x4xf32>
}
