//===- SmqOps.cpp - smq dialect: types, inference, verifiers -------------===//
//
// Result-type inference is deliberately lenient: when operands are
// inconsistent it returns an unranked tensor instead of failing, so that
// building an op never aborts. The op's verifier then reports the exact
// problem at the op's location (the ONNX node), which is what importer
// users see.
//
//===----------------------------------------------------------------------===//

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "smq/Dialect/Smq/IR/SmqExecutionInterface.h"
#include "smq/Dialect/Smq/IR/ConstantBytes.h"
#include "smq/Quant/CodeLayout.h"
#include "smq/Runtime/PackedLayout.h"

#include "HostTensor.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::smq;

#include "smq/Dialect/Smq/IR/SmqDialect.cpp.inc"

MLIR_DEFINE_EXPLICIT_TYPE_ID(mlir::smq::SmqExecutionInterface)

void SmqDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "smq/Dialect/Smq/IR/SmqOps.cpp.inc"
      >();
}

Operation *SmqDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}

bool mlir::smq::areCompatibleResultTypes(TypeRange inferred,
                                         TypeRange declared) {
  if (inferred.size() != declared.size())
    return false;
  for (auto [a, b] : llvm::zip(inferred, declared)) {
    auto sa = dyn_cast<ShapedType>(a), sb = dyn_cast<ShapedType>(b);
    if (!sa || !sb || sa.getElementType() != sb.getElementType())
      return false;
    if (failed(verifyCompatibleShape(a, b)))
      return false;
  }
  return true;
}

DenseResourceElementsAttr mlir::smq::getWeightAttr(Value value) {
  auto c = value.getDefiningOp<ConstantOp>();
  auto res = c ? dyn_cast<DenseResourceElementsAttr>(c.getValue())
               : DenseResourceElementsAttr();
  if (!res || cast<ShapedType>(res.getType()).getRank() != 2)
    return nullptr;
  return res;
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kDyn = ShapedType::kDynamic;

Type elementTypeOf(Type t) { return cast<ShapedType>(t).getElementType(); }

std::optional<SmallVector<int64_t>> shapeOf(Type t) {
  auto ranked = dyn_cast<RankedTensorType>(t);
  if (!ranked)
    return std::nullopt;
  return SmallVector<int64_t>(ranked.getShape());
}

Type tensorOf(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

Type unrankedOf(Type elementType) {
  return UnrankedTensorType::get(elementType);
}

/// Maps a possibly negative axis into [0, rank); nullopt if out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

bool isPermutation(ArrayRef<int64_t> perm) {
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

bool isSortedUnique(ArrayRef<int64_t> axes, int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank)
      return false;
    if (i > 0 && axes[i] <= axes[i - 1])
      return false;
  }
  return true;
}

LogicalResult broadcastAll(ArrayRef<Type> types,
                           SmallVectorImpl<int64_t> &result) {
  result.clear();
  bool first = true;
  for (Type t : types) {
    auto shape = shapeOf(t);
    if (!shape)
      return failure();
    if (first) {
      result.assign(shape->begin(), shape->end());
      first = false;
      continue;
    }
    SmallVector<int64_t> out;
    if (!OpTrait::util::getBroadcastedShape(result, *shape, out))
      return failure();
    result = std::move(out);
  }
  return success();
}

/// Result shape of ONNX Reshape; sets `why` and returns nullopt if the
/// target is inconsistent with the input.
std::optional<SmallVector<int64_t>>
reshapeResult(ArrayRef<int64_t> in, ArrayRef<int64_t> target, bool allowzero,
              std::string *why) {
  SmallVector<int64_t> out;
  int64_t inferAt = -1;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == -1) {
      if (inferAt >= 0) {
        *why = "more than one -1 in the target shape";
        return std::nullopt;
      }
      inferAt = i;
      out.push_back(kDyn);
    } else if (d == 0 && !allowzero) {
      if (static_cast<int64_t>(i) >= static_cast<int64_t>(in.size())) {
        *why = "target dim " + std::to_string(i) +
               " is 0 (copy) but the input has rank " +
               std::to_string(in.size());
        return std::nullopt;
      }
      out.push_back(in[i]);
    } else if (d < 0) {
      *why = "negative target dim " + std::to_string(d);
      return std::nullopt;
    } else {
      out.push_back(d);
    }
  }
  bool inStatic = llvm::none_of(in, ShapedType::isDynamic);
  if (!inStatic)
    return out;
  int64_t inCount = 1;
  for (int64_t d : in)
    inCount *= d;
  int64_t known = 1;
  bool outStatic = true;
  for (auto [i, d] : llvm::enumerate(out)) {
    if (static_cast<int64_t>(i) == inferAt)
      continue;
    if (ShapedType::isDynamic(d)) {
      outStatic = false;
      continue;
    }
    known *= d;
  }
  if (!outStatic)
    return out;
  if (inferAt >= 0) {
    if (known == 0 || inCount % known != 0) {
      *why = "cannot infer the -1 dim: " + std::to_string(inCount) +
             " elements do not divide into " + std::to_string(known);
      return std::nullopt;
    }
    out[inferAt] = inCount / known;
  } else if (known != inCount) {
    *why = "target shape has " + std::to_string(known) +
           " elements but the input has " + std::to_string(inCount);
    return std::nullopt;
  }
  return out;
}

/// Number of elements ONNX Slice keeps from a dim of size `dim`.
int64_t sliceLength(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start + step - 1) / step : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end + (-step) - 1) / (-step) : 0;
}

} // namespace

//===----------------------------------------------------------------------===//
// Broadcasting elementwise ops
//===----------------------------------------------------------------------===//

static LogicalResult inferBroadcast(ValueRange operands, Type elementType,
                                    SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> shape;
  SmallVector<Type> types(operands.getTypes());
  if (failed(broadcastAll(types, shape)))
    results.push_back(unrankedOf(elementType));
  else
    results.push_back(tensorOf(shape, elementType));
  return success();
}

#define SMQ_COMPATIBLE_RESULTS(OP)                                             \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return areCompatibleResultTypes(l, r);                                     \
  }

#define SMQ_INFER_BINARY(OP)                                                   \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,  \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBroadcast(adaptor.getOperands(),                              \
                          elementTypeOf(adaptor.getLhs().getType()), results); \
  }                                                                            \
  SMQ_COMPATIBLE_RESULTS(OP)

SMQ_INFER_BINARY(AddOp)
SMQ_INFER_BINARY(SubOp)
SMQ_INFER_BINARY(MulOp)
SMQ_INFER_BINARY(DivOp)
SMQ_INFER_BINARY(PowOp)
SMQ_INFER_BINARY(MaxOp)
SMQ_INFER_BINARY(MinOp)

/// Comparisons broadcast like the arithmetic ops and give i1.
#define SMQ_INFER_COMPARISON(OP)                                               \
  LogicalResult OP::inferReturnTypes(MLIRContext *ctx,                         \
                                     std::optional<Location>, Adaptor adaptor, \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBroadcast(adaptor.getOperands(), IntegerType::get(ctx, 1),     \
                          results);                                            \
  }                                                                            \
  SMQ_COMPATIBLE_RESULTS(OP)

SMQ_INFER_COMPARISON(EqualOp)
SMQ_INFER_COMPARISON(LessOp)
SMQ_INFER_COMPARISON(LessEqualOp)

SMQ_INFER_BINARY(AndOp)
SMQ_INFER_BINARY(OrOp)
SMQ_INFER_BINARY(XorOp)

LogicalResult WhereOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  return inferBroadcast(adaptor.getOperands(),
                        elementTypeOf(adaptor.getX().getType()), results);
}
SMQ_COMPATIBLE_RESULTS(WhereOp)

LogicalResult WhereOp::verify() {
  if (elementTypeOf(getX().getType()) != elementTypeOf(getY().getType()))
    return emitOpError("x and y must have the same element type");
  if (elementTypeOf(getX().getType()) != elementTypeOf(getType()))
    return emitOpError("result element type must match x");
  return success();
}

//===----------------------------------------------------------------------===//
// Unary ops, normalisations
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getInput().getType());
  if (type && (getAxisAttr().getInt() < 0 || getAxisAttr().getInt() >= type.getRank()))
    return emitOpError("axis ") << getAxisAttr().getInt() << " is out of range for rank "
                                << type.getRank();
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getInput().getType());
  if (!type)
    return success();
  int64_t rank = type.getRank();
  if (getAxisAttr().getInt() < 0 || getAxisAttr().getInt() >= rank)
    return emitOpError("axis ") << getAxisAttr().getInt() << " is out of range for rank "
                                << rank;
  ArrayRef<int64_t> normShape = type.getShape().drop_front(getAxisAttr().getInt());
  auto checkParam = [&](Value v, StringRef what) -> LogicalResult {
    if (!v)
      return success();
    if (elementTypeOf(v.getType()) != type.getElementType())
      return emitOpError() << what << " element type must match the input";
    auto shape = shapeOf(v.getType());
    if (!shape)
      return success();
    SmallVector<int64_t> out;
    if (shape->size() > normShape.size() ||
        !OpTrait::util::getBroadcastedShape(normShape, *shape, out) ||
        failed(verifyCompatibleShape(out, normShape)))
      return emitOpError() << what << " of shape " << v.getType()
                           << " does not broadcast to the normalised dims";
    return success();
  };
  if (failed(checkParam(getScale(), "scale")) ||
      failed(checkParam(getBias(), "bias")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(Type inputType, ArrayRef<int64_t> axes,
                                 bool keepdims,
                                 SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(inputType);
  auto shape = shapeOf(inputType);
  if (!shape || !isSortedUnique(axes, shape->size())) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(*shape)) {
    bool reduced = axes.empty() || llvm::is_contained(axes, (int64_t)i);
    if (!reduced)
      out.push_back(d);
    else if (keepdims)
      out.push_back(1);
  }
  results.push_back(tensorOf(out, elt));
  return success();
}

static LogicalResult verifyReduce(Operation *op, Type inputType,
                                  ArrayRef<int64_t> axes) {
  auto shape = shapeOf(inputType);
  if (shape && !isSortedUnique(axes, shape->size()))
    return op->emitOpError("axes must be sorted, unique and within rank ")
           << shape->size();
  return success();
}

#define SMQ_REDUCE(OP)                                                         \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,  \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferReduce(adaptor.getInput().getType(), adaptor.getAxes(),       \
                       adaptor.getKeepdims(), results);                        \
  }                                                                            \
  LogicalResult OP::verify() {                                                 \
    return verifyReduce(*this, getInput().getType(), getAxes());               \
  }                                                                            \
  SMQ_COMPATIBLE_RESULTS(OP)

SMQ_REDUCE(ReduceMeanOp)
SMQ_REDUCE(ReduceSumOp)
SMQ_REDUCE(ReduceMaxOp)

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// Result shape of a batched matmul, or a reason it has none.
static std::optional<SmallVector<int64_t>>
matmulShape(Type lhs, Type rhs, std::string *why) {
  auto a = shapeOf(lhs), b = shapeOf(rhs);
  if (!a || !b)
    return std::nullopt;
  if (a->size() < 2 || b->size() < 2) {
    *why = "operands must have rank >= 2";
    return std::nullopt;
  }
  int64_t k1 = a->back(), k2 = (*b)[b->size() - 2];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2) {
    *why = "contraction dims differ: " + std::to_string(k1) + " vs " +
           std::to_string(k2);
    return std::nullopt;
  }
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(ArrayRef(*a).drop_back(2),
                                          ArrayRef(*b).drop_back(2), batch)) {
    *why = "batch dims do not broadcast";
    return std::nullopt;
  }
  batch.push_back((*a)[a->size() - 2]);
  batch.push_back(b->back());
  return batch;
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  std::string why;
  Type elt = elementTypeOf(adaptor.getLhs().getType());
  auto shape =
      matmulShape(adaptor.getLhs().getType(), adaptor.getRhs().getType(), &why);
  results.push_back(shape ? tensorOf(*shape, elt) : unrankedOf(elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(MatMulOp)

LogicalResult MatMulOp::verify() {
  std::string why;
  if (!matmulShape(getLhs().getType(), getRhs().getType(), &why) &&
      !why.empty())
    return emitOpError(why) << ": " << getLhs().getType() << " x "
                            << getRhs().getType();
  return success();
}

static std::optional<SmallVector<int64_t>>
gemmShape(Type a, Type b, bool transA, bool transB, std::string *why) {
  auto sa = shapeOf(a), sb = shapeOf(b);
  if (!sa || !sb)
    return std::nullopt;
  if (sa->size() != 2 || sb->size() != 2) {
    *why = "A and B must be 2-D";
    return std::nullopt;
  }
  int64_t m = transA ? (*sa)[1] : (*sa)[0], k1 = transA ? (*sa)[0] : (*sa)[1];
  int64_t k2 = transB ? (*sb)[1] : (*sb)[0], n = transB ? (*sb)[0] : (*sb)[1];
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2) {
    *why = "contraction dims differ: " + std::to_string(k1) + " vs " +
           std::to_string(k2);
    return std::nullopt;
  }
  return SmallVector<int64_t>{m, n};
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  std::string why;
  Type elt = elementTypeOf(adaptor.getA().getType());
  auto shape = gemmShape(adaptor.getA().getType(), adaptor.getB().getType(),
                         adaptor.getTransA(), adaptor.getTransB(), &why);
  results.push_back(shape ? tensorOf(*shape, elt) : unrankedOf(elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(GemmOp)

LogicalResult GemmOp::verify() {
  std::string why;
  auto shape = gemmShape(getA().getType(), getB().getType(), getTransA(),
                         getTransB(), &why);
  if (!shape && !why.empty())
    return emitOpError(why);
  if (shape && getC()) {
    auto c = shapeOf(getC().getType());
    SmallVector<int64_t> out;
    if (c && (c->size() > 2 ||
              !OpTrait::util::getBroadcastedShape(*shape, *c, out) ||
              failed(verifyCompatibleShape(out, *shape))))
      return emitOpError("C of type ")
             << getC().getType() << " does not broadcast to the result";
  }
  return success();
}

/// `lhs[..., K] · W` for a weight of N outputs: lhs's shape with N last
/// (unranked when lhs's rank or N is not known).
static Type productType(Type lhs, std::optional<int64_t> n) {
  Type elt = elementTypeOf(lhs);
  auto x = shapeOf(lhs);
  if (!x || x->empty() || !n)
    return unrankedOf(elt);
  SmallVector<int64_t> out(*x);
  out.back() = *n;
  return tensorOf(out, elt);
}

LogicalResult QuantizedMatMulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  auto codes = shapeOf(adaptor.getCodes().getType());
  results.push_back(productType(
      adaptor.getLhs().getType(),
      codes && codes->size() == 2 ? std::optional((*codes)[0])
                                  : std::nullopt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(QuantizedMatMulOp)

/// Checks codes, scales and zero points of an N×K weight of `bits`-bit
/// codes in groups of `g` (smq.quantized_matmul, smq.dequantize).
static LogicalResult verifyQuantizedWeight(Operation *op, int64_t k,
                                           Value codesValue, Value scalesValue,
                                           Value zerosValue, int64_t bits,
                                           int64_t g, bool packed) {
  auto codes = dyn_cast<RankedTensorType>(codesValue.getType());
  auto scales = dyn_cast<RankedTensorType>(scalesValue.getType());
  auto zeros = dyn_cast<RankedTensorType>(zerosValue.getType());
  if (!codes || !scales || !zeros || !codes.hasStaticShape() ||
      !scales.hasStaticShape() || !zeros.hasStaticShape())
    return op->emitOpError("needs static shapes");
  if (codes.getRank() != 2 || scales.getRank() != 2)
    return op->emitOpError("needs 2-D codes and scales");
  int64_t n = codes.getDimSize(0);
  int64_t rowBytes =
      packed ? ::smq::packedRowBytes(k, bits) : (k * bits + 7) / 8;
  int64_t groups = (k + g - 1) / g;
  if (codes.getDimSize(1) != rowBytes)
    return op->emitOpError("codes must hold ")
           << rowBytes << " bytes per row for " << k << " inputs of " << bits
           << " bits" << (packed ? " (packed)" : "") << ", not "
           << codes.getDimSize(1);
  if (scales.getShape() != ArrayRef<int64_t>{n, groups} ||
      zeros.getShape() != scales.getShape())
    return op->emitOpError("scales and zero points must be ")
           << n << "x" << groups << " (rows x groups)";
  return success();
}

LogicalResult QuantizedMatMulOp::verify() {
  // The lhs may have dynamic dims until smq-specialize-shapes (lowering
  // needs them static); the weight is checked against the reduction dim
  // once that is known.
  auto x = dyn_cast<RankedTensorType>(getLhs().getType());
  if (!x || x.getRank() < 1)
    return emitOpError("needs lhs of rank >= 1 and 2-D codes and scales");
  int64_t k = x.getShape().back();
  int64_t bits = getBitsAttr().getInt(), g = getGroupSizeAttr().getInt();
  if ((getPacked() || getInt8Activations()) && !::smq::kernelFormatSupported(bits, g))
    return emitOpError("no quantized kernel takes ")
           << bits << "-bit codes in groups of " << g
           << " (the packed layout needs bits 2, 3, 4 or 8 and groups that "
              "are multiples of 32)";
  if (getInt8Activations() && !getPacked())
    return emitOpError("int8_activations needs packed codes");
  if (ShapedType::isDynamic(k))
    return success();
  return verifyQuantizedWeight(*this, k, getCodes(), getScales(),
                               getZeroPoints(), bits, g, getPacked());
}

LogicalResult DequantizeOp::verify() {
  auto result = dyn_cast<RankedTensorType>(getResult().getType());
  if (!result || !result.hasStaticShape() || result.getRank() != 2)
    return emitOpError("result must be a static K×N tensor");
  if (failed(verifyQuantizedWeight(*this, result.getDimSize(0), getCodes(),
                                   getScales(), getZeroPoints(), getBits(),
                                   getGroupSize(), /*packed=*/false)))
    return failure();
  if (cast<RankedTensorType>(getCodes().getType()).getDimSize(0) !=
      result.getDimSize(1))
    return emitOpError("result must have one column per row of codes");
  return success();
}

OpFoldResult DequantizeOp::fold(FoldAdaptor a) {
  auto codes = constantBytes(a.getCodes());
  auto scales = constantBytes(a.getScales());
  auto zeros = constantBytes(a.getZeroPoints());
  if (!codes || !scales || !zeros)
    return {};
  auto type = cast<RankedTensorType>(getResult().getType());
  int64_t k = type.getDimSize(0), n = type.getDimSize(1);
  int64_t bits = getBits(), g = getGroupSize(), groups = (k + g - 1) / g;
  int64_t rowBytes = (k * bits + 7) / 8;
  const auto *c = reinterpret_cast<const uint8_t *>(codes->data());
  const auto *s = reinterpret_cast<const float *>(scales->data());
  const auto *z = reinterpret_cast<const float *>(zeros->data());
  std::vector<float> w(k * n);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t col = 0; col < k; ++col) {
      int64_t at = r * groups + col / g;
      float code = static_cast<float>(
          ::smq::quant::streamGet(c + r * rowBytes, col, bits));
      w[col * n + r] = s[at] * (code - z[at]);
    }
  return bytesAttr(type, "dequantized",
                   ArrayRef<char>(reinterpret_cast<const char *>(w.data()),
                                  w.size() * sizeof(float)));
}

LogicalResult PackedMatMulOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  results.push_back(productType(adaptor.getLhs().getType(), adaptor.getN()));
  return success();
}
SMQ_COMPATIBLE_RESULTS(PackedMatMulOp)

LogicalResult PackedMatMulOp::verify() {
  auto x = cast<RankedTensorType>(getLhs().getType());
  auto panels = cast<RankedTensorType>(getPanels().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  int64_t n = getN();
  if (x.getRank() < 2)
    return emitOpError("needs lhs of rank >= 2");
  int64_t k = x.getShape().back();
  SmallVector<int64_t> want = {::smq::f32PanelCount(n), k,
                               ::smq::kF32PanelWidth};
  if (!panels.hasStaticShape() || panels.getShape() != ArrayRef<int64_t>(want))
    return emitOpError("panels of a ")
           << k << "x" << n << " weight must be " << want[0] << "x" << want[1]
           << "x" << want[2];
  if (getBias() &&
      cast<RankedTensorType>(getBias().getType()).getShape() !=
          ArrayRef<int64_t>{n})
    return emitOpError("bias must have ") << n << " elements";
  SmallVector<int64_t> shape(x.getShape());
  shape.back() = n;
  if (failed(verifyCompatibleShape(result.getShape(), shape)))
    return emitOpError("result must be lhs's shape with ")
           << n << " as its last dimension";
  return success();
}

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//

namespace {

// The kernel ops are destination-style: they read every operand but
// `init`, write `init` in place, and on tensors return its new value.

void kernelEffects(
    Operation *op, OpOperand &init,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (&operand == &init)
      effects.emplace_back(MemoryEffects::Write::get(), &operand);
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
  }
}

bufferization::AliasingValueList kernelAliasing(Operation *op,
                                                OpOperand &operand,
                                                OpOperand &init) {
  if (&operand != &init || op->getNumResults() == 0)
    return {};
  return {{op->getResult(0), bufferization::BufferRelation::Equivalent}};
}

/// Recreates `op` on buffers, without results, and replaces it by its
/// init's buffer.
template <typename OpT>
LogicalResult bufferizeKernel(OpT op, RewriterBase &rewriter,
                              const bufferization::BufferizationOptions &options,
                              bufferization::BufferizationState &state) {
  SmallVector<Value> buffers;
  Value initBuffer;
  for (OpOperand &operand : op->getOpOperands()) {
    Value v = operand.get();
    if (isa<TensorType>(v.getType())) {
      FailureOr<Value> buffer =
          bufferization::getBuffer(rewriter, v, options, state);
      if (failed(buffer))
        return failure();
      v = *buffer;
    }
    buffers.push_back(v);
    if (&operand == &op.getInitMutable())
      initBuffer = v;
  }
  rewriter.setInsertionPoint(op);
  OpT::create(rewriter, op.getLoc(), TypeRange{}, buffers, op->getAttrs());
  bufferization::replaceOpWithBufferizedValues(rewriter, op, initBuffer);
  return success();
}

} // namespace

/// The interface methods every kernel op shares (declared in SmqOps.td).
#define SMQ_KERNEL_OP_INTERFACES(OP)                                           \
  void OP::getEffects(                                                         \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    kernelEffects(*this, getInitMutable(), effects);                           \
  }                                                                            \
  bool OP::bufferizesToMemoryRead(OpOperand &operand,                          \
                                  const bufferization::AnalysisState &) {      \
    return &operand != &getInitMutable();                                      \
  }                                                                            \
  bool OP::bufferizesToMemoryWrite(OpOperand &operand,                         \
                                   const bufferization::AnalysisState &) {     \
    return &operand == &getInitMutable();                                      \
  }                                                                            \
  bufferization::AliasingValueList OP::getAliasingValues(                      \
      OpOperand &operand, const bufferization::AnalysisState &) {              \
    return kernelAliasing(*this, operand, getInitMutable());                   \
  }                                                                            \
  LogicalResult OP::bufferize(RewriterBase &rewriter,                          \
                              const bufferization::BufferizationOptions &o,    \
                              bufferization::BufferizationState &state) {      \
    return bufferizeKernel(*this, rewriter, o, state);                         \
  }

LogicalResult UKernelMatMulOp::verify() {
  auto shaped = [](Value v) { return cast<ShapedType>(v.getType()); };
  ShapedType x = shaped(getLhs()), panels = shaped(getPanels()),
             bias = shaped(getBias()), init = shaped(getInit());
  for (ShapedType t : {x, panels, bias, init})
    if (!t.hasStaticShape() || !t.getElementType().isF32())
      return emitOpError("needs f32 operands of static shape");
  bool tensors = isa<RankedTensorType>(init);
  for (ShapedType t : {x, panels, bias})
    if (isa<RankedTensorType>(t) != tensors)
      return emitOpError("needs all tensors or all memrefs");
  if (tensors != (getNumResults() == 1))
    return emitOpError("returns one tensor on tensors and nothing on memrefs");
  if (x.getRank() != 2 || init.getRank() != 2 || panels.getRank() != 3 ||
      bias.getRank() != 1)
    return emitOpError("needs 2-D lhs and init, 3-D panels and a 1-D bias");
  int64_t m = x.getDimSize(0), k = x.getDimSize(1), n = init.getDimSize(1);
  SmallVector<int64_t> want = {::smq::f32PanelCount(n), k,
                               ::smq::kF32PanelWidth};
  if (init.getDimSize(0) != m || panels.getShape() != ArrayRef<int64_t>(want) ||
      bias.getDimSize(0) != n)
    return emitOpError("needs ")
           << want[0] << "x" << want[1] << "x" << want[2] << " panels, a " << n
           << "-element bias and a " << m << "x" << n << " init";
  return success();
}

SMQ_KERNEL_OP_INTERFACES(UKernelMatMulOp)

LogicalResult UKernelQMatMulOp::verify() {
  auto shaped = [](Value v) { return cast<ShapedType>(v.getType()); };
  ShapedType x = shaped(getLhs()), codes = shaped(getCodes()),
             scales = shaped(getScales()), zeros = shaped(getZeroPoints()),
             init = shaped(getInit());
  for (ShapedType t : {x, codes, scales, zeros, init})
    if (!t.hasStaticShape() || t.getRank() != 2)
      return emitOpError("needs 2-D operands of static shape");
  bool tensors = isa<RankedTensorType>(init);
  for (ShapedType t : {x, codes, scales, zeros})
    if (isa<RankedTensorType>(t) != tensors)
      return emitOpError("needs all tensors or all memrefs");
  if (tensors != (getNumResults() == 1))
    return emitOpError("returns one tensor on tensors and nothing on memrefs");
  int64_t bits = getBits(), g = getGroupSize();
  if (!::smq::kernelFormatSupported(bits, g))
    return emitOpError("no quantized kernel takes ")
           << bits << "-bit codes in groups of " << g;
  int64_t m = x.getDimSize(0), k = x.getDimSize(1), n = codes.getDimSize(0);
  int64_t groups = (k + g - 1) / g;
  if (codes.getDimSize(1) != ::smq::packedRowBytes(k, bits) ||
      !codes.getElementType().isInteger(8))
    return emitOpError("codes must be ")
           << n << "x" << ::smq::packedRowBytes(k, bits) << " bytes";
  if (scales.getShape() != ArrayRef<int64_t>{n, groups} ||
      zeros.getShape() != scales.getShape() ||
      init.getShape() != ArrayRef<int64_t>{m, n})
    return emitOpError("needs ")
           << n << "x" << groups << " scales and zero points and a " << m
           << "x" << n << " init";
  if (!x.getElementType().isF32() || !init.getElementType().isF32() ||
      !scales.getElementType().isF32() || !zeros.getElementType().isF32())
    return emitOpError("needs f32 activations, scales and zero points");
  return success();
}

SMQ_KERNEL_OP_INTERFACES(UKernelQMatMulOp)

LogicalResult UKernelAttentionOp::verify() {
  auto shaped = [](Value v) { return cast<ShapedType>(v.getType()); };
  ShapedType q = shaped(getQuery()), k = shaped(getKeys()),
             v = shaped(getValues()), pos = shaped(getPositions()),
             init = shaped(getInit());
  for (ShapedType t : {q, k, v, pos, init})
    if (!t.hasStaticShape())
      return emitOpError("needs operands of static shape");
  bool tensors = isa<RankedTensorType>(init);
  for (ShapedType t : {q, k, v, pos})
    if (isa<RankedTensorType>(t) != tensors)
      return emitOpError("needs all tensors or all memrefs");
  if (tensors != (getNumResults() == 1))
    return emitOpError("returns one tensor on tensors and nothing on memrefs");
  for (ShapedType t : {q, k, v, init})
    if (!t.getElementType().isF32() || t.getRank() != 4)
      return emitOpError("needs 4-D f32 query, keys, values and init");
  if (!pos.getElementType().isInteger(64) || pos.getRank() != 2)
    return emitOpError("needs 2-D i64 positions");
  int64_t B = q.getDimSize(0), S = q.getDimSize(1), N = q.getDimSize(2),
          H = q.getDimSize(3), Nk = k.getDimSize(1), T = k.getDimSize(2);
  if (init.getShape() != q.getShape() || v.getShape() != k.getShape() ||
      k.getDimSize(0) != B || k.getDimSize(3) != H ||
      pos.getShape() != ArrayRef<int64_t>{B, S})
    return emitOpError("needs query and init [B, S, N, H], keys and values "
                       "[B, Nk, T, H] and positions [B, S]");
  if (Nk == 0 || N % Nk != 0)
    return emitOpError("needs the query heads (")
           << N << ") to be a multiple of the kv heads (" << Nk << ")";
  if (T == 0 && S > 0)
    return emitOpError("needs at least one key slot");
  return success();
}

SMQ_KERNEL_OP_INTERFACES(UKernelAttentionOp)

LogicalResult UKernelKvPlaceOp::verify() {
  auto shaped = [](Value v) { return cast<ShapedType>(v.getType()); };
  ShapedType past = shaped(getPast()), fresh = shaped(getFresh()),
             pos = shaped(getPositions()), init = shaped(getInit());
  for (ShapedType t : {past, fresh, pos, init})
    if (!t.hasStaticShape())
      return emitOpError("needs operands of static shape");
  bool tensors = isa<RankedTensorType>(init);
  for (ShapedType t : {past, fresh, pos})
    if (isa<RankedTensorType>(t) != tensors)
      return emitOpError("needs all tensors or all memrefs");
  if (tensors != (getNumResults() == 1))
    return emitOpError("returns one tensor on tensors and nothing on memrefs");
  for (ShapedType t : {past, fresh, init})
    if (!t.getElementType().isF32() || t.getRank() != 4)
      return emitOpError("needs 4-D f32 past, fresh and init");
  if (!pos.getElementType().isInteger(64) || pos.getRank() != 2)
    return emitOpError("needs 2-D i64 positions");
  int64_t B = init.getDimSize(0), Nk = init.getDimSize(1),
          H = init.getDimSize(3), S = fresh.getDimSize(1);
  if (past.getDimSize(0) != B || past.getDimSize(1) != Nk ||
      past.getDimSize(3) != H ||
      fresh.getShape() != ArrayRef<int64_t>{B, S, Nk, H} ||
      pos.getShape() != ArrayRef<int64_t>{B, S} || S == 0)
    return emitOpError("needs past [B, Nk, P, H], fresh [B, S, Nk, H] with "
                       "S > 0, positions [B, S] and init [B, Nk, T, H]");
  return success();
}

SMQ_KERNEL_OP_INTERFACES(UKernelKvPlaceOp)

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getData().getType());
  auto data = shapeOf(adaptor.getData().getType());
  auto idx = shapeOf(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!data || !idx || axis < 0 || axis >= (int64_t)data->size()) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out(data->begin(), data->begin() + axis);
  out.append(idx->begin(), idx->end());
  out.append(data->begin() + axis + 1, data->end());
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(GatherOp)

LogicalResult GatherOp::verify() {
  auto data = shapeOf(getData().getType());
  if (data && (getAxisAttr().getInt() < 0 || getAxisAttr().getInt() >= (int64_t)data->size()))
    return emitOpError("axis ") << getAxisAttr().getInt() << " is out of range for rank "
                                << data->size();
  auto indices = readHostTensor(getIndices(), 1 << 16);
  if (data && indices && !ShapedType::isDynamic((*data)[getAxisAttr().getInt()])) {
    int64_t dim = (*data)[getAxisAttr().getInt()];
    for (int64_t i : indices->ints)
      if (i < -dim || i >= dim)
        return emitOpError("index ") << i << " is out of range for a dim of "
                                     << dim;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GroupQueryAttentionOp
//===----------------------------------------------------------------------===//

namespace {
/// The value of a constant integer scalar (or one-element tensor).
std::optional<int64_t> constantScalar(Value v) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  return (*attr.begin()).getSExtValue();
}
} // namespace

LogicalResult GroupQueryAttentionOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getQuery().getType());
  auto q = shapeOf(adaptor.getQuery().getType());
  auto past = shapeOf(adaptor.getPastKey().getType());
  if (q && q->size() == 3)
    results.push_back(tensorOf(*q, elt));
  else
    results.push_back(unrankedOf(elt));
  if (!past || past->size() != 4) {
    results.append(2, unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> present(*past);
  auto total = constantScalar(adaptor.getTotalSequenceLength());
  if (ShapedType::isDynamic(present[2]) || !total)
    present[2] = kDyn;
  else
    present[2] = std::max(present[2], *total);
  results.append(2, tensorOf(present, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(GroupQueryAttentionOp)

LogicalResult GroupQueryAttentionOp::verify() {
  int64_t n = getNumHeads(), nk = getKvNumHeads();
  if (n < 1 || nk < 1 || n % nk)
    return emitOpError("num_heads (") << n << ") must be a positive multiple "
                                          "of kv_num_heads ("
                                       << nk << ")";
  if (getSoftcap().convertToFloat() < 0 || getScale().convertToFloat() < 0)
    return emitOpError("scale and softcap must not be negative");
  if (!getRotaryCache().empty() && getRotaryCache().size() != 2)
    return emitOpError("takes no rotary caches, or cos and sin");
  Type elt = elementTypeOf(getQuery().getType());
  for (Value v : {getKey(), getValue(), getPastKey(), getPastValue()})
    if (elementTypeOf(v.getType()) != elt)
      return emitOpError("query, key, value and the past must have one "
                         "element type");
  auto q = shapeOf(getQuery().getType()), k = shapeOf(getKey().getType()),
       v = shapeOf(getValue().getType()),
       pk = shapeOf(getPastKey().getType()),
       pv = shapeOf(getPastValue().getType());
  auto known = [](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  if ((q && q->size() != 3) || (k && k->size() != 3) || (v && v->size() != 3))
    return emitOpError("query, key and value must be [batch, seq, hidden]");
  if ((pk && pk->size() != 4) || (pv && pv->size() != 4))
    return emitOpError("the past must be [batch, kv heads, past, head size]");
  if (q && !ShapedType::isDynamic((*q)[2]) && (*q)[2] % n)
    return emitOpError("query hidden size ")
           << (*q)[2] << " is not a multiple of num_heads " << n;
  int64_t head = q && !ShapedType::isDynamic((*q)[2]) ? (*q)[2] / n : kDyn;
  for (auto kv : {k, v})
    if (kv && (!known((*kv)[2], ShapedType::isDynamic(head) ? kDyn : head * nk) ||
               (q && (!known((*kv)[0], (*q)[0]) || !known((*kv)[1], (*q)[1])))))
      return emitOpError("key and value must be [batch, seq, kv_num_heads * "
                         "head size] matching the query");
  for (auto p : {pk, pv})
    if (p && (!known((*p)[1], nk) || !known((*p)[3], head) ||
              (q && !known((*p)[0], (*q)[0]))))
      return emitOpError("the past must be [batch, kv_num_heads, past, head "
                         "size], not ")
             << getPastKey().getType();
  return success();
}

LogicalResult ScatterNDOp::verify() {
  StringRef r = getReduction();
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
    return emitOpError("reduction must be none, add, mul, max or min, not '")
           << r << "'";
  auto data = shapeOf(getData().getType());
  auto idx = shapeOf(getIndices().getType());
  auto upd = shapeOf(getUpdates().getType());
  if (elementTypeOf(getData().getType()) !=
      elementTypeOf(getUpdates().getType()))
    return emitOpError("updates must have the element type of data");
  if (!data || !idx || !upd)
    return success();
  if (idx->empty())
    return emitOpError("indices must have rank >= 1");
  int64_t k = idx->back();
  if (ShapedType::isDynamic(k))
    return success();
  if (k < 1 || k > (int64_t)data->size())
    return emitOpError("index tuples of ")
           << k << " dims do not fit data of rank " << data->size();
  SmallVector<int64_t> expected(idx->begin(), idx->end() - 1);
  expected.append(data->begin() + k, data->end());
  if (expected.size() != upd->size())
    return emitOpError("updates must have rank ") << expected.size();
  for (auto [e, u] : llvm::zip(expected, *upd))
    if (!ShapedType::isDynamic(e) && !ShapedType::isDynamic(u) && e != u)
      return emitOpError("updates must have shape indices.shape[:-1] + "
                         "data.shape[k:]");
  return success();
}

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto in = shapeOf(adaptor.getInput().getType());
  auto targetLen = shapeOf(adaptor.getShape().getType());
  if (!targetLen || targetLen->size() != 1 ||
      ShapedType::isDynamic((*targetLen)[0])) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  auto target = getConstantInts(adaptor.getShape());
  if (!target) {
    results.push_back(
        tensorOf(SmallVector<int64_t>((*targetLen)[0], kDyn), elt));
    return success();
  }
  std::string why;
  std::optional<SmallVector<int64_t>> out;
  if (in)
    out = reshapeResult(*in, *target, adaptor.getAllowzero(), &why);
  results.push_back(out ? tensorOf(*out, elt) : unrankedOf(elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(ReshapeOp)

LogicalResult ReshapeOp::verify() {
  auto in = shapeOf(getInput().getType());
  auto target = getConstantInts(getShape());
  std::string why;
  if (in && target && !reshapeResult(*in, *target, getAllowzero(), &why))
    return emitOpError("cannot reshape ")
           << getInput().getType() << ": " << why;
  auto out = dyn_cast<RankedTensorType>(getType());
  if (in && out && out.hasStaticShape() &&
      llvm::none_of(*in, ShapedType::isDynamic) &&
      out.getNumElements() != cast<RankedTensorType>(getInput().getType())
                                  .getNumElements())
    return emitOpError("result has a different number of elements");
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto in = shapeOf(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (!in || perm.size() != in->size() || !isPermutation(perm)) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out;
  for (int64_t p : perm)
    out.push_back((*in)[p]);
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(TransposeOp)

LogicalResult TransposeOp::verify() {
  auto in = shapeOf(getInput().getType());
  if (in && (getPerm().size() != in->size() || !isPermutation(getPerm())))
    return emitOpError("perm is not a permutation of the input's ")
           << in->size() << " dims";
  return success();
}

LogicalResult UnsqueezeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto in = shapeOf(adaptor.getInput().getType());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  int64_t outRank = in ? in->size() + axes.size() : 0;
  if (!in || !isSortedUnique(axes, outRank)) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out;
  auto it = in->begin();
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(llvm::is_contained(axes, i) ? 1 : *it++);
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(UnsqueezeOp)

LogicalResult UnsqueezeOp::verify() {
  auto in = shapeOf(getInput().getType());
  if (in && !isSortedUnique(getAxes(), in->size() + getAxes().size()))
    return emitOpError("axes must be sorted, unique and within the result "
                       "rank ")
           << in->size() + getAxes().size();
  return success();
}

LogicalResult SqueezeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location>,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto in = shapeOf(adaptor.getInput().getType());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  if (!in || !isSortedUnique(axes, in->size())) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(*in))
    if (!llvm::is_contained(axes, (int64_t)i))
      out.push_back(d);
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(SqueezeOp)

LogicalResult SqueezeOp::verify() {
  auto in = shapeOf(getInput().getType());
  if (!in)
    return success();
  if (!isSortedUnique(getAxes(), in->size()))
    return emitOpError("axes must be sorted, unique and within rank ")
           << in->size();
  for (int64_t a : getAxes())
    if (!ShapedType::isDynamic((*in)[a]) && (*in)[a] != 1)
      return emitOpError("cannot squeeze dim ")
             << a << " of size " << (*in)[a];
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return failure();
  Type elt = elementTypeOf(inputs.front().getType());
  auto first = shapeOf(inputs.front().getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!first || axis < 0 || axis >= (int64_t)first->size()) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> out(*first);
  out[axis] = 0;
  for (Value v : inputs) {
    auto s = shapeOf(v.getType());
    if (!s || s->size() != first->size()) {
      results.push_back(unrankedOf(elt));
      return success();
    }
    for (auto [i, d] : llvm::enumerate(*s)) {
      if ((int64_t)i == axis) {
        out[i] = (ShapedType::isDynamic(d) || ShapedType::isDynamic(out[i]))
                     ? kDyn
                     : out[i] + d;
      } else if (ShapedType::isDynamic(out[i])) {
        out[i] = d;
      }
    }
  }
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(ConcatOp)

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  Type elt = elementTypeOf(getInputs().front().getType());
  auto first = shapeOf(getInputs().front().getType());
  if (first && (getAxisAttr().getInt() < 0 || getAxisAttr().getInt() >= (int64_t)first->size()))
    return emitOpError("axis ") << getAxisAttr().getInt() << " is out of range for rank "
                                << first->size();
  for (Value v : getInputs()) {
    if (elementTypeOf(v.getType()) != elt)
      return emitOpError("inputs must have one element type");
    auto s = shapeOf(v.getType());
    if (!first || !s)
      continue;
    if (s->size() != first->size())
      return emitOpError("inputs must have one rank");
    for (size_t i = 0; i < s->size(); ++i)
      if ((int64_t)i != getAxisAttr().getInt() && !ShapedType::isDynamic((*s)[i]) &&
          !ShapedType::isDynamic((*first)[i]) && (*s)[i] != (*first)[i])
        return emitOpError("inputs differ in dim ")
               << i << " (" << (*first)[i] << " vs " << (*s)[i] << ")";
  }
  return success();
}

/// Collects a Slice's constant parameters, normalised per axis of `rank`.
/// Returns false if any is not a constant.
static bool sliceParams(ValueRange params, int64_t rank,
                        SmallVectorImpl<int64_t> &starts,
                        SmallVectorImpl<int64_t> &ends,
                        SmallVectorImpl<int64_t> &axes,
                        SmallVectorImpl<int64_t> &steps, std::string *why) {
  auto s = getConstantInts(params[0]), e = getConstantInts(params[1]),
       a = getConstantInts(params[2]), st = getConstantInts(params[3]);
  if (!s || !e || !a || !st)
    return false;
  if (s->size() != e->size() || s->size() != a->size() ||
      s->size() != st->size()) {
    *why = "starts, ends, axes and steps differ in length";
    return false;
  }
  starts.assign(s->begin(), s->end());
  ends.assign(e->begin(), e->end());
  steps.assign(st->begin(), st->end());
  axes.clear();
  for (int64_t ax : *a) {
    auto n = normalizeAxis(ax, rank);
    if (!n) {
      *why = "axis " + std::to_string(ax) + " is out of range";
      return false;
    }
    if (llvm::is_contained(axes, *n)) {
      *why = "axis " + std::to_string(ax) + " is repeated";
      return false;
    }
    axes.push_back(*n);
  }
  if (llvm::is_contained(steps, 0)) {
    *why = "steps must not be 0";
    return false;
  }
  return true;
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getData().getType());
  auto in = shapeOf(adaptor.getData().getType());
  if (!in) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  SmallVector<int64_t> starts, ends, axes, steps;
  std::string why;
  SmallVector<Value> params = {adaptor.getStarts(), adaptor.getEnds(),
                               adaptor.getAxes(), adaptor.getSteps()};
  if (!sliceParams(params, in->size(), starts, ends, axes, steps, &why)) {
    if (!why.empty()) {
      results.push_back(unrankedOf(elt));
      return success();
    }
    // Unknown bounds: the axes we know about become dynamic, or all of them.
    SmallVector<int64_t> out(*in);
    auto knownAxes = getConstantInts(adaptor.getAxes());
    for (size_t i = 0; i < out.size(); ++i) {
      if (!knownAxes)
        out[i] = kDyn;
      else
        for (int64_t a : *knownAxes)
          if (normalizeAxis(a, in->size()) == (int64_t)i)
            out[i] = kDyn;
    }
    results.push_back(tensorOf(out, elt));
    return success();
  }
  SmallVector<int64_t> out(*in);
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t d = (*in)[axes[k]];
    out[axes[k]] =
        ShapedType::isDynamic(d) ? kDyn
                                 : sliceLength(d, starts[k], ends[k], steps[k]);
  }
  results.push_back(tensorOf(out, elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(SliceOp)

LogicalResult SliceOp::verify() {
  auto in = shapeOf(getData().getType());
  if (!in)
    return success();
  SmallVector<int64_t> starts, ends, axes, steps;
  std::string why;
  SmallVector<Value> params = {getStarts(), getEnds(), getAxes(), getSteps()};
  if (!sliceParams(params, in->size(), starts, ends, axes, steps, &why) &&
      !why.empty())
    return emitOpError(why);
  return success();
}

std::optional<SliceOp::StaticBounds> SliceOp::getStaticBounds() {
  auto in = dyn_cast<RankedTensorType>(getData().getType());
  auto starts = getConstantInts(getStarts());
  auto axes = getConstantInts(getAxes());
  auto steps = getConstantInts(getSteps());
  if (!in || !in.hasStaticShape() || !starts || !axes || !steps ||
      starts->size() != axes->size() || steps->size() != axes->size())
    return std::nullopt;
  int64_t rank = in.getRank();
  StaticBounds bounds{SmallVector<int64_t>(rank, 0),
                      SmallVector<int64_t>(rank, 1)};
  for (size_t k = 0; k < axes->size(); ++k) {
    auto ax = normalizeAxis((*axes)[k], rank);
    if (!ax || (*steps)[k] == 0)
      return std::nullopt;
    int64_t d = in.getDimSize(*ax), s = (*starts)[k];
    if (s < 0)
      s += d;
    s = (*steps)[k] > 0 ? std::clamp<int64_t>(s, 0, d)
                        : std::clamp<int64_t>(s, 0, d - 1);
    bounds.begin[*ax] = s;
    bounds.step[*ax] = (*steps)[k];
  }
  return bounds;
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto in = shapeOf(adaptor.getInput().getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  for (int64_t size : adaptor.getSizes()) {
    if (!in || axis < 0 || axis >= (int64_t)in->size() || size < 0) {
      results.push_back(unrankedOf(elt));
      continue;
    }
    SmallVector<int64_t> out(*in);
    out[axis] = size;
    results.push_back(tensorOf(out, elt));
  }
  return success();
}
SMQ_COMPATIBLE_RESULTS(SplitOp)

LogicalResult SplitOp::verify() {
  auto in = shapeOf(getInput().getType());
  if (!in)
    return success();
  if (getAxisAttr().getInt() < 0 || getAxisAttr().getInt() >= (int64_t)in->size())
    return emitOpError("axis ") << getAxisAttr().getInt() << " is out of range for rank "
                                << in->size();
  int64_t total = 0;
  for (int64_t s : getSizes()) {
    if (s < 0)
      return emitOpError("split sizes must be non-negative");
    total += s;
  }
  int64_t d = (*in)[getAxisAttr().getInt()];
  if (!ShapedType::isDynamic(d) && total != d)
    return emitOpError("split sizes sum to ")
           << total << " but the dim has size " << d;
  return success();
}

/// Expand's result: numpy broadcast of the input with the target dims.
static std::optional<SmallVector<int64_t>> expandShape(Type input,
                                                       Value shape) {
  auto in = shapeOf(input);
  auto len = shapeOf(shape.getType());
  if (!in || !len || len->size() != 1 || ShapedType::isDynamic((*len)[0]))
    return std::nullopt;
  auto target = getConstantInts(shape);
  SmallVector<int64_t> dims =
      target ? *target : SmallVector<int64_t>((*len)[0], kDyn);
  SmallVector<int64_t> out;
  if (target) {
    if (!OpTrait::util::getBroadcastedShape(*in, dims, out))
      return std::nullopt;
    return out;
  }
  int64_t rank = std::max<int64_t>(in->size(), dims.size());
  return SmallVector<int64_t>(rank, kDyn);
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  Type elt = elementTypeOf(adaptor.getInput().getType());
  auto out = expandShape(adaptor.getInput().getType(), adaptor.getShape());
  results.push_back(out ? tensorOf(*out, elt) : unrankedOf(elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(ExpandOp)

LogicalResult ExpandOp::verify() {
  if (isa<RankedTensorType>(getInput().getType()) &&
      !expandShape(getInput().getType(), getShape()))
    return emitOpError("input ")
           << getInput().getType() << " does not broadcast to the shape";
  return success();
}

LogicalResult TriluOp::verify() {
  auto in = shapeOf(getInput().getType());
  if (in && in->size() < 2)
    return emitOpError("input must have rank >= 2");
  return success();
}

//===----------------------------------------------------------------------===//
// Shape computation
//===----------------------------------------------------------------------===//

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *ctx,
                                        std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  int64_t n = std::max<int64_t>(0, adaptor.getEndAttr().getInt() - adaptor.getStartAttr().getInt());
  results.push_back(tensorOf({n}, IntegerType::get(ctx, 64)));
  return success();
}
SMQ_COMPATIBLE_RESULTS(ShapeOp)

LogicalResult ShapeOp::verify() {
  int64_t rank = cast<RankedTensorType>(getInput().getType()).getRank();
  if (getStartAttr().getInt() < 0 || getEndAttr().getInt() > rank || getStartAttr().getInt() > getEndAttr().getInt())
    return emitOpError("needs 0 <= start <= end <= rank (")
           << rank << "), got [" << getStartAttr().getInt() << ", " << getEndAttr().getInt() << ")";
  return success();
}

/// The length of Range(start, limit, delta) if all three are constants.
static std::optional<int64_t> rangeLength(Value start, Value limit,
                                          Value delta, std::string *why) {
  auto s = readHostTensor(start, 1), l = readHostTensor(limit, 1),
       d = readHostTensor(delta, 1);
  if (!s || !l || !d || s->size() != 1 || l->size() != 1 || d->size() != 1)
    return std::nullopt;
  double dv = d->asDouble(0);
  if (dv == 0) {
    *why = "delta must not be 0";
    return std::nullopt;
  }
  double n = std::ceil((l->asDouble(0) - s->asDouble(0)) / dv);
  if (!(n <= static_cast<double>(kMaxFoldElements) * 1024)) {
    *why = "range is absurdly long";
    return std::nullopt;
  }
  return std::max<int64_t>(0, static_cast<int64_t>(n));
}

LogicalResult RangeOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  std::string why;
  auto n = rangeLength(adaptor.getStart(), adaptor.getLimit(),
                       adaptor.getDelta(), &why);
  results.push_back(tensorOf({n ? *n : kDyn},
                             elementTypeOf(adaptor.getStart().getType())));
  return success();
}
SMQ_COMPATIBLE_RESULTS(RangeOp)

LogicalResult RangeOp::verify() {
  for (Value v : {getStart(), getLimit(), getDelta()}) {
    auto s = shapeOf(v.getType());
    if (s && !s->empty() && !(s->size() == 1 && (*s)[0] == 1))
      return emitOpError("start, limit and delta must be scalars");
  }
  std::string why;
  if (!rangeLength(getStart(), getLimit(), getDelta(), &why) && !why.empty())
    return emitOpError(why);
  return success();
}

LogicalResult ConstantOfShapeOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  Type elt = adaptor.getValue().getType();
  if (auto shaped = dyn_cast<ShapedType>(elt))
    elt = shaped.getElementType();
  auto len = shapeOf(adaptor.getShape().getType());
  if (!len || len->size() != 1 || ShapedType::isDynamic((*len)[0])) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  auto dims = getConstantInts(adaptor.getShape());
  if (dims && llvm::any_of(*dims, [](int64_t d) { return d < 0; })) {
    results.push_back(unrankedOf(elt));
    return success();
  }
  results.push_back(
      tensorOf(dims ? *dims : SmallVector<int64_t>((*len)[0], kDyn), elt));
  return success();
}
SMQ_COMPATIBLE_RESULTS(ConstantOfShapeOp)

LogicalResult ConstantOfShapeOp::verify() {
  if (auto dims = getConstantInts(getShape()))
    if (llvm::any_of(*dims, [](int64_t d) { return d < 0; }))
      return emitOpError("shape has a negative dim");
  if (auto shaped = dyn_cast<ShapedType>(getValue().getType()))
    if (!shaped.hasStaticShape() || shaped.getNumElements() != 1)
      return emitOpError("value must hold exactly one element");
  return success();
}

#define GET_OP_CLASSES
#include "smq/Dialect/Smq/IR/SmqOps.cpp.inc"
