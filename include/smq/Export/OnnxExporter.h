//===- OnnxExporter.h - a quantized model back to ONNX ----------*- C++ -*-===//
//
// Writes an SMQ-quantized module as an ONNX model that ONNX Runtime runs:
// the source model the module was imported from, with each quantized
// MatMul/Gemm (and each MatMulNBits or DequantizeLinear weight SMQ
// imported) replaced by ONNX Runtime's com.microsoft::MatMulNBits, or by a
// blocked DequantizeLinear (opset 21) feeding the original op. Every other
// node, name, input, output and initializer is kept as it was.
//
// Each smq.quantized_matmul names its ONNX node in the `smq.onnx_node`
// attribute the importer sets and weight quantization carries over.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXPORT_ONNXEXPORTER_H
#define SMQ_EXPORT_ONNXEXPORTER_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>

namespace mlir::smq {

enum class OnnxExportForm {
  /// com.microsoft::MatMulNBits: bits 2, 4 and 8, packed zero points (none
  /// when every one is the default 2^(bits-1)), or f32 zero points when
  /// they are not whole codes.
  MatMulNBits,
  /// DequantizeLinear-21 with block_size along K, then the original op:
  /// uint4/uint8 with zero points, or int4/int8 without when the
  /// quantization was symmetric.
  Qdq,
};

enum class ExternalData {
  /// External when the source used external data or the weights pass 1 GiB.
  Auto,
  Always,
  Never,
};

struct OnnxExportOptions {
  OnnxExportForm form = OnnxExportForm::MatMulNBits;
  /// The source model; empty for the one the module records (`smq.source`).
  std::string source;
  /// Write 3-bit codes as 4-bit ones (the same values, so the same
  /// weights, in more bytes), with a warning, instead of refusing them.
  bool widen3Bit = false;
  /// MatMulNBits' accuracy_level: 0 computes in f32 (exact), 4 lets ONNX
  /// Runtime quantize activations to int8.
  int64_t accuracyLevel = 0;
  ExternalData externalData = ExternalData::Auto;
  /// Initializers of at least this many bytes go to the external data file
  /// (`<output>.data`, beside the output).
  int64_t externalThreshold = 1024;
};

/// Writes `outputPath` (and its external data file, if any) atomically:
/// nothing is written unless the whole export succeeds. Problems are
/// reported as diagnostics at the op or file concerned.
LogicalResult exportOnnx(ModuleOp module, const std::string &outputPath,
                         const OnnxExportOptions &options);

} // namespace mlir::smq

#endif // SMQ_EXPORT_ONNXEXPORTER_H
