// RUN: smq-opt %s --smq-outline-parallel-rows | FileCheck %s
// The outlined form lowers to the LLVM dialect, every cast reconciled:
// RUN: smq-opt %s --smq-outline-parallel-rows --convert-linalg-to-loops \
// RUN:   --lower-affine --convert-scf-to-cf --expand-strided-metadata \
// RUN:   --lower-affine --finalize-memref-to-llvm --convert-arith-to-llvm \
// RUN:   --convert-func-to-llvm --convert-cf-to-llvm \
// RUN:   --reconcile-unrealized-casts | FileCheck %s --check-prefix=LLVM
// A smaller threshold takes the small op too:
// RUN: smq-opt %s --smq-outline-parallel-rows=min-work=192 | FileCheck %s --check-prefix=SMALL

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last = affine_map<(d0, d1, d2) -> (d2)>

// CHECK: func.func private @smq_rt_parallel_rows((!llvm.ptr, index, index) -> (), !llvm.ptr, index)

// A bias add on [1, 128, 192]: d0 has one iteration, so the rows are d1's.
// The bias does not vary with d1 and is passed whole.
// CHECK-LABEL: func.func private @bias_rows0(
// CHECK-SAME: %[[CTX:.*]]: !llvm.ptr, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>
// CHECK: %[[PACKED:.*]] = llvm.load %[[CTX]] : !llvm.ptr -> !llvm.struct<(struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>, struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>)>
// CHECK: %[[D0:.*]] = llvm.extractvalue %[[PACKED]][0]
// CHECK: %[[A:.*]] = builtin.unrealized_conversion_cast %[[D0]] {{.*}} to memref<1x128x192xf32>
// CHECK: %[[D1:.*]] = llvm.extractvalue %[[PACKED]][1]
// CHECK: %[[B:.*]] = builtin.unrealized_conversion_cast %[[D1]] {{.*}} to memref<192xf32>
// CHECK: %[[D2:.*]] = llvm.extractvalue %[[PACKED]][2]
// CHECK: %[[C:.*]] = builtin.unrealized_conversion_cast %[[D2]] {{.*}} to memref<1x128x192xf32>
// CHECK: %[[N:.*]] = arith.subi %[[END]], %[[BEGIN]]
// CHECK: %[[AS:.*]] = memref.subview %[[A]][0, %[[BEGIN]], 0] [1, %[[N]], 192] [1, 1, 1]
// CHECK: %[[CS:.*]] = memref.subview %[[C]][0, %[[BEGIN]], 0] [1, %[[N]], 192] [1, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[AS]], %[[B]] : {{.*}}) outs(%[[CS]] : {{.*}})
// CHECK: arith.addf
// CHECK: return

// CHECK-LABEL: func.func @bias(
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: %[[SLOT:.*]] = llvm.alloca %[[ONE]] x
// CHECK: llvm.mlir.undef
// CHECK-COUNT-3: llvm.insertvalue
// CHECK: llvm.store {{.*}}, %[[SLOT]]
// CHECK: %[[FN:.*]] = constant @bias_rows0 : (!llvm.ptr, index, index) -> ()
// CHECK: %[[ROWS:.*]] = arith.constant 128 : index
// CHECK: call @smq_rt_parallel_rows(%[[FN]], %[[SLOT]], %[[ROWS]])
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @bias(%a: memref<1x128x192xf32>, %b: memref<192xf32>, %c: memref<1x128x192xf32>) {
  linalg.generic {indexing_maps = [#id3, #last, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %b : memref<1x128x192xf32>, memref<192xf32>) outs(%c : memref<1x128x192xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// A row reduction (layer norm's mean): rows parallel, columns reduced. The
// constant the body uses is copied into the outlined function.
// CHECK-LABEL: func.func private @mean_rows0(
// CHECK: memref.subview {{.*}}[%{{.*}}, 0] [%{{.*}}, 192] [1, 1]
// CHECK: memref.subview {{.*}}[%{{.*}}] [%{{.*}}] [1]
// CHECK: arith.constant {{.*}} : f32
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-LABEL: func.func @mean(
// CHECK: call @smq_rt_parallel_rows
func.func @mean(%a: memref<128x192xf32>, %m: memref<128xf32>) {
  %inv = arith.constant 0.00520833349 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<128x192xf32>) outs(%m : memref<128xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %p = arith.mulf %x, %inv : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A fill takes its constant along.
// CHECK-LABEL: func.func private @fill_rows0(
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : memref<?x192xf32, strided<[192, 1], offset: ?>>)
func.func @fill(%c: memref<128x192xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<128x192xf32>)
  return
}

// Left alone: too little work (one token's row; SMALL takes it) ...
// CHECK-LABEL: func.func @small(
// CHECK-NOT: smq_rt_parallel_rows
// CHECK: linalg.generic
// SMALL-LABEL: func.func private @small_rows0(
// SMALL: memref.subview {{.*}}[0, 0, %{{.*}}] [1, 1, %{{.*}}] [1, 1, 1]
func.func @small(%a: memref<1x1x192xf32>, %b: memref<192xf32>, %c: memref<1x1x192xf32>) {
  linalg.generic {indexing_maps = [#id3, #last, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %b : memref<1x1x192xf32>, memref<192xf32>) outs(%c : memref<1x1x192xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// ... an outermost reduction ...
// CHECK-LABEL: func.func @colsum(
// CHECK-NOT: smq_rt_parallel_rows
// CHECK: linalg.generic
func.func @colsum(%a: memref<128x192xf32>, %s: memref<192xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<128x192xf32>) outs(%s : memref<192xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  }
  return
}

// ... a body that reads the split loop's index (a causal mask) ...
// CHECK-LABEL: func.func @mask(
// CHECK-NOT: smq_rt_parallel_rows
// CHECK: linalg.index 0
func.func @mask(%c: memref<128x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      outs(%c : memref<128x128xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %le = arith.cmpi ule, %j, %i : index
    %z = arith.constant 0.0 : f32
    %m = arith.constant -1.0e30 : f32
    %v = arith.select %le, %z, %m : f32
    linalg.yield %v : f32
  }
  return
}

// ... a body that uses a value that is not a constant ...
// CHECK-LABEL: func.func @scaled(
// CHECK-NOT: smq_rt_parallel_rows
// CHECK: linalg.generic
func.func @scaled(%a: memref<128x192xf32>, %k: f32, %c: memref<128x192xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<128x192xf32>) outs(%c : memref<128x192xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.mulf %x, %k : f32
    linalg.yield %r : f32
  }
  return
}

// ... and an op nested in a loop (it would grow the stack per iteration).
// CHECK-LABEL: func.func @nested(
// CHECK-NOT: smq_rt_parallel_rows
// CHECK: scf.for
func.func @nested(%c: memref<128x192xf32>) {
  %lb = arith.constant 0 : index
  %ub = arith.constant 2 : index
  %st = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %lb to %ub step %st {
    linalg.fill ins(%zero : f32) outs(%c : memref<128x192xf32>)
  }
  return
}

// LLVM: llvm.func internal @bias_rows0(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// LLVM-LABEL: llvm.func @bias(
// LLVM: %[[FN:.*]] = llvm.mlir.addressof @bias_rows0 : !llvm.ptr
// LLVM: llvm.call @smq_rt_parallel_rows(%[[FN]], %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64) -> ()
// LLVM-NOT: unrealized_conversion_cast
