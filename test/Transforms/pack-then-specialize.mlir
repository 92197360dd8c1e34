// A decoder kept with dynamic dims is packed once, before its shapes are
// known (smq-generate packs its weights once for both of its variants):
// smq.packed_matmul infers its result from its input like smq.matmul, so
// specialising afterwards gives static types. A quantized matmul whose
// reduction dim is still dynamic is left for packing after specialising.
// RUN: smq-opt %s --smq-pack-quantized-weights=activations=f32 --smq-pack-f32-weights | FileCheck %s --check-prefix=PACKED
// RUN: smq-opt %s --smq-pack-quantized-weights=activations=f32 --smq-pack-f32-weights --smq-specialize-shapes="shapes=x=1x3x2,y=1x3x64,u=2x5x64" | FileCheck %s

// PACKED: smq.packed_matmul %arg0, {{.*}} : (tensor<?x?x2xf32>, tensor<1x2x32xf32>) -> tensor<?x?x4xf32>
// PACKED: smq.quantized_matmul %arg1, {{.*}} {bits = 4 : i64, group_size = 64 : i64} : (tensor<?x?x?xf32>,
// PACKED: smq.quantized_matmul %arg2, {{.*}} {bits = 4 : i64, group_size = 64 : i64, packed} : (tensor<?x?x64xf32>, tensor<4x32xui8>,

// CHECK-LABEL: func.func @main
// CHECK-SAME: -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<2x5x4xf32>)
// CHECK: smq.packed_matmul %arg0, {{.*}} -> tensor<1x3x4xf32>
// CHECK: smq.quantized_matmul %arg1, {{.*}} -> tensor<1x3x4xf32>
// CHECK: smq.quantized_matmul %arg2, {{.*}} packed} : {{.*}} -> tensor<2x5x4xf32>
func.func @main(%x: tensor<?x?x2xf32> {smq.name = "x"}, %y: tensor<?x?x?xf32> {smq.name = "y"}, %u: tensor<?x?x64xf32> {smq.name = "u"}) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) {
  %w = smq.constant dense<[[0.5, 1.0, 1.5, 2.0], [2.5, 3.0, 3.5, 4.0]]> : tensor<2x4xf32>
  %m = smq.matmul %x, %w : (tensor<?x?x2xf32>, tensor<2x4xf32>) -> tensor<?x?x4xf32>
  %c = smq.constant dense<"0x00070E151C232A31383F464D545B626970777E858C939AA1A8AFB6BDC4CBD2D9E0E7EEF5FC030A11181F262D343B424950575E656C737A81888F969DA4ABB2B9C0C7CED5DCE3EAF1F8FF060D141B222930373E454C535A61686F767D848B9299A0A7AEB5BCC3CAD1D8DFE6EDF4FB020910171E252C333A41484F565D646B7279"> : tensor<4x32xui8>
  %s = smq.constant dense<1.0> : tensor<4x1xf32>
  %z = smq.constant dense<8.0> : tensor<4x1xf32>
  %q = smq.quantized_matmul %y, %c, %s, %z {bits = 4 : i64, group_size = 64 : i64} : (tensor<?x?x?xf32>, tensor<4x32xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<?x?x4xf32>
  %p = smq.quantized_matmul %u, %c, %s, %z {bits = 4 : i64, group_size = 64 : i64} : (tensor<?x?x64xf32>, tensor<4x32xui8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<?x?x4xf32>
  return %m, %q, %p : tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>
}
