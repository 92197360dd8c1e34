// A stack buffer cannot reach a kernel: smq-gpu-host-buffers fails, naming
// it (it used to print the error and carry on).
// RUN: not smq-opt %s --smq-gpu-host-buffers -o /dev/null 2>&1 | FileCheck %s
// CHECK: error: a stack buffer is passed to a GPU kernel
module attributes {gpu.container_module} {
  gpu.module @k { gpu.func @k(%a: memref<4xf32>) kernel { gpu.return } }
  func.func @f() {
    %c1 = arith.constant 1 : index
    %a = memref.alloca() : memref<4xf32>
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
}
