//===- ModelFile.h - reading ONNX model files -------------------*- C++ -*-===//
//
// What the importer and the exporter both read: a model (binary protobuf,
// or ONNX's text syntax in .onnxtxt) and a tensor's external data
// reference.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_IMPORT_ONNX_MODELFILE_H
#define SMQ_IMPORT_ONNX_MODELFILE_H

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

namespace smq {

/// Reads `path` into `model`. Returns false and sets `why` (a sentence
/// without the path) if the file cannot be opened, is malformed or
/// truncated, or has no graph.
bool readOnnxModel(const std::string &path, onnx::ModelProto &model,
                   std::string *why);

/// Where a tensor's external data is.
struct ExternalDataRef {
  std::string location;
  uint64_t offset = 0, length = 0;
  bool hasLength = false;
};

/// The external data reference of `t`; false with `why` if an offset or
/// length is not a number.
bool readExternalDataRef(const onnx::TensorProto &t, ExternalDataRef &ref,
                         std::string *why);

} // namespace smq

#endif // SMQ_IMPORT_ONNX_MODELFILE_H
