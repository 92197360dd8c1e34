// The whole CPU pipeline: LLVM dialect out, weights as arguments (no weight
// data in the code), results as out-parameters, matmuls on the runtime:
// the constant weight in panels, laid out when the model is compiled.
// RUN: smq-opt %s --smq-cpu-pipeline | FileCheck %s
// CHECK-NOT: smq.
// CHECK: llvm.func private @smq_rt_matmul_panels_f32
// CHECK: llvm.func @main
// CHECK: llvm.call @smq_rt_matmul_panels_f32
// CHECK-NOT: 0x040000000000803F
func.func @main(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = smq.constant dense_resource<w> : tensor<4x2xf32>
  %y = smq.matmul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  %r = smq.relu %y : tensor<3x2xf32>
  return %r : tensor<3x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041"
    }
  }
#-}
