//===- ContribOpConverters.cpp - ONNX Runtime GenAI's decoder ops ---------===//
//
// The ops ONNX Runtime GenAI's model builder writes into decoders, spelled
// out in smq primitives:
//   SimplifiedLayerNormalization (default domain): RMSNorm;
//   com.microsoft::SkipSimplifiedLayerNormalization: a residual add, then
//     RMSNorm, with the sum as an output;
//   com.microsoft::RotaryEmbedding: rotary position embedding from cos and
//     sin caches indexed by position_ids (interleaved or half-split pairs,
//     partial rotary dims);
//   com.microsoft::GroupQueryAttention: smq.group_query_attention, which
//     smq-decompose-attention spells out once shapes are static.
//
//===----------------------------------------------------------------------===//

#include "NodeImporter.h"

#include "smq/Dialect/Smq/IR/SmqBuilder.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <mutex>

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::onnx_import;

namespace {

using Results = SmallVectorImpl<Value>;

Value scalarLike(NodeImporter &n, Value like, double v) {
  Type elt = cast<ShapedType>(like.getType()).getElementType();
  auto type = RankedTensorType::get({}, elt);
  return ConstantOp::create(
      n.builder, n.loc,
      DenseElementsAttr::get(type, n.builder.getFloatAttr(elt, v)));
}

/// x / sqrt(mean(x^2 over [axis, rank)) + eps) * scale, and 1/sqrt(...).
FailureOr<std::pair<Value, Value>> rmsNorm(NodeImporter &n, Value x,
                                           Value scale, int64_t axis,
                                           float eps) {
  auto rank = n.rankOf(x);
  if (failed(rank))
    return failure();
  auto a = n.normalizeAxis(axis, *rank, "axis");
  if (failed(a))
    return failure();
  if (!isa<FloatType>(cast<ShapedType>(x.getType()).getElementType()))
    return n.fail("expects a floating-point input");
  SmallVector<int64_t> axes;
  for (int64_t i = *a; i < *rank; ++i)
    axes.push_back(i);
  auto squared = n.build1<MulOp>(x, x);
  if (failed(squared))
    return failure();
  auto meanSquare = n.build1<ReduceMeanOp>(*squared, axes, true);
  if (failed(meanSquare))
    return failure();
  auto shifted = n.build1<AddOp>(*meanSquare, scalarLike(n, x, eps));
  if (failed(shifted))
    return failure();
  auto root = n.build1<SqrtOp>(*shifted);
  if (failed(root))
    return failure();
  auto invRms = n.build1<ReciprocalOp>(*root);
  if (failed(invRms))
    return failure();
  auto normed = n.build1<MulOp>(x, *invRms);
  if (failed(normed))
    return failure();
  auto y = n.build1<MulOp>(*normed, scale);
  if (failed(y))
    return failure();
  return std::make_pair(*y, *invRms);
}

LogicalResult importSimplifiedLayerNorm(NodeImporter &n, Results &out) {
  auto x = n.required(0), scale = n.required(1);
  if (failed(x) || failed(scale))
    return failure();
  auto r = rmsNorm(n, *x, *scale, n.intAttr("axis", -1),
                   n.floatAttr("epsilon", 1e-5f));
  if (failed(r))
    return failure();
  out.push_back(r->first);
  out.push_back(r->second);
  return success();
}

/// Outputs: output, mean (not defined for the simplified form),
/// inv_std_var, input_skip_bias_sum.
LogicalResult importSkipSimplifiedLayerNorm(NodeImporter &n, Results &out) {
  auto x = n.required(0), skip = n.required(1), gamma = n.required(2);
  if (failed(x) || failed(skip) || failed(gamma))
    return failure();
  auto sum = n.build1<AddOp>(*x, *skip);
  if (failed(sum))
    return failure();
  if (Value bias = n.input(3)) {
    sum = n.build1<AddOp>(*sum, bias);
    if (failed(sum))
      return failure();
  }
  auto r = rmsNorm(n, *sum, *gamma, -1, n.floatAttr("epsilon", 1e-5f));
  if (failed(r))
    return failure();
  out.push_back(r->first);
  out.push_back(Value());
  out.push_back(r->second);
  out.push_back(*sum);
  return success();
}

/// com.microsoft::RotaryEmbedding(input, position_ids, cos_cache,
/// sin_cache): input [B, S, N*H] (num_heads given) or [B, N, S, H];
/// position_ids [B, S]; caches [max positions, rotary dim / 2].
LogicalResult importRotaryEmbedding(NodeImporter &n, Results &out) {
  auto x = n.required(0), pos = n.required(1), cosCache = n.required(2),
       sinCache = n.required(3);
  if (failed(x) || failed(pos) || failed(cosCache) || failed(sinCache))
    return failure();
  auto xt = dyn_cast<RankedTensorType>(x->getType());
  auto pt = dyn_cast<RankedTensorType>(pos->getType());
  auto ct = dyn_cast<RankedTensorType>(cosCache->getType());
  if (!xt || !xt.hasStaticShape() || !pt || !ct || !ct.hasStaticShape() ||
      ct.getRank() != 2)
    return n.fail("needs static shapes for the input and the caches (import "
                  "with --input-shape, or through smq-generate)");
  if (pt.getRank() != 2)
    return n.fail("takes position_ids of shape [batch, seq]; a scalar "
                  "position offset is not supported");
  if (xt.getRank() != 3 && xt.getRank() != 4)
    return n.fail("takes a 3-D or 4-D input");
  if (n.intAttr("is_packed_batching", 0) != 0)
    return n.fail("packed batching is not supported");
  if (n.floatAttr("scale", 1.0f) != 1.0f)
    return n.fail("scale other than 1 is not supported");
  bool interleaved = n.intAttr("interleaved", 0) != 0;
  int64_t heads = n.intAttr("num_heads", 0);
  int64_t batch = xt.getDimSize(0);
  // Work on [B, S, N, H] (3-D input) or [B, N, S, H] (4-D).
  Value v = *x;
  int64_t head;
  if (xt.getRank() == 3) {
    if (heads <= 0 || xt.getDimSize(2) % heads)
      return n.fail("a 3-D input needs num_heads dividing its hidden size");
    head = xt.getDimSize(2) / heads;
    auto r = n.build1<ReshapeOp>(
        v, n.constI64({batch, xt.getDimSize(1), heads, head}), false);
    if (failed(r))
      return failure();
    v = *r;
  } else if (xt.getRank() == 4) {
    head = xt.getDimSize(3);
  } else {
    return n.fail("takes a 3-D or 4-D input");
  }
  int64_t rot = n.intAttr("rotary_embedding_dim", 0);
  if (rot == 0)
    rot = head;
  if (rot <= 0 || rot > head || rot % 2 || ct.getDimSize(1) * 2 != rot)
    return n.fail("rotary_embedding_dim " + Twine(rot) + " does not fit a head of " +
                  Twine(head) + " and caches of width " +
                  Twine(ct.getDimSize(1)));
  // cos/sin: [B, S, rot/2] -> broadcast against the heads axis.
  auto c = n.build1<GatherOp>(*cosCache, *pos, n.builder.getI64IntegerAttr(0));
  auto s = n.build1<GatherOp>(*sinCache, *pos, n.builder.getI64IntegerAttr(0));
  if (failed(c) || failed(s))
    return failure();
  int64_t headsAxis = xt.getRank() == 3 ? 2 : 1;
  c = n.build1<UnsqueezeOp>(*c, ArrayRef<int64_t>{headsAxis});
  s = n.build1<UnsqueezeOp>(*s, ArrayRef<int64_t>{headsAxis});
  if (failed(c) || failed(s))
    return failure();
  Value rotated = SmqBuilder{n.builder, n.loc}.rotate(v, *c, *s, rot,
                                                     interleaved);
  if (xt.getRank() == 3)
    return push(n.build1<ReshapeOp>(rotated, n.constI64(xt.getShape()), false),
                out);
  out.push_back(rotated);
  return success();
}

/// com.microsoft::GroupQueryAttention(query, key, value, past_key,
/// past_value, seqlens_k, total_sequence_length, cos_cache, sin_cache):
/// smq.group_query_attention, with a packed QKV query split first.
LogicalResult importGroupQueryAttention(NodeImporter &n, Results &out) {
  auto query = n.required(0), seqlens = n.required(5), total = n.required(6);
  if (failed(query) || failed(seqlens) || failed(total))
    return failure();
  // Inputs 9 on (newer schemas' position_ids, attention_bias, head_sink,
  // quantized-cache scales, q/k norms) would each change the result.
  static const char *const later[] = {"position_ids", "attention_bias",
                                      "head_sink",    "k_scale",
                                      "v_scale",      "q_norm_weight",
                                      "k_norm_weight"};
  for (size_t i = 9; i < n.numInputs(); ++i)
    if (n.hasInput(i))
      return n.fail(Twine("the ") +
                    (i - 9 < std::size(later) ? later[i - 9] : "extra") +
                    " input is not supported" +
                    (i == 9 ? " (positions follow seqlens_k)" : ""));
  if (n.intAttr("causal", 1) != 1)
    return n.fail("non-causal attention (causal = 0) is not supported");
  if (n.numOutputs() > 3 && !n.node.output(3).empty())
    return n.fail("the output_qk output is not supported");
  if (n.intAttr("smooth_softmax", 0) != 0)
    return n.fail("smooth_softmax is not supported");
  if (n.intAttr("qk_output", 0) != 0)
    return n.fail("qk_output is not supported");
  int64_t heads = n.intAttr("num_heads", 0), kvHeads = n.intAttr("kv_num_heads", 0);
  if (heads < 1 || kvHeads < 1 || heads % kvHeads)
    return n.fail("num_heads (" + Twine(heads) +
                  ") must be a positive multiple of kv_num_heads (" +
                  Twine(kvHeads) + ")");
  auto qt = dyn_cast<RankedTensorType>(query->getType());
  if (!qt || qt.getRank() != 3 || !qt.getElementType().isF32())
    return n.fail("takes an f32 query of shape [batch, seq, hidden]");
  Value q = *query, k = n.input(1), v = n.input(2);
  if (!k != !v)
    return n.fail("takes key and value together, or neither (packed QKV)");
  if (!k) {
    // Packed [B, S, (N + 2 Nk) H]: split on the last axis.
    int64_t hidden = qt.getDimSize(2);
    if (ShapedType::isDynamic(hidden) || hidden % (heads + 2 * kvHeads))
      return n.fail("a packed QKV hidden size must be a static multiple of "
                    "num_heads + 2 * kv_num_heads");
    int64_t head = hidden / (heads + 2 * kvHeads);
    SmqBuilder e{n.builder, n.loc};
    q = e.lastAxis(*query, 0, heads * head);
    k = e.lastAxis(*query, heads * head, (heads + kvHeads) * head);
    v = e.lastAxis(*query, (heads + kvHeads) * head, hidden);
  }
  Value pastKey = n.input(3), pastValue = n.input(4);
  if (!pastKey || !pastValue)
    return n.fail("needs past_key and past_value (an empty past is [batch, "
                  "kv_num_heads, 0, head size])");
  SmallVector<Value> rotary;
  if (n.intAttr("do_rotary", 0) != 0) {
    if (!n.hasInput(7) || !n.hasInput(8))
      return n.fail("do_rotary needs cos_cache and sin_cache");
    rotary = {n.input(7), n.input(8)};
  }
  float softcap = n.floatAttr("softcap", 0.0f);
  float scale = n.floatAttr("scale", 0.0f);
  if (softcap < 0 || scale < 0)
    return n.fail("scale and softcap must not be negative");
  int64_t window = n.intAttr("local_window_size", -1);
  auto results = n.build<GroupQueryAttentionOp>(
      q, k, v, pastKey, pastValue, *seqlens, *total, rotary,
      n.builder.getI64IntegerAttr(heads), n.builder.getI64IntegerAttr(kvHeads),
      n.builder.getF32FloatAttr(scale), n.builder.getF32FloatAttr(softcap),
      n.builder.getI64IntegerAttr(window),
      n.builder.getBoolAttr(n.intAttr("rotary_interleaved", 0) != 0));
  if (failed(results))
    return failure();
  out.append(results->begin(), results->end());
  return success();
}

} // namespace

void mlir::smq::onnx_import::registerContribSchemas() {
  // ONNX Runtime registers SimplifiedLayerNormalization in the default
  // domain with its own schema; libonnx has none, and its checker would
  // reject every model that uses it. The same schema, once per process.
  static std::once_flag once;
  std::call_once(once, [] {
    if (onnx::OpSchemaRegistry::Schema("SimplifiedLayerNormalization", 1, ""))
      return;
    onnx::OpSchema schema;
    schema.SetName("SimplifiedLayerNormalization")
        .SetDomain("")
        .SinceVersion(1)
        .SetDoc("RMSNorm, as ONNX Runtime defines it.")
        .Attr("axis", "First normalized dim", onnx::AttributeProto::INT,
              static_cast<int64_t>(-1))
        .Attr("epsilon", "Added to the mean square",
              onnx::AttributeProto::FLOAT, 1e-5f)
        .Attr("stash_type", "Type of the statistics",
              onnx::AttributeProto::INT, static_cast<int64_t>(1))
        .Input(0, "X", "Input", "T")
        .Input(1, "scale", "Scale", "V")
        .Output(0, "Y", "Output", "V")
        .Output(1, "inv_std_var", "1 / RMS", "U",
                onnx::OpSchema::Optional)
        .TypeConstraint("T", {"tensor(float)", "tensor(double)",
                              "tensor(float16)", "tensor(bfloat16)"},
                        "Input types")
        .TypeConstraint("U", {"tensor(float)", "tensor(double)"},
                        "Statistics types")
        .TypeConstraint("V", {"tensor(float)", "tensor(double)",
                              "tensor(float16)", "tensor(bfloat16)"},
                        "Output types")
        .TypeAndShapeInferenceFunction([](onnx::InferenceContext &ctx) {
          onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
          onnx::propagateShapeFromInputToOutput(ctx, 0, 0);
        });
    onnx::RegisterSchema(std::move(schema));
  });
}

ImportRule mlir::smq::onnx_import::lookupContribRule(const std::string &domain,
                                                     const std::string &opType) {
  bool standard = domain.empty() || domain == "ai.onnx";
  if ((standard || domain == "com.microsoft") &&
      opType == "SimplifiedLayerNormalization")
    return importSimplifiedLayerNorm;
  if (domain == "com.microsoft" && opType == "SkipSimplifiedLayerNormalization")
    return importSkipSimplifiedLayerNorm;
  if (domain == "com.microsoft" && opType == "RotaryEmbedding")
    return importRotaryEmbedding;
  if (domain == "com.microsoft" && opType == "GroupQueryAttention")
    return importGroupQueryAttention;
  return nullptr;
}

std::vector<std::string> mlir::smq::onnx_import::contribRuleNames() {
  return {"SimplifiedLayerNormalization",
          "com.microsoft.GroupQueryAttention",
          "com.microsoft.RotaryEmbedding",
          "com.microsoft.SkipSimplifiedLayerNormalization"};
}
