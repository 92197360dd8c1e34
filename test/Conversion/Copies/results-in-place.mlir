// RUN: smq-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(smq-results-in-place))' | FileCheck %s

// A result computed into an alloc and copied into the out-parameter at the
// end is computed into the out-parameter; the alloc and the copy go.
// CHECK-LABEL: func.func @present
// CHECK-NOT: memref.alloc
// CHECK: smq.ukernel.kv_place ins(%arg0, %arg1, %arg2 : {{.*}}) outs(%arg3 : memref<1x2x8x4xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
func.func @present(%past: memref<1x2x6x4xf32>, %fresh: memref<1x2x2x4xf32>, %pos: memref<1x2xi64>, %out: memref<1x2x8x4xf32>) {
  %a = memref.alloc() : memref<1x2x8x4xf32>
  smq.ukernel.kv_place ins(%past, %fresh, %pos : memref<1x2x6x4xf32>, memref<1x2x2x4xf32>, memref<1x2xi64>) outs(%a : memref<1x2x8x4xf32>)
  memref.copy %a, %out : memref<1x2x8x4xf32> to memref<1x2x8x4xf32>
  return
}

// -----

// One buffer copied into two out-parameters: the last copy's target takes
// its place (the buffer is read by the earlier copy, which then copies the
// out-parameter).
// CHECK-LABEL: func.func @twice
// CHECK-NOT: memref.alloc
// CHECK: memref.copy %arg0, %arg2
// CHECK: memref.copy %arg2, %arg1
// CHECK-NEXT: return
func.func @twice(%x: memref<4xf32>, %out: memref<4xf32>, %out2: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %x, %a : memref<4xf32> to memref<4xf32>
  memref.copy %a, %out : memref<4xf32> to memref<4xf32>
  memref.copy %a, %out2 : memref<4xf32> to memref<4xf32>
  return
}

// -----

// Left alone: a view rather than an alloc, an out-parameter with another
// use, and copies that are not the function's last operations.
// CHECK-LABEL: func.func @kept
// CHECK: %[[B:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[C:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %[[C]], %arg4
// CHECK: memref.copy %{{.*}}, %arg2
// CHECK: memref.copy %[[B]], %arg3
// CHECK-NEXT: return
func.func @kept(%x: memref<4xf32>, %out: memref<4xf32>, %out2: memref<2x2xf32>, %out3: memref<4xf32>, %out4: memref<4xf32>) {
  %b = memref.alloc() : memref<4xf32>
  memref.copy %x, %b : memref<4xf32> to memref<4xf32>
  %v = memref.expand_shape %b [[0, 1]] output_shape [2, 2] : memref<4xf32> into memref<2x2xf32>
  %c0 = arith.constant 0 : index
  %e = memref.load %out3[%c0] : memref<4xf32>
  %c = memref.alloc() : memref<4xf32>
  memref.copy %x, %c : memref<4xf32> to memref<4xf32>
  memref.copy %c, %out4 : memref<4xf32> to memref<4xf32>
  memref.store %e, %out[%c0] : memref<4xf32>
  memref.copy %v, %out2 : memref<2x2xf32> to memref<2x2xf32>
  memref.copy %b, %out3 : memref<4xf32> to memref<4xf32>
  return
}
