//===- ConstantBytes.h - the raw bytes of a weight constant ----*- C++ -*-===//
#ifndef SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H
#define SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <optional>

namespace mlir::smq {

/// The bytes of a constant's value, dense or dense_resource; none for a
/// splat or a resource whose blob is gone.
inline std::optional<ArrayRef<char>> constantBytes(Attribute value) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    return blob->getData();
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    if (!dense.isSplat())
      return dense.getRawData();
  return std::nullopt;
}

} // namespace mlir::smq

#endif // SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H
