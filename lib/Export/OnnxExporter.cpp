//===- OnnxExporter.cpp - a quantized model back to ONNX ------------------===//
//
// The source model is loaded (external data read in), each node that SMQ
// quantized is replaced in place, the tensors the old nodes alone used are
// dropped, the opsets are raised where the new ops need it, and the result
// is checked and written. See include/smq/Export/OnnxExporter.h.
//
//===----------------------------------------------------------------------===//

#include "smq/Export/OnnxExporter.h"

#include "smq/Dialect/Smq/IR/ConstantBytes.h"
#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Import/Onnx/ModelFile.h"
#include "smq/Import/Onnx/OnnxImporter.h"
#include "smq/Quant/CodeLayout.h"
#include "smq/Support/AtomicFile.h"
#include "smq/Support/Paths.h"

#include "mlir/IR/Diagnostics.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <set>

using namespace mlir;
using namespace mlir::smq;
namespace q = ::smq::quant;

namespace {

/// One quantized weight of the module, host side.
struct QWeight {
  Operation *op;
  Operation *codesOp; // the constant the codes come from (tied weights share it)
  std::string node;
  int bits;
  int64_t group, n, k;
  // Views of the module's constants, which outlive the export.
  ArrayRef<uint8_t> codes; // SMQ rows
  ArrayRef<float> scales, zeros;

  int64_t groups() const { return (k + group - 1) / group; }
  bool symmetric() const {
    for (float z : zeros)
      if (z != static_cast<float>(1 << (bits - 1)))
        return false;
    return true;
  }
};

onnx::TensorProto rawTensor(const std::string &name, int32_t type,
                            std::vector<int64_t> dims, const void *data,
                            size_t size) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims)
    t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char *>(data), size));
  return t;
}

void setInt(onnx::NodeProto &node, const std::string &name, int64_t v) {
  auto *a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

/// The bytes of a tensor's data from its type and shape, if SMQ knows the
/// type's size.
std::optional<uint64_t> tensorBytes(const onnx::TensorProto &t) {
  uint64_t count = 1;
  for (int64_t d : t.dims())
    count *= static_cast<uint64_t>(d);
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return count * 4;
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    return count * 8;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return count * 2;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
    return count;
  case kOnnxInt4:
  case kOnnxUint4:
    return (count + 1) / 2;
  default:
    return std::nullopt;
  }
}

/// Copies `length` bytes at `offset` of `file` to `os`, a piece at a time.
bool copyBytes(const std::string &file, uint64_t offset, uint64_t length,
               std::ostream &os) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return false;
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<char> piece(std::min<uint64_t>(length, uint64_t(16) << 20));
  while (length > 0) {
    std::streamsize n = static_cast<std::streamsize>(
        std::min<uint64_t>(length, piece.size()));
    if (!in.read(piece.data(), n) || !os.write(piece.data(), n))
      return false;
    length -= static_cast<uint64_t>(n);
  }
  return true;
}

class Exporter {
public:
  Exporter(ModuleOp module, const OnnxExportOptions &options)
      : module(module), options(options), ctx(module.getContext()) {}

  LogicalResult run(const std::string &outputPath);

private:
  LogicalResult loadSource();
  LogicalResult collect();
  LogicalResult replace(const QWeight &w, int index,
                        const onnx::NodeProto *dqSource,
                        std::vector<onnx::NodeProto> &out);
  std::string freshName(const std::string &stem);
  std::string claim(const std::string &reuse, const std::string &stem);
  LogicalResult raiseOpset(int64_t to);
  void dropDead(std::vector<std::string> roots);
  LogicalResult check();
  LogicalResult write(const std::string &outputPath);

  InFlightDiagnostic sourceError() {
    return emitError(FileLineColLoc::get(ctx, sourcePath, 0, 0));
  }

  ModuleOp module;
  const OnnxExportOptions &options;
  MLIRContext *ctx;
  std::string sourcePath;
  bool sourceHadExternal = false;
  std::string sourceDir;
  /// Where the source keeps each initializer stored as external data.
  struct ExternalBytes {
    std::string file;
    uint64_t offset, length;
  };
  std::map<std::string, ExternalBytes> external;
  onnx::ModelProto model;
  std::vector<QWeight> weights;
  std::set<std::string> names;
  /// Initializers already written for a codes constant (tied weights).
  std::map<Operation *, std::array<std::string, 3>> written;
  bool warnedWiden = false;
};

LogicalResult Exporter::loadSource() {
  sourcePath = options.source;
  if (sourcePath.empty()) {
    auto attr = module->getAttrOfType<StringAttr>("smq.source");
    if (!attr)
      return emitError(module.getLoc())
             << "the module records no source model (smq.source); name the "
                "ONNX model it came from with --source";
    sourcePath = attr.str();
  }
  std::string why;
  if (!::smq::readOnnxModel(sourcePath, model, &why))
    return sourceError() << why;

  // External data stays where it is until the output is written: weights
  // SMQ replaces are never read, and the others are copied through.
  sourceDir = ::smq::parentFolder(sourcePath);
  for (auto &t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    sourceHadExternal = true;
    ::smq::ExternalDataRef ref;
    if (!::smq::readExternalDataRef(t, ref, &why))
      return sourceError() << why;
    auto file = ::smq::resolveContainedPath(sourceDir, ref.location, &why);
    if (!file)
      return sourceError() << "initializer '" << t.name() << "': " << why;
    std::ifstream in(*file, std::ios::binary | std::ios::ate);
    if (!in)
      return sourceError() << "initializer '" << t.name()
                           << "': cannot open external data '" << ref.location
                           << "'";
    uint64_t fileSize = static_cast<uint64_t>(in.tellg());
    if (!ref.hasLength) {
      auto bytes = tensorBytes(t);
      if (!bytes)
        return sourceError() << "initializer '" << t.name()
                             << "': external data without a length, of a type "
                                "whose size SMQ does not know";
      ref.length = *bytes;
    }
    if (ref.offset > fileSize || ref.length > fileSize - ref.offset)
      return sourceError() << "initializer '" << t.name()
                           << "': external data '" << ref.location
                           << "' is shorter than the tensor";
    external[t.name()] = {*file, ref.offset, ref.length};
  }

  for (const auto &t : model.graph().initializer())
    names.insert(t.name());
  for (const auto &v : model.graph().input())
    names.insert(v.name());
  for (const auto &node : model.graph().node())
    for (const auto &o : node.output())
      names.insert(o);
  return success();
}

LogicalResult Exporter::collect() {
  bool failedAny = false;
  module.walk([&](QuantizedMatMulOp op) {
    auto fail = [&](const Twine &why) {
      op.emitError(why);
      failedAny = true;
    };
    auto node = op->getAttrOfType<StringAttr>(kOnnxNodeAttr);
    if (!node)
      return fail("names no ONNX node (smq.onnx_node): export needs a module "
                  "imported from ONNX and quantized by SMQ");
    if (op.getPacked())
      return fail("holds codes in the kernels' packed layout: export the "
                  "module before --smq-pack-quantized-weights");
    auto codesOp = op.getCodes().getDefiningOp<ConstantOp>();
    auto scalesOp = op.getScales().getDefiningOp<ConstantOp>();
    auto zerosOp = op.getZeroPoints().getDefiningOp<ConstantOp>();
    if (!codesOp || !scalesOp || !zerosOp)
      return fail("codes, scales and zero points must be constants");
    auto codes = constantBytes(codesOp.getValue());
    auto scales = constantBytes(scalesOp.getValue());
    auto zeros = constantBytes(zerosOp.getValue());
    if (!codes || !scales || !zeros)
      return fail("codes, scales or zero points have no data (a splat or a "
                  "missing resource blob)");
    QWeight w;
    w.op = op;
    w.codesOp = codesOp;
    w.node = node.str();
    w.bits = static_cast<int>(op.getBits());
    w.group = op.getGroupSize();
    w.n = cast<ShapedType>(op.getCodes().getType()).getDimSize(0);
    w.k = cast<ShapedType>(op.getLhs().getType()).getShape().back();
    w.codes = ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(codes->data()), codes->size());
    w.scales = ArrayRef<float>(reinterpret_cast<const float *>(scales->data()),
                               scales->size() / sizeof(float));
    w.zeros = ArrayRef<float>(reinterpret_cast<const float *>(zeros->data()),
                              zeros->size() / sizeof(float));
    weights.push_back(std::move(w));
  });
  if (failedAny)
    return failure();
  if (weights.empty())
    return emitError(module.getLoc())
           << "the module has no quantized matmul to export; quantize it "
              "first (--smq-quantize-weights)";
  return success();
}

std::string Exporter::freshName(const std::string &stem) {
  std::string name = stem;
  for (int i = 1; names.count(name); ++i)
    name = stem + "_" + std::to_string(i);
  names.insert(name);
  return name;
}

/// `reuse` (an initializer of the source being replaced, which goes) if
/// given, else a fresh name from `stem`.
std::string Exporter::claim(const std::string &reuse, const std::string &stem) {
  if (reuse.empty())
    return freshName(stem);
  external.erase(reuse);
  auto *inits = model.mutable_graph()->mutable_initializer();
  for (int i = 0; i < inits->size(); ++i)
    if (inits->Get(i).name() == reuse) {
      inits->DeleteSubrange(i, 1);
      break;
    }
  names.insert(reuse);
  return reuse;
}

/// The tensor named `name` among the initializers, or null.
const onnx::TensorProto *findInitializer(const onnx::GraphProto &g,
                                         const std::string &name) {
  for (const auto &t : g.initializer())
    if (t.name() == name)
      return &t;
  return nullptr;
}

LogicalResult Exporter::replace(const QWeight &w0, int index,
                                const onnx::NodeProto *dqSource,
                                std::vector<onnx::NodeProto> &out) {
  const onnx::NodeProto &node = model.graph().node(index);
  const std::string &type = node.op_type();
  auto fail = [&](const Twine &why) {
    return w0.op->emitError("node '")
           << w0.node << "' (" << type << ") of " << sourcePath << ": "
           << why;
  };
  auto intAttr = [&](const char *name, int64_t dflt) {
    for (const auto &a : node.attribute())
      if (a.name() == name)
        return a.i();
    return dflt;
  };
  auto floatAttr = [&](const char *name, float dflt) {
    for (const auto &a : node.attribute())
      if (a.name() == name)
        return a.f();
    return dflt;
  };
  std::string a = node.input_size() > 0 ? node.input(0) : "";
  std::string bias;
  bool isMatMul = type == "MatMul" && node.domain().empty();
  bool isGemm = type == "Gemm" && node.domain().empty();
  bool isNBits = type == "MatMulNBits" && node.domain() == "com.microsoft";
  bool isQuantizedSource = isNBits;
  if (!isMatMul && !isGemm && !isNBits)
    return fail("only MatMul, Gemm and MatMulNBits nodes can take a quantized "
                "weight");
  if (a.empty() || node.input_size() < 2)
    return fail("the node has no weight input");
  std::string weightName = node.input(1);
  if (isGemm) {
    if (intAttr("transA", 0) != 0)
      return fail("Gemm with transA is not exported");
    if (floatAttr("alpha", 1.0f) != 1.0f)
      return fail("Gemm with alpha != 1 is not exported");
    if (node.input_size() > 2 && !node.input(2).empty()) {
      if (floatAttr("beta", 1.0f) != 1.0f)
        return fail("Gemm with beta != 1 is not exported");
      bias = node.input(2);
    }
  }
  if (isNBits && node.input_size() > 5)
    bias = node.input(5);
  // A module kept with dynamic dims (a decoder with a KV cache) may not
  // know K from the matmul's input: take it from the source's weight, and
  // check it against the codes and scales SMQ wrote.
  int64_t k = w0.k;
  if (ShapedType::isDynamic(k)) {
    const auto *t = findInitializer(model.graph(), weightName);
    if (isNBits)
      k = intAttr("K", -1);
    else if (t && t->dims_size() == 2)
      k = t->dims(isGemm && intAttr("transB", 0) ? 1 : 0);
    int64_t rowBytes = (k * w0.bits + 7) / 8, groups = (k + w0.group - 1) /
                                                       std::max<int64_t>(1, w0.group);
    if (k <= 0 || int64_t(w0.codes.size()) != w0.n * rowBytes ||
        int64_t(w0.scales.size()) != w0.n * groups)
      return fail("the quantized weight's reduction dim is not known, and "
                  "the source's weight '" +
                  weightName + "' does not match its codes");
  }
  // The source's own weight shape must be the one SMQ quantized.
  if (const auto *t = findInitializer(model.graph(), weightName);
      t && (isMatMul || isGemm)) {
    std::vector<int64_t> want = {k, w0.n};
    if (isGemm && intAttr("transB", 0))
      want = {w0.n, k};
    if (std::vector<int64_t>(t->dims().begin(), t->dims().end()) != want)
      return fail("its weight '" + weightName +
                  "' does not have the shape SMQ quantized (" +
                  Twine(want[0]) + "x" + Twine(want[1]) +
                  "): is this the model the module was imported from?");
  }
  if (isNBits && (intAttr("K", -1) != k || intAttr("N", -1) != w0.n))
    return fail("K and N differ from the quantized weight's");

  QWeight w = w0;
  w.k = k;
  std::vector<uint8_t> widened;
  if (w.bits == 3) {
    if (!options.widen3Bit)
      return fail("the weight is quantized to 3 bits, which ONNX has no type "
                  "for and MatMulNBits refuses; quantize to 2 or 4 bits, or "
                  "pass --widen-3bit to store the 3-bit codes as 4-bit ones");
    widened = q::widenCodes(w.codes.data(), w.n, w.k, 3, 4);
    w.codes = widened;
    w.bits = 4;
    if (!warnedWiden) {
      emitWarning(w0.op->getLoc())
          << "3-bit weights are written as 4-bit codes (same values, 4.x "
             "bits per weight in the file)";
      warnedWiden = true;
    }
  }
  const bool nbits = options.form == OnnxExportForm::MatMulNBits;
  if (nbits) {
    if (w.bits != 2 && w.bits != 4 && w.bits != 8)
      return fail("MatMulNBits takes 2, 4 or 8 bits, not " + Twine(w.bits));
    if (w.group < 16 || (w.group & (w.group - 1)))
      return fail("MatMulNBits needs a block size that is a power of two of "
                  "at least 16; the weight has groups of " + Twine(w.group));
  } else if (w.bits != 4 && w.bits != 8) {
    return fail("DequantizeLinear takes 4- or 8-bit weights (int4/uint4, "
                "int8/uint8), not " + Twine(w.bits) +
                " bits; use --form matmulnbits");
  }

  int64_t g = w.groups();
  bool symmetric = w.symmetric();
  std::string stem = weightName.empty() ? node.name() : weightName;
  auto found = written.find(w.codesOp);
  // A source that was quantized already keeps its tensors' names.
  std::array<std::string, 3> reuse;
  for (int j = 0; j < 3; ++j) {
    if (isNBits && node.input_size() > j + 1)
      reuse[j] = node.input(j + 1);
    if (dqSource && dqSource->input_size() > j)
      reuse[j] = dqSource->input(j);
  }

  if (nbits) {
    // Keep explicit zero points where the source MatMulNBits had them.
    bool sourceHadZp = isNBits && node.input_size() > 3 &&
                       !node.input(3).empty();
    bool omitZp = symmetric && !sourceHadZp;
    bool floatZp = !q::zeroPointsAreCodes(w.zeros.data(), w.zeros.size(),
                                          w.bits);
    std::array<std::string, 3> init;
    if (found != written.end()) {
      init = found->second;
    } else {
      auto *graph = model.mutable_graph();
      init[0] = claim(reuse[0], stem + "_Q" + std::to_string(w.bits));
      std::vector<uint8_t> b =
          q::toMatMulNBitsCodes(w.codes.data(), w.n, w.k, w.bits, w.group);
      *graph->add_initializer() =
          rawTensor(init[0], onnx::TensorProto::UINT8,
                    {w.n, g, w.group * w.bits / 8}, b.data(), b.size());
      init[1] = claim(reuse[1], stem + "_scales");
      *graph->add_initializer() =
          rawTensor(init[1], onnx::TensorProto::FLOAT, {w.n * g},
                    w.scales.data(), w.scales.size() * 4);
      if (!omitZp) {
        init[2] = claim(reuse[2], stem + "_zero_points");
        if (floatZp) {
          *graph->add_initializer() =
              rawTensor(init[2], onnx::TensorProto::FLOAT, {w.n * g},
                        w.zeros.data(), w.zeros.size() * 4);
        } else {
          std::vector<uint8_t> z =
              q::packZeroPoints(w.zeros.data(), w.n, g, w.bits);
          *graph->add_initializer() =
              rawTensor(init[2], onnx::TensorProto::UINT8,
                        {static_cast<int64_t>(z.size())}, z.data(), z.size());
        }
      }
      written[w.codesOp] = init;
    }
    onnx::NodeProto nb;
    nb.set_name(node.name());
    nb.set_op_type("MatMulNBits");
    nb.set_domain("com.microsoft");
    nb.add_input(a);
    nb.add_input(init[0]);
    nb.add_input(init[1]);
    nb.add_input(init[2]);
    // A bias MatMulNBits takes: an [N] initializer.
    const onnx::TensorProto *bt =
        bias.empty() ? nullptr : findInitializer(model.graph(), bias);
    bool biasInput = bt && bt->dims_size() == 1 && bt->dims(0) == w.n &&
                     bt->data_type() == onnx::TensorProto::FLOAT;
    std::string y = node.output(0);
    if (biasInput) {
      nb.add_input("");
      nb.add_input(bias);
    } else {
      while (nb.input_size() > 0 && nb.input(nb.input_size() - 1).empty())
        nb.mutable_input()->RemoveLast();
    }
    setInt(nb, "K", w.k);
    setInt(nb, "N", w.n);
    setInt(nb, "bits", w.bits);
    setInt(nb, "block_size", w.group);
    setInt(nb, "accuracy_level", options.accuracyLevel);
    if (!bias.empty() && !biasInput) {
      std::string tmp = freshName(y + "_nobias");
      nb.add_output(tmp);
      out.push_back(nb);
      onnx::NodeProto add;
      add.set_name(freshName(node.name().empty() ? "bias_add"
                                                 : node.name() + "_bias"));
      add.set_op_type("Add");
      add.add_input(tmp);
      add.add_input(bias);
      add.add_output(y);
      out.push_back(add);
    } else {
      nb.add_output(y);
      out.push_back(nb);
    }
    return success();
  }

  // DequantizeLinear of a K×N weight, blocks along K, then the original op.
  if (!q::zeroPointsAreCodes(w.zeros.data(), w.zeros.size(), w.bits))
    return fail("the zero points are not whole codes, which DequantizeLinear "
                "cannot hold; use --form matmulnbits");
  int offset = symmetric ? 1 << (w.bits - 1) : 0;
  std::array<std::string, 3> init;
  if (found != written.end()) {
    init = found->second;
  } else {
    auto *graph = model.mutable_graph();
    int32_t type = w.bits == 4 ? (symmetric ? kOnnxInt4 : kOnnxUint4)
                               : (symmetric ? onnx::TensorProto::INT8
                                            : onnx::TensorProto::UINT8);
    init[0] = claim(reuse[0], stem + "_Q" + std::to_string(w.bits));
    std::vector<uint8_t> x =
        q::toOnnxKxN(w.codes.data(), w.n, w.k, w.bits, w.bits, offset);
    *graph->add_initializer() =
        rawTensor(init[0], type, {w.k, w.n}, x.data(), x.size());
    // Scales are G×N: transpose SMQ's N×G.
    std::vector<float> s(w.scales.size());
    for (int64_t r = 0; r < w.n; ++r)
      for (int64_t j = 0; j < g; ++j)
        s[j * w.n + r] = w.scales[r * g + j];
    init[1] = claim(reuse[1], stem + "_scales");
    *graph->add_initializer() = rawTensor(init[1], onnx::TensorProto::FLOAT,
                                          {g, w.n}, s.data(), s.size() * 4);
    if (!symmetric) {
      init[2] = claim(reuse[2], stem + "_zero_points");
      std::vector<uint8_t> z =
          q::zerosToOnnxGxN(w.zeros.data(), w.n, g, w.bits, 0);
      *graph->add_initializer() =
          rawTensor(init[2], type, {g, w.n}, z.data(), z.size());
    }
    written[w.codesOp] = init;
  }
  std::string weight = dqSource ? dqSource->output(0)
                                : freshName(stem + "_dequantized");
  onnx::NodeProto dq;
  dq.set_name(dqSource ? dqSource->name()
                       : freshName(stem + "_DequantizeLinear"));
  dq.set_op_type("DequantizeLinear");
  dq.add_input(init[0]);
  dq.add_input(init[1]);
  if (!init[2].empty())
    dq.add_input(init[2]);
  dq.add_output(weight);
  setInt(dq, "axis", 0);
  setInt(dq, "block_size", w.group);
  out.push_back(dq);

  onnx::NodeProto mm;
  if (isGemm) {
    mm = node;
    mm.set_input(1, weight);
    for (auto &attr : *mm.mutable_attribute())
      if (attr.name() == "transB")
        attr.set_i(0);
  } else {
    mm.set_name(node.name());
    mm.set_op_type("MatMul");
    mm.add_input(a);
    mm.add_input(weight);
  }
  if (isQuantizedSource && !bias.empty()) {
    std::string tmp = freshName(node.output(0) + "_nobias");
    mm.add_output(tmp);
    out.push_back(mm);
    onnx::NodeProto add;
    add.set_name(freshName(node.name() + "_bias"));
    add.set_op_type("Add");
    add.add_input(tmp);
    add.add_input(bias);
    add.add_output(node.output(0));
    out.push_back(add);
  } else {
    if (!isGemm)
      mm.add_output(node.output(0));
    out.push_back(mm);
  }
  return success();
}

/// Removes the initializers and nodes that only fed the replaced nodes.
void Exporter::dropDead(std::vector<std::string> roots) {
  auto *graph = model.mutable_graph();
  std::set<std::string> removedInits;
  while (!roots.empty()) {
    std::string name = roots.back();
    roots.pop_back();
    if (name.empty())
      continue;
    bool used = false;
    for (const auto &node : graph->node())
      for (const auto &in : node.input())
        used = used || in == name;
    for (const auto &o : graph->output())
      used = used || o.name() == name;
    if (used)
      continue;
    auto *inits = graph->mutable_initializer();
    for (int i = 0; i < inits->size(); ++i)
      if (inits->Get(i).name() == name) {
        inits->DeleteSubrange(i, 1);
        removedInits.insert(name);
        break;
      }
    auto *nodes = graph->mutable_node();
    for (int i = 0; i < nodes->size(); ++i) {
      const auto &node = nodes->Get(i);
      bool produces = false, allDead = true;
      for (const auto &o : node.output()) {
        produces = produces || o == name;
        if (o != name && !o.empty()) {
          bool oUsed = false;
          for (const auto &n2 : graph->node())
            for (const auto &in : n2.input())
              oUsed = oUsed || in == o;
          allDead = allDead && !oUsed;
        }
      }
      if (produces && allDead) {
        for (const auto &in : node.input())
          roots.push_back(in);
        nodes->DeleteSubrange(i, 1);
        break;
      }
    }
  }
  // Old IR versions list initializers among the graph inputs too.
  auto *inputs = graph->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i)
    if (removedInits.count(inputs->Get(i).name()))
      inputs->DeleteSubrange(i, 1);
}

/// Raises the default domain's opset to `to` (for DequantizeLinear's
/// block_size), rewriting the ops whose signature changed on the way.
LogicalResult Exporter::raiseOpset(int64_t to) {
  onnx::OperatorSetIdProto *def = nullptr;
  for (auto &imp : *model.mutable_opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      def = &imp;
  if (!def)
    return sourceError() << "the model imports no ai.onnx opset";
  int64_t from = def->version();
  if (from >= to)
    return success();
  static const std::set<std::string> reduceWithAxesInput = {
      "ReduceMean", "ReduceMax",       "ReduceMin",      "ReduceProd",
      "ReduceL1",   "ReduceL2",        "ReduceLogSum",   "ReduceLogSumExp",
      "ReduceSumSquare"};
  auto *graph = model.mutable_graph();
  for (int i = 0; i < graph->node_size(); ++i) {
    onnx::NodeProto &node = *graph->mutable_node(i);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      continue;
    for (const auto &attr : node.attribute())
      if (attr.type() == onnx::AttributeProto::GRAPH ||
          attr.type() == onnx::AttributeProto::GRAPHS)
        return sourceError()
               << "node '" << node.name() << "' (" << node.op_type()
               << ") has a subgraph; the QDQ form needs opset 21 and SMQ "
                  "does not raise the opset of subgraphs (use --form "
                  "matmulnbits)";
    if (node.op_type() == "GroupNormalization" && from < 21)
      return sourceError() << "node '" << node.name()
                           << "' (GroupNormalization) changed meaning at "
                              "opset 21; use --form matmulnbits";
    if (from < 18 && reduceWithAxesInput.count(node.op_type())) {
      // Opset 18 moved `axes` from an attribute to an input.
      auto *attrs = node.mutable_attribute();
      for (int j = 0; j < attrs->size(); ++j) {
        if (attrs->Get(j).name() != "axes")
          continue;
        std::vector<int64_t> axes(attrs->Get(j).ints().begin(),
                                  attrs->Get(j).ints().end());
        attrs->DeleteSubrange(j, 1);
        std::string name = freshName(::smq::onnxNodeKey(node, i) + "_axes");
        *graph->add_initializer() =
            rawTensor(name, onnx::TensorProto::INT64,
                      {static_cast<int64_t>(axes.size())}, axes.data(),
                      axes.size() * 8);
        node.add_input(name);
        break;
      }
    }
  }
  def->set_version(to);
  if (model.ir_version() < 10)
    model.set_ir_version(10);
  return success();
}

LogicalResult Exporter::check() {
  int64_t opset = 0;
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  if (opset > ::smq::libonnxMaxOpset())
    return success(); // libonnx does not know this opset: nothing to ask it
  // External data the output keeps is still the source's, so the checker
  // looks for it in the source's folder.
  std::string why;
  if (!::smq::checkOnnxGraph(model, sourceDir, &why))
    return emitError(module.getLoc())
           << "the ONNX checker rejects the exported model: " << why;
  return success();
}

LogicalResult Exporter::write(const std::string &outputPath) {
  auto *graph = model.mutable_graph();
  uint64_t total = 0;
  for (const auto &t : graph->initializer()) {
    auto it = external.find(t.name());
    total += it != external.end() ? it->second.length : t.raw_data().size();
  }
  bool toFile = options.externalData == ExternalData::Always ||
                (options.externalData == ExternalData::Auto &&
                 (sourceHadExternal || total > (uint64_t(1) << 30)));
  std::string why;
  if (!toFile) {
    // Everything inline: read the source's external data in.
    if (total > (uint64_t(1) << 31) - (uint64_t(64) << 20))
      return emitError(FileLineColLoc::get(ctx, outputPath, 0, 0))
             << "the weights (" << total << " bytes) do not fit in one "
             << "protobuf; use --external-data always";
    for (auto &t : *graph->mutable_initializer()) {
      auto it = external.find(t.name());
      if (it == external.end())
        continue;
      std::ostringstream bytes;
      if (!copyBytes(it->second.file, it->second.offset, it->second.length,
                     bytes))
        return sourceError() << "initializer '" << t.name()
                             << "': cannot read its external data";
      t.clear_external_data();
      t.clear_data_location();
      t.set_raw_data(bytes.str());
    }
  } else {
    std::string location = StringRef(outputPath).rsplit('/').second.str();
    if (location.empty())
      location = outputPath;
    location += ".data";
    std::string dataPath = outputPath + ".data";
    std::string failedOn;
    bool ok = ::smq::writeFileAtomically(
        dataPath,
        [&](std::ostream &os) {
          uint64_t offset = 0;
          for (auto &t : *graph->mutable_initializer()) {
            auto it = external.find(t.name());
            bool fromSource = it != external.end();
            uint64_t length =
                fromSource ? it->second.length : t.raw_data().size();
            if (!fromSource &&
                static_cast<int64_t>(length) < options.externalThreshold)
              continue;
            uint64_t pad = (64 - offset % 64) % 64;
            static const char zeros[64] = {};
            os.write(zeros, static_cast<std::streamsize>(pad));
            offset += pad;
            if (fromSource) {
              if (!copyBytes(it->second.file, it->second.offset, length, os)) {
                failedOn = t.name();
                return false;
              }
            } else {
              os.write(t.raw_data().data(),
                       static_cast<std::streamsize>(length));
              t.clear_raw_data();
            }
            t.clear_external_data();
            t.set_data_location(onnx::TensorProto::EXTERNAL);
            auto add = [&](const std::string &k, const std::string &v) {
              auto *kv = t.add_external_data();
              kv->set_key(k);
              kv->set_value(v);
            };
            add("location", location);
            add("offset", std::to_string(offset));
            add("length", std::to_string(length));
            offset += length;
          }
          return static_cast<bool>(os);
        },
        &why);
    if (!failedOn.empty())
      return sourceError() << "initializer '" << failedOn
                           << "': cannot read its external data";
    if (!ok)
      return emitError(FileLineColLoc::get(ctx, dataPath, 0, 0)) << why;
  }
  if (!::smq::writeFileAtomically(
          outputPath,
          [&](std::ostream &os) { return model.SerializeToOstream(&os); },
          &why))
    return emitError(FileLineColLoc::get(ctx, outputPath, 0, 0)) << why;
  return success();
}

LogicalResult Exporter::run(const std::string &outputPath) {
  if (failed(loadSource()) || failed(collect()))
    return failure();
  std::map<std::string, int> byName;
  for (int i = 0; i < model.graph().node_size(); ++i)
    byName.emplace(::smq::onnxNodeKey(model.graph().node(i), i), i);
  std::map<int, const QWeight *> replaced;
  for (const QWeight &w : weights) {
    auto it = byName.find(w.node);
    if (it == byName.end())
      return w.op->emitError("node '")
             << w.node << "' is not in " << sourcePath
             << ": is this the model the module was imported from?";
    if (replaced.count(it->second))
      return w.op->emitError("node '")
             << w.node << "' is quantized twice in the module";
    replaced[it->second] = &w;
  }
  // A MatMul whose weight is a DequantizeLinear of its own (an imported
  // QDQ model) replaces that node too.
  const onnx::GraphProto &graph0 = model.graph();
  std::map<int, int> dqOf;
  std::set<int> absorbed;
  for (const auto &[i, w] : replaced) {
    const onnx::NodeProto &node = graph0.node(i);
    if (node.op_type() != "MatMul" || node.input_size() < 2)
      continue;
    int uses = 0;
    for (const auto &n2 : graph0.node())
      for (const auto &in : n2.input())
        uses += in == node.input(1);
    for (int j = 0; j < i && uses == 1; ++j) {
      const onnx::NodeProto &p = graph0.node(j);
      if (p.op_type() == "DequantizeLinear" &&
          (p.domain().empty() || p.domain() == "ai.onnx") &&
          p.output_size() == 1 && p.output(0) == node.input(1)) {
        dqOf[i] = j;
        absorbed.insert(j);
      }
    }
  }
  std::vector<onnx::NodeProto> nodes;
  std::vector<std::string> roots;
  for (int i = 0; i < graph0.node_size(); ++i) {
    if (absorbed.count(i))
      continue;
    auto it = replaced.find(i);
    if (it == replaced.end()) {
      nodes.push_back(graph0.node(i));
      continue;
    }
    const onnx::NodeProto &old = graph0.node(i);
    for (int j = 1; j < old.input_size(); ++j)
      roots.push_back(old.input(j));
    const onnx::NodeProto *dq = nullptr;
    if (auto d = dqOf.find(i); d != dqOf.end()) {
      dq = &graph0.node(d->second);
      roots.insert(roots.end(), dq->input().begin(), dq->input().end());
    }
    // The first refusal says it all: the others would repeat it.
    if (failed(replace(*it->second, i, dq, nodes)))
      return failure();
  }
  auto *graph = model.mutable_graph();
  graph->clear_node();
  for (auto &node : nodes)
    *graph->add_node() = std::move(node);
  dropDead(roots);

  if (options.form == OnnxExportForm::MatMulNBits) {
    bool has = false;
    for (const auto &imp : model.opset_import())
      has = has || imp.domain() == "com.microsoft";
    if (!has) {
      auto *imp = model.add_opset_import();
      imp->set_domain("com.microsoft");
      imp->set_version(1);
    }
  } else if (failed(raiseOpset(21))) {
    return failure();
  }
  if (failed(check()))
    return failure();
  return write(outputPath);
}

} // namespace

LogicalResult mlir::smq::exportOnnx(ModuleOp module,
                                    const std::string &outputPath,
                                    const OnnxExportOptions &options) {
  return Exporter(module, options).run(outputPath);
}
