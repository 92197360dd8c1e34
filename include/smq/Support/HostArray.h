//===- HostArray.h - a dense array in host memory, and .npy I/O -*- C++ -*-===//
//
// The form model inputs and outputs take outside compiled code: a dtype, a
// shape, and row-major little-endian bytes. Plain C++, no MLIR types.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_HOSTARRAY_H
#define SMQ_SUPPORT_HOSTARRAY_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smq {

enum class DType { F16, F32, F64, Bool, I8, I16, I32, I64, U8, U16, U32, U64 };

/// Bytes per element (bool: 1).
size_t dtypeSize(DType t);
/// A readable name ("float32", "int64", ...).
const char *dtypeName(DType t);

struct HostArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> bytes;

  int64_t numElements() const;
  template <typename T> const T *data() const {
    return reinterpret_cast<const T *>(bytes.data());
  }
  template <typename T> T *data() { return reinterpret_cast<T *>(bytes.data()); }
  /// Element k converted to double (for comparisons and reports).
  double at(int64_t k) const;
};

/// Reads a NumPy .npy file (format 1.0-3.0, C order, little-endian).
std::optional<HostArray> readNpy(const std::string &path, std::string *why);
/// Serialises `a` as a .npy file image.
std::string npyBytes(const HostArray &a);

} // namespace smq

#endif // SMQ_SUPPORT_HOSTARRAY_H
