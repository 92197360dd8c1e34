//===- TensorFile.cpp -----------------------------------------------------===//
#include "smq/Import/Onnx/TensorFile.h"

#include "NodeImporter.h"

#include "smq/Support/ShapeSpec.h"

#include <fstream>

namespace smq {

static std::optional<DType> dtypeOf(int32_t t) {
  using TP = onnx::TensorProto;
  switch (t) {
  case TP::FLOAT16: return DType::F16;
  case TP::FLOAT: return DType::F32;
  case TP::DOUBLE: return DType::F64;
  case TP::BOOL: return DType::Bool;
  case TP::INT8: return DType::I8;
  case TP::INT16: return DType::I16;
  case TP::INT32: return DType::I32;
  case TP::INT64: return DType::I64;
  case TP::UINT8: return DType::U8;
  case TP::UINT16: return DType::U16;
  case TP::UINT32: return DType::U32;
  case TP::UINT64: return DType::U64;
  default: return std::nullopt;
  }
}

std::optional<HostArray> readOnnxTensorFile(const std::string &path,
                                            std::string *why) {
  onnx::TensorProto t;
  std::ifstream in(path, std::ios::binary);
  if (!in || !t.ParseFromIstream(&in)) {
    *why = "'" + path + "' is not a readable ONNX TensorProto";
    return std::nullopt;
  }
  auto dtype = dtypeOf(t.data_type());
  if (!dtype) {
    *why = "'" + path + "' has unsupported data type " +
           std::to_string(t.data_type());
    return std::nullopt;
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    *why = "'" + path + "' refers to external data";
    return std::nullopt;
  }
  HostArray a;
  a.dtype = *dtype;
  a.shape.assign(t.dims().begin(), t.dims().end());
  auto count = elementCount(a.shape);
  if (!count) {
    *why = "'" + path + "' has an absurd shape";
    return std::nullopt;
  }
  size_t bytes = dtypeSize(a.dtype);
  std::string raw;
  if (t.has_raw_data()) {
    raw = t.raw_data();
    if (raw.size() != static_cast<size_t>(*count) * bytes) {
      *why = "'" + path + "' has data that does not match its shape";
      return std::nullopt;
    }
  } else if (!mlir::smq::onnx_import::typedFieldsToRaw(t, bytes, *count, raw)) {
    *why = "'" + path + "' has data that does not match its shape";
    return std::nullopt;
  }
  a.bytes.assign(raw.begin(), raw.end());
  return a;
}

} // namespace smq
