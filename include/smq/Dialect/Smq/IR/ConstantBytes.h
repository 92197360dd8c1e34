//===- ConstantBytes.h - the raw bytes of a weight constant ----*- C++ -*-===//
#ifndef SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H
#define SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <algorithm>
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

/// The alignment a resource blob of `type`'s values needs: its element
/// size (at least 1).
inline size_t elementAlignment(ShapedType type) {
  return std::max<size_t>(1,
                          type.getElementType().getIntOrFloatBitWidth() / 8);
}

/// A dense_resource value of `type` holding a copy of `bytes`, aligned to
/// its element size, under `key` (made unique by the resource manager).
inline DenseResourceElementsAttr bytesAttr(ShapedType type, StringRef key,
                                           ArrayRef<char> bytes) {
  return DenseResourceElementsAttr::get(
      type, key,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes,
                                                    elementAlignment(type)));
}

} // namespace mlir::smq

#endif // SMQ_DIALECT_SMQ_IR_CONSTANTBYTES_H
