//===- DecomposeAttention.cpp - attention ops in smq primitives -----------===//
//
// smq.group_query_attention, once its shapes are static, becomes matmuls,
// comparisons, a masked softmax and reshapes, which the CPU (and any other)
// lowering already compiles. Writing the new keys and values into the
// present at each row's past length, a position known only at run time,
// is a matmul with a one-hot [total, seq] matrix per row: exact, since each
// output position sums one product by 1 and the rest by 0. With `kernel`,
// the present is one smq.ukernel.kv_place (row copies) and the scores,
// masked softmax and weighted sum one smq.ukernel.attention, which the CPU
// runtime runs over each row's own slots only.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqBuilder.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"

#include <limits>

namespace mlir::smq {
#define GEN_PASS_DEF_SMQDECOMPOSEATTENTION
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

LogicalResult decompose(GroupQueryAttentionOp op, bool kernel,
                        bool staleTail) {
  auto q = dyn_cast<RankedTensorType>(op.getQuery().getType());
  auto pk = dyn_cast<RankedTensorType>(op.getPastKey().getType());
  auto present = dyn_cast<RankedTensorType>(op.getPresentKey().getType());
  auto seqlens = dyn_cast<RankedTensorType>(op.getSeqlensK().getType());
  if (!q || !q.hasStaticShape() || !pk || !pk.hasStaticShape() || !present ||
      !present.hasStaticShape() || !seqlens || !seqlens.hasStaticShape())
    return op.emitOpError(
        "needs static shapes and a constant total_sequence_length to be "
        "lowered (give the inputs' shapes)");
  const int64_t B = q.getDimSize(0), S = q.getDimSize(1);
  const int64_t N = op.getNumHeads(), Nk = op.getKvNumHeads(), G = N / Nk;
  const int64_t H = q.getDimSize(2) / N, P = pk.getDimSize(2),
                T = present.getDimSize(2);
  if (seqlens.getNumElements() != B)
    return op.emitOpError("seqlens_k must hold one length per row (")
           << B << "), not " << seqlens;
  OpBuilder b(op);
  SmqBuilder e{b, op.getLoc()};
  Location loc = op.getLoc();
  Type f32 = q.getElementType();

  // Row b's past length L[b] and each query's position L[b] + i: [B, S].
  // As in ONNX Runtime, a call whose sequence spans the whole total length
  // is a first prompt: no past, whatever the past input holds.
  DenseIntElementsAttr totalAttr;
  if (!matchPattern(op.getTotalSequenceLength(), m_Constant(&totalAttr)) ||
      totalAttr.getNumElements() != 1)
    return op.emitOpError("needs a constant total_sequence_length to be "
                          "lowered (give the inputs' shapes)");
  const int64_t total = (*totalAttr.begin()).getSExtValue();
  if (total < S || total > T)
    return op.emitOpError("total_sequence_length ")
           << total << " must be at least the sequence length " << S
           << " and at most the present's " << T;
  Value past;
  if (total == S) {
    past = e.i64s(SmallVector<int64_t>(B, 0), {B, 1});
  } else {
    Value lengths = e.reshape(e.convert(op.getSeqlensK(), b.getI64Type()), {B, 1});
    past = AddOp::create(b, loc, lengths, e.i64s({1 - S}, {}));
  }
  Value positions = AddOp::create(b, loc, past, e.iota(S, 2, 1));
  if (total != S) {
    // seqlens_k comes from the caller: a position outside [0, T) would
    // write nowhere and read zeros. Two gathers from 0..T-1 return the
    // positions unchanged, and the runtime's index checks stop the run
    // otherwise (p - T is in range exactly when p >= 0, p when p < T).
    Value table = e.iota(T, 1, 0);
    positions = MaxOp::create(
        b, loc,
        GatherOp::create(b, loc, table,
                         AddOp::create(b, loc, positions, e.i64s({-T}, {})),
                         0),
        GatherOp::create(b, loc, table, positions, 0));
  }

  Value query = e.reshape(op.getQuery(), {B, S, N, H});
  Value key = e.reshape(op.getKey(), {B, S, Nk, H});
  Value value = e.reshape(op.getValue(), {B, S, Nk, H});
  if (op.getRotaryCache().size() == 2) {
    Value cosCache = op.getRotaryCache()[0], sinCache = op.getRotaryCache()[1];
    auto ct = dyn_cast<RankedTensorType>(cosCache.getType());
    if (!ct || !ct.hasStaticShape() || ct.getRank() != 2 ||
        ct.getDimSize(1) * 2 > H || cosCache.getType() != sinCache.getType())
      return op.emitOpError("rotary caches must be [positions, R/2] with R "
                            "at most the head size ")
             << H;
    int64_t R = ct.getDimSize(1) * 2;
    Value c = UnsqueezeOp::create(
        b, loc, GatherOp::create(b, loc, cosCache, positions, 0),
        ArrayRef<int64_t>{2});
    Value s = UnsqueezeOp::create(
        b, loc, GatherOp::create(b, loc, sinCache, positions, 0),
        ArrayRef<int64_t>{2});
    bool inter = op.getRotaryInterleaved();
    query = e.rotate(query, c, s, R, inter);
    key = e.rotate(key, c, s, R, inter);
  }
  float scale = op.getScale().convertToFloat();
  if (scale == 0)
    scale = 1.0f / std::sqrt(static_cast<float>(H));
  if (kernel) {
    // The runtime's kernels: the present by row copies, then attention
    // that reads each row's positions and attends only the slots they
    // allow, not the T - L unused ones.
    SmallVector<int64_t> cacheShape = {B, Nk, T, H};
    auto cacheType = RankedTensorType::get(cacheShape, f32);
    auto place = [&](Value pastTensor, Value fresh) -> Value {
      Value init = tensor::EmptyOp::create(b, loc, cacheShape, f32);
      return UKernelKvPlaceOp::create(
                 b, loc, TypeRange{cacheType}, pastTensor, fresh, positions,
                 init, staleTail ? b.getUnitAttr() : UnitAttr())
          ->getResult(0);
    };
    Value presentKey = place(op.getPastKey(), key);
    Value presentValue = place(op.getPastValue(), value);
    auto outType = RankedTensorType::get({B, S, N, H}, f32);
    Value init = tensor::EmptyOp::create(b, loc, outType.getShape(), f32);
    auto attention = UKernelAttentionOp::create(
        b, loc, TypeRange{outType}, query, presentKey, presentValue,
        positions, init, b.getF32FloatAttr(scale), op.getSoftcapAttr(),
        op.getLocalWindowSizeAttr());
    op.replaceAllUsesWith(ValueRange{
        e.reshape(attention->getResult(0), {B, S, N * H}), presentKey,
        presentValue});
    op.erase();
    return success();
  }

  key = e.transpose(key, {0, 2, 1, 3}); // [B, Nk, S, H]
  value = e.transpose(value, {0, 2, 1, 3});

  // The present: the past's first L positions, the new ones at L + i,
  // zeros after. Slots at or beyond P hold no past, so only the first
  // min(P, T) slots choose between past and new.
  Value slot = e.iota(T, 3, 1); // [1, T, 1]
  Value onehot = e.convert(
      EqualOp::create(b, loc, slot, e.reshape(positions, {B, 1, S})), f32);
  onehot = e.reshape(onehot, {B, 1, T, S});
  const int64_t kept = std::min(P, T);
  Value keepPast;
  if (kept > 0)
    keepPast = e.reshape(LessOp::create(b, loc, e.iota(kept, 2, 1), past),
                         {B, 1, kept, 1});
  auto slotRange = [&](Value x, int64_t begin, int64_t end) -> Value {
    if (begin == 0 && end == cast<RankedTensorType>(x.getType()).getDimSize(2))
      return x;
    return SliceOp::create(b, loc, x, e.shape({begin}), e.shape({end}),
                           e.shape({2}), e.shape({1}));
  };
  // The slots [begin, end) of the new keys or values placed by the one-hot
  // matrix: one token's is a broadcast product, which fuses with what
  // consumes it. Each region is computed on its own slots, so the select
  // of the first region and the zeros-or-new of the second are each one
  // loop nest writing the present directly.
  auto placed = [&](Value fresh, int64_t begin, int64_t end) -> Value {
    Value rows = slotRange(onehot, begin, end);
    return S == 1 ? Value(MulOp::create(b, loc, rows, fresh))
                  : Value(MatMulOp::create(b, loc, rows, fresh));
  };
  auto place = [&](Value pastTensor, Value fresh) -> Value {
    if (kept == 0)
      return placed(fresh, 0, T);
    Value head = WhereOp::create(b, loc, keepPast,
                                 slotRange(pastTensor, 0, kept),
                                 placed(fresh, 0, kept));
    if (T == kept)
      return head;
    return ConcatOp::create(b, loc, ValueRange{head, placed(fresh, kept, T)},
                            2);
  };
  Value presentKey = place(op.getPastKey(), key);
  Value presentValue = place(op.getPastValue(), value);

  query = e.transpose(query, {0, 2, 1, 3}); // [B, N, S, H]
  // Scores [B, Nk, G*S, T]: query head h = kv * G + g reads kv head kv. One
  // token's scores are a product summed over the head (no transposed copy
  // of the keys); a prompt's go through matmul.
  Value scores;
  if (S == 1) {
    Value products =
        MulOp::create(b, loc, e.reshape(query, {B, Nk, G, 1, H}),
                      e.reshape(presentKey, {B, Nk, 1, T, H}));
    scores = ReduceSumOp::create(b, loc, products, ArrayRef<int64_t>{4},
                                 false);
  } else {
    scores = MatMulOp::create(b, loc, e.reshape(query, {B, Nk, G * S, H}),
                              e.transpose(presentKey, {0, 1, 3, 2}));
  }
  scores = MulOp::create(b, loc, scores, e.f32(scale));
  if (float cap = op.getSoftcap().convertToFloat(); cap > 0)
    scores = MulOp::create(
        b, loc,
        TanhOp::create(b, loc, MulOp::create(b, loc, scores, e.f32(1 / cap))),
        e.f32(cap));
  // Query i of row b sees slots j <= L[b] + i, and within the window.
  Value qpos = e.reshape(positions, {B, S, 1});
  Value slots = e.iota(T, 3, 2); // [1, 1, T]
  Value allowed = LessEqualOp::create(b, loc, slots, qpos);
  if (int64_t w = op.getLocalWindowSizeAttr().getInt(); w > 0)
    allowed = AndOp::create(
        b, loc, allowed,
        LessOp::create(b, loc, qpos,
                       AddOp::create(b, loc, slots, e.i64s({w}, {}))));
  scores = WhereOp::create(
      b, loc, e.reshape(allowed, {B, 1, 1, S, T}),
      e.reshape(scores, {B, Nk, G, S, T}),
      e.f32(-std::numeric_limits<float>::infinity()));
  Value probs = SoftmaxOp::create(b, loc, scores, 4);
  Value context = MatMulOp::create(
      b, loc, e.reshape(probs, {B, Nk, G * S, T}), presentValue);
  context = e.transpose(e.reshape(context, {B, N, S, H}), {0, 2, 1, 3});
  Value output = e.reshape(context, {B, S, N * H});
  op.replaceAllUsesWith(ValueRange{output, presentKey, presentValue});
  op.erase();
  return success();
}

struct DecomposeAttentionPass
    : public mlir::smq::impl::SmqDecomposeAttentionBase<
          DecomposeAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<GroupQueryAttentionOp> ops;
    getOperation().walk([&](GroupQueryAttentionOp op) { ops.push_back(op); });
    for (GroupQueryAttentionOp op : ops)
      if (failed(decompose(op, kernel, stalePresentTail)))
        return signalPassFailure();
  }
};

} // namespace
