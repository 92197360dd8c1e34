//===- SmqOps.td - smq dialect ops -------------------------*- tablegen -*-===//
//
// Op definitions of the smq dialect. Semantics follow the ONNX operator of
// the same name unless the description says otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef SMQ_DIALECT_SMQ_IR_SMQOPS_TD
#define SMQ_DIALECT_SMQ_IR_SMQOPS_TD

include "smq/Dialect/Smq/IR/SmqBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"

// An op whose result types are inferred from its operands and attributes.
// A declared result type may be more static than the inferred one (a user
// or an earlier pass may know more), so compatibility, not equality, is
// checked; see areCompatibleResultTypes.
class Smq_InferredOp<string mnemonic, list<Trait> traits = []>
    : Smq_Op<mnemonic, !listconcat(traits,
                                   [Pure, InferTypeOpAdaptorWithIsCompatible])>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Smq_ConstantOp : Smq_Op<"constant",
    [ConstantLike, Pure, AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor: a weight, or a folded value";
  let description = [{
    Weights imported from ONNX initializers carry a `dense_resource` value
    whose key is derived from the initializer name, so the key is stable
    across re-imports of the same model. Small folded values are inline
    `dense` attributes.

    ```mlir
    %w = smq.constant dense_resource<w_q> : tensor<192x192xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary ops with numpy broadcasting
//===----------------------------------------------------------------------===//

class Smq_BroadcastBinaryOp<string mnemonic, Type operandType,
                            list<Trait> traits = []>
    : Smq_InferredOp<mnemonic,
                     !listconcat(traits, [ResultsBroadcastableShape])> {
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs AnyTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

class Smq_ArithBinaryOp<string mnemonic, string desc, list<Trait> traits = []>
    : Smq_BroadcastBinaryOp<mnemonic, AnyTensor,
                            !listconcat(traits, [SameOperandsAndResultElementType])> {
  let summary = desc # " with numpy broadcasting";
}

def Smq_AddOp : Smq_ArithBinaryOp<"add", "Elementwise sum", [Commutative]>;
def Smq_SubOp : Smq_ArithBinaryOp<"sub", "Elementwise difference">;
def Smq_MulOp : Smq_ArithBinaryOp<"mul", "Elementwise product", [Commutative]>;
def Smq_DivOp : Smq_ArithBinaryOp<"div", "Elementwise quotient"> {
  let description = [{ Integer division truncates toward zero, as in ONNX. }];
}
def Smq_PowOp : Smq_ArithBinaryOp<"pow", "Elementwise power"> {
  let description = [{
    ONNX allows the exponent to have another element type; the importer
    casts it to the base's element type.
  }];
}
def Smq_MaxOp : Smq_ArithBinaryOp<"max", "Elementwise maximum", [Commutative]>;
def Smq_MinOp : Smq_ArithBinaryOp<"min", "Elementwise minimum", [Commutative]>;

def Smq_EqualOp : Smq_BroadcastBinaryOp<"equal", AnyTensor,
    [Commutative, SameOperandsElementType]> {
  let summary = "Elementwise equality with numpy broadcasting, giving i1";
}
def Smq_LessOp : Smq_BroadcastBinaryOp<"less", AnyTensor,
    [SameOperandsElementType]> {
  let summary = "Elementwise lhs < rhs with numpy broadcasting, giving i1";
  let description = [{
    False where either side is NaN; unsigned element types compare as
    unsigned. ONNX `Greater(a, b)` imports as `less(b, a)`.
  }];
}
def Smq_LessEqualOp : Smq_BroadcastBinaryOp<"less_equal", AnyTensor,
    [SameOperandsElementType]> {
  let summary = "Elementwise lhs <= rhs with numpy broadcasting, giving i1";
  let description = [{
    False where either side is NaN; unsigned element types compare as
    unsigned. ONNX `GreaterOrEqual(a, b)` imports as `less_equal(b, a)`.
  }];
}

class Smq_LogicalBinaryOp<string mnemonic, string desc>
    : Smq_BroadcastBinaryOp<mnemonic, Smq_BoolTensor,
          [Commutative, SameOperandsAndResultElementType]> {
  let summary = desc # " of i1 tensors with numpy broadcasting";
}
def Smq_AndOp : Smq_LogicalBinaryOp<"and", "Elementwise logical and">;
def Smq_OrOp : Smq_LogicalBinaryOp<"or", "Elementwise logical or">;
def Smq_XorOp : Smq_LogicalBinaryOp<"xor", "Elementwise logical exclusive or">;

//===----------------------------------------------------------------------===//
// Elementwise unary ops
//===----------------------------------------------------------------------===//

class Smq_UnaryOp<string mnemonic, Type type, string desc,
                  list<Trait> traits = []>
    : Smq_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let summary = desc;
  let arguments = (ins type:$input);
  let results = (outs type:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
}

def Smq_SqrtOp : Smq_UnaryOp<"sqrt", Smq_FloatTensor, "Elementwise square root">;
def Smq_ReciprocalOp
    : Smq_UnaryOp<"reciprocal", Smq_FloatTensor, "Elementwise 1/x">;
def Smq_NegOp : Smq_UnaryOp<"neg", AnyTensor, "Elementwise negation">;
def Smq_ExpOp : Smq_UnaryOp<"exp", Smq_FloatTensor, "Elementwise e^x">;
def Smq_LogOp : Smq_UnaryOp<"log", Smq_FloatTensor, "Elementwise natural log">;
def Smq_TanhOp : Smq_UnaryOp<"tanh", Smq_FloatTensor, "Elementwise tanh">;
def Smq_ErfOp : Smq_UnaryOp<"erf", Smq_FloatTensor, "Elementwise error function">;
def Smq_SigmoidOp
    : Smq_UnaryOp<"sigmoid", Smq_FloatTensor, "Elementwise 1/(1+e^-x)">;
def Smq_ReluOp : Smq_UnaryOp<"relu", AnyTensor, "Elementwise max(x, 0)">;
def Smq_CosOp : Smq_UnaryOp<"cos", Smq_FloatTensor, "Elementwise cosine">;
def Smq_SinOp : Smq_UnaryOp<"sin", Smq_FloatTensor, "Elementwise sine">;
def Smq_NotOp : Smq_UnaryOp<"not", Smq_BoolTensor, "Elementwise logical not">;

def Smq_GeluOp : Smq_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = "none"` computes `0.5 x (1 + erf(x/√2))`; `"tanh"` uses
    the tanh approximation, as ONNX Gelu (opset 20) defines them.
  }];
  let arguments = (ins Smq_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Smq_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Smq_CastOp : Smq_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "Elementwise conversion to another element type";
  let description = [{
    Float to integer conversion truncates toward zero; any non-zero value
    converts to `true` for i1.
  }];
  let arguments = (ins AnyTensor:$input);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Normalisations and reductions
//===----------------------------------------------------------------------===//

def Smq_SoftmaxOp : Smq_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis (ONNX opset 13 semantics)";
  let arguments = (ins Smq_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Smq_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Smq_LayerNormOp : Smq_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalisation over the trailing axes from `axis`";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, with mean and variance
    over axes `[axis, rank)`. `scale` and `bias` broadcast against those axes.
  }];
  let arguments = (ins Smq_FloatTensor:$input, Smq_FloatTensor:$scale,
                       Optional<Smq_FloatTensor>:$bias,
                       I64Attr:$axis, F32Attr:$epsilon);
  let results = (outs Smq_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:`
    type($input) `,` type($scale) (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

class Smq_ReduceOp<string mnemonic, string desc>
    : Smq_InferredOp<mnemonic, [SameOperandsAndResultElementType]> {
  let summary = desc # " over `axes`";
  let description = [{
    `axes` are non-negative and sorted; an empty list reduces every axis.
    With `keepdims`, reduced axes stay as size 1.
  }];
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Smq_ReduceMeanOp : Smq_ReduceOp<"reduce_mean", "Mean">;
def Smq_ReduceSumOp : Smq_ReduceOp<"reduce_sum", "Sum">;
def Smq_ReduceMaxOp : Smq_ReduceOp<"reduce_max", "Maximum">;

//===----------------------------------------------------------------------===//
// Contractions: the weight-bearing ops
//===----------------------------------------------------------------------===//

def Smq_MatMulOp : Smq_InferredOp<"matmul", [SameOperandsAndResultElementType]> {
  let summary = "Batched matrix product with numpy batch broadcasting";
  let description = [{
    Both operands have rank >= 2 (the importer expands ONNX's 1-D cases).
    When `rhs` is a constant K×N weight, this is a weight-bearing op that
    calibration observes and weight quantization rewrites.
  }];
  let arguments = (ins AnyTensor:$lhs, AnyTensor:$rhs);
  let results = (outs AnyTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Smq_GemmOp : Smq_InferredOp<"gemm"> {
  let summary = "alpha * op(A) * op(B) + beta * C on 2-D operands";
  let arguments = (ins Smq_FloatTensor:$a, Smq_FloatTensor:$b,
                       Optional<Smq_FloatTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$transA,
                       DefaultValuedAttr<BoolAttr, "false">:$transB);
  let results = (outs Smq_FloatTensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Smq_QuantizedMatMulOp : Smq_InferredOp<"quantized_matmul"> {
  let summary = "x · Ŵᵀ for a weight stored as grouped low-bit codes";
  let description = [{
    Ŵ is N×K (out × in). Row n's codes are a little-endian bit stream of K
    `bits`-bit codes in `codes[n]` (ceil(K·bits/8) bytes), the order of
    ONNX Runtime's MatMulNBits. Inputs are cut into groups of `group_size`
    (the last may be shorter); group g of row n has `scales[n, g]` and
    `zero_points[n, g]`, and

        Ŵ[n, k] = scales[n, g] · (code[n, k] − zero_points[n, g]),
        g = k / group_size.

    The result is `lhs[..., K] · Ŵᵀ`, shape `[..., N]`: what `smq.matmul`
    computes with a K×N weight, after --smq-quantize-weights.

    With `packed` (set by --smq-pack-quantized-weights), `codes` are in the
    runtime kernels' layout instead: rows of ceil(K/32) chunks of 4·bits
    bytes (see `include/smq/Runtime/Runtime.h`), which only bits 2, 3, 4, 8
    and groups that are multiples of 32 have. `int8_activations` lets
    decoding (at most 4 rows of `lhs`) quantize `lhs` to int8 per group and
    row and use integer dot products: faster, and no longer exact.
  }];
  let arguments = (ins Smq_FloatTensor:$lhs, TensorOf<[UI8]>:$codes,
                       TensorOf<[F32]>:$scales, TensorOf<[F32]>:$zero_points,
                       ConfinedAttr<I64Attr, [IntMinValue<2>, IntMaxValue<8>]>:$bits,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$group_size,
                       UnitAttr:$packed, UnitAttr:$int8_activations);
  let results = (outs Smq_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $codes `,` $scales `,` $zero_points attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Smq_DequantizeOp : Smq_Op<"dequantize", [Pure]> {
  let summary = "The f32 K×N weight that grouped low-bit codes stand for";
  let description = [{
    `codes`, `scales` and `zero_points` are an N×K weight Ŵ exactly as
    `smq.quantized_matmul` takes them (unpacked), and the result is Ŵᵀ, the
    K×N right operand `smq.matmul` would take:

        result[k, n] = scales[n, g] · (code[n, k] − zero_points[n, g]),
        g = k / group_size.

    The ONNX importer makes it from a `DequantizeLinear` of a constant
    weight; a `MatMul` that consumes it is imported as
    `smq.quantized_matmul` on the same codes, so the weight is never
    expanded. Any other use folds it to an f32 constant.
  }];
  let arguments = (ins TensorOf<[UI8]>:$codes, TensorOf<[F32]>:$scales,
                       TensorOf<[F32]>:$zero_points,
                       ConfinedAttr<I64Attr, [IntMinValue<2>, IntMaxValue<8>]>:$bits,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$group_size);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $codes `,` $scales `,` $zero_points attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Smq_PackedMatMulOp : Smq_InferredOp<"packed_matmul"> {
  let summary = "x · W (+ bias) for an f32 weight stored in the kernels' panels";
  let description = [{
    What `smq.matmul` computes with a constant K×N f32 weight W (then
    `smq.add` of an N-vector bias, if given), with W stored in the CPU
    kernels' panel layout: `panels` is [ceil(N/32), K, 32], panel s holding
    W[:, 32s : 32s+32) row by row, zero-padded past column N (see
    `include/smq/Runtime/Runtime.h`). `n` is N. The result is
    `lhs[..., K] · W + bias`, shape `[..., N]`.

    Made by `--smq-pack-f32-weights`, so a model's weights are laid out for
    the kernels once, when it is compiled, and never copied per call.

    With `gelu`, the result is GELU(lhs · W + bias), the exact (erf) form
    `0.5 y (1 + erf(y/√2))`, applied by the kernel as it stores its output.
  }];
  let arguments = (ins TensorOf<[F32]>:$lhs, TensorOf<[F32]>:$panels,
                       Optional<TensorOf<[F32]>>:$bias,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$n,
                       UnitAttr:$gelu);
  let results = (outs TensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $panels (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//

def Smq_UKernelMatMulOp : Smq_Op<"ukernel.matmul", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "The runtime's f32 matmul on weight panels, as an op";
  let description = [{
    `init[M, N] = lhs[M, K] · W + bias[N]` for W in panels (see
    `smq.packed_matmul`). `init` is only written: the kernel stores bias
    plus the products, so no zero fill and no separate bias pass precede
    or follow it. On tensors the op returns the new value of `init`; after
    bufferization it works on memrefs and returns nothing, and
    `smq-linalg-to-runtime-calls` turns it into a call of
    `smq_rt_matmul_panels_f32` (`smq_rt_matmul_panels_gelu_f32` with
    `gelu`, which applies GELU to each output as it is stored).

    ```mlir
    %y = smq.ukernel.matmul ins(%x, %panels, %bias : tensor<128x192xf32>,
           tensor<6x192x32xf32>, tensor<192xf32>)
           outs(%init : tensor<128x192xf32>) -> tensor<128x192xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$lhs, AnyShaped:$panels, AnyShaped:$bias,
                       AnyShaped:$init, UnitAttr:$gelu);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $panels `,` $bias `:` type($lhs) `,` type($panels) `,`
    type($bias) `)` `outs` `(` $init `:` type($init) `)` attr-dict
    (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

def Smq_UKernelQMatMulOp : Smq_Op<"ukernel.qmatmul", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "The runtime's quantized matmul kernel, as an op";
  let description = [{
    `init[M, N] = lhs[M, K] · Ŵᵀ` for packed codes (see
    `smq.quantized_matmul` with `packed`). `init` is only written. On
    tensors the op returns the new value of `init`; after bufferization it
    works on memrefs and returns nothing, and `smq-linalg-to-runtime-calls`
    turns it into a call of `smq_rt_qmatmul_packed_f32`. This is how the
    choice of kernel travels from `convert-smq-to-linalg` to the call: as
    an op with typed operands, not a tag on a generic.

    ```mlir
    %y = smq.ukernel.qmatmul ins(%x, %codes, %scales, %zeros :
           tensor<1x192xf32>, tensor<192x96xi8>, tensor<192x3xf32>,
           tensor<192x3xf32>) outs(%init : tensor<1x192xf32>)
           {bits = 4 : i64, group_size = 64 : i64} -> tensor<1x192xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$lhs, AnyShaped:$codes, AnyShaped:$scales,
                       AnyShaped:$zero_points, AnyShaped:$init,
                       ConfinedAttr<I64Attr, [IntMinValue<2>, IntMaxValue<8>]>:$bits,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$group_size,
                       UnitAttr:$int8_activations);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $codes `,` $scales `,` $zero_points `:` type($lhs) `,`
    type($codes) `,` type($scales) `,` type($zero_points) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

def Smq_UKernelAttentionOp : Smq_Op<"ukernel.attention", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "The runtime's causal attention over a KV cache, as an op";
  let description = [{
    `init[b, i, h, :]` = softmax over slots j of `scale * query[b, i, h, :]
    · keys[b, h / G, j, :]` (softcapped when `softcap` > 0), times
    `values[b, h / G, j, :]`, where G = N / Nk and only the slots
    j <= `positions[b, i]` take part (and, with `local_window_size` w > 0,
    j > positions[b, i] - w; 0 or less is no window). So the work follows each row's length at run
    time, not the cache's T slots. Operands: query [B, S, N, H], keys and
    values [B, Nk, T, H], positions [B, S] (i64, each in [0, T)), init
    [B, S, N, H], which is only written. On tensors the op returns the new
    value of `init`; on memrefs it returns nothing, and
    `smq-linalg-to-runtime-calls` turns it into a call of
    `smq_rt_attention_f32`. `smq-decompose-attention{kernel=true}` makes
    it from `smq.group_query_attention`.

    ```mlir
    %y = smq.ukernel.attention ins(%q, %k, %v, %pos : tensor<1x8x4x16xf32>,
           tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x8xi64>)
           outs(%init : tensor<1x8x4x16xf32>)
           {scale = 2.500000e-01 : f32, softcap = 0.000000e+00 : f32,
            local_window_size = 0 : i64} -> tensor<1x8x4x16xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$query, AnyShaped:$keys, AnyShaped:$values,
                       AnyShaped:$positions, AnyShaped:$init, F32Attr:$scale,
                       F32Attr:$softcap, I64Attr:$local_window_size);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $query `,` $keys `,` $values `,` $positions `:` type($query)
    `,` type($keys) `,` type($values) `,` type($positions) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

def Smq_UKernelKvPlaceOp : Smq_Op<"ukernel.kv_place", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "The runtime's KV-cache update, as an op";
  let description = [{
    Writes the present of a KV cache: with L = `positions[b, 0]` (the
    row's past length), `init[b, h, j, :]` is `past[b, h, j, :]` for
    j < min(L, P), `fresh[b, i, h, :]` at j = `positions[b, i]`, and zero
    elsewhere. Operands: past [B, Nk, P, H], fresh [B, S, Nk, H] (the new
    keys or values as projected, heads not yet moved before the
    sequence), positions [B, S] (i64, each in [0, T)), init [B, Nk, T, H],
    which is only written. Row copies, not the one-hot product the
    primitives spell it with. With `stale_tail`, slots after the new rows
    are left as they were instead of zeroed: for callers that read only
    the new rows of the present (smq-generate), this saves writing the
    whole cache on every step. On memrefs it returns nothing, and
    `smq-linalg-to-runtime-calls` turns it into a call of
    `smq_rt_kv_place_f32`. `smq-decompose-attention{kernel=true}` makes
    it from `smq.group_query_attention`.

    ```mlir
    %present = smq.ukernel.kv_place ins(%past, %k, %pos :
           tensor<1x2x56x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8xi64>)
           outs(%init : tensor<1x2x64x16xf32>) -> tensor<1x2x64x16xf32>
    ```
  }];
  let arguments = (ins AnyShaped:$past, AnyShaped:$fresh,
                       AnyShaped:$positions, AnyShaped:$init,
                       UnitAttr:$stale_tail);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $past `,` $fresh `,` $positions `:` type($past) `,`
    type($fresh) `,` type($positions) `)`
    `outs` `(` $init `:` type($init) `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Smq_GatherOp : Smq_InferredOp<"gather"> {
  let summary = "Take slices of `data` along `axis` at `indices`";
  let description = [{ Negative indices count from the end, as in ONNX. }];
  let arguments = (ins AnyTensor:$data, Smq_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs AnyTensor:$result);
  let assemblyFormat =
      "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_GroupQueryAttentionOp : Smq_InferredOp<"group_query_attention"> {
  let summary = "Causal attention with grouped KV heads over a KV cache";
  let description = [{
    ONNX Runtime's com.microsoft::GroupQueryAttention, on separate query
    [B, S, N*H], key and value [B, S, Nk*H], the past [B, Nk, P, H], per-row
    `seqlens_k` [B] (the row's total length minus one) and the scalar
    `total_sequence_length`. Row b's past length is
    L = seqlens_k[b] + 1 - S (0 when P is 0: a first prompt, whose rows may
    be right-padded). The present [B, Nk, max(P, total), H] holds the past's
    first L positions, then the new keys and values, then zeros. Query i of
    row b attends present positions j <= L + i (and, with
    `local_window_size` w > 0, j > L + i - w); query head h reads kv head
    h / (N / Nk). Scores are `scale` * q.k (scale 0 means 1/sqrt(H)),
    softcapped to softcap * tanh(s / softcap) when softcap > 0. With two
    `rotary_cache` operands (cos, sin: [positions, R/2]), query and key
    are first rotated over their first R dims at position L + i, in
    half-split or interleaved pairs. Static shapes are needed to lower it
    (smq-decompose-attention spells it out in primitives).
  }];
  let arguments = (ins Smq_FloatTensor:$query, Smq_FloatTensor:$key,
                       Smq_FloatTensor:$value, Smq_FloatTensor:$past_key,
                       Smq_FloatTensor:$past_value, Smq_IndexTensor:$seqlens_k,
                       Smq_IndexTensor:$total_sequence_length,
                       Variadic<Smq_FloatTensor>:$rotary_cache,
                       I64Attr:$num_heads, I64Attr:$kv_num_heads,
                       F32Attr:$scale, F32Attr:$softcap,
                       I64Attr:$local_window_size, BoolAttr:$rotary_interleaved);
  let results = (outs Smq_FloatTensor:$output, Smq_FloatTensor:$present_key,
                      Smq_FloatTensor:$present_value);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $past_key `,` $past_value `,` $seqlens_k
    `,` $total_sequence_length (`rotary` `(` $rotary_cache^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Smq_ScatterNDOp : Smq_Op<"scatter_nd",
    [Pure, AllTypesMatch<["data", "result"]>]> {
  let summary = "Write `updates` into a copy of `data` at the index tuples of `indices`";
  let description = [{
    ONNX ScatterND: `indices` is [..., k] with k <= rank(data); each index
    tuple selects a slice `data[i0, ..., ik-1]`, which the matching slice
    of `updates` (shape `indices.shape[:-1] + data.shape[k:]`) replaces,
    or is combined with by `reduction` (`none`, `add`, `mul`, `max`,
    `min`), in the order of the index tuples. Negative indices count from
    the end.
  }];
  let arguments = (ins AnyTensor:$data, Smq_IndexTensor:$indices,
                       AnyTensor:$updates,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$data `[` $indices `]` `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Smq_ReshapeOp : Smq_InferredOp<"reshape"> {
  let summary = "Reshape to the dims in `shape` (0 copies, -1 infers)";
  let arguments = (ins AnyTensor:$input, Smq_I64Tensor:$shape,
                       DefaultValuedAttr<BoolAttr, "false">:$allowzero);
  let results = (outs AnyTensor:$result);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_TransposeOp : Smq_InferredOp<"transpose"> {
  let summary = "Permute dimensions: result dim i is input dim perm[i]";
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_UnsqueezeOp : Smq_InferredOp<"unsqueeze"> {
  let summary = "Insert size-1 dims at `axes` (axes of the result)";
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_SqueezeOp : Smq_InferredOp<"squeeze"> {
  let summary = "Remove size-1 dims at `axes`";
  let arguments = (ins AnyTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_ConcatOp : Smq_InferredOp<"concat"> {
  let summary = "Concatenate along `axis`";
  let arguments = (ins Variadic<AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_SliceOp : Smq_InferredOp<"slice"> {
  let summary = "Strided slice with ONNX clamping rules";
  let description = [{
    `starts`, `ends`, `axes` and `steps` are 1-D integer tensors of equal
    length, as ONNX Slice (opset 10+) takes them. When they are constants the
    result shape is static; otherwise the sliced dims are dynamic.
  }];
  let arguments = (ins AnyTensor:$data, Smq_IndexTensor:$starts,
                       Smq_IndexTensor:$ends, Smq_IndexTensor:$axes,
                       Smq_IndexTensor:$steps);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $data `[` $starts `,` $ends `,` $axes `,` $steps `]` attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Per dim of a static input, the first index read and the stride, with
    /// ONNX's clamping applied, if the bounds are constants.
    struct StaticBounds {
      ::llvm::SmallVector<int64_t> begin, step;
    };
    std::optional<StaticBounds> getStaticBounds();
  }];
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_SplitOp : Smq_InferredOp<"split"> {
  let summary = "Split along `axis` into pieces of the given sizes";
  let arguments = (ins AnyTensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<AnyTensor>:$results);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Smq_ExpandOp : Smq_InferredOp<"expand"> {
  let summary = "Broadcast `input` against the dims in `shape`";
  let arguments = (ins AnyTensor:$input, Smq_I64Tensor:$shape);
  let results = (outs AnyTensor:$result);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_WhereOp : Smq_InferredOp<"where", [ResultsBroadcastableShape]> {
  let summary = "Select `x` where `condition` holds, else `y`, broadcasting";
  let arguments = (ins Smq_BoolTensor:$condition, AnyTensor:$x, AnyTensor:$y);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $condition `,` $x `,` $y attr-dict `:` functional-type(operands, results)
  }];
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_TriluOp : Smq_Op<"trilu", [Pure, SameOperandsAndResultType]> {
  let summary = "Keep the upper or lower triangle of the last two dims";
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<I64Attr, "0">:$k,
                       DefaultValuedAttr<BoolAttr, "true">:$upper);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape computation: these fold away once shapes are known
//===----------------------------------------------------------------------===//

def Smq_ShapeOp : Smq_InferredOp<"shape"> {
  let summary = "The dims [start, end) of the input's shape, as i64";
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$start, I64Attr:$end);
  let results = (outs Smq_I64Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_RangeOp : Smq_InferredOp<"range", [SameOperandsAndResultElementType]> {
  let summary = "The sequence start, start+delta, ... below limit";
  let arguments = (ins AnyTensor:$start, AnyTensor:$limit, AnyTensor:$delta);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = [{
    $start `,` $limit `,` $delta attr-dict `:` functional-type(operands, results)
  }];
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Smq_ConstantOfShapeOp : Smq_InferredOp<"constant_of_shape"> {
  let summary = "A tensor of the given shape filled with one value";
  let arguments = (ins Smq_I64Tensor:$shape, TypedAttrInterface:$value);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

#endif // SMQ_DIALECT_SMQ_IR_SMQOPS_TD
