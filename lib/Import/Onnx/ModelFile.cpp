//===- ModelFile.cpp - reading ONNX model files ---------------------------===//

#include "smq/Import/Onnx/ModelFile.h"
#include "smq/Support/ShapeSpec.h"

#include <cmath>

#include <onnx/checker.h>
#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>
#include <unordered_map>

bool smq::readOnnxModel(const std::string &path, onnx::ModelProto &model,
                        std::string *why) {
  size_t dot = path.rfind('.');
  if (dot != std::string::npos && path.substr(dot) == ".onnxtxt") {
    std::ifstream in(path);
    if (!in) {
      *why = "cannot open the model file";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string src = ss.str();
    try {
      auto status = onnx::OnnxParser::Parse(model, src.c_str());
      if (!status.IsOK()) {
        *why = "malformed ONNX text: " + status.ErrorMessage();
        return false;
      }
    } catch (const std::exception &e) {
      *why = std::string("malformed ONNX text: ") + e.what();
      return false;
    }
    return true;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open the model file";
    return false;
  }
  google::protobuf::io::FileInputStream stream(fd);
  stream.SetCloseOnDelete(true);
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    *why = "not a valid ONNX model: the protobuf is malformed or truncated";
    return false;
  }
  if (!model.has_graph()) {
    *why = "not a valid ONNX model: it has no graph";
    return false;
  }
  return true;
}

bool smq::readExternalDataRef(const onnx::TensorProto &t, ExternalDataRef &ref,
                              std::string *why) {
  for (const auto &kv : t.external_data()) {
    const std::string &v = kv.value();
    bool numeric = !v.empty() && v.size() <= 19 &&
                   v.find_first_not_of("0123456789") == std::string::npos;
    if (kv.key() == "location") {
      ref.location = v;
    } else if ((kv.key() == "offset" || kv.key() == "length") && !numeric) {
      *why = "tensor '" + t.name() + "' has a malformed external " + kv.key() +
             " '" + v + "'";
      return false;
    } else if (kv.key() == "offset") {
      ref.offset = std::stoull(v);
    } else if (kv.key() == "length") {
      ref.length = std::stoull(v);
      ref.hasLength = true;
    }
  }
  return true;
}

std::string smq::onnxNodeKey(const onnx::NodeProto &node, int index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                             : node.name();
}

int64_t smq::libonnxMaxOpset() {
  const auto &map =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto it = map.find(onnx::ONNX_DOMAIN);
  return it == map.end() ? 0 : it->second.second;
}

namespace {
/// Bytes per element of a TensorProto data type with fixed-size elements
/// (0.5 for the 4-bit ones), or 0.
double elementBytes(int32_t type) {
  using TP = onnx::TensorProto;
  switch (type) {
  case TP::FLOAT: case TP::INT32: case TP::UINT32: return 4;
  case TP::DOUBLE: case TP::INT64: case TP::UINT64: case TP::COMPLEX64:
    return 8;
  case TP::COMPLEX128: return 16;
  case TP::INT16: case TP::UINT16: case TP::FLOAT16: case TP::BFLOAT16:
    return 2;
  case TP::INT8: case TP::UINT8: case TP::BOOL: return 1;
  case 17: case 18: case 19: case 20: return 1; // the float8 types
  case 21: case 22: return 0.5;                 // uint4, int4
  default: return 0;
  }
}

bool checkTensor(const onnx::TensorProto &t, const std::string &where,
                 std::string *why) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  auto count = ::smq::elementCount(dims);
  if (!count) {
    *why = where + " has a negative or absurd shape";
    return false;
  }
  double bytes = elementBytes(t.data_type());
  if (t.data_location() == onnx::TensorProto::EXTERNAL || bytes == 0 ||
      !t.has_raw_data())
    return true;
  uint64_t needed = static_cast<uint64_t>(std::ceil(bytes * double(*count)));
  if (t.raw_data().size() != needed) {
    *why = where + " has " + std::to_string(t.raw_data().size()) +
           " bytes of raw data; its type and shape need " +
           std::to_string(needed);
    return false;
  }
  return true;
}
} // namespace

bool smq::checkOnnxTensorData(const onnx::GraphProto &graph,
                              std::string *why) {
  for (const auto &t : graph.initializer())
    if (!checkTensor(t, "initializer '" + t.name() + "'", why))
      return false;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    for (const auto &a : node.attribute()) {
      std::string where = "attribute '" + a.name() + "' of node '" +
                          onnxNodeKey(node, i) + "' (" + node.op_type() + ")";
      if (a.has_t() && !checkTensor(a.t(), where, why))
        return false;
      for (const auto &t : a.tensors())
        if (!checkTensor(t, where, why))
          return false;
      if (a.has_g() && !checkOnnxTensorData(a.g(), why))
        return false;
      for (const auto &g : a.graphs())
        if (!checkOnnxTensorData(g, why))
          return false;
    }
  }
  return true;
}

bool smq::checkOnnxGraph(const onnx::ModelProto &model,
                         const std::string &modelDir, std::string *why) {
  try {
    // check_model(ModelProto) would look for external data relative to the
    // working directory; check the graph with the model's folder instead.
    onnx::checker::CheckerContext ctx;
    ctx.set_ir_version(static_cast<int>(model.ir_version()));
    std::unordered_map<std::string, int> opsets;
    for (const auto &imp : model.opset_import())
      opsets[imp.domain()] = static_cast<int>(imp.version());
    ctx.set_opset_imports(opsets);
    ctx.set_model_dir(modelDir);
    onnx::checker::LexicalScopeContext lex;
    onnx::checker::check_graph(model.graph(), ctx, lex);
  } catch (const std::exception &e) {
    *why = e.what();
    return false;
  }
  return true;
}
