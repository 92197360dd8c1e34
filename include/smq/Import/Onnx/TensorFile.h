//===- TensorFile.h - ONNX TensorProto files as host arrays -----*- C++ -*-===//
//
// ONNX's test data stores each input and output as a serialised
// TensorProto (input_0.pb, output_0.pb).
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_IMPORT_ONNX_TENSORFILE_H
#define SMQ_IMPORT_ONNX_TENSORFILE_H

#include "smq/Support/HostArray.h"

#include <optional>
#include <string>

namespace smq {

/// Reads a TensorProto .pb file. Returns nullopt and sets `why` on
/// malformed files, unsupported data types, or external data.
std::optional<HostArray> readOnnxTensorFile(const std::string &path,
                                            std::string *why);

} // namespace smq

#endif // SMQ_IMPORT_ONNX_TENSORFILE_H
