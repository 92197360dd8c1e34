//===- SmqDialect.h - smq dialect -------------------------------*- C++ -*-===//
#ifndef SMQ_DIALECT_SMQ_IR_SMQDIALECT_H
#define SMQ_DIALECT_SMQ_IR_SMQDIALECT_H

#include "mlir/IR/Dialect.h"

namespace smq {
class ProgressListener;
} // namespace smq

#include "smq/Dialect/Smq/IR/SmqDialect.h.inc"

#endif // SMQ_DIALECT_SMQ_IR_SMQDIALECT_H
