//===- ModelFile.h - reading ONNX model files -------------------*- C++ -*-===//
//
// What the importer and the exporter share: reading a model (binary
// protobuf, or ONNX's text syntax in .onnxtxt) and a tensor's external data
// reference, naming nodes, and asking libonnx's checker.
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

/// The name SMQ knows node `index` of a graph by: its own, or
/// `<op type>_<index>` for an unnamed node (diagnostics, `smq.onnx_node`).
std::string onnxNodeKey(const onnx::NodeProto &node, int index);

/// The newest ai.onnx opset libonnx knows: beyond it, its checker and shape
/// inference cannot judge a model.
int64_t libonnxMaxOpset();

/// Checks that every tensor held in the model (initializers, and tensor
/// attributes such as Constant's value, in subgraphs too) has as much data
/// as its type and shape say. libonnx's checker does not, and its shape
/// inference then reads past short raw data (a crash found by fuzzing).
bool checkOnnxTensorData(const onnx::GraphProto &graph, std::string *why);

/// Runs libonnx's checker on the model's graph, looking for external data
/// in `modelDir`. Returns false and sets `why` if the checker rejects it.
bool checkOnnxGraph(const onnx::ModelProto &model, const std::string &modelDir,
                    std::string *why);

} // namespace smq

#endif // SMQ_IMPORT_ONNX_MODELFILE_H
