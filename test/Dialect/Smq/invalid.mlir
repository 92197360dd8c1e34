// Verifier errors, one per case.
// RUN: smq-opt %s -split-input-file -verify-diagnostics

func.func @add_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{operands don't have broadcast-compatible shapes}}
  %0 = smq.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @add_element_types(%a: tensor<2xf32>, %b: tensor<2xf16>) {
  // expected-error @+1 {{requires the same element type for all operands and results}}
  %0 = smq.add %a, %b : (tensor<2xf32>, tensor<2xf16>) -> tensor<2xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{contraction dims differ: 3 vs 4}}
  %0 = smq.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<3xf32>, %b: tensor<3x5xf32>) {
  // expected-error @+1 {{operands must have rank >= 2}}
  %0 = smq.matmul %a, %b : (tensor<3xf32>, tensor<3x5xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @matmul_wrong_result(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x5xf32>' are incompatible with return type(s) of operation 'tensor<2x6xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = smq.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @gemm_bias(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>, %c: tensor<5xf32>) {
  // expected-error @+1 {{C of type 'tensor<5xf32>' does not broadcast to the result}}
  %0 = smq.gemm %a, %b, %c : (tensor<4x8xf32>, tensor<8x3xf32>, tensor<5xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = smq.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @layer_norm_scale(%a: tensor<2x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scale of shape 'tensor<4xf32>' does not broadcast to the normalised dims}}
  %0 = smq.layer_norm %a, %s {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<2x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @reduce_axes(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axes must be sorted, unique and within rank 2}}
  %0 = smq.reduce_sum %a {axes = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{perm is not a permutation of the input's 2 dims}}
  %0 = smq.transpose %a {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @squeeze_non_unit(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot squeeze dim 0 of size 2}}
  %0 = smq.squeeze %a {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) {
  %s = smq.constant dense<[4, 2]> : tensor<2xi64>
  // expected-error @+1 {{cannot reshape 'tensor<2x3xf32>': target shape has 8 elements but the input has 6}}
  %0 = smq.reshape %a, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  return
}

// -----

func.func @reshape_two_inferred(%a: tensor<2x3xf32>) {
  %s = smq.constant dense<[-1, -1]> : tensor<2xi64>
  // expected-error @+1 {{more than one -1 in the target shape}}
  %0 = smq.reshape %a, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @gather_index(%a: tensor<4x3xf32>) {
  %i = smq.constant dense<[1, 7]> : tensor<2xi64>
  // expected-error @+1 {{index 7 is out of range for a dim of 4}}
  %0 = smq.gather %a[%i] {axis = 0 : i64} : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+1 {{inputs differ in dim 1 (3 vs 4)}}
  %0 = smq.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @slice_step_zero(%a: tensor<8xf32>) {
  %c = smq.constant dense<0> : tensor<1xi64>
  // expected-error @+1 {{steps must not be 0}}
  %0 = smq.slice %a[%c, %c, %c, %c] : (tensor<8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xf32>
  return
}

// -----

func.func @split_sizes(%a: tensor<2x10xf32>) {
  // expected-error @+1 {{split sizes sum to 9 but the dim has size 10}}
  %0:2 = smq.split %a {axis = 1 : i64, sizes = array<i64: 4, 5>} : (tensor<2x10xf32>) -> (tensor<2x4xf32>, tensor<2x5xf32>)
  return
}

// -----

func.func @expand_incompatible(%a: tensor<3xf32>) {
  %s = smq.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error @+1 {{input 'tensor<3xf32>' does not broadcast to the shape}}
  %0 = smq.expand %a, %s : (tensor<3xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @shape_bounds(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{needs 0 <= start <= end <= rank (2), got [1, 3)}}
  %0 = smq.shape %a {start = 1 : i64, end = 3 : i64} : (tensor<2x3xf32>) -> tensor<2xi64>
  return
}

// -----

func.func @range_zero_delta() {
  %a = smq.constant dense<0> : tensor<i64>
  // expected-error @+1 {{delta must not be 0}}
  %0 = smq.range %a, %a, %a : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @gelu_mode(%a: tensor<4xf32>) {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "fast"}}
  %0 = smq.gelu %a {approximate = "fast"} : tensor<4xf32>
  return
}

// -----

func.func @where_types(%c: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xi64>) {
  // expected-error @+1 {{x and y must have the same element type}}
  %0 = smq.where %c, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32>
  return
}

// -----

func.func @trilu_rank(%a: tensor<4xf32>) {
  // expected-error @+1 {{input must have rank >= 2}}
  %0 = smq.trilu %a : tensor<4xf32>
  return
}

// -----

func.func @quantized_codes(%x: tensor<8x192xf32>, %c: tensor<64x90xui8>, %s: tensor<64x3xf32>, %z: tensor<64x3xf32>) {
  // expected-error @+1 {{codes must hold 96 bytes per row for 192 inputs of 4 bits, not 90}}
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 64 : i64} : (tensor<8x192xf32>, tensor<64x90xui8>, tensor<64x3xf32>, tensor<64x3xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @quantized_groups(%x: tensor<8x192xf32>, %c: tensor<64x96xui8>, %s: tensor<64x2xf32>, %z: tensor<64x2xf32>) {
  // expected-error @+1 {{scales and zero points must be 64x3 (rows x groups)}}
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 64 : i64} : (tensor<8x192xf32>, tensor<64x96xui8>, tensor<64x2xf32>, tensor<64x2xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @packed_wrong_row_bytes(%x: tensor<1x40xf32>, %c: tensor<4x20xui8>, %s: tensor<4x2xf32>, %z: tensor<4x2xf32>) {
  // Packed rows are whole chunks of 32 codes: 2 chunks of 16 bytes.
  // expected-error @+1 {{codes must hold 32 bytes per row for 40 inputs of 4 bits (packed), not 20}}
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64, packed} : (tensor<1x40xf32>, tensor<4x20xui8>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @packed_no_kernel(%x: tensor<1x64xf32>, %c: tensor<4x40xui8>, %s: tensor<4x4xf32>, %z: tensor<4x4xf32>) {
  // expected-error @+1 {{no quantized kernel takes 5-bit codes in groups of 16}}
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 5 : i64, group_size = 16 : i64, packed} : (tensor<1x64xf32>, tensor<4x40xui8>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @int8_needs_packed(%x: tensor<1x32xf32>, %c: tensor<4x16xui8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) {
  // expected-error @+1 {{int8_activations needs packed codes}}
  %0 = smq.quantized_matmul %x, %c, %s, %z {bits = 4 : i64, group_size = 32 : i64, int8_activations} : (tensor<1x32xf32>, tensor<4x16xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<1x4xf32>
  return
}

// -----

func.func @ukernel_group(%x: tensor<1x64xf32>, %c: tensor<4x32xi8>, %s: tensor<4x4xf32>, %z: tensor<4x4xf32>, %y: tensor<1x4xf32>) {
  // expected-error @+1 {{no quantized kernel takes 4-bit codes in groups of 16}}
  %0 = smq.ukernel.qmatmul ins(%x, %c, %s, %z : tensor<1x64xf32>, tensor<4x32xi8>, tensor<4x4xf32>, tensor<4x4xf32>) outs(%y : tensor<1x4xf32>) {bits = 4 : i64, group_size = 16 : i64} -> tensor<1x4xf32>
  return
}

// -----

func.func @ukernel_shapes(%x: tensor<2x64xf32>, %c: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x2xf32>, %y: tensor<1x4xf32>) {
  // expected-error @+1 {{needs 4x2 scales and zero points and a 2x4 init}}
  %0 = smq.ukernel.qmatmul ins(%x, %c, %s, %z : tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xf32>) outs(%y : tensor<1x4xf32>) {bits = 4 : i64, group_size = 32 : i64} -> tensor<1x4xf32>
  return
}

// -----

func.func @ukernel_mixed(%x: tensor<1x32xf32>, %c: memref<4x16xi8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>, %y: tensor<1x4xf32>) {
  // expected-error @+1 {{needs all tensors or all memrefs}}
  %0 = smq.ukernel.qmatmul ins(%x, %c, %s, %z : tensor<1x32xf32>, memref<4x16xi8>, tensor<4x1xf32>, tensor<4x1xf32>) outs(%y : tensor<1x4xf32>) {bits = 4 : i64, group_size = 32 : i64} -> tensor<1x4xf32>
  return
}

// -----

func.func @packed_panels_shape(%x: tensor<4x64xf32>, %p: tensor<2x64x32xf32>) {
  // expected-error @+1 {{panels of a 64x100 weight must be 4x64x32}}
  %0 = smq.packed_matmul %x, %p {n = 100 : i64} : (tensor<4x64xf32>, tensor<2x64x32xf32>) -> tensor<4x100xf32>
  return
}

// -----

func.func @packed_bias(%x: tensor<4x64xf32>, %p: tensor<1x64x32xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias must have 20 elements}}
  %0 = smq.packed_matmul %x, %p, %b {n = 20 : i64} : (tensor<4x64xf32>, tensor<1x64x32xf32>, tensor<16xf32>) -> tensor<4x20xf32>
  return
}

// -----

func.func @packed_result(%x: tensor<2x4x64xf32>, %p: tensor<1x64x32xf32>) {
  // expected-error @+1 {{result must be lhs's shape with 20 as its last dimension}}
  %0 = smq.packed_matmul %x, %p {n = 20 : i64} : (tensor<2x4x64xf32>, tensor<1x64x32xf32>) -> tensor<8x20xf32>
  return
}

// -----

func.func @ukernel_matmul_shapes(%x: tensor<2x64xf32>, %p: tensor<1x64x32xf32>, %b: tensor<20xf32>, %y: tensor<2x40xf32>) {
  // expected-error @+1 {{needs 2x64x32 panels, a 40-element bias and a 2x40 init}}
  %0 = smq.ukernel.matmul ins(%x, %p, %b : tensor<2x64xf32>, tensor<1x64x32xf32>, tensor<20xf32>) outs(%y : tensor<2x40xf32>) -> tensor<2x40xf32>
  return
}

// -----

func.func @ukernel_matmul_results(%x: memref<2x64xf32>, %p: memref<1x64x32xf32>, %b: memref<20xf32>, %y: memref<2x20xf32>) {
  // expected-error @+1 {{returns one tensor on tensors and nothing on memrefs}}
  %0 = smq.ukernel.matmul ins(%x, %p, %b : memref<2x64xf32>, memref<1x64x32xf32>, memref<20xf32>) outs(%y : memref<2x20xf32>) -> tensor<2x20xf32>
  return
}
