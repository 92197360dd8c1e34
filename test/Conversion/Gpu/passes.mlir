// RUN: smq-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(smq-gpu-tile-parallel-loops{block-size=64},gpu-map-parallel-loops,convert-parallel-loops-to-gpu),canonicalize)" | FileCheck %s --check-prefix=TILE
// RUN: smq-opt %s --split-input-file --smq-gpu-byte-bools | FileCheck %s --check-prefix=BOOL
// RUN: smq-opt %s --split-input-file --smq-gpu-host-buffers | FileCheck %s --check-prefix=HOST

// A 2-D loop of 4 x 100 becomes one dim of 400 in blocks of 64 threads:
// 7 blocks, and a guard skips the threads past 400; each thread's two
// indices come back from its linear one.
// TILE-LABEL: func.func @tile
// TILE: gpu.launch blocks({{.*}}) in (%{{.*}} = %c7, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64, %{{.*}} = %c1, %{{.*}} = %c1)
// TILE: %[[I:.*]] = arith.addi %[[T]]
// TILE: arith.cmpi ult, %{{.*}}, %c400
// TILE: scf.if
// TILE: %[[J:.*]] = arith.remsi %[[I]], %c100
// TILE: %[[R:.*]] = arith.divsi %[[I]], %c100
// TILE: memref.store %{{.*}}, %arg0[%[[R]], %[[J]]]
func.func @tile(%m: memref<4x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c100) step (%c1, %c1) {
    memref.store %f, %m[%i, %j] : memref<4x100xf32>
  }
  return
}

// -----

// A loop shorter than the block takes no more threads than it has (and
// needs no guard).
// TILE-LABEL: func.func @short
// TILE: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c10, %{{.*}} = %c1, %{{.*}} = %c1)
// TILE-NOT: scf.if
func.func @short(%m: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c10) step (%c1) {
    memref.store %f, %m[%i] : memref<10xf32>
  }
  return
}

// -----

// Booleans are stored as bytes: globals, allocations and arguments become
// i8 buffers, loads truncate and stores extend.
// BOOL: memref.global "private" constant @mask : memref<3xi8> = dense<[1, 0, 1]>
// BOOL-LABEL: func.func @bools
// BOOL-SAME: (%[[A:.*]]: memref<3xi8>)
// BOOL: %[[G:.*]] = memref.get_global @mask : memref<3xi8>
// BOOL: %[[V:.*]] = memref.load %[[G]][%{{.*}}] : memref<3xi8>
// BOOL: %[[B:.*]] = arith.trunci %[[V]] : i8 to i1
// BOOL: %[[N:.*]] = arith.xori %[[B]], %true
// BOOL: %[[W:.*]] = arith.extui %[[N]] : i1 to i8
// BOOL: memref.store %[[W]], %[[A]][%{{.*}}] : memref<3xi8>
memref.global "private" constant @mask : memref<3xi1> = dense<[true, false, true]>
func.func @bools(%out: memref<3xi1>) {
  %c0 = arith.constant 0 : index
  %t = arith.constant true
  %g = memref.get_global @mask : memref<3xi1>
  %v = memref.load %g[%c0] : memref<3xi1>
  %n = arith.xori %v, %t : i1
  memref.store %n, %out[%c0] : memref<3xi1>
  return
}

// -----

// Host allocations become device-shared buffers; frees go through an
// asynchronous dealloc waited for at once (the form gpu-to-llvm lowers). A
// constant a kernel reads is copied into a buffer first, freed at return.
// HOST-LABEL: func.func @host
// HOST: %[[G:.*]] = memref.get_global @table : memref<4xf32>
// HOST: %[[C:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// HOST: memref.copy %[[G]], %[[C]]
// HOST: %[[A:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// HOST: gpu.launch_func  @k::@k {{.*}} args(%[[C]] : memref<4xf32>, %[[A]] : memref<4xf32>)
// HOST: %[[T0:.*]] = gpu.wait async
// HOST: %[[T1:.*]] = gpu.dealloc async [%[[T0]]] %[[A]] : memref<4xf32>
// HOST: gpu.wait [%[[T1]]]
// HOST: gpu.dealloc async {{.*}} %[[C]]
// HOST: return
module attributes {gpu.container_module} {
  memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  gpu.module @k {
    gpu.func @k(%a: memref<4xf32>, %b: memref<4xf32>) kernel { gpu.return }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    %g = memref.get_global @table : memref<4xf32>
    %a = memref.alloc() : memref<4xf32>
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%g : memref<4xf32>, %a : memref<4xf32>)
    memref.dealloc %a : memref<4xf32>
    return
  }
}
