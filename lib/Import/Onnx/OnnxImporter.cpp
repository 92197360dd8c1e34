//===- OnnxImporter.cpp - ONNX ModelProto to the smq dialect --------------===//
//
// The driver: parse, validate with libonnx, map the graph signature, turn
// initializers into dense_resource constants, then run one import rule per
// node in order. Every ONNX-facing failure becomes a diagnostic at a location
// that names the model file (and the node, where there is one).
//
//===----------------------------------------------------------------------===//

#include "smq/Import/Onnx/OnnxImporter.h"

#include "NodeImporter.h"

#include "smq/Dialect/Smq/IR/ConstantBytes.h"
#include "smq/Import/Onnx/ModelFile.h"
#include "smq/Support/Paths.h"
#include "smq/Support/ShapeSpec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <climits>
#include <fcntl.h>
#include <set>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::onnx_import;

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

Type mlir::smq::onnx_import::convertElementType(MLIRContext *ctx,
                                                int32_t onnxType) {
  using TP = onnx::TensorProto;
  switch (onnxType) {
  case TP::FLOAT:
    return Float32Type::get(ctx);
  case TP::DOUBLE:
    return Float64Type::get(ctx);
  case TP::FLOAT16:
    return Float16Type::get(ctx);
  case TP::BFLOAT16:
    return BFloat16Type::get(ctx);
  case TP::BOOL:
    return IntegerType::get(ctx, 1);
  case TP::INT8:
    return IntegerType::get(ctx, 8);
  case TP::INT16:
    return IntegerType::get(ctx, 16);
  case TP::INT32:
    return IntegerType::get(ctx, 32);
  case TP::INT64:
    return IntegerType::get(ctx, 64);
  case TP::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case TP::UINT16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case TP::UINT32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case TP::UINT64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case kOnnxUint4:
    return IntegerType::get(ctx, 4, IntegerType::Unsigned);
  case kOnnxInt4:
    return IntegerType::get(ctx, 4);
  default:
    return nullptr;
  }
}

namespace {

/// Bytes per element as stored in raw_data and in MLIR blobs (bool: 1).
size_t storageBytes(Type elt) {
  unsigned bits = elt.getIntOrFloatBitWidth();
  return bits <= 8 ? 1 : bits / 8;
}

/// A read-only memory map of (part of) an external data file.
struct MappedRegion {
  void *base = nullptr;
  size_t length = 0;
  ~MappedRegion() {
    if (base)
      munmap(base, length);
  }
};

/// Maps `length` bytes at `offset` of `file`. The blob keeps the mapping
/// alive; the weights are never copied into the process's heap.
std::optional<AsmResourceBlob> mapExternalData(const std::string &file,
                                               uint64_t offset,
                                               uint64_t length, size_t align,
                                               std::string *why) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open external data file '" + file + "'";
    return std::nullopt;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || offset > static_cast<uint64_t>(st.st_size) ||
      length > static_cast<uint64_t>(st.st_size) - offset) {
    ::close(fd);
    *why = "external data file '" + file + "' is too short: it has " +
           std::to_string(st.st_size) + " bytes, the tensor needs " +
           std::to_string(length) + " at offset " + std::to_string(offset);
    return std::nullopt;
  }
  if (length == 0) {
    ::close(fd);
    return HeapAsmResourceBlob::allocate(0, align);
  }
  long page = sysconf(_SC_PAGESIZE);
  uint64_t start = offset - offset % page;
  size_t mapLen = length + (offset - start);
  void *base = mmap(nullptr, mapLen, PROT_READ, MAP_PRIVATE, fd, start);
  ::close(fd);
  if (base == MAP_FAILED) {
    *why = "cannot map external data file '" + file + "'";
    return std::nullopt;
  }
  const char *data = static_cast<const char *>(base) + (offset - start);
  if (reinterpret_cast<uintptr_t>(data) % align != 0) {
    // Misaligned for the element type: this one tensor is copied.
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(data, length), align);
    munmap(base, mapLen);
    return blob;
  }
  auto region = std::make_shared<MappedRegion>();
  region->base = base;
  region->length = mapLen;
  return AsmResourceBlob(
      ArrayRef<char>(data, length), align,
      [region](void *, size_t, size_t) mutable { region.reset(); },
      /*dataIsMutable=*/false);
}

} // namespace

/// Names an MLIR resource after an ONNX tensor name: resource keys must be
/// identifiers, and stable across re-imports.
std::string mlir::smq::onnx_import::resourceKey(const std::string &name) {
  std::string key;
  for (char c : name)
    key += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')
               ? c
               : '_';
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0])))
    key = "t_" + key;
  return key;
}

/// Serialises the typed repeated fields of a TensorProto to raw bytes.
bool mlir::smq::onnx_import::typedFieldsToRaw(const onnx::TensorProto &t,
                                              size_t bytes, int64_t count,
                                              std::string &raw) {
  using TP = onnx::TensorProto;
  // The field must hold `count` values before `count` is trusted for an
  // allocation: a few bytes of dims can claim gigabytes (found by fuzzing).
  int64_t held;
  switch (t.data_type()) {
  case TP::FLOAT: held = t.float_data_size(); break;
  case TP::DOUBLE: held = t.double_data_size(); break;
  case TP::INT64: held = t.int64_data_size(); break;
  case TP::UINT64:
  case TP::UINT32: held = t.uint64_data_size(); break;
  default: held = t.int32_data_size(); break;
  }
  if (held != count)
    return false;
  raw.resize(count * bytes);
  auto put = [&](int64_t k, uint64_t bits) {
    std::memcpy(&raw[k * bytes], &bits, bytes);
  };
  // An empty repeated field has no storage: memcpy must not see its null.
  auto copy = [&](const void *src, size_t n) {
    if (n)
      std::memcpy(raw.data(), src, n);
  };
  switch (t.data_type()) {
  case TP::FLOAT:
    if (t.float_data_size() != count)
      return false;
    copy(t.float_data().data(), count * 4);
    return true;
  case TP::DOUBLE:
    if (t.double_data_size() != count)
      return false;
    copy(t.double_data().data(), count * 8);
    return true;
  case TP::INT64:
    if (t.int64_data_size() != count)
      return false;
    copy(t.int64_data().data(), count * 8);
    return true;
  case TP::UINT64:
  case TP::UINT32:
    if (t.uint64_data_size() != count)
      return false;
    for (int64_t k = 0; k < count; ++k)
      put(k, t.uint64_data(k));
    return true;
  case TP::INT32:
  case TP::INT16:
  case TP::INT8:
  case TP::UINT16:
  case TP::UINT8:
  case TP::BOOL:
  case TP::FLOAT16:
  case TP::BFLOAT16:
    if (t.int32_data_size() != count)
      return false;
    for (int64_t k = 0; k < count; ++k)
      put(k, static_cast<uint64_t>(static_cast<int64_t>(t.int32_data(k))));
    return true;
  default:
    return false;
  }
}

ElementsAttr mlir::smq::onnx_import::convertTensor(
    MLIRContext *ctx, onnx::TensorProto &t, const std::string &name,
    const std::string &modelDir, bool forceResource, std::string *why) {
  Type elt = convertElementType(ctx, t.data_type());
  if (!elt) {
    *why = "tensor '" + name + "' has unsupported data type " +
           std::to_string(t.data_type());
    return nullptr;
  }
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  auto count = ::smq::elementCount(dims);
  if (!count) {
    *why = "tensor '" + name + "' has a negative or absurd shape";
    return nullptr;
  }
  auto type = RankedTensorType::get(dims, elt);
  size_t bytes = storageBytes(elt);
  // 4-bit tensors are stored two to a byte, low nibble first; SMQ keeps one
  // per byte (MLIR's storage of i4), so they are unpacked below.
  bool nibbles = elt.getIntOrFloatBitWidth() == 4;
  uint64_t needed = nibbles ? (static_cast<uint64_t>(*count) + 1) / 2
                            : static_cast<uint64_t>(*count) * bytes;
  if (nibbles && t.data_location() != onnx::TensorProto::EXTERNAL &&
      !t.has_raw_data()) {
    *why = "tensor '" + name + "' is 4-bit and must use raw_data";
    return nullptr;
  }

  std::optional<AsmResourceBlob> blob;
  std::string typedRaw;
  const std::string *raw = nullptr;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    ::smq::ExternalDataRef ref;
    ref.length = needed;
    if (!::smq::readExternalDataRef(t, ref, why))
      return nullptr;
    const std::string &location = ref.location;
    uint64_t offset = ref.offset, length = ref.length;
    bool hasLength = ref.hasLength;
    if (hasLength && length != needed) {
      *why = "tensor '" + name + "' declares " + std::to_string(length) +
             " bytes of external data but its shape needs " +
             std::to_string(needed);
      return nullptr;
    }
    if (modelDir.empty()) {
      *why = "tensor '" + name + "' refers to external data, which is only "
             "allowed for initializers";
      return nullptr;
    }
    std::string pathWhy;
    auto file = ::smq::resolveContainedPath(modelDir, location, &pathWhy);
    if (!file) {
      *why = pathWhy;
      return nullptr;
    }
    blob = mapExternalData(*file, offset, needed, bytes, why);
    if (!blob)
      return nullptr;
  } else if (t.has_raw_data()) {
    if (t.raw_data().size() != needed) {
      *why = "tensor '" + name + "' has " +
             std::to_string(t.raw_data().size()) +
             " bytes of data but its shape " + "needs " +
             std::to_string(needed);
      return nullptr;
    }
    raw = &t.raw_data();
  } else {
    if (!typedFieldsToRaw(t, bytes, *count, typedRaw)) {
      *why = "tensor '" + name + "' has " +
             "data that does not match its shape and type";
      return nullptr;
    }
    raw = &typedRaw;
  }

  if (nibbles) {
    ArrayRef<char> packed = blob ? blob->getData()
                                 : ArrayRef<char>(raw->data(), raw->size());
    bool isSigned = !elt.isUnsignedInteger();
    std::vector<char> unpacked(*count);
    for (int64_t i = 0; i < *count; ++i) {
      int v = (static_cast<uint8_t>(packed[i / 2]) >> (i % 2 * 4)) & 0xF;
      unpacked[i] = static_cast<char>(isSigned && v >= 8 ? v - 16 : v);
    }
    return bytesAttr(type, resourceKey(name), unpacked);
  }
  bool small = *count <= 16 && !blob;
  if (small && !forceResource) {
    // Scalars and tiny vectors stay inline, where a reader can see them.
    ArrayRef<char> data(raw->data(), raw->size());
    if (elt.isInteger(1)) {
      SmallVector<bool> values;
      for (char c : data)
        values.push_back(c != 0);
      return DenseElementsAttr::get(type, values);
    }
    bool detectedSplat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, data, detectedSplat)) {
      *why = "tensor '" + name + "' has a malformed buffer";
      return nullptr;
    }
    return DenseElementsAttr::getFromRawBuffer(type, data);
  }
  if (!blob) {
    if (raw == &t.raw_data() && raw->size() >= 64) {
      // Take the protobuf's buffer: the bytes are parsed once, never copied.
      auto *owned = new std::string(std::move(*t.mutable_raw_data()));
      blob = AsmResourceBlob(
          ArrayRef<char>(owned->data(), owned->size()), bytes,
          [owned](void *, size_t, size_t) { delete owned; },
          /*dataIsMutable=*/false);
    } else {
      blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(raw->data(), raw->size()), std::max<size_t>(bytes, 1));
    }
  }
  return DenseResourceElementsAttr::get(type, resourceKey(name),
                                        std::move(*blob));
}

//===----------------------------------------------------------------------===//
// NodeImporter
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *NodeImporter::attr(const std::string &name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeImporter::intAttr(const std::string &name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}

float NodeImporter::floatAttr(const std::string &name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string NodeImporter::stringAttr(const std::string &name,
                                     const std::string &dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt;
}

std::optional<SmallVector<int64_t>>
NodeImporter::intsAttr(const std::string &name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

static std::string nodeContext(const onnx::NodeProto &node, int64_t opset) {
  std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
  return "node '" + node.name() + "' (" + node.op_type() + ", domain '" +
         domain + "', opset " + std::to_string(opset) + "): ";
}

InFlightDiagnostic NodeImporter::error() {
  return emitError(loc) << nodeContext(node, opset);
}

LogicalResult NodeImporter::fail(const Twine &message) {
  return error() << message;
}

FailureOr<Value> NodeImporter::required(size_t i) {
  if (!hasInput(i)) {
    (void)fail("input " + Twine(i) + " is required");
    return failure();
  }
  return input(i);
}

FailureOr<SmallVector<int64_t>> NodeImporter::constantInts(size_t i,
                                                           StringRef what) {
  auto v = required(i);
  if (failed(v))
    return failure();
  auto ints = getConstantInts(*v);
  if (!ints) {
    (void)fail(Twine(what) + " must be a compile-time integer constant; it "
                             "is computed at run time here");
    return failure();
  }
  return *ints;
}

FailureOr<int64_t> NodeImporter::normalizeAxis(int64_t axis, int64_t rank,
                                               StringRef what) {
  if (axis < -rank || axis >= rank) {
    (void)fail(Twine(what) + " " + Twine(axis) + " is out of range for rank " +
               Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

FailureOr<int64_t> NodeImporter::rankOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t) {
    (void)fail("an input has unknown rank");
    return failure();
  }
  return t.getRank();
}

Value NodeImporter::constI64(ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()},
                                    builder.getI64Type());
  return ConstantOp::create(builder, loc,
                            DenseElementsAttr::get(type, values));
}

NodeImporter::CapturedDiagnostic::CapturedDiagnostic(MLIRContext *ctx) {
  handler.emplace(ctx, [this](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && message.empty())
      message = diag.str();
    return success();
  });
}

FailureOr<SmallVector<Value>>
NodeImporter::finish(Operation *op, CapturedDiagnostic &captured) {
  bool ok = succeeded(mlir::verify(op, /*verifyRecursively=*/false));
  for (Type t : op->getResultTypes())
    ok = ok && isa<RankedTensorType>(t);
  if (!ok) {
    std::string what = captured.message.empty()
                           ? "could not infer the result shape of '" +
                                 op->getName().getStringRef().str() + "'"
                           : captured.message;
    op->erase();
    // The capturing handler is still installed; report past it.
    captured.handler.reset();
    (void)fail(what);
    return failure();
  }
  SmallVector<Value> results;
  if (succeeded(builder.tryFold(op, results))) {
    if (results.empty())
      results.assign(op->result_begin(), op->result_end());
    else
      op->erase();
    return results;
  }
  return SmallVector<Value>(op->getResults());
}

//===----------------------------------------------------------------------===//
// The model
//===----------------------------------------------------------------------===//

namespace {

class ModelImporter {
public:
  ModelImporter(MLIRContext *ctx, const std::string &path,
                const OnnxImportOptions &options)
      : ctx(ctx), path(path), options(options),
        fileLoc(FileLineColLoc::get(ctx, path, 0, 0)),
        modelDir(::smq::parentFolder(path)) {}

  OwningOpRef<ModuleOp> run();

private:
  LogicalResult load();
  LogicalResult checkOpsets();
  LogicalResult applyInputShapes();
  LogicalResult applyBoundInputs();
  LogicalResult checkSupport();
  LogicalResult checkSupport(const onnx::GraphProto &graph);
  static bool isIf(const onnx::NodeProto &node) {
    return node.op_type() == "If" &&
           (node.domain().empty() || node.domain() == "ai.onnx");
  }
  /// Imports `graph`'s nodes at the builder's insertion point (the end of
  /// `entry`), reading and defining values in `values`. An If whose
  /// condition is a constant imports the branch it takes, inline.
  LogicalResult importNodes(onnx::GraphProto &graph, OpBuilder &builder,
                            Block *entry, llvm::StringMap<Value> &values);
  LogicalResult checkExternalData();
  LogicalResult validate();
  FailureOr<Type> convertValueType(const onnx::TypeProto &type,
                                   const std::string &what);
  LogicalResult importGraph(ModuleOp module);
  Location nodeLoc(const onnx::NodeProto &node, int index);

  InFlightDiagnostic error() { return emitError(fileLoc); }

  MLIRContext *ctx;
  std::string path;
  const OnnxImportOptions &options;
  Location fileLoc;
  std::string modelDir;
  onnx::ModelProto model;
  int64_t opset = 0;
};

LogicalResult ModelImporter::load() {
  std::string why;
  if (!::smq::readOnnxModel(path, model, &why))
    return error() << why;
  return success();
}

LogicalResult ModelImporter::checkOpsets() {
  bool found = false;
  for (const auto &imp : model.opset_import()) {
    const std::string &d = imp.domain();
    if (d.empty() || d == "ai.onnx") {
      opset = imp.version();
      found = true;
    }
  }
  if (!found)
    return error() << "the model imports no ai.onnx opset";
  if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset)
    return error() << "ai.onnx opset " << opset
                   << " is not supported (supported: " << kMinOnnxOpset
                   << " to " << kMaxOnnxOpset << ")";
  return success();
}

LogicalResult ModelImporter::applyInputShapes() {
  std::set<std::string> initializers;
  for (const auto &t : model.graph().initializer())
    initializers.insert(t.name());
  for (const auto &[name, dims] : options.inputShapes) {
    onnx::ValueInfoProto *input = nullptr;
    for (auto &vi : *model.mutable_graph()->mutable_input())
      if (vi.name() == name && !initializers.count(name))
        input = &vi;
    if (!input)
      return error() << "a shape is given for '" << name
                     << "', which is not a graph input";
    auto *tensor = input->mutable_type()->mutable_tensor_type();
    auto *shape = tensor->mutable_shape();
    if (tensor->has_shape() && shape->dim_size() != (int)dims.size())
      return error() << "the shape given for '" << name << "' has rank "
                     << dims.size() << " but the model declares rank "
                     << shape->dim_size();
    shape->clear_dim();
    for (int64_t d : dims)
      shape->add_dim()->set_dim_value(d);
  }
  return success();
}

LogicalResult ModelImporter::applyBoundInputs() {
  auto *graph = model.mutable_graph();
  for (const auto &[name, file] : options.boundInputs) {
    const onnx::ValueInfoProto *input = nullptr;
    for (const auto &vi : graph->input())
      if (vi.name() == name)
        input = &vi;
    if (!input)
      return error() << "--bind-input names '" << name
                     << "', which is not a graph input";
    onnx::TensorProto tensor;
    std::ifstream in(file, std::ios::binary);
    if (!in || !tensor.ParseFromIstream(&in))
      return emitError(FileLineColLoc::get(ctx, file, 0, 0))
             << "not a readable ONNX TensorProto";
    const auto &declared = input->type().tensor_type();
    if (tensor.data_type() != declared.elem_type())
      return emitError(FileLineColLoc::get(ctx, file, 0, 0))
             << "tensor for input '" << name << "' has data type "
             << tensor.data_type() << " but the input is declared "
             << declared.elem_type();
    if (declared.has_shape()) {
      bool match = declared.shape().dim_size() == tensor.dims_size();
      for (int i = 0; match && i < tensor.dims_size(); ++i) {
        const auto &d = declared.shape().dim(i);
        match = !d.has_dim_value() || d.dim_value() == tensor.dims(i);
      }
      if (!match)
        return emitError(FileLineColLoc::get(ctx, file, 0, 0))
               << "tensor for input '" << name
               << "' does not have the declared shape";
    }
    tensor.set_name(name);
    *graph->add_initializer() = std::move(tensor);
  }
  for (const auto &[name, value] : options.defaultBoolInputs) {
    if (options.boundInputs.count(name))
      continue;
    const onnx::ValueInfoProto *input = nullptr;
    for (const auto &vi : graph->input())
      if (vi.name() == name)
        input = &vi;
    if (!input)
      continue;
    const auto &declared = input->type().tensor_type();
    if (declared.elem_type() != onnx::TensorProto::BOOL)
      return error() << "graph input '" << name
                     << "' is expected to be bool, to be bound to "
                     << (value ? "true" : "false");
    onnx::TensorProto tensor;
    tensor.set_name(name);
    tensor.set_data_type(onnx::TensorProto::BOOL);
    if (declared.has_shape())
      for (const auto &d : declared.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() != 1)
          return error() << "graph input '" << name
                         << "' is expected to hold one value";
        tensor.add_dims(1);
      }
    tensor.add_int32_data(value);
    *graph->add_initializer() = std::move(tensor);
  }
  return success();
}

/// Confines and sizes every external data reference before anything opens
/// it, so that a hostile path is refused in SMQ's words.
LogicalResult ModelImporter::checkExternalData() {
  for (const auto &t : model.graph().initializer()) {
    std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
    if (!::smq::elementCount(dims))
      return emitError(NameLoc::get(StringAttr::get(ctx, t.name()), fileLoc))
             << "initializer '" << t.name()
             << "' has a negative or absurd shape";
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      continue;
    std::string location;
    for (const auto &kv : t.external_data())
      if (kv.key() == "location")
        location = kv.value();
    std::string why;
    if (!::smq::resolveContainedPath(modelDir, location, &why))
      return emitError(NameLoc::get(StringAttr::get(ctx, t.name()), fileLoc))
             << "initializer '" << t.name() << "': " << why;
  }
  return success();
}

/// Reports the first node SMQ has no rule for, before libonnx's checker can
/// reject it in its own words.
LogicalResult ModelImporter::checkSupport() {
  return checkSupport(model.graph());
}

LogicalResult ModelImporter::checkSupport(const onnx::GraphProto &graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    const std::string &domain = node.domain();
    if (isIf(node)) {
      for (const auto &a : node.attribute())
        if (a.has_g() && failed(checkSupport(a.g())))
          return failure();
      continue;
    }
    if (!domain.empty() && domain != "ai.onnx" && domain != "com.microsoft")
      return emitError(nodeLoc(node, i))
             << nodeContext(node, opset) << "domain '" << domain
             << "' is not supported";
    if (!lookupImportRule(domain, node.op_type()))
      return emitError(nodeLoc(node, i))
             << nodeContext(node, opset) << "op is not supported";
  }
  return success();
}

LogicalResult ModelImporter::validate() {
  std::string why;
  if (!::smq::checkOnnxTensorData(model.graph(), &why))
    return error() << why;
  // Beyond the newest opset libonnx knows, SMQ's own verifiers stand alone.
  if (opset > ::smq::libonnxMaxOpset())
    return success();
  registerContribSchemas();
  if (!::smq::checkOnnxGraph(model, modelDir, &why))
    return error() << "the ONNX checker rejects the model: " << why;
  try {
    onnx::ShapeInferenceOptions opts{/*check_type=*/true, /*error_mode=*/1,
                                     /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       opts);
  } catch (const std::exception &e) {
    return error() << "ONNX shape inference rejects the model: " << e.what();
  }
  return success();
}

FailureOr<Type> ModelImporter::convertValueType(const onnx::TypeProto &type,
                                                const std::string &what) {
  if (!type.has_tensor_type()) {
    (void)(error() << what << " is not a tensor");
    return failure();
  }
  const auto &tt = type.tensor_type();
  Type elt = convertElementType(ctx, tt.elem_type());
  if (!elt) {
    (void)(error() << what << " has unsupported element type "
                   << tt.elem_type());
    return failure();
  }
  if (!tt.has_shape())
    return Type(UnrankedTensorType::get(elt));
  SmallVector<int64_t> dims;
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > ::smq::kMaxElements) {
        (void)(error() << what << " has an absurd dim " << d.dim_value());
        return failure();
      }
      dims.push_back(d.dim_value());
    } else {
      dims.push_back(ShapedType::kDynamic);
    }
  }
  std::vector<int64_t> staticDims;
  for (int64_t d : dims)
    staticDims.push_back(ShapedType::isDynamic(d) ? 1 : d);
  if (!::smq::elementCount(staticDims)) {
    (void)(error() << what << " has an absurd number of elements");
    return failure();
  }
  return Type(RankedTensorType::get(dims, elt));
}

Location ModelImporter::nodeLoc(const onnx::NodeProto &node, int index) {
  return NameLoc::get(StringAttr::get(ctx, ::smq::onnxNodeKey(node, index)),
                      fileLoc);
}

LogicalResult ModelImporter::importGraph(ModuleOp module) {
  onnx::GraphProto &graph = *model.mutable_graph();
  OpBuilder builder(ctx);
  llvm::StringMap<Value> values;

  // Signature: graph inputs that are not initializers.
  std::set<std::string> initNames;
  for (const auto &t : graph.initializer())
    initNames.insert(t.name());
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<std::string> argNames;
  for (const auto &in : graph.input()) {
    if (initNames.count(in.name()))
      continue;
    auto type = convertValueType(in.type(), "graph input '" + in.name() + "'");
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    argNames.push_back(in.name());
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, fileLoc, options.entryName,
                                   builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name] = entry->getArgument(i);
    func.setArgAttr(i, "smq.name", builder.getStringAttr(name));
  }

  // Initializers become constants; weights stay as dense_resource blobs.
  for (auto &t : *graph.mutable_initializer()) {
    std::string why;
    std::string name = t.name();
    Location loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
    ElementsAttr attr = convertTensor(ctx, t, name, modelDir,
                                      /*forceResource=*/true, &why);
    if (!attr)
      return emitError(loc) << "initializer '" << name << "': " << why;
    values[name] = ConstantOp::create(builder, loc, attr);
  }

  if (failed(importNodes(graph, builder, entry, values)))
    return failure();

  SmallVector<Value> results;
  for (const auto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return error() << "graph output '" << out.name()
                     << "' is not produced by any node";
    results.push_back(it->second);
    resultTypes.push_back(it->second.getType());
  }
  func::ReturnOp::create(builder, fileLoc, results);
  // A DequantizeLinear no MatMul took is expanded to f32 once, here.
  for (Operation &op : llvm::make_early_inc_range(*entry))
    if (auto dq = dyn_cast<DequantizeOp>(op); dq && !dq->use_empty()) {
      SmallVector<Value> folded;
      builder.setInsertionPoint(dq);
      if (failed(builder.tryFold(dq, folded)) || folded.empty())
        return emitError(dq.getLoc()) << "could not expand a dequantized "
                                         "weight";
      dq.getResult().replaceAllUsesWith(folded[0]);
    }
  // Folding leaves the shape plumbing's constants behind; drop the dead ones
  // (weights no node uses go too).
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
    if (isOpTriviallyDead(&op))
      op.erase();
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "smq.name", builder.getStringAttr(out.name()));
  return success();
}

LogicalResult ModelImporter::importNodes(onnx::GraphProto &graph,
                                         OpBuilder &builder, Block *entry,
                                         llvm::StringMap<Value> &values) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    Location loc = nodeLoc(node, i);
    if (isIf(node)) {
      auto cond = node.input_size() ? values.find(node.input(0)) : values.end();
      Attribute known;
      std::optional<bool> taken;
      if (cond != values.end() &&
          matchPattern(cond->second, m_Constant(&known)))
        if (auto e = dyn_cast<ElementsAttr>(known);
            e && e.getNumElements() == 1 &&
            e.getElementType().isInteger(1)) {
          if (auto dense = dyn_cast<DenseElementsAttr>(e))
            taken = dense.getValues<bool>()[0];
          else if (auto bytes = constantBytes(e); bytes && !bytes->empty())
            taken = (*bytes)[0] != 0;
        }
      if (!taken)
        return emitError(loc)
               << nodeContext(node, opset)
               << "the condition must be known when the model is imported "
                  "(a constant, or an input bound with --bind-input); "
                  "merged decoders' use_cache_branch is bound to true";
      onnx::GraphProto *branch = nullptr;
      for (auto &a : *graph.mutable_node(i)->mutable_attribute())
        if (a.name() == (*taken ? "then_branch" : "else_branch") && a.has_g())
          branch = a.mutable_g();
      if (!branch)
        return emitError(loc) << nodeContext(node, opset) << "has no "
                              << (*taken ? "then_branch" : "else_branch");
      // The branch sees the outer values; its own names stay inside it.
      llvm::StringMap<Value> inner = values;
      for (auto &t : *branch->mutable_initializer()) {
        std::string why;
        ElementsAttr attr = convertTensor(ctx, t, t.name(), modelDir,
                                          /*forceResource=*/true, &why);
        if (!attr)
          return emitError(loc) << "initializer '" << t.name() << "': " << why;
        inner[t.name()] = ConstantOp::create(
            builder, NameLoc::get(builder.getStringAttr(t.name()), fileLoc),
            attr);
      }
      if (failed(importNodes(*branch, builder, entry, inner)))
        return failure();
      if (branch->output_size() != node.output_size())
        return emitError(loc) << nodeContext(node, opset) << "the branch has "
                              << branch->output_size() << " outputs, the node "
                              << node.output_size();
      for (int k = 0; k < node.output_size(); ++k) {
        auto it = inner.find(branch->output(k).name());
        if (it == inner.end())
          return emitError(loc) << nodeContext(node, opset) << "branch output '"
                                << branch->output(k).name()
                                << "' is not produced by its nodes";
        if (!node.output(k).empty())
          values[node.output(k)] = it->second;
      }
      continue;
    }
    // checkSupport() refused unknown domains and ops before validation.
    ImportRule rule = lookupImportRule(node.domain(), node.op_type());
    SmallVector<Value> inputs;
    for (const std::string &name : node.input()) {
      if (name.empty()) {
        inputs.push_back(Value());
        continue;
      }
      auto it = values.find(name);
      if (it == values.end())
        return emitError(loc) << nodeContext(node, opset) << "input '" << name
                              << "' is not produced by an earlier node";
      inputs.push_back(it->second);
    }
    NodeImporter importer(builder, node, opset, loc, std::move(inputs),
                          modelDir);
    SmallVector<Value> outputs;
    Operation *last = entry->empty() ? nullptr : &entry->back();
    if (failed(rule(importer, outputs)))
      return failure();
    // Name the weight-bearing ops after their node, for --export-onnx.
    for (Operation &op : llvm::make_range(
             last ? std::next(last->getIterator()) : entry->begin(),
             entry->end())) {
      Value weight;
      if (auto mm = dyn_cast<MatMulOp>(op))
        weight = mm.getRhs();
      else if (auto gemm = dyn_cast<GemmOp>(op))
        weight = gemm.getB();
      else if (isa<QuantizedMatMulOp>(op))
        weight = op.getOperand(1);
      if (weight && weight.getDefiningOp<ConstantOp>())
        op.setAttr(kOnnxNodeAttr, cast<NameLoc>(loc).getName());
    }
    for (int k = 0; k < node.output_size(); ++k) {
      if (node.output(k).empty())
        continue;
      if (k >= (int)outputs.size() || !outputs[k])
        return emitError(loc) << nodeContext(node, opset) << "output " << k
                              << " is not supported";
      values[node.output(k)] = outputs[k];
    }
  }

  return success();
}

OwningOpRef<ModuleOp> ModelImporter::run() {
  if (failed(load()) || failed(checkOpsets()) || failed(applyInputShapes()) ||
      failed(applyBoundInputs()) || failed(checkSupport()) ||
      failed(checkExternalData()) ||
      failed(validate()))
    return nullptr;
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  Builder b(ctx);
  (*module)->setAttr("smq.source", b.getStringAttr(path));
  (*module)->setAttr("smq.onnx_opset", b.getI64IntegerAttr(opset));
  if (!model.producer_name().empty())
    (*module)->setAttr("smq.producer", b.getStringAttr(model.producer_name()));
  if (failed(importGraph(*module)))
    return nullptr;
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

} // namespace

OwningOpRef<ModuleOp>
mlir::smq::importOnnxFile(const std::string &path, MLIRContext *context,
                          const OnnxImportOptions &options) {
  context->loadDialect<SmqDialect, func::FuncDialect>();
  ModelImporter importer(context, path, options);
  try {
    return importer.run();
  } catch (const std::exception &e) {
    emitError(FileLineColLoc::get(context, path, 0, 0))
        << "import failed: " << e.what();
    return nullptr;
  }
}

bool mlir::smq::isSupportedOnnxOp(const std::string &domain,
                                  const std::string &opType, int64_t opset) {
  if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset)
    return false;
  return lookupImportRule(domain, opType) != nullptr;
}

std::vector<std::string> mlir::smq::supportedOnnxOps() {
  return importRuleNames();
}

void mlir::smq::registerImportDialects(DialectRegistry &registry) {
  registry.insert<SmqDialect, func::FuncDialect>();
}
