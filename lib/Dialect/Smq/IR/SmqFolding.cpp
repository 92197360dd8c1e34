//===- SmqFolding.cpp - folders of the smq dialect ------------------------===//
//
// Folders evaluate ops whose operands are constants. They exist so that the
// shape computations of a torch export (Shape -> Gather -> Concat ->
// Reshape, Range, masks) disappear once input shapes are known. They never
// read weights: constants above kMaxFoldElements are left alone, and folded
// results above kInlineElements become dense_resource blobs rather than
// inline attributes.
//
//===----------------------------------------------------------------------===//

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "HostTensor.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>

using namespace mlir;
using namespace mlir::smq;

namespace {
/// Folded values larger than this become dense_resource blobs.
constexpr int64_t kInlineElements = 4096;
} // namespace

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

HostTensor HostTensor::zeros(RankedTensorType type) {
  HostTensor t;
  t.type = type;
  if (t.isFloat())
    t.floats.assign(type.getNumElements(), 0.0);
  else
    t.ints.assign(type.getNumElements(), 0);
  return t;
}

void HostTensor::set(int64_t k, double v) {
  if (isFloat())
    floats[k] = v;
  else
    ints[k] = static_cast<int64_t>(v);
}

void HostTensor::setInt(int64_t k, int64_t v) {
  if (isFloat())
    floats[k] = static_cast<double>(v);
  else
    ints[k] = v;
}

/// Decodes `count` elements of `elementType` from raw little-endian bytes,
/// the layout of both ONNX raw_data and MLIR resource blobs.
static bool decodeRaw(ArrayRef<char> data, Type elementType, int64_t count,
                      HostTensor &out) {
  unsigned bits = elementType.getIntOrFloatBitWidth();
  unsigned bytes = bits == 1 ? 1 : bits / 8;
  if (static_cast<int64_t>(data.size()) != count * bytes)
    return false;
  const char *p = data.data();
  auto loadBits = [&](int64_t k) {
    uint64_t v = 0;
    std::memcpy(&v, p + k * bytes, bytes);
    return v;
  };
  if (auto ft = dyn_cast<FloatType>(elementType)) {
    out.floats.resize(count);
    for (int64_t k = 0; k < count; ++k) {
      APFloat f(ft.getFloatSemantics(), APInt(bits, loadBits(k)));
      bool lost;
      f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      out.floats[k] = f.convertToDouble();
    }
    return true;
  }
  auto it = cast<IntegerType>(elementType);
  out.ints.resize(count);
  for (int64_t k = 0; k < count; ++k) {
    APInt v(bits == 1 ? 8 : bits, loadBits(k));
    out.ints[k] = (it.isUnsigned() || bits == 1) ? (int64_t)v.getZExtValue()
                                                 : v.getSExtValue();
    if (bits == 1)
      out.ints[k] = out.ints[k] != 0;
  }
  return true;
}

std::optional<HostTensor> mlir::smq::readHostTensor(Attribute attr,
                                                    int64_t maxElements) {
  auto elements = dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(elements.getShapedType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > maxElements ||
      !type.getElementType().isIntOrFloat())
    return std::nullopt;
  HostTensor t;
  t.type = type;
  int64_t n = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (auto ft = dyn_cast<FloatType>(type.getElementType())) {
      for (APFloat f : dense.getValues<APFloat>()) {
        bool lost;
        f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
        t.floats.push_back(f.convertToDouble());
      }
    } else {
      bool zext = type.getElementType().isUnsignedInteger() ||
                  type.getElementType().isInteger(1);
      for (const APInt &v : dense.getValues<APInt>())
        t.ints.push_back(zext ? (int64_t)v.getZExtValue() : v.getSExtValue());
    }
    return t;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || !decodeRaw(blob->getData(), type.getElementType(), n, t))
      return std::nullopt;
    return t;
  }
  return std::nullopt;
}

std::optional<HostTensor> mlir::smq::readHostTensor(Value value,
                                                    int64_t maxElements) {
  Attribute attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  return readHostTensor(attr, maxElements);
}

std::optional<SmallVector<int64_t>> mlir::smq::getConstantInts(Value value) {
  auto t = readHostTensor(value, 1 << 16);
  if (!t || t->isFloat())
    return std::nullopt;
  return SmallVector<int64_t>(t->ints.begin(), t->ints.end());
}

DenseElementsAttr mlir::smq::toAttr(const HostTensor &t) {
  Type elt = t.type.getElementType();
  if (auto ft = dyn_cast<FloatType>(elt)) {
    SmallVector<APFloat> values;
    values.reserve(t.floats.size());
    for (double d : t.floats) {
      APFloat f(d);
      bool lost;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(f);
    }
    return DenseElementsAttr::get(t.type, values);
  }
  unsigned bits = elt.getIntOrFloatBitWidth();
  if (bits == 1) {
    SmallVector<bool> values;
    for (int64_t v : t.ints)
      values.push_back(v != 0);
    return DenseElementsAttr::get(t.type, values);
  }
  SmallVector<APInt> values;
  values.reserve(t.ints.size());
  for (int64_t v : t.ints)
    values.push_back(APInt(bits, static_cast<uint64_t>(v), /*isSigned=*/true,
                           /*implicitTrunc=*/true));
  return DenseElementsAttr::get(t.type, values);
}

/// The attribute a folder returns: inline when small, else a resource blob
/// so that the printed IR stays readable and nothing large is inlined.
static Attribute foldedAttr(const HostTensor &t) {
  DenseElementsAttr dense = toAttr(t);
  if (t.size() <= kInlineElements || dense.isSplat() ||
      t.type.getElementType().isInteger(1))
    return dense;
  ArrayRef<char> raw = dense.getRawData();
  auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(raw);
  return DenseResourceElementsAttr::get(t.type, "folded", std::move(blob));
}

SmallVector<int64_t> mlir::smq::stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

std::vector<int64_t> mlir::smq::broadcastIndexMap(ArrayRef<int64_t> outShape,
                                                  ArrayRef<int64_t> inShape) {
  int64_t n = 1;
  for (int64_t d : outShape)
    n *= d;
  size_t offset = outShape.size() - inShape.size();
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  std::vector<int64_t> map(n);
  SmallVector<int64_t> idx(outShape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < inShape.size(); ++i)
      if (inShape[i] != 1)
        src += idx[i + offset] * inStrides[i];
    map[k] = src;
    for (int64_t i = (int64_t)outShape.size() - 1; i >= 0; --i) {
      if (++idx[i] < outShape[i])
        break;
      idx[i] = 0;
    }
  }
  return map;
}

/// The static result type of `op`, if small enough to fold into.
static RankedTensorType foldableResult(Operation *op, unsigned i = 0) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(i).getType());
  if (!type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements ||
      !type.getElementType().isIntOrFloat())
    return nullptr;
  return type;
}

//===----------------------------------------------------------------------===//
// Constants and elementwise ops
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

using IntFn = std::optional<int64_t> (*)(int64_t, int64_t);
using FloatFn = double (*)(double, double);

static OpFoldResult foldBinary(Operation *op, Attribute lhs, Attribute rhs,
                               IntFn fi, FloatFn ff) {
  RankedTensorType type = foldableResult(op);
  if (!type)
    return {};
  auto a = readHostTensor(lhs), b = readHostTensor(rhs);
  if (!a || !b || a->isFloat() != b->isFloat())
    return {};
  HostTensor out = HostTensor::zeros(type);
  auto ma = broadcastIndexMap(type.getShape(), a->type.getShape());
  auto mb = broadcastIndexMap(type.getShape(), b->type.getShape());
  for (int64_t k = 0; k < out.size(); ++k) {
    if (a->isFloat()) {
      out.set(k, ff(a->floats[ma[k]], b->floats[mb[k]]));
    } else {
      std::optional<int64_t> v = fi(a->ints[ma[k]], b->ints[mb[k]]);
      if (!v)
        return {};
      out.setInt(k, *v);
    }
  }
  return foldedAttr(out);
}

OpFoldResult AddOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x + y; },
      [](double x, double y) { return x + y; });
}
OpFoldResult SubOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x - y; },
      [](double x, double y) { return x - y; });
}
OpFoldResult MulOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x * y; },
      [](double x, double y) { return x * y; });
}
OpFoldResult DivOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        if (y == 0 || (x == INT64_MIN && y == -1))
          return std::nullopt;
        return x / y;
      },
      [](double x, double y) { return x / y; });
}
OpFoldResult PowOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        if (y < 0 || y > 62)
          return std::nullopt;
        int64_t r = 1;
        for (int64_t i = 0; i < y; ++i)
          r *= x;
        return r;
      },
      [](double x, double y) { return std::pow(x, y); });
}
OpFoldResult MaxOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        return std::max(x, y);
      },
      [](double x, double y) { return std::isnan(x) ? x : std::max(x, y); });
}
OpFoldResult MinOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        return std::min(x, y);
      },
      [](double x, double y) { return std::isnan(x) ? x : std::min(x, y); });
}

/// Folds a comparison of constants into an i1 tensor: `cmp(order)` with
/// order -1, 0 or 1 for lhs <, == or > rhs, and NaN never true.
static OpFoldResult foldCompare(Operation *op, Value lhsValue, Attribute lhs,
                                Attribute rhs, bool (*cmp)(int)) {
  RankedTensorType type = foldableResult(op);
  if (!type)
    return {};
  auto a = readHostTensor(lhs), b = readHostTensor(rhs);
  if (!a || !b || a->isFloat() != b->isFloat())
    return {};
  bool isUnsigned =
      cast<ShapedType>(lhsValue.getType()).getElementType().isUnsignedInteger();
  HostTensor out = HostTensor::zeros(type);
  auto ma = broadcastIndexMap(type.getShape(), a->type.getShape());
  auto mb = broadcastIndexMap(type.getShape(), b->type.getShape());
  for (int64_t k = 0; k < out.size(); ++k) {
    bool r;
    if (a->isFloat()) {
      double x = a->floats[ma[k]], y = b->floats[mb[k]];
      r = !std::isnan(x) && !std::isnan(y) && cmp(x < y ? -1 : x > y);
    } else if (isUnsigned) {
      auto x = static_cast<uint64_t>(a->ints[ma[k]]),
           y = static_cast<uint64_t>(b->ints[mb[k]]);
      r = cmp(x < y ? -1 : x > y);
    } else {
      int64_t x = a->ints[ma[k]], y = b->ints[mb[k]];
      r = cmp(x < y ? -1 : x > y);
    }
    out.ints[k] = r;
  }
  return foldedAttr(out);
}

OpFoldResult EqualOp::fold(FoldAdaptor a) {
  return foldCompare(*this, getLhs(), a.getLhs(), a.getRhs(),
                     [](int order) { return order == 0; });
}
OpFoldResult LessOp::fold(FoldAdaptor a) {
  return foldCompare(*this, getLhs(), a.getLhs(), a.getRhs(),
                     [](int order) { return order < 0; });
}
OpFoldResult LessEqualOp::fold(FoldAdaptor a) {
  return foldCompare(*this, getLhs(), a.getLhs(), a.getRhs(),
                     [](int order) { return order <= 0; });
}
OpFoldResult AndOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x && y; },
      [](double x, double y) { return double(x && y); });
}
OpFoldResult OrOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x || y; },
      [](double x, double y) { return double(x || y); });
}
OpFoldResult XorOp::fold(FoldAdaptor a) {
  return foldBinary(
      *this, a.getLhs(), a.getRhs(),
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        return (x != 0) != (y != 0);
      },
      [](double x, double y) { return double((x != 0) != (y != 0)); });
}

static OpFoldResult foldUnary(Operation *op, Attribute input,
                              double (*ff)(double),
                              int64_t (*fi)(int64_t) = nullptr) {
  RankedTensorType type = foldableResult(op);
  auto in = readHostTensor(input);
  if (!type || !in || (!in->isFloat() && !fi))
    return {};
  HostTensor out = HostTensor::zeros(type);
  for (int64_t k = 0; k < out.size(); ++k) {
    if (in->isFloat())
      out.floats[k] = ff(in->floats[k]);
    else
      out.ints[k] = fi(in->ints[k]);
  }
  return foldedAttr(out);
}

OpFoldResult SqrtOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::sqrt(x); });
}
OpFoldResult ReciprocalOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return 1.0 / x; });
}
OpFoldResult NegOp::fold(FoldAdaptor a) {
  return foldUnary(
      *this, a.getInput(), [](double x) { return -x; },
      [](int64_t x) { return -x; });
}
OpFoldResult ExpOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::exp(x); });
}
OpFoldResult LogOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::log(x); });
}
OpFoldResult TanhOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::tanh(x); });
}
OpFoldResult ErfOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::erf(x); });
}
OpFoldResult SigmoidOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(),
                   [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}
OpFoldResult ReluOp::fold(FoldAdaptor a) {
  return foldUnary(
      *this, a.getInput(), [](double x) { return x > 0 ? x : 0.0; },
      [](int64_t x) { return x > 0 ? x : int64_t(0); });
}
OpFoldResult CosOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::cos(x); });
}
OpFoldResult SinOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::sin(x); });
}
OpFoldResult NotOp::fold(FoldAdaptor a) {
  return foldUnary(
      *this, a.getInput(), [](double x) { return x == 0 ? 1.0 : 0.0; },
      [](int64_t x) { return int64_t(x == 0); });
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  RankedTensorType type = foldableResult(*this);
  auto in = readHostTensor(adaptor.getInput());
  if (!type || !in)
    return {};
  HostTensor out = HostTensor::zeros(type);
  Type elt = type.getElementType();
  for (int64_t k = 0; k < out.size(); ++k) {
    double v = in->asDouble(k);
    if (elt.isInteger(1))
      out.ints[k] = v != 0;
    else if (out.isFloat())
      out.floats[k] = v;
    else if (in->isFloat()) {
      if (!std::isfinite(v) || std::fabs(v) > 9.2e18)
        return {};
      out.ints[k] = static_cast<int64_t>(std::trunc(v));
    } else
      out.ints[k] = in->ints[k];
  }
  return foldedAttr(out);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// Re-types a constant without moving elements (reshape-like folds).
static OpFoldResult foldReshapeLike(Operation *op, Value input,
                                    Attribute inputAttr) {
  if (input.getType() == op->getResult(0).getType())
    return input;
  RankedTensorType type = foldableResult(op);
  auto in = readHostTensor(inputAttr);
  if (!type || !in || in->size() != type.getNumElements())
    return {};
  in->type = type;
  return foldedAttr(*in);
}

OpFoldResult ReshapeOp::fold(FoldAdaptor a) {
  return foldReshapeLike(*this, getInput(), a.getInput());
}
OpFoldResult UnsqueezeOp::fold(FoldAdaptor a) {
  return foldReshapeLike(*this, getInput(), a.getInput());
}
OpFoldResult SqueezeOp::fold(FoldAdaptor a) {
  return foldReshapeLike(*this, getInput(), a.getInput());
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = foldableResult(*this);
  auto data = readHostTensor(adaptor.getData());
  auto idx = readHostTensor(adaptor.getIndices());
  if (!type || !data || !idx)
    return {};
  ArrayRef<int64_t> ds = data->type.getShape();
  int64_t axis = getAxisAttr().getInt();
  int64_t outer = 1, inner = 1, dim = ds[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= ds[i];
  for (size_t i = axis + 1; i < ds.size(); ++i)
    inner *= ds[i];
  HostTensor out = HostTensor::zeros(type);
  int64_t n = idx->size(), k = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) {
      int64_t i = idx->ints[j] < 0 ? idx->ints[j] + dim : idx->ints[j];
      if (i < 0 || i >= dim)
        return {};
      for (int64_t in = 0; in < inner; ++in, ++k) {
        int64_t src = (o * dim + i) * inner + in;
        if (out.isFloat())
          out.floats[k] = data->floats[src];
        else
          out.ints[k] = data->ints[src];
      }
    }
  return foldedAttr(out);
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= (int64_t)i == p;
  if (identity && getInput().getType() == getType())
    return getInput();
  RankedTensorType type = foldableResult(*this);
  auto in = readHostTensor(adaptor.getInput());
  if (!type || !in)
    return {};
  SmallVector<int64_t> inStrides = stridesOf(in->type.getShape());
  HostTensor out = HostTensor::zeros(type);
  SmallVector<int64_t> idx(perm.size(), 0);
  for (int64_t k = 0; k < out.size(); ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < perm.size(); ++i)
      src += idx[i] * inStrides[perm[i]];
    if (out.isFloat())
      out.floats[k] = in->floats[src];
    else
      out.ints[k] = in->ints[src];
    for (int64_t i = (int64_t)perm.size() - 1; i >= 0; --i) {
      if (++idx[i] < type.getDimSize(i))
        break;
      idx[i] = 0;
    }
  }
  return foldedAttr(out);
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  RankedTensorType type = foldableResult(*this);
  if (!type)
    return {};
  SmallVector<HostTensor> parts;
  for (Attribute attr : adaptor.getInputs()) {
    auto t = readHostTensor(attr);
    if (!t)
      return {};
    parts.push_back(std::move(*t));
  }
  int64_t axis = getAxisAttr().getInt();
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= type.getDimSize(i);
  HostTensor out = HostTensor::zeros(type);
  int64_t k = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const HostTensor &p : parts) {
      int64_t chunk = outer ? p.size() / outer : 0;
      for (int64_t j = 0; j < chunk; ++j, ++k) {
        if (out.isFloat())
          out.floats[k] = p.asDouble(o * chunk + j);
        else
          out.ints[k] = p.ints[o * chunk + j];
      }
    }
  return foldedAttr(out);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType()) {
    // A slice that keeps every element of every axis is the identity.
    auto starts = getConstantInts(getStarts()), ends = getConstantInts(getEnds());
    auto axes = getConstantInts(getAxes()), steps = getConstantInts(getSteps());
    auto type = dyn_cast<RankedTensorType>(getType());
    if (starts && ends && axes && steps && type && type.hasStaticShape()) {
      bool identity = true;
      for (size_t k = 0; k < starts->size(); ++k) {
        int64_t ax = (*axes)[k] < 0 ? (*axes)[k] + type.getRank() : (*axes)[k];
        int64_t s = (*starts)[k] < 0 ? (*starts)[k] + type.getDimSize(ax)
                                     : (*starts)[k];
        identity &= (*steps)[k] == 1 && s <= 0;
      }
      if (identity)
        return getData();
    }
  }
  RankedTensorType type = foldableResult(*this);
  auto data = readHostTensor(adaptor.getData());
  auto bounds = getStaticBounds();
  if (!type || !data || !bounds)
    return {};
  ArrayRef<int64_t> in = data->type.getShape();
  int64_t rank = in.size();
  ArrayRef<int64_t> begin = bounds->begin, step = bounds->step;
  SmallVector<int64_t> inStrides = stridesOf(in);
  HostTensor out = HostTensor::zeros(type);
  SmallVector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < out.size(); ++k) {
    int64_t src = 0;
    for (int64_t i = 0; i < rank; ++i)
      src += (begin[i] + idx[i] * step[i]) * inStrides[i];
    if (out.isFloat())
      out.floats[k] = data->floats[src];
    else
      out.ints[k] = data->ints[src];
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < type.getDimSize(i))
        break;
      idx[i] = 0;
    }
  }
  return foldedAttr(out);
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  RankedTensorType type = foldableResult(*this);
  auto in = readHostTensor(adaptor.getInput());
  if (!type || !in)
    return {};
  if (in->size() == 1) {
    if (in->isFloat())
      return DenseElementsAttr::get(type, toAttr(*in).getSplatValue<APFloat>());
    return DenseElementsAttr::get(type, toAttr(*in).getSplatValue<Attribute>());
  }
  auto map = broadcastIndexMap(type.getShape(), in->type.getShape());
  HostTensor out = HostTensor::zeros(type);
  for (int64_t k = 0; k < out.size(); ++k) {
    if (out.isFloat())
      out.floats[k] = in->floats[map[k]];
    else
      out.ints[k] = in->ints[map[k]];
  }
  return foldedAttr(out);
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = foldableResult(*this);
  auto c = readHostTensor(adaptor.getCondition());
  if (!c)
    return {};
  // A uniform condition selects one operand whole.
  bool allTrue = llvm::all_of(c->ints, [](int64_t v) { return v != 0; });
  bool allFalse = llvm::all_of(c->ints, [](int64_t v) { return v == 0; });
  if (allTrue && getX().getType() == getType())
    return getX();
  if (allFalse && getY().getType() == getType())
    return getY();
  auto x = readHostTensor(adaptor.getX()), y = readHostTensor(adaptor.getY());
  if (!type || !x || !y)
    return {};
  auto mc = broadcastIndexMap(type.getShape(), c->type.getShape());
  auto mx = broadcastIndexMap(type.getShape(), x->type.getShape());
  auto my = broadcastIndexMap(type.getShape(), y->type.getShape());
  HostTensor out = HostTensor::zeros(type);
  for (int64_t k = 0; k < out.size(); ++k) {
    const HostTensor &src = c->ints[mc[k]] ? *x : *y;
    int64_t i = c->ints[mc[k]] ? mx[k] : my[k];
    if (out.isFloat())
      out.floats[k] = src.floats[i];
    else
      out.ints[k] = src.ints[i];
  }
  return foldedAttr(out);
}

OpFoldResult TriluOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = foldableResult(*this);
  auto in = readHostTensor(adaptor.getInput());
  if (!type || !in)
    return {};
  int64_t rows = type.getDimSize(type.getRank() - 2);
  int64_t cols = type.getDimSize(type.getRank() - 1);
  HostTensor out = *in;
  for (int64_t k = 0; k < out.size(); ++k) {
    int64_t r = (k / cols) % rows, c = k % cols;
    bool keep = getUpper() ? c - r >= getKAttr().getInt() : c - r <= getKAttr().getInt();
    if (!keep)
      out.setInt(k, 0);
  }
  return foldedAttr(out);
}

//===----------------------------------------------------------------------===//
// Shape computation
//===----------------------------------------------------------------------===//

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto in = cast<RankedTensorType>(getInput().getType());
  RankedTensorType type = foldableResult(*this);
  if (!type || getStartAttr().getInt() < 0 || getEndAttr().getInt() > in.getRank() ||
      getStartAttr().getInt() > getEndAttr().getInt())
    return {};
  HostTensor out = HostTensor::zeros(type);
  for (int64_t i = getStartAttr().getInt(); i < getEndAttr().getInt(); ++i) {
    if (in.isDynamicDim(i))
      return {};
    out.ints[i - getStartAttr().getInt()] = in.getDimSize(i);
  }
  return foldedAttr(out);
}

OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = foldableResult(*this);
  auto s = readHostTensor(adaptor.getStart()), d = readHostTensor(adaptor.getDelta());
  if (!type || !s || !d || s->size() != 1 || d->size() != 1)
    return {};
  HostTensor out = HostTensor::zeros(type);
  for (int64_t k = 0; k < out.size(); ++k) {
    if (out.isFloat())
      out.floats[k] = s->floats[0] + k * d->floats[0];
    else
      out.ints[k] = s->ints[0] + k * d->ints[0];
  }
  return foldedAttr(out);
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor) {
  auto type = dyn_cast<RankedTensorType>(getType());
  if (!type || !type.hasStaticShape())
    return {};
  Attribute value = getValue();
  if (auto elements = dyn_cast<DenseElementsAttr>(value)) {
    if (elements.getNumElements() != 1)
      return {};
    value = elements.getSplatValue<Attribute>();
  }
  if (!isa<IntegerAttr, FloatAttr>(value) ||
      cast<TypedAttr>(value).getType() != type.getElementType())
    return {};
  return DenseElementsAttr::get(type, value);
}
