//===- FunctionSegments.cpp - a function cut into runnable pieces ---------===//

#include "smq/Transforms/FunctionSegments.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"

#include <limits>

using namespace mlir;
using namespace mlir::smq;

namespace {

bool isConstantOp(Operation *op) {
  return op && op->hasTrait<OpTrait::ConstantLike>();
}

/// Where each value a segment could carry is defined (-1: an argument) and
/// last used, by position among the body's top-level ops.
struct Liveness {
  llvm::DenseMap<Value, int64_t> defined, lastUse;
  SmallVector<Value> order; // program order, arguments first

  Liveness(Block &body, llvm::DenseMap<Operation *, int64_t> &position) {
    for (BlockArgument arg : body.getArguments()) {
      defined[arg] = -1;
      order.push_back(arg);
    }
    for (Operation &op : body) {
      int64_t at = position[&op];
      if (!isConstantOp(&op))
        for (Value r : op.getResults()) {
          defined[r] = at;
          order.push_back(r);
        }
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands()) {
          auto it = defined.find(v);
          if (it != defined.end())
            lastUse[v] = std::max(lastUse.lookup(v), at);
        }
      });
    }
  }
};

} // namespace

int64_t mlir::smq::valueBytes(Value v) {
  auto type = dyn_cast<ShapedType>(v.getType());
  if (!type || !type.hasStaticShape())
    return int64_t(1) << 40;
  return type.getNumElements() *
         std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
}

mlir::smq::CutWidths::CutWidths(func::FuncOp func) {
  Block &body = func.getBody().front();
  for (Operation &op : body) {
    position[&op] = static_cast<int64_t>(ops.size());
    ops.push_back(&op);
  }
  Liveness live(body, position);
  // Each value is live before the ops in [defined + 1, lastUse]: a sweep
  // over those ranges gives the bytes live before every op.
  std::vector<int64_t> delta(ops.size() + 1, 0);
  for (Value v : live.order) {
    auto use = live.lastUse.find(v);
    if (use == live.lastUse.end())
      continue;
    int64_t from = live.defined[v] + 1, to = use->second;
    if (from > to)
      continue;
    int64_t bytes = valueBytes(v);
    delta[from] += bytes;
    delta[to + 1] -= bytes;
  }
  int64_t bytes = 0;
  for (size_t p = 0; p < ops.size(); ++p)
    bytesBefore.push_back(bytes += delta[p]);
}

Operation *mlir::smq::CutWidths::narrowest(Operation *after,
                                           Operation *upTo) const {
  int64_t first = after ? position.lookup(after) + 1 : 1;
  int64_t last = position.lookup(upTo);
  Operation *best = upTo;
  int64_t bestBytes = std::numeric_limits<int64_t>::max();
  for (int64_t p = first; p <= last; ++p) {
    if (bytesBefore[p] <= bestBytes) {
      bestBytes = bytesBefore[p];
      best = ops[p];
    }
  }
  return best;
}

FailureOr<FunctionSegments>
mlir::smq::cutFunction(func::FuncOp func, ArrayRef<Operation *> cuts,
                       ArrayRef<SmallVector<Value>> extra) {
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "cannot cut a function of several blocks";
  Block &body = func.getBody().front();
  // Each top-level op's position; the terminator's is the end.
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t end = 0;
  for (Operation &op : body)
    position[&op] = end++;
  --end;
  SmallVector<int64_t> bounds = {0};
  for (Operation *cut : cuts) {
    auto it = position.find(cut);
    if (it == position.end() || it->second <= bounds.back() ||
        it->second >= end)
      return func.emitError() << "cuts must be ops of the body in program "
                                 "order, after its first op";
    bounds.push_back(it->second);
  }
  bounds.push_back(end);
  size_t segments = cuts.size() + 1;
  if (extra.size() != segments)
    return func.emitError() << "expected " << segments << " lists of extra "
                               "results, got " << extra.size();

  Liveness live(body, position);
  auto isConstant = isConstantOp;
  auto &defined = live.defined;
  auto &lastUse = live.lastUse;
  auto &order = live.order;

  FunctionSegments out;
  for (size_t j = 0; j < segments; ++j) {
    SmallVector<Value> live;
    if (j == 0)
      live.assign(body.getArguments().begin(), body.getArguments().end());
    else
      for (Value v : order)
        if (defined[v] < bounds[j] && lastUse.lookup(v) >= bounds[j] &&
            lastUse.count(v))
          live.push_back(v);
    out.live.push_back(std::move(live));
  }

  OpBuilder b(func.getContext());
  for (size_t j = 0; j < segments; ++j) {
    Location loc = func.getLoc();
    OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
    SmallVector<Value> results;
    if (j + 1 < segments)
      results = out.live[j + 1];
    for (Value v : extra[j]) {
      auto it = defined.find(v);
      bool available =
          isConstant(v.getDefiningOp()) ||
          (it != defined.end() && it->second < bounds[j + 1]);
      if (!available)
        return func.emitError()
               << "segment " << j << " cannot return a value defined after it";
      results.push_back(v);
    }
    SmallVector<Type> argTypes, resultTypes;
    for (Value v : out.live[j])
      argTypes.push_back(v.getType());
    for (Value v : results)
      resultTypes.push_back(v.getType());
    b.setInsertionPointToEnd(module->getBody());
    auto fn = func::FuncOp::create(b, loc, "main",
                                   b.getFunctionType(argTypes, resultTypes));
    Block *entry = fn.addEntryBlock();
    IRMapping map;
    for (auto [v, arg] : llvm::zip(out.live[j], entry->getArguments()))
      map.map(v, arg);
    b.setInsertionPointToEnd(entry);
    // A constant from anywhere in the body is cloned where first needed.
    auto materialize = [&](Value v) {
      if (map.contains(v))
        return;
      if (Operation *def = v.getDefiningOp(); isConstant(def)) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(entry);
        b.clone(*def, map);
      }
    };
    for (auto it = std::next(body.begin(), bounds[j]),
              stop = std::next(body.begin(), bounds[j + 1]);
         it != stop; ++it) {
      Operation &op = *it;
      if (isConstant(&op))
        continue; // cloned where used
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          materialize(v);
      });
      b.clone(op, map);
    }
    SmallVector<Value> mapped;
    for (Value v : results) {
      materialize(v);
      mapped.push_back(map.lookup(v));
    }
    func::ReturnOp::create(b, loc, mapped);
    out.modules.push_back(std::move(module));
  }
  return out;
}
