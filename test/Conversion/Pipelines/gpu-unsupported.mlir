// An op the device cannot compute stops the GPU pipeline with a
// diagnostic naming the model's node, before anything runs: SPIR-V for
// Vulkan here has no 64-bit floats.
// RUN: not smq-opt %s --smq-gpu-pipeline="target=spirv" -o /dev/null 2>&1 | FileCheck %s
// CHECK: node 'twice' (Add)
// CHECK-SAME: failed to legalize
func.func @main(%x: tensor<4xf32>) -> tensor<4xf64> {
  %d = smq.cast %x : tensor<4xf32> to tensor<4xf64> loc("node 'to_double' (Cast)")
  %y = smq.add %d, %d : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64> loc("node 'twice' (Add)")
  return %y : tensor<4xf64>
}
