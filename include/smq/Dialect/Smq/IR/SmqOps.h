//===- SmqOps.h - smq dialect ops -------------------------------*- C++ -*-===//
#ifndef SMQ_DIALECT_SMQ_IR_SMQOPS_H
#define SMQ_DIALECT_SMQ_IR_SMQOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "smq/Dialect/Smq/IR/SmqDialect.h"

namespace mlir::smq {
/// Result types declared on an op may refine the inferred ones: element
/// types must match and shapes must be compatible (dynamic dims and unranked
/// tensors match anything).
bool areCompatibleResultTypes(TypeRange inferred, TypeRange declared);

/// The integer contents of `value` if it is defined by a small constant
/// (dense or dense_resource); used for shape operands.
std::optional<SmallVector<int64_t>> getConstantInts(Value value);

/// The weight `value` is, if any: a rank-2 `dense_resource` smq.constant
/// (a MatMul's K×N right operand or a Gemm's B). Its resource key names the
/// weight in calibration statistics and quantization.
DenseResourceElementsAttr getWeightAttr(Value value);

/// A discardable attribute on weight-bearing ops (smq.matmul, smq.gemm,
/// smq.quantized_matmul): the name of the ONNX node the op was imported
/// from (or `<op type>_<index>` for an unnamed node). Weight quantization
/// carries it over, so that --export-onnx can put the quantized weight back
/// in the node's place in the source model.
inline constexpr llvm::StringLiteral kOnnxNodeAttr = "smq.onnx_node";
} // namespace mlir::smq

#define GET_OP_CLASSES
#include "smq/Dialect/Smq/IR/SmqOps.h.inc"

#endif // SMQ_DIALECT_SMQ_IR_SMQOPS_H
