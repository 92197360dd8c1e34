// An op the device cannot compute stops the GPU pipeline with a
// diagnostic naming the model's node, before anything runs: a reducing
// ScatterND too big to fold into one kernel (more than 2^24 elements ×
// index tuples) is a loop whose steps hand a kernel a buffer at an offset
// known only at run time, which bare-pointer SPIR-V launches cannot pass
// (docs/Gpu.md).
// RUN: not smq-opt %s --smq-gpu-pipeline="target=spirv" -o /dev/null 2>&1 | FileCheck %s
// CHECK: node 'acc' (ScatterND)
// CHECK-SAME: from the host at run time; Vulkan launches pass only buffers
func.func @main(%d: tensor<4096x4097xf32>, %i: tensor<1x1xi64>, %u: tensor<1x4097xf32>) -> tensor<4096x4097xf32> {
  %y = smq.scatter_nd %d[%i], %u {reduction = "add"} : (tensor<4096x4097xf32>, tensor<1x1xi64>, tensor<1x4097xf32>) -> tensor<4096x4097xf32> loc("node 'acc' (ScatterND)")
  return %y : tensor<4096x4097xf32>
}
