// An op the device cannot compute stops the GPU pipeline with a
// diagnostic naming the model's node and the op, before anything runs:
// SPIR-V kernels here have no integer power (docs/Gpu.md).
// RUN: not smq-opt %s --smq-gpu-pipeline="target=spirv" -o /dev/null 2>&1 | FileCheck %s
// CHECK: node 'cube' (Pow)
// CHECK-SAME: failed to legalize operation 'math.ipowi'
func.func @main(%x: tensor<4xi32>, %p: tensor<4xi32>) -> tensor<4xi32> {
  %y = smq.pow %x, %p : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32> loc("node 'cube' (Pow)")
  return %y : tensor<4xi32>
}
