//===- DecoderContract.cpp - decoders with a KV cache ---------------------===//
#include "smq/Transforms/DecoderContract.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/BitVector.h"

#include <map>
#include <set>

using namespace mlir;
using namespace mlir::smq;

FailureOr<DecoderContract> mlir::smq::findDecoderContract(ModuleOp module,
                                                          StringRef entry) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return module.emitError() << "no function @" << entry << " to generate with";
  DecoderContract io;
  std::map<std::string, BlockArgument> args;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "smq.name"))
      args[n.getValue().str()] = func.getArgument(i);
  std::map<std::string, Type> results;
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    if (auto n = func.getResultAttrOfType<StringAttr>(i, "smq.name"))
      results[n.getValue().str()] = func.getResultTypes()[i];

  auto need = [&](const std::string &name, bool input) -> LogicalResult {
    if (input ? args.count(name) : results.count(name))
      return success();
    return func.emitError()
           << "not a decoder with a KV cache in Hugging Face's contract: no "
           << (input ? "input" : "output") << " named '" << name << "'";
  };
  io.inputIds = "input_ids";
  io.attentionMask = "attention_mask";
  io.positionIds = "position_ids";
  io.logits = "logits";
  if (failed(need(io.inputIds, true)) || failed(need(io.attentionMask, true)) ||
      failed(need(io.logits, false)))
    return failure();
  SmallVector<GroupQueryAttentionOp> attention;
  func.walk([&](GroupQueryAttentionOp op) { attention.push_back(op); });
  io.cacheAtLength = !attention.empty();
  // GroupQueryAttention derives positions from the mask; others need them.
  if (!args.count(io.positionIds)) {
    if (!io.cacheAtLength && failed(need(io.positionIds, true)))
      return failure();
    io.positionIds.clear();
  }
  if (args.count("use_cache_branch"))
    return func.emitError() << "merged decoders (the use_cache_branch input) "
                               "are not supported yet";
  for (int64_t layer = 0;; ++layer) {
    std::string stem = "past_key_values." + std::to_string(layer);
    if (!args.count(stem + ".key"))
      break;
    for (const char *kv : {".key", ".value"}) {
      std::string past = stem + kv;
      std::string present = "present." + std::to_string(layer) + kv;
      if (failed(need(past, true)) || failed(need(present, false)))
        return failure();
      auto type = dyn_cast<RankedTensorType>(args[past].getType());
      if (!type || type.getRank() != 4 || type.isDynamicDim(1) ||
          type.isDynamicDim(3) || !type.getElementType().isF32())
        return func.emitError()
               << "input '" << past
               << "' must be f32 [batch, heads, past, head size] with static "
                  "heads and head size, not "
               << args[past].getType();
      io.past.push_back(past);
      io.present.push_back(present);
      io.heads.push_back(type.getDimSize(1));
      io.headDims.push_back(type.getDimSize(3));
    }
  }
  if (io.past.empty())
    return func.emitError() << "not a decoder with a KV cache: no input named "
                               "'past_key_values.0.key'";
  auto logits = dyn_cast<RankedTensorType>(results[io.logits]);
  if (!logits || logits.getRank() != 3 || logits.isDynamicDim(2) ||
      !logits.getElementType().isF32())
    return func.emitError() << "output 'logits' must be f32 [batch, seq, "
                               "vocab] with a static vocab, not "
                            << results[io.logits];
  io.vocab = logits.getDimSize(2);
  // The position table, if position_ids index one directly, or the rotary
  // caches GroupQueryAttention indexes by position.
  if (!io.positionIds.empty())
    for (Operation *user : args[io.positionIds].getUsers())
      if (auto gather = dyn_cast<GatherOp>(user))
        if (gather.getIndices() == args[io.positionIds] &&
            gather.getAxis() == 0)
          if (auto table =
                  dyn_cast<RankedTensorType>(gather.getData().getType()))
            if (!table.isDynamicDim(0))
              io.positions = table.getDimSize(0);
  for (GroupQueryAttentionOp op : attention) {
    if (op.getRotaryCache().empty())
      continue;
    auto table = dyn_cast<RankedTensorType>(op.getRotaryCache()[0].getType());
    if (table && table.getRank() == 2 && !table.isDynamicDim(0) &&
        (io.positions == 0 || table.getDimSize(0) < io.positions))
      io.positions = table.getDimSize(0);
  }
  return io;
}

bool mlir::smq::isDecoderWithCache(ModuleOp module, StringRef entry) {
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal())
    return false;
  std::set<std::string> names;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "smq.name"))
      names.insert(n.getValue().str());
  return names.count("input_ids") && names.count("attention_mask") &&
         names.count("past_key_values.0.key");
}

LogicalResult mlir::smq::bindDecoderForWindows(ModuleOp module, int64_t seqLen,
                                               StringRef entry) {
  auto io = findDecoderContract(module, entry);
  if (failed(io))
    return failure();
  if (io->positions > 0 && seqLen > io->positions)
    return module.emitError() << "windows of " << seqLen
                              << " tokens exceed the model's "
                              << io->positions << " positions";
  std::map<std::string, std::vector<int64_t>> shapes = {
      {io->inputIds, {1, seqLen}}, {io->attentionMask, {1, seqLen}}};
  if (!io->positionIds.empty())
    shapes[io->positionIds] = {1, seqLen};
  for (size_t i = 0; i < io->past.size(); ++i)
    shapes[io->past[i]] = {1, io->heads[i], 0, io->headDims[i]};
  if (failed(specializeInputShapes(module, shapes)))
    return failure();

  auto func = module.lookupSymbol<func::FuncOp>(entry);
  OpBuilder b = OpBuilder::atBlockBegin(&func.front());
  llvm::BitVector dropArgs(func.getNumArguments());
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<StringAttr>(i, "smq.name");
    if (!name || name.getValue() == io->inputIds)
      continue;
    BlockArgument arg = func.getArgument(i);
    auto type = cast<RankedTensorType>(arg.getType());
    Attribute value;
    if (!io->positionIds.empty() && name.getValue() == io->positionIds) {
      SmallVector<APInt> positions;
      unsigned width = type.getElementType().getIntOrFloatBitWidth();
      for (int64_t p = 0; p < seqLen; ++p)
        positions.push_back(APInt(width, p));
      value = DenseElementsAttr::get(type, positions);
    } else if (name.getValue() == io->attentionMask) {
      Type elt = type.getElementType();
      value = isa<FloatType>(elt)
                  ? DenseElementsAttr::get(type, b.getFloatAttr(elt, 1.0))
                  : DenseElementsAttr::get(type, b.getIntegerAttr(elt, 1));
    } else if (name.getValue().starts_with("past_key_values.")) {
      value = DenseElementsAttr::get(type, ArrayRef<float>());
    } else {
      return func.emitError() << "input '" << name.getValue()
                              << "' has no value for a window without a cache";
    }
    auto constant =
        ConstantOp::create(b, arg.getLoc(), cast<ElementsAttr>(value));
    arg.replaceAllUsesWith(constant.getResult());
    dropArgs.set(i);
  }
  if (failed(func.eraseArguments(dropArgs)))
    return failure();
  // Keep the logits only.
  auto ret = cast<func::ReturnOp>(func.front().getTerminator());
  llvm::BitVector dropResults(func.getNumResults());
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "smq.name");
    if (!name || name.getValue() != io->logits)
      dropResults.set(i);
  }
  SmallVector<Value> kept;
  for (unsigned i = 0; i < ret.getNumOperands(); ++i)
    if (!dropResults.test(i))
      kept.push_back(ret.getOperand(i));
  if (failed(func.eraseResults(dropResults)))
    return failure();
  ret->setOperands(kept);
  // Fold what the constants decide (the mask, the empty concatenations).
  return specializeInputShapes(module, {});
}

