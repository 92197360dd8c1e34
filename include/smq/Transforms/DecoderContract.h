//===- DecoderContract.h - decoders with a KV cache -------------*- C++ -*-===//
//
// Hugging Face's ONNX decoder contract: input_ids, attention_mask,
// position_ids and past_key_values.{i}.key/value in; logits and
// present.{i}.key/value out. ONNX Runtime GenAI's decoders keep the names
// but may drop position_ids (GroupQueryAttention derives positions from
// the mask). Finding the contract in a module, and binding such a decoder
// to token windows without its cache.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_TRANSFORMS_DECODERCONTRACT_H
#define SMQ_TRANSFORMS_DECODERCONTRACT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::smq {

/// Where a module keeps the contract's tensors.
struct DecoderContract {
  /// positionIds is empty when the model takes none.
  std::string inputIds, attentionMask, positionIds, logits;
  /// past_key_values.{i}.key, .value, ... and the matching present.*.
  std::vector<std::string> past, present;
  /// Heads and head size of each cache tensor (dims 1 and 3).
  std::vector<int64_t> heads, headDims;
  int64_t vocab = 0;
  /// Rows of the position table position_ids index, when the model has one
  /// (0: unknown).
  int64_t positions = 0;
  /// Whether attention is GroupQueryAttention's: each row's past length is
  /// the attention_mask's sum minus the new tokens, and the present holds
  /// the new keys and values at that length (not after the past input's
  /// slots, as a concatenation does).
  bool cacheAtLength = false;
};

/// Reads the contract off `module`'s entry function `entry` (input and
/// output names). Emits a diagnostic naming what is missing or unsupported.
FailureOr<DecoderContract> findDecoderContract(ModuleOp module,
                                               StringRef entry = "main");

/// Whether `module`'s entry function takes the KV-cache contract's inputs
/// (input_ids, attention_mask and past_key_values.0.key at least).
bool isDecoderWithCache(ModuleOp module, StringRef entry = "main");

/// Makes a KV decoder a model of [1, seqLen] token windows with no cache,
/// as the tools that score, calibrate and sweep take: input_ids becomes
/// [1, seqLen]; attention_mask (ones), position_ids (0..seqLen-1) and an
/// empty past become constants; the present outputs go, leaving the
/// logits. The model then computes what the same decoder computes on a
/// window from scratch. Emits a diagnostic and fails if `module` is not
/// such a decoder or `seqLen` exceeds its positions.
LogicalResult bindDecoderForWindows(ModuleOp module, int64_t seqLen,
                                    StringRef entry = "main");

} // namespace mlir::smq

#endif // SMQ_TRANSFORMS_DECODERCONTRACT_H
