//===- OpConverters.cpp - one import rule per ONNX op ---------------------===//
//
// Rules translate ONNX semantics, including their changes across opsets,
// into smq ops. docs/AddingAnOnnxOp.md walks through adding one.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::onnx_import;

namespace {

using Results = SmallVectorImpl<Value>;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename OpT>
LogicalResult binary(NodeImporter &n, Results &out) {
  auto a = n.required(0), b = n.required(1);
  if (failed(a) || failed(b))
    return failure();
  return push(n.build1<OpT>(*a, *b), out);
}

/// Greater(a, b) is less(b, a); GreaterOrEqual(a, b) is less_equal(b, a).
template <typename OpT>
LogicalResult swappedBinary(NodeImporter &n, Results &out) {
  auto a = n.required(0), b = n.required(1);
  if (failed(a) || failed(b))
    return failure();
  return push(n.build1<OpT>(*b, *a), out);
}

/// The input's float element type, or a diagnostic naming the op.
FailureOr<FloatType> floatInput(NodeImporter &n, Value x) {
  auto elt = dyn_cast<FloatType>(cast<ShapedType>(x.getType()).getElementType());
  if (!elt) {
    std::string type;
    llvm::raw_string_ostream os(type);
    os << x.getType();
    return n.fail("expects a floating-point input, got " + Twine(type));
  }
  return elt;
}

/// IsNaN(x) = not(x == x): only NaN differs from itself.
LogicalResult importIsNaN(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x) || failed(floatInput(n, *x)))
    return failure();
  auto same = n.build1<EqualOp>(*x, *x);
  if (failed(same))
    return failure();
  return push(n.build1<NotOp>(*same), out);
}

/// IsInf(x) compares with +inf and -inf, as detect_positive and
/// detect_negative ask; with neither, every element is false (x < x).
LogicalResult importIsInf(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto elt = floatInput(n, *x);
  if (failed(elt))
    return failure();
  bool positive = n.intAttr("detect_positive", 1) != 0,
       negative = n.intAttr("detect_negative", 1) != 0;
  auto equalsInf = [&](bool negativeInf) -> FailureOr<Value> {
    auto scalar = RankedTensorType::get({}, *elt);
    auto inf = n.build1<ConstantOp>(DenseElementsAttr::get(
        scalar, APFloat::getInf(elt->getFloatSemantics(), negativeInf)));
    if (failed(inf))
      return failure();
    return n.build1<EqualOp>(*x, *inf);
  };
  if (!positive && !negative)
    return push(n.build1<LessOp>(*x, *x), out);
  FailureOr<Value> result = failure();
  if (positive)
    result = equalsInf(false);
  if (negative) {
    auto neg = equalsInf(true);
    if (failed(neg))
      return failure();
    result = succeeded(result) ? n.build1<OrOp>(*result, *neg) : neg;
  }
  return push(result, out);
}

/// ScatterND(data, indices, updates), with ScatterND-16's reduction.
LogicalResult importScatterND(NodeImporter &n, Results &out) {
  auto data = n.required(0), indices = n.required(1), updates = n.required(2);
  if (failed(data) || failed(indices) || failed(updates))
    return failure();
  std::string reduction = n.stringAttr("reduction", "none");
  return push(n.build1<ScatterNDOp>(*data, *indices, *updates,
                                    n.builder.getStringAttr(reduction)),
              out);
}

LogicalResult importPow(NodeImporter &n, Results &out) {
  auto a = n.required(0), b = n.required(1);
  if (failed(a) || failed(b))
    return failure();
  Value exponent = *b;
  Type baseElt = cast<ShapedType>(a->getType()).getElementType();
  auto expType = cast<ShapedType>(exponent.getType());
  if (expType.getElementType() != baseElt) {
    auto cast = n.build1<CastOp>(expType.clone(baseElt), exponent);
    if (failed(cast))
      return failure();
    exponent = *cast;
  }
  return push(n.build1<PowOp>(*a, exponent), out);
}

/// Max and Min take one or more inputs.
template <typename OpT>
LogicalResult variadic(NodeImporter &n, Results &out) {
  auto acc = n.required(0);
  if (failed(acc))
    return failure();
  Value result = *acc;
  for (size_t i = 1; i < n.numInputs(); ++i) {
    auto next = n.required(i);
    if (failed(next))
      return failure();
    auto v = n.build1<OpT>(result, *next);
    if (failed(v))
      return failure();
    result = *v;
  }
  out.push_back(result);
  return success();
}

template <typename OpT>
LogicalResult unary(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  return push(n.build1<OpT>(*x), out);
}

LogicalResult importIdentity(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  out.push_back(*x);
  return success();
}

LogicalResult importGelu(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  std::string approx = n.stringAttr("approximate", "none");
  return push(n.build1<GeluOp>(*x, n.builder.getStringAttr(approx)), out);
}

LogicalResult importCast(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  int64_t to = n.intAttr("to", 0);
  Type elt = convertElementType(n.getContext(), static_cast<int32_t>(to));
  if (!elt)
    return n.fail("Cast to ONNX data type " + Twine(to) + " is not supported");
  auto type = cast<ShapedType>(x->getType()).clone(elt);
  return push(n.build1<CastOp>(type, *x), out);
}

LogicalResult importWhere(NodeImporter &n, Results &out) {
  auto c = n.required(0), x = n.required(1), y = n.required(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  return push(n.build1<WhereOp>(*c, *x, *y), out);
}

//===----------------------------------------------------------------------===//
// Normalisations and reductions
//===----------------------------------------------------------------------===//

LogicalResult importSoftmax(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  int64_t dflt = n.opset >= 13 ? -1 : 1;
  auto axis = n.normalizeAxis(n.intAttr("axis", dflt), *rank, "axis");
  if (failed(axis))
    return failure();
  if (n.opset >= 13 || *axis == *rank - 1)
    return push(n.build1<SoftmaxOp>(*x, n.builder.getI64IntegerAttr(*axis)),
                out);
  // Before opset 13, Softmax flattens the input to 2-D at `axis`.
  auto type = cast<RankedTensorType>(x->getType());
  if (!type.hasStaticShape())
    return n.fail("Softmax before opset 13 with axis != rank-1 needs static "
                  "shapes");
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < *rank; ++i)
    (i < *axis ? rows : cols) *= type.getDimSize(i);
  auto flat = n.build1<ReshapeOp>(*x, n.constI64({rows, cols}), false);
  if (failed(flat))
    return failure();
  auto sm = n.build1<SoftmaxOp>(*flat, n.builder.getI64IntegerAttr(1));
  if (failed(sm))
    return failure();
  return push(n.build1<ReshapeOp>(*sm, n.constI64(type.getShape()), false),
              out);
}

LogicalResult importLayerNorm(NodeImporter &n, Results &out) {
  auto x = n.required(0), scale = n.required(1);
  if (failed(x) || failed(scale))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  auto axis = n.normalizeAxis(n.intAttr("axis", -1), *rank, "axis");
  if (failed(axis))
    return failure();
  float eps = n.floatAttr("epsilon", 1e-5f);
  if (failed(push(n.build1<LayerNormOp>(*x, *scale, n.input(2),
                                        n.builder.getI64IntegerAttr(*axis),
                                        n.builder.getF32FloatAttr(eps)),
                  out)))
    return failure();
  bool wantStats = false;
  for (size_t i = 1; i < n.numOutputs(); ++i)
    wantStats |= !n.node.output(i).empty();
  if (!wantStats)
    return success();
  // The optional Mean and InvStdDev outputs are spelled out in primitives:
  // mean = E[x], invstd = 1 / sqrt(E[(x - mean)^2] + epsilon), reduced over
  // [axis, rank) with the reduced dims kept.
  SmallVector<int64_t> axes;
  for (int64_t i = *axis; i < *rank; ++i)
    axes.push_back(i);
  auto mean = n.build1<ReduceMeanOp>(*x, axes, true);
  if (failed(mean))
    return failure();
  auto centered = n.build1<SubOp>(*x, *mean);
  if (failed(centered))
    return failure();
  auto squared = n.build1<MulOp>(*centered, *centered);
  if (failed(squared))
    return failure();
  auto var = n.build1<ReduceMeanOp>(*squared, axes, true);
  if (failed(var))
    return failure();
  auto eltType = cast<ShapedType>(x->getType()).getElementType();
  auto epsType = RankedTensorType::get({}, eltType);
  Value epsValue = ConstantOp::create(
      n.builder, n.loc,
      DenseElementsAttr::get(epsType, n.builder.getFloatAttr(eltType, eps)));
  auto shifted = n.build1<AddOp>(*var, epsValue);
  if (failed(shifted))
    return failure();
  auto stddev = n.build1<SqrtOp>(*shifted);
  if (failed(stddev))
    return failure();
  out.push_back(*mean);
  return push(n.build1<ReciprocalOp>(*stddev), out);
}

/// Reductions took `axes` as an attribute until ReduceSum-13 and the other
/// reductions' opset 18, and as an optional input since.
template <typename OpT>
LogicalResult reduce(NodeImporter &n, Results &out, int64_t axesInputSince) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  SmallVector<int64_t> axes;
  if (n.opset >= axesInputSince) {
    if (n.hasInput(1)) {
      auto c = n.constantInts(1, "axes");
      if (failed(c))
        return failure();
      axes = *c;
    }
  } else if (auto a = n.intsAttr("axes")) {
    axes = *a;
  }
  if (axes.empty() && n.intAttr("noop_with_empty_axes", 0)) {
    out.push_back(*x);
    return success();
  }
  for (int64_t &a : axes) {
    auto norm = n.normalizeAxis(a, *rank, "axes");
    if (failed(norm))
      return failure();
    a = *norm;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return n.fail("axes has repeated entries");
  bool keepdims = n.intAttr("keepdims", 1) != 0;
  return push(n.build1<OpT>(*x, axes, keepdims), out);
}

LogicalResult importReduceMean(NodeImporter &n, Results &out) {
  return reduce<ReduceMeanOp>(n, out, 18);
}
LogicalResult importReduceMax(NodeImporter &n, Results &out) {
  return reduce<ReduceMaxOp>(n, out, 18);
}
LogicalResult importReduceSum(NodeImporter &n, Results &out) {
  return reduce<ReduceSumOp>(n, out, 13);
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

LogicalResult importMatMul(NodeImporter &n, Results &out) {
  auto a = n.required(0), b = n.required(1);
  if (failed(a) || failed(b))
    return failure();
  auto ra = n.rankOf(*a), rb = n.rankOf(*b);
  if (failed(ra) || failed(rb))
    return failure();
  if (*ra == 0 || *rb == 0)
    return n.fail("MatMul operands must not be scalars");
  // ONNX follows numpy: a 1-D lhs gains a leading 1, a 1-D rhs a trailing 1,
  // and both are removed from the result.
  Value lhs = *a, rhs = *b;
  if (*ra == 1) {
    auto v = n.build1<UnsqueezeOp>(lhs, ArrayRef<int64_t>{0});
    if (failed(v))
      return failure();
    lhs = *v;
  }
  if (*rb == 1) {
    auto v = n.build1<UnsqueezeOp>(rhs, ArrayRef<int64_t>{1});
    if (failed(v))
      return failure();
    rhs = *v;
  }
  auto mm = fuseDequantizedRhs(n, lhs, rhs);
  if (succeeded(mm) && !*mm)
    mm = n.build1<MatMulOp>(lhs, rhs);
  if (failed(mm))
    return failure();
  Value result = *mm;
  int64_t outRank = cast<RankedTensorType>(result.getType()).getRank();
  SmallVector<int64_t> drop;
  if (*ra == 1)
    drop.push_back(outRank - 2);
  if (*rb == 1)
    drop.push_back(outRank - 1);
  if (drop.empty()) {
    out.push_back(result);
    return success();
  }
  return push(n.build1<SqueezeOp>(result, drop), out);
}

LogicalResult importGemm(NodeImporter &n, Results &out) {
  auto a = n.required(0), b = n.required(1);
  if (failed(a) || failed(b))
    return failure();
  return push(n.build1<GemmOp>(
                  *a, *b, n.input(2),
                  n.builder.getF32FloatAttr(n.floatAttr("alpha", 1.0f)),
                  n.builder.getF32FloatAttr(n.floatAttr("beta", 1.0f)),
                  n.builder.getBoolAttr(n.intAttr("transA", 0) != 0),
                  n.builder.getBoolAttr(n.intAttr("transB", 0) != 0)),
              out);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult importGather(NodeImporter &n, Results &out) {
  auto data = n.required(0), idx = n.required(1);
  if (failed(data) || failed(idx))
    return failure();
  auto rank = n.rankOf(*data);
  if (failed(rank))
    return failure();
  auto axis = n.normalizeAxis(n.intAttr("axis", 0), *rank, "axis");
  if (failed(axis))
    return failure();
  return push(
      n.build1<GatherOp>(*data, *idx, n.builder.getI64IntegerAttr(*axis)),
      out);
}

LogicalResult importReshape(NodeImporter &n, Results &out) {
  auto x = n.required(0), shape = n.required(1);
  if (failed(x) || failed(shape))
    return failure();
  bool allowzero = n.opset >= 14 && n.intAttr("allowzero", 0) != 0;
  return push(n.build1<ReshapeOp>(*x, *shape, allowzero), out);
}

LogicalResult importTranspose(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  SmallVector<int64_t> perm;
  if (auto p = n.intsAttr("perm")) {
    perm = *p;
  } else {
    for (int64_t i = *rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  return push(n.build1<TransposeOp>(*x, perm), out);
}

/// Squeeze and Unsqueeze took `axes` as an attribute before opset 13.
FailureOr<SmallVector<int64_t>> squeezeAxes(NodeImporter &n, int64_t rank,
                                            bool required) {
  SmallVector<int64_t> axes;
  if (n.opset >= 13) {
    if (n.hasInput(1)) {
      auto c = n.constantInts(1, "axes");
      if (failed(c))
        return failure();
      axes = *c;
    }
  } else if (auto a = n.intsAttr("axes")) {
    axes = *a;
  }
  if (required && axes.empty()) {
    (void)n.fail("axes are required");
    return failure();
  }
  for (int64_t &a : axes) {
    auto norm = n.normalizeAxis(a, rank, "axes");
    if (failed(norm))
      return failure();
    a = *norm;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) {
    (void)n.fail("axes has repeated entries");
    return failure();
  }
  return axes;
}

LogicalResult importUnsqueeze(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  // Axes index the result, whose rank counts the new dims.
  int64_t count = 0;
  if (n.opset >= 13 && n.hasInput(1)) {
    if (auto t = dyn_cast<RankedTensorType>(n.input(1).getType()))
      count = t.getNumElements();
  } else if (auto a = n.intsAttr("axes")) {
    count = a->size();
  }
  auto axes = squeezeAxes(n, *rank + count, /*required=*/true);
  if (failed(axes))
    return failure();
  return push(n.build1<UnsqueezeOp>(*x, *axes), out);
}

LogicalResult importSqueeze(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  auto axes = squeezeAxes(n, *rank, /*required=*/false);
  if (failed(axes))
    return failure();
  if (axes->empty()) {
    auto type = cast<RankedTensorType>(x->getType());
    for (int64_t i = 0; i < *rank; ++i) {
      if (type.isDynamicDim(i))
        return n.fail("Squeeze without axes needs a static input shape");
      if (type.getDimSize(i) == 1)
        axes->push_back(i);
    }
  }
  return push(n.build1<SqueezeOp>(*x, *axes), out);
}

LogicalResult importConcat(NodeImporter &n, Results &out) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n.numInputs(); ++i) {
    auto v = n.required(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return n.fail("Concat needs at least one input");
  auto rank = n.rankOf(inputs.front());
  if (failed(rank))
    return failure();
  if (!n.attr("axis"))
    return n.fail("Concat needs an axis attribute");
  auto axis = n.normalizeAxis(n.intAttr("axis", 0), *rank, "axis");
  if (failed(axis))
    return failure();
  return push(
      n.build1<ConcatOp>(inputs, n.builder.getI64IntegerAttr(*axis)), out);
}

LogicalResult importSlice(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  Value starts, ends, axes, steps;
  if (n.opset < 10) {
    auto s = n.intsAttr("starts"), e = n.intsAttr("ends");
    if (!s || !e)
      return n.fail("Slice needs starts and ends");
    starts = n.constI64(*s);
    ends = n.constI64(*e);
    if (auto a = n.intsAttr("axes"))
      axes = n.constI64(*a);
  } else {
    auto s = n.required(1), e = n.required(2);
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    axes = n.input(3);
    steps = n.input(4);
  }
  auto count = cast<RankedTensorType>(starts.getType());
  if (count.getRank() != 1 || count.isDynamicDim(0))
    return n.fail("Slice starts must be a 1-D tensor of known length");
  int64_t len = count.getDimSize(0);
  if (!axes) {
    SmallVector<int64_t> all;
    for (int64_t i = 0; i < len; ++i)
      all.push_back(i);
    axes = n.constI64(all);
  }
  if (!steps)
    steps = n.constI64(SmallVector<int64_t>(len, 1));
  return push(n.build1<SliceOp>(*x, starts, ends, axes, steps), out);
}

LogicalResult importSplit(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  auto axis = n.normalizeAxis(n.intAttr("axis", 0), *rank, "axis");
  if (failed(axis))
    return failure();
  SmallVector<int64_t> sizes;
  if (n.opset >= 13 && n.hasInput(1)) {
    auto c = n.constantInts(1, "split");
    if (failed(c))
      return failure();
    sizes = *c;
  } else if (auto s = n.intsAttr("split")) {
    sizes = *s;
  } else {
    auto type = cast<RankedTensorType>(x->getType());
    if (type.isDynamicDim(*axis))
      return n.fail("an even Split of a dynamic dim is not supported");
    int64_t dim = type.getDimSize(*axis);
    int64_t parts = n.opset >= 18 && n.attr("num_outputs")
                        ? n.intAttr("num_outputs", 1)
                        : static_cast<int64_t>(n.numOutputs());
    if (parts <= 0)
      return n.fail("Split needs at least one output");
    // Opset 18 lets the last piece be smaller; earlier opsets need equality.
    int64_t piece = (dim + parts - 1) / parts;
    if (n.opset < 18 && dim % parts != 0)
      return n.fail("dim " + Twine(dim) + " does not split evenly into " +
                    Twine(parts));
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(piece, dim - i * piece)));
  }
  if (sizes.size() != n.numOutputs())
    return n.fail("Split produces " + Twine(sizes.size()) +
                  " pieces but the node has " + Twine(n.numOutputs()) +
                  " outputs");
  auto results = n.build<SplitOp>(*x, n.builder.getI64IntegerAttr(*axis),
                                  n.builder.getDenseI64ArrayAttr(sizes));
  if (failed(results))
    return failure();
  out.append(results->begin(), results->end());
  return success();
}

LogicalResult importExpand(NodeImporter &n, Results &out) {
  auto x = n.required(0), shape = n.required(1);
  if (failed(x) || failed(shape))
    return failure();
  return push(n.build1<ExpandOp>(*x, *shape), out);
}

LogicalResult importTrilu(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  if (n.hasInput(1)) {
    auto c = n.constantInts(1, "k");
    if (failed(c))
      return failure();
    if (c->size() != 1)
      return n.fail("k must be a scalar");
    k = (*c)[0];
  }
  bool upper = n.intAttr("upper", 1) != 0;
  return push(n.build1<TriluOp>(*x, n.builder.getI64IntegerAttr(k),
                                n.builder.getBoolAttr(upper)),
              out);
}

//===----------------------------------------------------------------------===//
// Shape computation and constants
//===----------------------------------------------------------------------===//

LogicalResult importShape(NodeImporter &n, Results &out) {
  auto x = n.required(0);
  if (failed(x))
    return failure();
  auto rank = n.rankOf(*x);
  if (failed(rank))
    return failure();
  auto clampDim = [&](int64_t d) {
    if (d < 0)
      d += *rank;
    return std::clamp<int64_t>(d, 0, *rank);
  };
  int64_t start = n.opset >= 15 ? clampDim(n.intAttr("start", 0)) : 0;
  int64_t end = n.opset >= 15 && n.attr("end") ? clampDim(n.intAttr("end", 0))
                                               : *rank;
  end = std::max(start, end);
  return push(n.build1<ShapeOp>(*x, n.builder.getI64IntegerAttr(start),
                                n.builder.getI64IntegerAttr(end)),
              out);
}

LogicalResult importRange(NodeImporter &n, Results &out) {
  auto s = n.required(0), l = n.required(1), d = n.required(2);
  if (failed(s) || failed(l) || failed(d))
    return failure();
  return push(n.build1<RangeOp>(*s, *l, *d), out);
}

LogicalResult importConstantOfShape(NodeImporter &n, Results &out) {
  auto shape = n.required(0);
  if (failed(shape))
    return failure();
  TypedAttr value = n.builder.getF32FloatAttr(0.0f);
  if (const onnx::AttributeProto *a = n.attr("value")) {
    onnx::TensorProto t = a->t();
    std::string why;
    ElementsAttr e = convertTensor(n.getContext(), t, "value", "", false, &why);
    if (!e)
      return n.fail(why);
    if (e.getNumElements() != 1)
      return n.fail("ConstantOfShape's value must hold one element");
    auto dense = dyn_cast<DenseElementsAttr>(e);
    if (!dense)
      return n.fail("ConstantOfShape's value must be inline data");
    value = cast<TypedAttr>(dense.getSplatValue<Attribute>());
  }
  return push(n.build1<ConstantOfShapeOp>(*shape, value), out);
}

LogicalResult importConstant(NodeImporter &n, Results &out) {
  const onnx::AttributeProto *value = n.attr("value");
  MLIRContext *ctx = n.getContext();
  ElementsAttr attr;
  if (value) {
    onnx::TensorProto t = value->t();
    std::string why;
    std::string name = n.node.output_size() ? n.node.output(0) : "constant";
    attr = convertTensor(ctx, t, name, "", false, &why);
    if (!attr)
      return n.fail(why);
  } else if (const onnx::AttributeProto *f = n.attr("value_float")) {
    attr = DenseElementsAttr::get(
        RankedTensorType::get({}, Float32Type::get(ctx)), f->f());
  } else if (const onnx::AttributeProto *i = n.attr("value_int")) {
    attr = DenseElementsAttr::get(
        RankedTensorType::get({}, IntegerType::get(ctx, 64)),
        static_cast<int64_t>(i->i()));
  } else if (const onnx::AttributeProto *fs = n.attr("value_floats")) {
    SmallVector<float> v(fs->floats().begin(), fs->floats().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, Float32Type::get(ctx)),
        ArrayRef<float>(v));
  } else if (const onnx::AttributeProto *is = n.attr("value_ints")) {
    SmallVector<int64_t> v(is->ints().begin(), is->ints().end());
    attr = DenseElementsAttr::get(
        RankedTensorType::get({(int64_t)v.size()}, IntegerType::get(ctx, 64)),
        ArrayRef<int64_t>(v));
  } else {
    return n.fail("Constant with a sparse or string value is not supported");
  }
  return push(n.build1<ConstantOp>(attr), out);
}

struct RuleEntry {
  const char *name;
  ImportRule rule;
};

const RuleEntry kRules[] = {
    {"Add", binary<AddOp>},
    {"Sub", binary<SubOp>},
    {"Mul", binary<MulOp>},
    {"Div", binary<DivOp>},
    {"Pow", importPow},
    {"Equal", binary<EqualOp>},
    {"Less", binary<LessOp>},
    {"LessOrEqual", binary<LessEqualOp>},
    {"Greater", swappedBinary<LessOp>},
    {"GreaterOrEqual", swappedBinary<LessEqualOp>},
    {"And", binary<AndOp>},
    {"Or", binary<OrOp>},
    {"Xor", binary<XorOp>},
    {"IsNaN", importIsNaN},
    {"IsInf", importIsInf},
    {"Max", variadic<MaxOp>},
    {"Min", variadic<MinOp>},
    {"Sqrt", unary<SqrtOp>},
    {"Reciprocal", unary<ReciprocalOp>},
    {"Neg", unary<NegOp>},
    {"Exp", unary<ExpOp>},
    {"Log", unary<LogOp>},
    {"Tanh", unary<TanhOp>},
    {"Erf", unary<ErfOp>},
    {"Sigmoid", unary<SigmoidOp>},
    {"Relu", unary<ReluOp>},
    {"Cos", unary<CosOp>},
    {"Sin", unary<SinOp>},
    {"Not", unary<NotOp>},
    {"Gelu", importGelu},
    {"Identity", importIdentity},
    {"Cast", importCast},
    {"Where", importWhere},
    {"Softmax", importSoftmax},
    {"LayerNormalization", importLayerNorm},
    {"ReduceMean", importReduceMean},
    {"ReduceSum", importReduceSum},
    {"ReduceMax", importReduceMax},
    {"MatMul", importMatMul},
    {"Gemm", importGemm},
    {"Gather", importGather},
    {"Reshape", importReshape},
    {"Transpose", importTranspose},
    {"Unsqueeze", importUnsqueeze},
    {"Squeeze", importSqueeze},
    {"Concat", importConcat},
    {"Slice", importSlice},
    {"Split", importSplit},
    {"Expand", importExpand},
    {"ScatterND", importScatterND},
    {"Trilu", importTrilu},
    {"Shape", importShape},
    {"Range", importRange},
    {"ConstantOfShape", importConstantOfShape},
    {"Constant", importConstant},
};

} // namespace

ImportRule mlir::smq::onnx_import::lookupImportRule(const std::string &domain,
                                                    const std::string &opType) {
  if (ImportRule rule = lookupQuantRule(domain, opType))
    return rule;
  if (ImportRule rule = lookupContribRule(domain, opType))
    return rule;
  if (!domain.empty() && domain != "ai.onnx")
    return nullptr;
  for (const RuleEntry &e : kRules)
    if (opType == e.name)
      return e.rule;
  return nullptr;
}

std::vector<std::string> mlir::smq::onnx_import::importRuleNames() {
  std::vector<std::string> names = quantRuleNames();
  for (std::string &name : contribRuleNames())
    names.push_back(std::move(name));
  for (const RuleEntry &e : kRules)
    names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}
