// BAD: 'smq.ukernel.attention' op needs the query heads (3) to be a multiple of the kv heads (2)
func.func @heads(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x8x4xf32>, %pos: tensor<1x2xi64>, %y: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %r = smq.ukernel.attention ins(%q, %k, %k, %pos : tensor<1x2x3x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2xi64>) outs(%y : tensor<1x2x3x4xf32>) {scale = 1.0 : f32, softcap = 0.0 : f32, local_window_size = 0 : i64} -> tensor<1x2x3x4xf32>
  return %r : tensor<1x2x3x4xf32>
}

// -----

// BAD: 'smq.ukernel.attention' op needs query and init [B, S, N, H], keys and values [B, Nk, T, H] and positions [B, S]
func.func @positions(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x8x4xf32>, %pos: tensor<1x3xi64>, %y: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %r = smq.ukernel.attention ins(%q, %k, %k, %pos : tensor<1x2x4x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x3xi64>) outs(%y : tensor<1x2x4x4xf32>) {scale = 1.0 : f32, softcap = 0.0 : f32, local_window_size = 0 : i64} -> tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// -----

// BAD: 'smq.ukernel.attention' op needs 2-D i64 positions
func.func @dtype(%q: tensor<1x2x4x4xf32>, %k: tensor<1x2x8x4xf32>, %pos: tensor<1x2xi32>, %y: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %r = smq.ukernel.attention ins(%q, %k, %k, %pos : tensor<1x2x4x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2xi32>) outs(%y : tensor<1x2x4x4xf32>) {scale = 1.0 : f32, softcap = 0.0 : f32, local_window_size = 0 : i64} -> tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// -----

// BAD: 'smq.ukernel.kv_place' op needs past [B, Nk, P, H], fresh [B, S, Nk, H] with S > 0, positions [B, S] and init [B, Nk, T, H]
func.func @kv_heads(%past: tensor<1x2x6x4xf32>, %fresh: tensor<1x2x4x4xf32>, %pos: tensor<1x2xi64>, %y: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %r = smq.ukernel.kv_place ins(%past, %fresh, %pos : tensor<1x2x6x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2xi64>) outs(%y : tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %r : tensor<1x2x8x4xf32>
}
