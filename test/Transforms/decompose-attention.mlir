// RUN: smq-opt --smq-decompose-attention %s | FileCheck %s
// Dynamic shapes are an error at the op.
// RUN: not smq-opt --smq-decompose-attention %S/Inputs/gqa-dynamic.mlir 2>&1 | FileCheck %s --check-prefix=DYN
// DYN: error: 'smq.group_query_attention' op needs static shapes and a constant total_sequence_length to be lowered

// One decode step, 2 query heads on 1 kv head of size 4, a past of 3
// slots, total 4. Row 0's past length is seqlens_k + 1 - 1; its position is
// checked against the 4 slots by two gathers; the new key goes in by a
// one-hot product at the position, computed per region: the 3 past slots
// choose between past and new, the 4th holds only new; query i sees slots j <= its position;
// both heads read the one kv head (scores [1, 1, 2, 4], a product summed
// over the head for one token); the scale is 1/sqrt(4).
// CHECK-LABEL: func.func @decode
// CHECK: %[[LEN:.*]] = smq.cast %arg5 : tensor<1xi32> to tensor<1xi64>
// CHECK: %[[PAST:.*]] = smq.add %{{.*}}, %{{.*}} : (tensor<1x1xi64>, tensor<i64>) -> tensor<1x1xi64>
// CHECK: %[[POS:.*]] = smq.add %[[PAST]], %{{.*}} : (tensor<1x1xi64>, tensor<1x1xi64>) -> tensor<1x1xi64>
// CHECK: %[[HI:.*]] = smq.gather %[[TABLE:.*]][%[[POS]]] {axis = 0 : i64} : (tensor<4xi64>, tensor<1x1xi64>) -> tensor<1x1xi64>
// CHECK: %[[SHIFT:.*]] = smq.add %[[POS]], %{{.*}} : (tensor<1x1xi64>, tensor<i64>)
// CHECK: %[[LO:.*]] = smq.gather %[[TABLE]][%[[SHIFT]]]
// CHECK: %[[CHECKED:.*]] = smq.max %[[LO]], %[[HI]]
// CHECK: %[[ONEHOT:.*]] = smq.equal %{{.*}}, %{{.*}} : (tensor<1x4x1xi64>, tensor<1x1x1xi64>) -> tensor<1x4x1xi1>
// CHECK: %[[KEEP:.*]] = smq.less %{{.*}}, %[[PAST]] : (tensor<1x3xi64>, tensor<1x1xi64>) -> tensor<1x3xi1>
// CHECK: %[[ROWS:.*]] = smq.slice %[[ONEHOT4:.*]][{{.*}}] : {{.*}} -> tensor<1x1x3x1xf32>
// CHECK: %[[FIRST:.*]] = smq.mul %[[ROWS]], %{{.*}} : (tensor<1x1x3x1xf32>, tensor<1x1x1x4xf32>) -> tensor<1x1x3x4xf32>
// CHECK: %[[HEAD:.*]] = smq.where %{{.*}}, %arg3, %[[FIRST]] : (tensor<1x1x3x1xi1>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<1x1x3x4xf32>
// CHECK: %[[ROW:.*]] = smq.slice %[[ONEHOT4]][{{.*}}] : {{.*}} -> tensor<1x1x1x1xf32>
// CHECK: %[[LAST:.*]] = smq.mul %[[ROW]], %{{.*}} : (tensor<1x1x1x1xf32>, tensor<1x1x1x4xf32>) -> tensor<1x1x1x4xf32>
// CHECK: %[[PK:.*]] = smq.concat %[[HEAD]], %[[LAST]] {axis = 2 : i64}
// CHECK: %[[PV:.*]] = smq.concat
// CHECK: %[[PRODUCTS:.*]] = smq.mul %{{.*}}, %{{.*}} : (tensor<1x1x2x1x4xf32>, tensor<1x1x1x4x4xf32>) -> tensor<1x1x2x4x4xf32>
// CHECK: smq.reduce_sum %[[PRODUCTS]] {axes = array<i64: 4>, keepdims = false}
// CHECK: smq.constant dense<5.000000e-01> : tensor<f32>
// CHECK: smq.less_equal %{{.*}}, %{{.*}} : (tensor<1x1x4xi64>, tensor<1x1x1xi64>) -> tensor<1x1x4xi1>
// CHECK: smq.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[PROBS:.*]] = smq.softmax %{{.*}} {axis = 4 : i64} : tensor<1x1x2x1x4xf32>
// CHECK: smq.matmul %{{.*}}, %[[PV]] : (tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32>
// CHECK: return %{{.*}}, %[[PK]], %[[PV]]
// CHECK-NOT: smq.group_query_attention
func.func @decode(%q: tensor<1x1x8xf32>, %k: tensor<1x1x4xf32>, %v: tensor<1x1x4xf32>, %pk: tensor<1x1x3x4xf32>, %pv: tensor<1x1x3x4xf32>, %seqlens: tensor<1xi32>) -> (tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %total = smq.constant dense<4> : tensor<i32>
  %o, %pk2, %pv2 = smq.group_query_attention %q, %k, %v, %pk, %pv, %seqlens, %total {kv_num_heads = 1 : i64, local_window_size = -1 : i64, num_heads = 2 : i64, rotary_interleaved = false, scale = 0.0 : f32, softcap = 0.0 : f32} : (tensor<1x1x8xf32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>, tensor<1xi32>, tensor<i32>) -> (tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>)
  return %o, %pk2, %pv2 : tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// A first prompt (the sequence spans the total) has no past and needs no
// position check: positions are 0..S-1 whatever seqlens_k holds. Several
// tokens place their keys by a one-hot matmul and score by matmul.
// CHECK-LABEL: func.func @first_prompt
// CHECK-NOT: smq.gather
// CHECK: smq.matmul %{{.*}}, %{{.*}} : (tensor<1x1x3x3xf32>, tensor<1x1x3x4xf32>) -> tensor<1x1x3x4xf32>
// CHECK: smq.transpose %{{.*}} {perm = array<i64: 0, 1, 3, 2>}
// CHECK: smq.softmax
func.func @first_prompt(%q: tensor<1x3x8xf32>, %k: tensor<1x3x4xf32>, %v: tensor<1x3x4xf32>, %pk: tensor<1x1x0x4xf32>, %pv: tensor<1x1x0x4xf32>, %seqlens: tensor<1xi32>) -> tensor<1x3x8xf32> {
  %total = smq.constant dense<3> : tensor<i32>
  %o, %pk2, %pv2 = smq.group_query_attention %q, %k, %v, %pk, %pv, %seqlens, %total {kv_num_heads = 1 : i64, local_window_size = -1 : i64, num_heads = 2 : i64, rotary_interleaved = false, scale = 0.0 : f32, softcap = 0.0 : f32} : (tensor<1x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x1x0x4xf32>, tensor<1x1x0x4xf32>, tensor<1xi32>, tensor<i32>) -> (tensor<1x3x8xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>)
  return %o : tensor<1x3x8xf32>
}
