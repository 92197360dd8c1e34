//===- MemoryEstimate.cpp - what running a model will allocate ------------===//
#include "smq/Execution/MemoryEstimate.h"

#include "smq/Transforms/Passes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Visitors.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::smq;

namespace {

/// Bytes of a statically shaped tensor (saturating), or nullopt.
std::optional<uint64_t> tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isIntOrFloat())
    return std::nullopt;
  // i1 and sub-byte types take a byte each in memory.
  uint64_t bytes = (tensor.getElementType().getIntOrFloatBitWidth() + 7) / 8;
  for (int64_t d : tensor.getShape()) {
    if (d != 0 && bytes > UINT64_MAX / static_cast<uint64_t>(d))
      return UINT64_MAX;
    bytes *= static_cast<uint64_t>(d);
  }
  return bytes;
}

uint64_t add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

} // namespace

MemoryEstimate mlir::smq::estimateRunMemory(func::FuncOp entry) {
  MemoryEstimate e;
  if (entry.isExternal())
    return e;
  Block &body = entry.getBody().front();
  // The position of each op of the body, and of each value's last use
  // (a use inside a region counts at the op of the body holding it).
  DenseMap<Operation *, size_t> position;
  size_t n = 0;
  for (Operation &op : body)
    position[&op] = n++;
  auto lastUse = [&](Value v) {
    size_t last = 0;
    for (Operation *user : v.getUsers()) {
      Operation *top = body.findAncestorOpInBlock(*user);
      if (top)
        last = std::max(last, position[top]);
    }
    return last;
  };
  // Bytes that stop being live after each position.
  std::vector<uint64_t> freed(n + 1, 0);
  uint64_t live = 0;
  auto note = [&](Value v, uint64_t bytes, size_t from, StringRef what) {
    live = add(live, bytes);
    freed[std::max(from, lastUse(v))] += bytes;
    if (bytes > e.largestBytes) {
      e.largestBytes = bytes;
      std::string type;
      llvm::raw_string_ostream os(type);
      os << v.getType();
      e.largest = what.str() + ", " + type;
    }
  };
  for (BlockArgument arg : body.getArguments()) {
    if (entry.getArgAttr(arg.getArgNumber(), kWeightArgAttr))
      continue;
    if (auto bytes = tensorBytes(arg.getType()))
      note(arg, *bytes, 0, "input " + std::to_string(arg.getArgNumber()));
  }
  for (Operation &op : body) {
    size_t at = position[&op];
    // The ONNX node an op came from is the name in its location.
    std::string where = "'" + op.getName().getStringRef().str() + "'";
    op.getLoc()->walk([&](Location loc) {
      if (auto name = dyn_cast<NameLoc>(loc)) {
        where = "node '" + name.getName().str() + "' (" + where + ")";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    for (Value result : op.getResults())
      if (auto bytes = tensorBytes(result.getType()))
        note(result, *bytes, at, "the result of " + where);
    e.peakBytes = std::max(e.peakBytes, live);
    live -= std::min(live, freed[at]);
  }
  return e;
}
