// Every smq op parses, verifies, and prints back to something that parses
// to the same IR.
// RUN: smq-opt %s | smq-opt | FileCheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>, %i: tensor<4xi64>, %c: tensor<4xi1>) -> tensor<2x3x4xf32> {
  // CHECK: smq.add %{{.*}}, %{{.*}} : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %0 = smq.add %a, %b : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %1 = smq.sub %0, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %2 = smq.mul %1, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %3 = smq.div %2, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %4 = smq.pow %3, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %5 = smq.max %4, %3 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %6 = smq.min %5, %3 : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: smq.equal %{{.*}}, %{{.*}} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %e = smq.equal %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  // CHECK: smq.less %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xi1>
  %lt = smq.less %0, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xi1>
  // CHECK: smq.less_equal %{{.*}}, %{{.*}} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  %le = smq.less_equal %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  // CHECK: smq.and %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %and = smq.and %e, %le : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: smq.or %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %or = smq.or %and, %c : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: smq.xor %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %xor = smq.xor %or, %c : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: smq.scatter_nd %{{.*}}[%{{.*}}], %{{.*}} {reduction = "add"} : (tensor<4xi64>, tensor<2x1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %sidx = smq.constant dense<[[0], [3]]> : tensor<2x1xi64>
  %supd = smq.constant dense<[5, 6]> : tensor<2xi64>
  %sc = smq.scatter_nd %i[%sidx], %supd {reduction = "add"} : (tensor<4xi64>, tensor<2x1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK: smq.sqrt %{{.*}} : tensor<2x3x4xf32>
  %7 = smq.sqrt %6 : tensor<2x3x4xf32>
  %8 = smq.reciprocal %7 : tensor<2x3x4xf32>
  %9 = smq.neg %8 : tensor<2x3x4xf32>
  %10 = smq.exp %9 : tensor<2x3x4xf32>
  %11 = smq.log %10 : tensor<2x3x4xf32>
  %12 = smq.tanh %11 : tensor<2x3x4xf32>
  %13 = smq.erf %12 : tensor<2x3x4xf32>
  %14 = smq.sigmoid %13 : tensor<2x3x4xf32>
  %15 = smq.relu %14 : tensor<2x3x4xf32>
  %16 = smq.cos %15 : tensor<2x3x4xf32>
  %17 = smq.sin %16 : tensor<2x3x4xf32>
  // CHECK: smq.gelu %{{.*}} {approximate = "tanh"} : tensor<2x3x4xf32>
  %18 = smq.gelu %17 {approximate = "tanh"} : tensor<2x3x4xf32>
  // CHECK: smq.not %{{.*}} : tensor<4xi1>
  %n = smq.not %c : tensor<4xi1>
  // CHECK: smq.cast %{{.*}} : tensor<4xi1> to tensor<4xf32>
  %f = smq.cast %n : tensor<4xi1> to tensor<4xf32>
  // CHECK: smq.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %w = smq.where %n, %f, %18 : (tensor<4xi1>, tensor<4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %w : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @normalisation
func.func @normalisation(%x: tensor<1x128x192xf32>, %s: tensor<192xf32>) -> (tensor<1x128x192xf32>, tensor<1x1x192xf32>, tensor<128xf32>) {
  // CHECK: smq.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : tensor<1x128x192xf32>, tensor<192xf32>, tensor<192xf32>
  %0 = smq.layer_norm %x, %s, %s {axis = 2 : i64, epsilon = 1.0e-5 : f32} : tensor<1x128x192xf32>, tensor<192xf32>, tensor<192xf32>
  // CHECK: smq.softmax %{{.*}} {axis = 2 : i64} : tensor<1x128x192xf32>
  %1 = smq.softmax %0 {axis = 2 : i64} : tensor<1x128x192xf32>
  // CHECK: smq.reduce_mean %{{.*}} {axes = array<i64: 1>} : (tensor<1x128x192xf32>) -> tensor<1x1x192xf32>
  %2 = smq.reduce_mean %1 {axes = array<i64: 1>} : (tensor<1x128x192xf32>) -> tensor<1x1x192xf32>
  %3 = smq.reduce_sum %1 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<1x128x192xf32>) -> tensor<128xf32>
  %4 = smq.reduce_max %1 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<1x128x192xf32>) -> tensor<128xf32>
  %5 = smq.add %3, %4 : (tensor<128xf32>, tensor<128xf32>) -> tensor<128xf32>
  return %1, %2, %5 : tensor<1x128x192xf32>, tensor<1x1x192xf32>, tensor<128xf32>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%x: tensor<1x128x4096xf32>, %a: tensor<8x16xf32>, %b: tensor<32x16xf32>, %c: tensor<32xf32>) -> (tensor<1x128x11008xf32>, tensor<8x32xf32>) {
  %w = smq.constant dense_resource<ffn_up> : tensor<4096x11008xf32>
  // CHECK: smq.matmul %{{.*}}, %{{.*}} : (tensor<1x128x4096xf32>, tensor<4096x11008xf32>) -> tensor<1x128x11008xf32>
  %0 = smq.matmul %x, %w : (tensor<1x128x4096xf32>, tensor<4096x11008xf32>) -> tensor<1x128x11008xf32>
  // CHECK: smq.gemm %{{.*}}, %{{.*}}, %{{.*}} {transB = true} : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %1 = smq.gemm %a, %b, %c {transB = true} : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  return %0, %1 : tensor<1x128x11008xf32>, tensor<8x32xf32>
}

// CHECK-LABEL: func.func @movement
func.func @movement(%x: tensor<2x3x4xf32>, %i: tensor<5xi64>, %s: tensor<3xi64>, %n: tensor<?x3xf32>) -> (tensor<2x5x4xf32>, tensor<?x?x?xf32>, tensor<4x2x3xf32>, tensor<1x2x3x4xf32>, tensor<4x3x4xf32>, tensor<2x1x4xf32>, tensor<2x2x4xf32>, tensor<2x3x4x1xf32>, tensor<4x4xf32>, tensor<2xi64>, tensor<?xi64>, tensor<3x2xf32>) {
  // CHECK: smq.gather %{{.*}}[%{{.*}}] {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x5x4xf32>
  %0 = smq.gather %x[%i] {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x5x4xf32>
  %1 = smq.reshape %x, %s : (tensor<2x3x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %2 = smq.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %3 = smq.unsqueeze %x {axes = array<i64: 0>} : (tensor<2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %4 = smq.concat %x, %x {axis = 0 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<4x3x4xf32>
  %c0 = smq.constant dense<0> : tensor<1xi64>
  %c1 = smq.constant dense<1> : tensor<1xi64>
  // CHECK: smq.slice %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : (tensor<2x3x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x1x4xf32>
  %5 = smq.slice %x[%c0, %c1, %c1, %c1] : (tensor<2x3x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x1x4xf32>
  // CHECK: smq.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 2, 1>} : (tensor<2x3x4xf32>) -> (tensor<2x2x4xf32>, tensor<2x1x4xf32>)
  %6:2 = smq.split %x {axis = 1 : i64, sizes = array<i64: 2, 1>} : (tensor<2x3x4xf32>) -> (tensor<2x2x4xf32>, tensor<2x1x4xf32>)
  %7 = smq.expand %5, %s : (tensor<2x1x4xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %8 = smq.unsqueeze %x {axes = array<i64: 3>} : (tensor<2x3x4xf32>) -> tensor<2x3x4x1xf32>
  %sq = smq.squeeze %8 {axes = array<i64: 3>} : (tensor<2x3x4x1xf32>) -> tensor<2x3x4xf32>
  %m = smq.reduce_sum %sq {axes = array<i64: 0>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3x4xf32>
  %mm = smq.concat %m, %m {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
  %t = smq.slice %mm[%c0, %c1, %c1, %c1] : (tensor<3x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3x1xf32>
  %sq4 = smq.constant dense<1.0> : tensor<4x4xf32>
  // CHECK: smq.trilu %{{.*}} {k = -1 : i64, upper = false} : tensor<4x4xf32>
  %9 = smq.trilu %sq4 {k = -1 : i64, upper = false} : tensor<4x4xf32>
  // CHECK: smq.shape %{{.*}} {end = 2 : i64, start = 0 : i64} : (tensor<?x3xf32>) -> tensor<2xi64>
  %10 = smq.shape %n {end = 2 : i64, start = 0 : i64} : (tensor<?x3xf32>) -> tensor<2xi64>
  %z = smq.constant dense<0> : tensor<i64>
  %lim = smq.reduce_max %i {axes = array<i64>, keepdims = false} : (tensor<5xi64>) -> tensor<i64>
  %one = smq.constant dense<1> : tensor<i64>
  // CHECK: smq.range %{{.*}}, %{{.*}}, %{{.*}} : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %11 = smq.range %z, %lim, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %s2 = smq.constant dense<[3, 2]> : tensor<2xi64>
  // CHECK: smq.constant_of_shape %{{.*}} {value = 5.000000e-01 : f32} : (tensor<2xi64>) -> tensor<3x2xf32>
  %12 = smq.constant_of_shape %s2 {value = 0.5 : f32} : (tensor<2xi64>) -> tensor<3x2xf32>
  return %0, %1, %2, %3, %4, %5, %6#0, %8, %9, %10, %11, %12 : tensor<2x5x4xf32>, tensor<?x?x?xf32>, tensor<4x2x3xf32>, tensor<1x2x3x4xf32>, tensor<4x3x4xf32>, tensor<2x1x4xf32>, tensor<2x2x4xf32>, tensor<2x3x4x1xf32>, tensor<4x4xf32>, tensor<2xi64>, tensor<?xi64>, tensor<3x2xf32>
}

// CHECK-LABEL: func.func @quantized
// CHECK: smq.quantized_matmul %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {bits = 3 : i64, group_size = 64 : i64} : (tensor<1x8x192xf32>, tensor<64x72xui8>, tensor<64x3xf32>, tensor<64x3xf32>) -> tensor<1x8x64xf32>
func.func @quantized(%x: tensor<1x8x192xf32>, %c: tensor<64x72xui8>, %s: tensor<64x3xf32>, %z: tensor<64x3xf32>) -> tensor<1x8x64xf32> {
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 3 : i64, group_size = 64 : i64} : (tensor<1x8x192xf32>, tensor<64x72xui8>, tensor<64x3xf32>, tensor<64x3xf32>) -> tensor<1x8x64xf32>
  return %0 : tensor<1x8x64xf32>
}
