//===- QuantOpConverters.cpp - import rules for quantized ONNX -----------===//
//
// ONNX Runtime's com.microsoft::MatMulNBits and the standard
// DequantizeLinear (per tensor, per axis and blocked, opset 21) of a
// constant weight. Both become SMQ's grouped codes (smq.quantized_matmul,
// or smq.dequantize until a MatMul takes it), so the weight is never
// expanded to float on its way to the low-bit kernels. Quantized
// embeddings (com.microsoft::GatherBlockQuantized) are dequantized once
// into an f32 table.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "smq/Dialect/Smq/IR/ConstantBytes.h"
#include "smq/Quant/CodeLayout.h"
#include "smq/Support/ShapeSpec.h"

#include <array>
#include <optional>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::onnx_import;
namespace q = ::smq::quant;

namespace {

using Results = SmallVectorImpl<Value>;

/// The bytes of a constant input, splats expanded; none if the input is
/// not a constant.
std::optional<std::vector<uint8_t>> constantInput(Value v) {
  auto cst = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  if (!cst)
    return std::nullopt;
  auto type = cast<ShapedType>(cst.getValue().getType());
  if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
      dense && dense.isSplat()) {
    ArrayRef<char> one = dense.getRawData();
    std::vector<uint8_t> out;
    for (int64_t i = 0; i < type.getNumElements(); ++i)
      out.insert(out.end(), one.begin(), one.end());
    return out;
  }
  auto bytes = constantBytes(cst.getValue());
  if (!bytes)
    return std::nullopt;
  return std::vector<uint8_t>(bytes->begin(), bytes->end());
}

Value blobConstant(NodeImporter &n, ArrayRef<int64_t> shape, Type elt,
                   const void *data, size_t size, const std::string &key) {
  return ConstantOp::create(
      n.builder, n.loc,
      bytesAttr(RankedTensorType::get(shape, elt), key,
                ArrayRef<char>(static_cast<const char *>(data), size)));
}

/// The resource key of tensor `what` of a weight named `stem`.
std::string keyFor(const std::string &stem, const std::string &what) {
  return resourceKey(stem) + "." + what;
}

int64_t elementsOf(Value v) {
  return cast<ShapedType>(v.getType()).getNumElements();
}

bool isF32(Value v) {
  return cast<ShapedType>(v.getType()).getElementType().isF32();
}

/// SMQ's grouped form of an N×K weight, host side.
struct Grouped {
  int64_t n = 0, k = 0, group = 0;
  int bits = 0;
  std::vector<uint8_t> codes; // N rows of ceil(K·bits/8) bytes
  std::vector<float> scales, zeros; // N × ceil(K/group)

  int64_t groups() const { return (k + group - 1) / group; }
};

/// The constants of `w`, named after `stem`.
std::array<Value, 3> groupedConstants(NodeImporter &n, const Grouped &w,
                                      const std::string &stem) {
  Type ui8 = IntegerType::get(n.getContext(), 8, IntegerType::Unsigned);
  Type f32 = Float32Type::get(n.getContext());
  int64_t rowBytes = q::streamBytes(w.k, w.bits);
  return {blobConstant(n, {w.n, rowBytes}, ui8, w.codes.data(),
                       w.codes.size(), keyFor(stem, "codes")),
          blobConstant(n, {w.n, w.groups()}, f32, w.scales.data(),
                       w.scales.size() * 4, keyFor(stem, "scales")),
          blobConstant(n, {w.n, w.groups()}, f32, w.zeros.data(),
                       w.zeros.size() * 4, keyFor(stem, "zeros"))};
}

//===----------------------------------------------------------------------===//
// com.microsoft::MatMulNBits
//===----------------------------------------------------------------------===//

LogicalResult importMatMulNBits(NodeImporter &n, Results &out) {
  auto a = n.required(0), bIn = n.required(1), sIn = n.required(2);
  if (failed(a) || failed(bIn) || failed(sIn))
    return failure();
  int64_t k = n.intAttr("K", -1), nOut = n.intAttr("N", -1);
  int64_t bits = n.intAttr("bits", 4), block = n.intAttr("block_size", -1);
  if (k <= 0 || nOut <= 0 || k > ::smq::kMaxElements ||
      nOut > ::smq::kMaxElements)
    return n.fail("attributes K and N must be positive, got K=" + Twine(k) +
                  " N=" + Twine(nOut));
  if (bits != 2 && bits != 4 && bits != 8)
    return n.fail("bits=" + Twine(bits) +
                  " is not supported (MatMulNBits takes 2, 4 or 8)");
  if (block < 16 || (block & (block - 1)))
    return n.fail("block_size=" + Twine(block) +
                  " must be a power of two and at least 16");
  if (n.hasInput(4))
    return n.fail("g_idx (act-order with a permuted group index) is not "
                  "supported");
  if (n.intAttr("weight_prepacked", 0) != 0)
    return n.fail("weight_prepacked weights are in a backend's private "
                  "layout and cannot be imported");
  auto aType = cast<ShapedType>(a->getType());
  if (!aType.hasRank() || aType.getRank() < 1 || !aType.getElementType().isF32())
    return n.fail("input A must be an f32 tensor of rank >= 1");
  if (aType.getShape().back() != k)
    return n.fail("input A's last dimension is " +
                  Twine(aType.getShape().back()) + " but K=" + Twine(k));
  int64_t blocks = (k + block - 1) / block, blob = block * bits / 8;

  auto b = constantInput(*bIn);
  if (!b)
    return n.fail("input B must be a constant");
  auto bType = cast<ShapedType>(bIn->getType());
  if (!bType.getElementType().isUnsignedInteger(8) &&
      !bType.getElementType().isSignlessInteger(8))
    return n.fail("input B must be uint8");
  if (bType.getShape() != ArrayRef<int64_t>{nOut, blocks, blob}) {
    std::string got;
    for (int64_t d : bType.getShape())
      got += (got.empty() ? "" : ", ") + std::to_string(d);
    return n.fail("input B must be [N, ceil(K/block_size), block_size*bits/8] "
                  "= [" + Twine(nOut) + ", " + Twine(blocks) + ", " +
                  Twine(blob) + "], not [" + got + "]");
  }

  auto s = constantInput(*sIn);
  if (!s || !isF32(*sIn))
    return n.fail("scales must be a constant f32 tensor");
  if (elementsOf(*sIn) != nOut * blocks)
    return n.fail("scales hold " + Twine(elementsOf(*sIn)) +
                  " values; N*ceil(K/block_size) = " + Twine(nOut * blocks) +
                  " are needed");

  Grouped w;
  w.n = nOut;
  w.k = k;
  w.group = block;
  w.bits = static_cast<int>(bits);
  w.codes = q::fromMatMulNBitsCodes(b->data(), nOut, k, w.bits, block);
  w.scales.resize(nOut * blocks);
  std::memcpy(w.scales.data(), s->data(), w.scales.size() * 4);
  if (Value zIn = n.input(3)) {
    auto z = constantInput(zIn);
    if (!z)
      return n.fail("zero_points must be a constant");
    if (isF32(zIn)) {
      if (elementsOf(zIn) != nOut * blocks)
        return n.fail("f32 zero_points hold " + Twine(elementsOf(zIn)) +
                      " values; N*ceil(K/block_size) = " +
                      Twine(nOut * blocks) + " are needed");
      w.zeros.resize(nOut * blocks);
      std::memcpy(w.zeros.data(), z->data(), w.zeros.size() * 4);
    } else if (cast<ShapedType>(zIn.getType()).getElementType().isInteger(8)) {
      int64_t rowBytes = q::streamBytes(blocks, w.bits);
      if (elementsOf(zIn) != nOut * rowBytes)
        return n.fail("packed uint8 zero_points hold " +
                      Twine(elementsOf(zIn)) + " bytes; N*ceil(blocks*bits/8) "
                      "= " + Twine(nOut * rowBytes) + " are needed");
      w.zeros = q::unpackZeroPoints(z->data(), nOut, blocks, w.bits);
    } else {
      return n.fail("zero_points must be uint8 (packed) or f32");
    }
  } else {
    w.zeros.assign(nOut * blocks, static_cast<float>(1 << (bits - 1)));
  }

  auto [codes, scales, zeros] = groupedConstants(n, w, n.node.input(1));
  auto y = n.build1<QuantizedMatMulOp>(*a, codes, scales, zeros,
                                       n.builder.getI64IntegerAttr(w.bits),
                                       n.builder.getI64IntegerAttr(w.group));
  if (failed(y))
    return failure();
  Value result = *y;
  if (Value bias = n.input(5)) {
    auto bt = cast<ShapedType>(bias.getType());
    if (!bt.hasRank() || bt.getRank() != 1 || bt.getDimSize(0) != nOut ||
        !bt.getElementType().isF32())
      return n.fail("bias must be an f32 vector of N=" + Twine(nOut) +
                    " values");
    auto sum = n.build1<AddOp>(result, bias);
    if (failed(sum))
      return failure();
    result = *sum;
  }
  out.push_back(result);
  return success();
}

//===----------------------------------------------------------------------===//
// DequantizeLinear of a constant
//===----------------------------------------------------------------------===//

/// Blocks of `block` along axis `axis` of a tensor of shape `dims`: which
/// scale (in a tensor of `dims` with that axis cut into blocks) element
/// `flat` of the tensor uses.
struct AxisBlocks {
  int64_t inner = 1, len, block, blocks;
  AxisBlocks(ArrayRef<int64_t> dims, int64_t axis, int64_t block)
      : len(dims[axis]), block(block), blocks((dims[axis] + block - 1) / block) {
    for (size_t d = axis + 1; d < dims.size(); ++d)
      inner *= dims[d];
  }
  /// The index along the axis.
  int64_t along(int64_t flat) const { return flat / inner % len; }
  int64_t param(int64_t flat) const {
    return (flat / (inner * len) * blocks + along(flat) / block) * inner +
           flat % inner;
  }
};

/// The integer value of element `i` of an ONNX tensor of `bits` (4 or 8)
/// bits stored one per byte (as the importer stores 4-bit tensors).
int64_t intAt(const std::vector<uint8_t> &bytes, int64_t i, bool isSigned,
              int bits) {
  uint8_t b = bytes[i];
  if (bits == 4)
    b &= 0xF;
  if (!isSigned)
    return b;
  int64_t v = b;
  return v >= (1 << (bits - 1)) ? v - (1 << bits) : v;
}

/// DequantizeLinear of a value computed at run time (activations): per
/// tensor or per axis, as (f32(x) − f32(zero point)) · scale.
LogicalResult dequantizeAtRunTime(NodeImporter &n, Value x, Value scale,
                                  Value zp, Results &out) {
  auto xType = cast<RankedTensorType>(x.getType());
  if (xType.getElementType().getIntOrFloatBitWidth() != 8)
    return n.fail("a 4-bit x must be a constant");
  if (n.opset >= 21 && n.intAttr("block_size", 0) != 0)
    return n.fail("blocked DequantizeLinear needs a constant x");
  if (!isF32(scale))
    return n.fail("x_scale must be f32");
  Type f32 = Float32Type::get(n.getContext());
  int64_t rank = xType.getRank();
  auto sType = cast<RankedTensorType>(scale.getType());
  // A per-axis vector broadcasts along `axis`: reshape it to [D, 1, ...].
  auto align = [&](Value v) -> FailureOr<Value> {
    if (sType.getRank() == 0 || sType.getNumElements() == 1)
      return v;
    auto axis = n.normalizeAxis(n.intAttr("axis", 1), rank, "axis");
    if (failed(axis))
      return failure();
    if (sType.getRank() != 1 || sType.getDimSize(0) != xType.getDimSize(*axis))
      return n.fail("per-axis x_scale must be a vector of " +
                    Twine(xType.getDimSize(*axis)) + " values");
    SmallVector<int64_t> shape(rank - *axis, 1);
    shape[0] = sType.getDimSize(0);
    return n.build1<ReshapeOp>(v, n.constI64(shape), false);
  };
  auto xf = n.build1<CastOp>(xType.clone(f32), x);
  if (failed(xf))
    return failure();
  Value v = *xf;
  if (zp) {
    if (cast<ShapedType>(zp.getType()).getElementType() !=
        xType.getElementType())
      return n.fail("x_zero_point must have x's type");
    auto zf = n.build1<CastOp>(cast<RankedTensorType>(zp.getType()).clone(f32),
                               zp);
    if (failed(zf))
      return failure();
    auto za = align(*zf);
    if (failed(za))
      return failure();
    auto d = n.build1<SubOp>(v, *za);
    if (failed(d))
      return failure();
    v = *d;
  }
  auto sa = align(scale);
  if (failed(sa))
    return failure();
  auto y = n.build1<MulOp>(v, *sa);
  if (failed(y))
    return failure();
  out.push_back(*y);
  return success();
}

LogicalResult importDequantizeLinear(NodeImporter &n, Results &out) {
  auto xIn = n.required(0), sIn = n.required(1);
  if (failed(xIn) || failed(sIn))
    return failure();
  auto xType = cast<ShapedType>(xIn->getType());
  auto elt = dyn_cast<IntegerType>(xType.getElementType());
  if (!elt || (elt.getWidth() != 4 && elt.getWidth() != 8))
    return n.fail("x must be int4, uint4, int8 or uint8");
  int bits = static_cast<int>(elt.getWidth());
  bool isSigned = !elt.isUnsigned();
  auto x = constantInput(*xIn);
  if (!x)
    return dequantizeAtRunTime(n, *xIn, *sIn, n.input(2), out);
  auto s = constantInput(*sIn);
  if (!s || !isF32(*sIn))
    return n.fail("x_scale must be a constant f32 tensor");
  std::optional<std::vector<uint8_t>> z;
  if (Value zIn = n.input(2)) {
    if (cast<ShapedType>(zIn.getType()).getElementType() != elt)
      return n.fail("x_zero_point must have x's type");
    z = constantInput(zIn);
    if (!z)
      return n.fail("x_zero_point must be a constant");
    if (elementsOf(zIn) != elementsOf(*sIn))
      return n.fail("x_zero_point must have x_scale's shape");
  }
  int64_t rank = xType.getRank();
  ArrayRef<int64_t> dims = xType.getShape();
  auto sType = cast<ShapedType>(sIn->getType());
  int64_t block = n.opset >= 21 ? n.intAttr("block_size", 0) : 0;
  int64_t axis = 0;
  enum { PerTensor, PerAxis, Blocked } kind = PerTensor;
  if (block > 0 || (sType.getRank() > 0 && sType.getNumElements() != 1)) {
    auto ax = n.normalizeAxis(n.intAttr("axis", 1), rank, "axis");
    if (failed(ax))
      return failure();
    axis = *ax;
    kind = block > 0 ? Blocked : PerAxis;
  }
  if (block < 0)
    return n.fail("block_size must not be negative");
  // Which scale each element of x uses.
  if (kind == PerAxis &&
      (sType.getRank() != 1 || sType.getDimSize(0) != dims[axis]))
    return n.fail("per-axis x_scale must be a vector of " +
                  Twine(dims[axis]) + " values (dimension " + Twine(axis) +
                  " of x)");
  if (kind == Blocked) {
    bool ok = sType.getRank() == rank;
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = sType.getDimSize(d) ==
           (d == axis ? (dims[d] + block - 1) / block : dims[d]);
    if (!ok)
      return n.fail("blocked x_scale must have x's shape with dimension " +
                    Twine(axis) + " divided by block_size=" + Twine(block) +
                    " (rounded up)");
  }
  const float *scale = reinterpret_cast<const float *>(s->data());
  std::optional<AxisBlocks> axisBlocks;
  if (kind != PerTensor)
    axisBlocks.emplace(dims, axis, kind == Blocked ? block : 1);
  auto paramIndex = [&](int64_t flat) -> int64_t {
    if (kind == PerTensor)
      return 0;
    // Per axis, the scale is a vector along the axis.
    return kind == PerAxis ? axisBlocks->along(flat) : axisBlocks->param(flat);
  };
  int64_t offset = isSigned ? (1 << (bits - 1)) : 0;
  auto zeroAt = [&](int64_t p) -> float {
    return static_cast<float>((z ? intAt(*z, p, isSigned, bits) : 0) + offset);
  };

  // A K×N weight with its parameters along N (per tensor, per output
  // column, or blocks along K) is SMQ's grouped form.
  bool grouped = rank == 2 && (kind == PerTensor ||
                               (kind == PerAxis && axis == 1) ||
                               (kind == Blocked && axis == 0));
  if (grouped) {
    Grouped w;
    w.k = dims[0];
    w.n = dims[1];
    w.bits = bits;
    w.group = kind == Blocked ? std::min(block, w.k) : w.k;
    int64_t groups = w.groups(), rowBytes = q::streamBytes(w.k, bits);
    w.codes.assign(w.n * rowBytes, 0);
    w.scales.resize(w.n * groups);
    w.zeros.resize(w.n * groups);
    for (int64_t kk = 0; kk < w.k; ++kk)
      for (int64_t c = 0; c < w.n; ++c) {
        int64_t flat = kk * w.n + c;
        q::streamSet(&w.codes[c * rowBytes], kk, bits,
                     static_cast<uint32_t>(
                         intAt(*x, flat, isSigned, bits) + offset));
        int64_t p = paramIndex(flat), at = c * groups + kk / w.group;
        w.scales[at] = scale[p];
        w.zeros[at] = zeroAt(p);
      }
    auto [codes, scales, zeros] = groupedConstants(n, w, n.node.input(0));
    Type f32 = Float32Type::get(n.getContext());
    // Not folded here: a MatMul that takes it keeps the codes.
    auto dq = DequantizeOp::create(
        n.builder, n.loc, RankedTensorType::get({w.k, w.n}, f32), codes,
        scales, zeros, n.builder.getI64IntegerAttr(bits),
        n.builder.getI64IntegerAttr(w.group));
    if (failed(mlir::verify(dq)))
      return n.fail("could not build smq.dequantize");
    out.push_back(dq.getResult());
    return success();
  }

  // Anything else is expanded once, here.
  int64_t count = xType.getNumElements();
  std::vector<float> values(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t p = paramIndex(i);
    values[i] = scale[p] * static_cast<float>(intAt(*x, i, isSigned, bits) +
                                              offset - zeroAt(p));
  }
  Value result = blobConstant(
      n, dims, Float32Type::get(n.getContext()), values.data(),
      values.size() * 4, keyFor(n.node.input(0), "dequantized"));
  out.push_back(result);
  return success();
}

//===----------------------------------------------------------------------===//
// com.microsoft::GatherBlockQuantized
//===----------------------------------------------------------------------===//

/// Quantized embeddings: the table is dequantized once, at import, and the
/// rows are gathered from the f32 table.
LogicalResult importGatherBlockQuantized(NodeImporter &n, Results &out) {
  auto dIn = n.required(0), idx = n.required(1), sIn = n.required(2);
  if (failed(dIn) || failed(idx) || failed(sIn))
    return failure();
  auto dType = cast<RankedTensorType>(dIn->getType());
  auto elt = dyn_cast<IntegerType>(dType.getElementType());
  int64_t bits = n.intAttr("bits", 4), block = n.intAttr("block_size", 128);
  if (!elt || (elt.getWidth() != 4 && elt.getWidth() != 8) ||
      (elt.getWidth() == 8 && !elt.isUnsigned()))
    return n.fail("data must be int4, uint4 or uint8");
  bool packedBytes = elt.getWidth() == 8; // MatMulNBits' conventions
  if (packedBytes ? (bits != 4 && bits != 8) : bits != 4)
    return n.fail("bits=" + Twine(bits) + " does not fit the data type");
  if (block < 16 || (block & (block - 1)))
    return n.fail("block_size=" + Twine(block) +
                  " must be a power of two and at least 16");
  auto data = constantInput(*dIn);
  if (!data)
    return n.fail("data must be a constant");
  auto s = constantInput(*sIn);
  if (!s || !isF32(*sIn))
    return n.fail("scales must be a constant f32 tensor");
  int64_t rank = dType.getRank();
  auto qAxis = n.normalizeAxis(n.intAttr("quantize_axis", 1), rank,
                               "quantize_axis");
  auto gAxis = n.normalizeAxis(n.intAttr("gather_axis", 0), rank,
                               "gather_axis");
  if (failed(qAxis) || failed(gAxis))
    return failure();
  // The logical shape: uint8 holds 8/bits values per byte along the last
  // axis, which must then be the quantized one.
  SmallVector<int64_t> dims(dType.getShape());
  int64_t perByte = packedBytes ? 8 / bits : 1;
  if (packedBytes && perByte > 1) {
    if (*qAxis != rank - 1)
      return n.fail("packed uint8 data must be quantized along its last axis");
    dims.back() *= perByte;
  }
  AxisBlocks ab(dims, *qAxis, block);
  int64_t inner = ab.inner, blocks = ab.blocks;
  int64_t outer = ShapedType::getNumElements(dims) / (inner * ab.len);
  if (elementsOf(*sIn) != outer * blocks * inner)
    return n.fail("scales hold " + Twine(elementsOf(*sIn)) + " values; " +
                  Twine(outer * blocks * inner) + " are needed");
  std::optional<std::vector<uint8_t>> z;
  if (Value zIn = n.input(3)) {
    z = constantInput(zIn);
    if (!z || cast<ShapedType>(zIn.getType()).getElementType() != elt)
      return n.fail("zero_points must be a constant of data's type");
    int64_t want = packedBytes ? outer * inner * q::streamBytes(blocks, bits)
                               : outer * blocks * inner;
    if (static_cast<int64_t>(z->size()) != want)
      return n.fail("zero_points hold " + Twine(z->size()) + " values; " +
                    Twine(want) + " are needed");
  }
  bool isSigned = !elt.isUnsigned();
  const float *scale = reinterpret_cast<const float *>(s->data());
  int64_t count = ShapedType::getNumElements(dims);
  std::vector<float> table(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t p = ab.param(i);
    float code, zero;
    if (packedBytes) {
      code = static_cast<float>(q::streamGet(data->data(), i, bits));
      zero = z ? static_cast<float>(q::streamGet(
                     z->data() + p / blocks * q::streamBytes(blocks, bits),
                     p % blocks, bits))
               : static_cast<float>(1 << (bits - 1));
    } else {
      code = static_cast<float>(intAt(*data, i, isSigned, 4));
      zero = z ? static_cast<float>(intAt(*z, p, isSigned, 4)) : 0.0f;
    }
    table[i] = scale[p] * (code - zero);
  }
  Value t = blobConstant(n, dims, Float32Type::get(n.getContext()),
                         table.data(), table.size() * 4,
                         keyFor(n.node.input(0), "dequantized"));
  return push(n.build1<GatherOp>(t, *idx, n.builder.getI64IntegerAttr(*gAxis)),
              out);
}

} // namespace

FailureOr<Value> mlir::smq::onnx_import::fuseDequantizedRhs(NodeImporter &n,
                                                            Value lhs,
                                                            Value rhs) {
  auto dq = rhs.getDefiningOp<DequantizeOp>();
  if (!dq || cast<ShapedType>(lhs.getType()).getRank() < 2)
    return Value();
  return n.build1<QuantizedMatMulOp>(lhs, dq.getCodes(), dq.getScales(),
                                     dq.getZeroPoints(), dq.getBitsAttr(),
                                     dq.getGroupSizeAttr());
}

ImportRule mlir::smq::onnx_import::lookupQuantRule(const std::string &domain,
                                                   const std::string &opType) {
  if (domain == "com.microsoft" && opType == "MatMulNBits")
    return importMatMulNBits;
  if (domain == "com.microsoft" && opType == "GatherBlockQuantized")
    return importGatherBlockQuantized;
  if ((domain.empty() || domain == "ai.onnx") && opType == "DequantizeLinear")
    return importDequantizeLinear;
  return nullptr;
}

std::vector<std::string> mlir::smq::onnx_import::quantRuleNames() {
  return {"DequantizeLinear", "com.microsoft.GatherBlockQuantized",
          "com.microsoft.MatMulNBits"};
}
