func.func @dynamic(%q: tensor<?x1x8xf32>, %k: tensor<?x1x4xf32>, %v: tensor<?x1x4xf32>, %pk: tensor<?x1x3x4xf32>, %pv: tensor<?x1x3x4xf32>, %seqlens: tensor<?xi32>, %total: tensor<i32>) -> tensor<?x1x8xf32> {
  %o, %pk2, %pv2 = smq.group_query_attention %q, %k, %v, %pk, %pv, %seqlens, %total {kv_num_heads = 1 : i64, local_window_size = -1 : i64, num_heads = 2 : i64, rotary_interleaved = false, scale = 0.0 : f32, softcap = 0.0 : f32} : (tensor<?x1x8xf32>, tensor<?x1x4xf32>, tensor<?x1x4xf32>, tensor<?x1x3x4xf32>, tensor<?x1x3x4xf32>, tensor<?xi32>, tensor<i32>) -> (tensor<?x1x8xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>)
  return %o : tensor<?x1x8xf32>
}
