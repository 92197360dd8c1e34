//===- SmqToLinalg.h - smq to linalg patterns -------------------*- C++ -*-===//
//
// The patterns that lower smq ops to linalg, tensor, arith and math, by op
// family, for pipelines to combine (as TosaToLinalg's populate functions).
// `--convert-smq-to-linalg` applies all of them; the GPU pipeline applies
// them with the fused quantized-matmul lowering instead of the runtime's
// kernel.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_CONVERSION_SMQTOLINALG_SMQTOLINALG_H
#define SMQ_CONVERSION_SMQTOLINALG_SMQTOLINALG_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::smq {

/// How `smq.quantized_matmul` is lowered.
enum class QuantizedMatMulLowering {
  /// Packed codes to `smq.ukernel.qmatmul` (the CPU runtime's kernel);
  /// unpacked codes decoded into a float weight, then a linalg matmul.
  Kernel,
  /// One contraction generic over (M, N, K) that reads the codes, scales
  /// and zero points and decodes each weight where it is multiplied: no
  /// float weight exists. Unpacked codes only (for GPU targets). A decode
  /// (up to 4 rows) splits K into lanes: partial sums, then their sum.
  Fused,
};

/// Unsigned integer tensors become signless; every other type is kept.
void populateSmqToLinalgTypeConversion(TypeConverter &types);

/// smq dialect illegal; linalg, tensor, arith, math, scf and bufferization
/// legal; functions legal once their signatures are converted.
void configureSmqToLinalgTarget(ConversionTarget &target,
                                const TypeConverter &types);

/// Elementwise ops (arithmetic, comparisons, logic, unary math, GELU, Cast,
/// Where, Expand) as `linalg.generic` with broadcasting indexing maps.
void populateSmqElementwiseToLinalgPatterns(const TypeConverter &types,
                                            RewritePatternSet &patterns);

/// ReduceMean/Sum/Max, Softmax and LayerNorm as reduction generics.
void populateSmqReductionToLinalgPatterns(const TypeConverter &types,
                                          RewritePatternSet &patterns);

/// MatMul, Gemm, PackedMatMul and QuantizedMatMul.
void populateSmqContractionToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns,
    QuantizedMatMulLowering qmatmul = QuantizedMatMulLowering::Kernel);

/// Gather, ScatterND, Reshape/Unsqueeze/Squeeze, Transpose, Concat, Slice,
/// Split and Trilu. With `indexChecks`, data-dependent indices are checked
/// at run time through `smq_rt_index_error` (call declareIndexErrorFunction
/// on the module first); without, an index out of range is only clamped.
void populateSmqDataMovementToLinalgPatterns(const TypeConverter &types,
                                             RewritePatternSet &patterns,
                                             bool indexChecks = true);

/// Constants, and Shape/Range/ConstantOfShape (which must have folded).
void populateSmqConstantToLinalgPatterns(const TypeConverter &types,
                                         RewritePatternSet &patterns);

/// All of the above, and the function signature conversions.
void populateSmqToLinalgConversionPatterns(
    const TypeConverter &types, RewritePatternSet &patterns,
    QuantizedMatMulLowering qmatmul = QuantizedMatMulLowering::Kernel,
    bool indexChecks = true);

/// Declares `smq_rt_index_error(site, index, bound)` in `module` when one
/// of its Gather or ScatterND ops has indices that are not constants.
void declareIndexErrorFunction(ModuleOp module);

/// Applies every pattern to `module` (a partial conversion).
LogicalResult convertSmqToLinalg(
    ModuleOp module,
    QuantizedMatMulLowering qmatmul = QuantizedMatMulLowering::Kernel,
    bool indexChecks = true);

} // namespace mlir::smq

#endif // SMQ_CONVERSION_SMQTOLINALG_SMQTOLINALG_H
