//===- FunctionSegments.h - a function cut into runnable pieces -*- C++ -*-===//
//
// Sequential quantization runs a model one stage at a time on the
// calibration windows, as the GPTQ reference does block by block: each
// stage's inputs come from running only the ops since the last stage, on
// the values the previous segment left, rather than the whole model again.
// This cuts a function's body into consecutive segments, each a module of
// its own that the execution interface compiles.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_TRANSFORMS_FUNCTIONSEGMENTS_H
#define SMQ_TRANSFORMS_FUNCTIONSEGMENTS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/DenseMap.h"

#include <vector>

namespace mlir::smq {

struct FunctionSegments {
  /// live[j]: what segment j takes, in its arguments' order. live[0] is the
  /// function's arguments; after that, every value defined before the cut
  /// (an argument, or a result of an op that is not constant-like) that an
  /// op at or after the cut uses. Constants are not carried: each segment
  /// has its own copy of those it uses.
  std::vector<SmallVector<Value>> live;
  /// Segment j as a module with one function, `main`: arguments live[j];
  /// results live[j + 1] (none for the last segment), then extra[j].
  std::vector<OwningOpRef<ModuleOp>> modules;
};

/// Cuts `func` (one block) before each of `cuts`, ops of that block in
/// program order, so segment j runs from cut j - 1 (or the start) up to cut
/// j (or the return). `extra[j]` are values segment j also returns; each
/// must be defined before its end. Emits an error at `func` and fails if the
/// cuts are not ops of the block in order, or an extra value is not
/// available in its segment.
FailureOr<FunctionSegments> cutFunction(func::FuncOp func,
                                        ArrayRef<Operation *> cuts,
                                        ArrayRef<SmallVector<Value>> extra);

/// The bytes one value takes (a shape not known statically: 1 TiB, so
/// that a cut never prefers it).
int64_t valueBytes(Value v);

/// The bytes live before each op of `func`'s one block, as cutFunction
/// carries values, computed once for the whole body.
class CutWidths {
public:
  explicit CutWidths(func::FuncOp func);
  /// The op after `after` (null: after the first op) and up to `upTo`
  /// before which the fewest bytes are live; the latest among equals.
  /// Where sequential quantization holds every calibration window's values:
  /// before a LayerNorm, only the residual stream is live, not the
  /// residual and its normalized copy.
  Operation *narrowest(Operation *after, Operation *upTo) const;

private:
  std::vector<Operation *> ops;
  /// Each op's position in `ops`, and the bytes live before each op.
  llvm::DenseMap<Operation *, int64_t> position;
  std::vector<int64_t> bytesBefore;
};

} // namespace mlir::smq

#endif // SMQ_TRANSFORMS_FUNCTIONSEGMENTS_H
