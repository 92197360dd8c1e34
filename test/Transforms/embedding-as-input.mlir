// RUN: smq-opt %s --split-input-file --smq-embedding-as-input --verify-diagnostics | FileCheck %s

// The gather of the table by the token ids becomes the last argument; the
// table goes when nothing else uses it.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[IDS:.*]]: tensor<1x8xi64>, %[[EMB:.*]]: tensor<1x8x4xf32> {smq.name = "embeddings"})
// CHECK-SAME: attributes {smq.embedding_table = "tok"}
// CHECK-NOT: smq.gather
// CHECK-NOT: dense_resource<tok>
// CHECK: smq.matmul %[[EMB]], %{{.*}}
func.func @main(%ids: tensor<1x8xi64>) -> tensor<1x8x4xf32> {
  %table = smq.constant dense_resource<tok> : tensor<16x4xf32>
  %w = smq.constant dense_resource<w> : tensor<4x4xf32>
  %e = smq.gather %table[%ids] {axis = 0 : i64} : (tensor<16x4xf32>, tensor<1x8xi64>) -> tensor<1x8x4xf32>
  %y = smq.matmul %e, %w : (tensor<1x8x4xf32>, tensor<4x4xf32>) -> tensor<1x8x4xf32>
  return %y : tensor<1x8x4xf32>
}

// -----

// No gather by the token ids: the embedding cannot be told.
// expected-error @+1 {{cannot find the token embedding: expected one smq.gather of a weight by the token ids (the first argument), found 0}}
func.func @main(%x: tensor<1x8x4xf32>) -> tensor<1x8x4xf32> {
  %w = smq.constant dense_resource<w> : tensor<4x4xf32>
  %y = smq.matmul %x, %w : (tensor<1x8x4xf32>, tensor<4x4xf32>) -> tensor<1x8x4xf32>
  return %y : tensor<1x8x4xf32>
}
