// RUN: smq-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(smq-gpu-sink-views))" | FileCheck %s
// RUN: smq-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(smq-gpu-sink-views),gpu-launch-sink-index-computations,gpu-kernel-outlining)" | FileCheck %s --check-prefix=OUTLINED
// RUN: not smq-opt %s --split-input-file --pass-pipeline="builtin.module(gpu-kernel-outlining,smq-gpu-host-buffers)" 2>&1 | FileCheck %s --check-prefix=REFUSED

// A kernel writing a KV cache's new row reads the row's view: the view
// moves into the launch, which then captures the whole cache, and the
// outlined kernel takes the cache itself (an identity layout).
// CHECK-LABEL: func.func @new_row
// CHECK: gpu.launch
// CHECK-NEXT: %[[V:.*]] = memref.subview %arg0[0, 32, 0] [1, 1, 48] [1, 1, 1]
// CHECK: memref.store %{{.*}}, %[[V]]
// OUTLINED: gpu.func @new_row_kernel(%{{.*}}: memref<1x33x48xf32>) kernel
// REFUSED: error: GPU kernel argument {{[0-9]+}} is a view ('memref<1x1x48xf32, strided<[1584, 48, 1], offset: 1536>>'); kernels take whole buffers
func.func @new_row(%cache: memref<1x33x48xf32>) {
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %row = memref.subview %cache[0, 32, 0] [1, 1, 48] [1, 1, 1] : memref<1x33x48xf32> to memref<1x1x48xf32, strided<[1584, 48, 1], offset: 1536>>
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1) threads(%t0, %t1, %t2) in (%s0 = %c1, %s1 = %c1, %s2 = %c1) {
    memref.store %f, %row[%c0, %c0, %t0] : memref<1x1x48xf32, strided<[1584, 48, 1], offset: 1536>>
    gpu.terminator
  }
  return
}
