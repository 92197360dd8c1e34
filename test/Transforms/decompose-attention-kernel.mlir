// RUN: smq-opt --smq-decompose-attention=kernel=true %s | FileCheck %s
// RUN: smq-opt --smq-decompose-attention="kernel=true stale-present-tail=true" %s | FileCheck %s --check-prefix=STALE
// RUN: not smq-opt %S/Inputs/ukernel-attention-invalid.mlir --split-input-file 2>&1 | FileCheck %S/Inputs/ukernel-attention-invalid.mlir --check-prefix=BAD

// With kernel=true the runtime's kernels do the work: the present is one
// smq.ukernel.kv_place per cache (the past, the new keys or values as
// projected [B, S, Nk, H], no transpose, and the checked positions), and
// scores, mask, softmax and the weighted sum are one smq.ukernel.attention
// on the query [B, S, N, H], the presents and the positions; its output
// is reshaped to [B, S, N*H]. The scale 0 becomes 1/sqrt(H) = 0.5.
// CHECK-LABEL: func.func @decode
// CHECK: %[[HI:.*]] = smq.gather %[[TABLE:.*]][%[[POS:.*]]] {axis = 0 : i64}
// CHECK: %[[CHECKED:.*]] = smq.max %{{.*}}, %[[HI]]
// CHECK: %[[Q:.*]] = smq.reshape %arg0, {{.*}} -> tensor<1x1x2x4xf32>
// CHECK: %[[K:.*]] = smq.reshape %arg1, {{.*}} -> tensor<1x1x1x4xf32>
// CHECK: %[[V:.*]] = smq.reshape %arg2, {{.*}} -> tensor<1x1x1x4xf32>
// CHECK-NOT: smq.transpose
// CHECK: %[[KI:.*]] = tensor.empty() : tensor<1x1x4x4xf32>
// CHECK: %[[PK:.*]] = smq.ukernel.kv_place ins(%arg3, %[[K]], %[[CHECKED]] : tensor<1x1x3x4xf32>, tensor<1x1x1x4xf32>, tensor<1x1xi64>) outs(%[[KI]] : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
// CHECK: %[[PV:.*]] = smq.ukernel.kv_place ins(%arg4, %[[V]], %[[CHECKED]]
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<1x1x2x4xf32>
// CHECK: %[[A:.*]] = smq.ukernel.attention ins(%[[Q]], %[[PK]], %[[PV]], %[[CHECKED]] : tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1xi64>) outs(%[[INIT]] : tensor<1x1x2x4xf32>) {local_window_size = -1 : i64, scale = 5.000000e-01 : f32, softcap = 0.000000e+00 : f32} -> tensor<1x1x2x4xf32>
// CHECK: %[[O:.*]] = smq.reshape %[[A]], {{.*}} -> tensor<1x1x8xf32>
// CHECK-NOT: smq.softmax
// CHECK-NOT: smq.matmul
// CHECK: return %[[O]], %[[PK]], %[[PV]]
// For callers that read only the new rows, the presents' tails are not
// zeroed:
// STALE-LABEL: func.func @decode
// STALE-COUNT-2: smq.ukernel.kv_place {{.*}} {stale_tail}
func.func @decode(%q: tensor<1x1x8xf32>, %k: tensor<1x1x4xf32>, %v: tensor<1x1x4xf32>, %pk: tensor<1x1x3x4xf32>, %pv: tensor<1x1x3x4xf32>, %seqlens: tensor<1xi32>) -> (tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %total = smq.constant dense<4> : tensor<i32>
  %o, %pk2, %pv2 = smq.group_query_attention %q, %k, %v, %pk, %pv, %seqlens, %total {kv_num_heads = 1 : i64, local_window_size = -1 : i64, num_heads = 2 : i64, rotary_interleaved = false, scale = 0.0 : f32, softcap = 0.0 : f32} : (tensor<1x1x8xf32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>, tensor<1xi32>, tensor<i32>) -> (tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>)
  return %o, %pk2, %pv2 : tensor<1x1x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// The window, softcap and an explicit scale travel as attributes.
// CHECK-LABEL: func.func @windowed
// CHECK: smq.ukernel.attention {{.*}} {local_window_size = 2 : i64, scale = 1.250000e-01 : f32, softcap = 5.000000e+00 : f32}
func.func @windowed(%q: tensor<1x3x8xf32>, %k: tensor<1x3x4xf32>, %v: tensor<1x3x4xf32>, %pk: tensor<1x1x0x4xf32>, %pv: tensor<1x1x0x4xf32>, %seqlens: tensor<1xi32>) -> tensor<1x3x8xf32> {
  %total = smq.constant dense<3> : tensor<i32>
  %o, %pk2, %pv2 = smq.group_query_attention %q, %k, %v, %pk, %pv, %seqlens, %total {kv_num_heads = 1 : i64, local_window_size = 2 : i64, num_heads = 2 : i64, rotary_interleaved = false, scale = 0.125 : f32, softcap = 5.0 : f32} : (tensor<1x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x1x0x4xf32>, tensor<1x1x0x4xf32>, tensor<1xi32>, tensor<i32>) -> (tensor<1x3x8xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>)
  return %o : tensor<1x3x8xf32>
}
