//===- ModelFile.cpp - reading ONNX model files ---------------------------===//

#include "smq/Import/Onnx/ModelFile.h"

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
