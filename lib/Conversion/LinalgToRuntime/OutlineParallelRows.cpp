//===- OutlineParallelRows.cpp - loops over rows on the runtime's threads -===//
//
// Elementwise, normalisation and softmax code is compiled loops, not runtime
// kernels, so without this pass it runs on one thread while the matmuls use
// all of them. Each qualifying op becomes
//
//   func.func private @<fn>_rows<i>(%ctx: !llvm.ptr, %begin, %end: index)
//
// which loads the op's memref descriptors from *ctx and runs the op on rows
// [begin, end) of its outermost non-unit loop through subviews; the op's
// place packs the descriptors into a stack struct and calls
// smq_rt_parallel_rows. The descriptors cross as LLVM structs behind
// unrealized casts, which the LLVM lowering later cancels against its own.
//
//===----------------------------------------------------------------------===//
#include "smq/Conversion/Passes.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQOUTLINEPARALLELROWS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kParallelRows = "smq_rt_parallel_rows";

/// An op the pass can split, and how.
struct Split {
  linalg::LinalgOp op;
  unsigned dim;  // the loop split over threads
  int64_t rows;  // its trip count
  /// For each operand: the position of `dim` among its dimensions, or -1
  /// when the operand does not vary with it (or is not a memref).
  SmallVector<int64_t> position;
};

/// Whether `op` qualifies (see the pass description), and how to split it.
std::optional<Split> analyse(linalg::LinalgOp op, int64_t minWork) {
  if (!isa<linalg::GenericOp, linalg::MapOp, linalg::TransposeOp,
           linalg::CopyOp, linalg::FillOp, linalg::BroadcastOp>(
          op.getOperation()))
    return std::nullopt;
  if (!op.hasPureBufferSemantics() ||
      !isa<func::FuncOp>(op->getParentOp()))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t work = 1;
  for (int64_t r : ranges) {
    if (ShapedType::isDynamic(r))
      return std::nullopt;
    work *= r;
  }
  if (work < minWork)
    return std::nullopt;
  unsigned dim = 0;
  while (dim < ranges.size() && ranges[dim] == 1)
    ++dim;
  if (dim == ranges.size() ||
      op.getIteratorTypesArray()[dim] != utils::IteratorType::parallel)
    return std::nullopt;

  Split split{op, dim, ranges[dim], {}};
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType())) {
      // A scalar operand (a fill's value) must be a constant we can copy.
      if (!operand.get().getDefiningOp() ||
          !operand.get().getDefiningOp()->hasTrait<OpTrait::ConstantLike>())
        return std::nullopt;
      split.position.push_back(-1);
      continue;
    }
    AffineMap map = op.getMatchingIndexingMap(&operand);
    int64_t at = -1;
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      if (!expr.isFunctionOfDim(dim))
        continue;
      auto d = dyn_cast<AffineDimExpr>(expr);
      if (!d || at != -1)
        return std::nullopt; // d0 + d3, or the loop indexing two dimensions
      at = static_cast<int64_t>(i);
    }
    if (at == -1 && op.isDpsInit(&operand))
      return std::nullopt; // rows would write the same elements
    split.position.push_back(at);
  }

  // The body may use only its own values and constants from outside, and
  // must not ask for the split loop's index (it would be relative).
  bool ok = true;
  for (Region &region : op->getRegions()) {
    visitUsedValuesDefinedAbove(region, [&](OpOperand *use) {
      Operation *def = use->get().getDefiningOp();
      if (!def || !def->hasTrait<OpTrait::ConstantLike>())
        ok = false;
    });
    region.walk([&](linalg::IndexOp index) {
      if (index.getDim() == dim)
        ok = false;
    });
  }
  if (!ok)
    return std::nullopt;
  return split;
}

func::FuncOp declareParallelRows(ModuleOp module, FunctionType rowsFn) {
  if (auto f = module.lookupSymbol<func::FuncOp>(kParallelRows))
    return f;
  OpBuilder b(module.getBodyRegion());
  MLIRContext *ctx = module.getContext();
  auto f = func::FuncOp::create(
      b, module.getLoc(), kParallelRows,
      b.getFunctionType(
          {rowsFn, LLVM::LLVMPointerType::get(ctx), b.getIndexType()}, {}));
  f.setPrivate();
  return f;
}

struct OutlineParallelRowsPass
    : public mlir::smq::impl::SmqOutlineParallelRowsBase<
          OutlineParallelRowsPass> {
  using SmqOutlineParallelRowsBase::SmqOutlineParallelRowsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Split> splits;
    module.walk([&](linalg::LinalgOp op) {
      if (auto split = analyse(op, minWork))
        splits.push_back(std::move(*split));
    });
    if (splits.empty())
      return;

    MLIRContext *ctx = module.getContext();
    LLVMTypeConverter converter(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    OpBuilder b(ctx);
    FunctionType rowsFn =
        b.getFunctionType({ptr, b.getIndexType(), b.getIndexType()}, {});
    func::FuncOp parallelRows = declareParallelRows(module, rowsFn);
    SymbolTable symbols(module);
    llvm::DenseMap<Operation *, unsigned> counts;

    for (Split &split : splits) {
      Operation *op = split.op;
      Location loc = op->getLoc();
      auto parent = cast<func::FuncOp>(op->getParentOp());

      // The memrefs the op touches, once each, and their descriptors.
      llvm::SetVector<Value> memrefs;
      for (Value v : op->getOperands())
        if (isa<MemRefType>(v.getType()))
          memrefs.insert(v);
      SmallVector<Type> descriptors;
      for (Value v : memrefs)
        descriptors.push_back(converter.convertType(v.getType()));
      auto context = LLVM::LLVMStructType::getLiteral(ctx, descriptors);

      // The outlined rows.
      b.setInsertionPoint(parent);
      std::string name = (parent.getSymName() + "_rows" +
                          Twine(counts[parent]++)).str();
      auto fn = func::FuncOp::create(b, loc, name, rowsFn);
      fn.setPrivate();
      // Internal in the object too: two AOT libraries in one process must
      // not share (or interpose) each other's rows.
      fn->setAttr("llvm.linkage",
                  LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
      symbols.insert(fn); // renames on a clash
      Block *entry = fn.addEntryBlock();
      b.setInsertionPointToStart(entry);
      Value packed = LLVM::LoadOp::create(b, loc, context, entry->getArgument(0));
      IRMapping mapping;
      for (auto [i, v] : llvm::enumerate(memrefs)) {
        Value d = LLVM::ExtractValueOp::create(b, loc, packed,
                                               static_cast<int64_t>(i));
        mapping.map(v, UnrealizedConversionCastOp::create(b, loc, v.getType(), d)
                           .getResult(0));
      }
      Value begin = entry->getArgument(1), end = entry->getArgument(2);
      Value count = arith::SubIOp::create(b, loc, end, begin);
      SmallVector<Value> operands;
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        if (!isa<MemRefType>(v.getType())) {
          operands.push_back(b.clone(*v.getDefiningOp())->getResult(0));
          continue;
        }
        Value whole = mapping.lookup(v);
        int64_t at = split.position[i];
        if (at < 0) {
          operands.push_back(whole);
          continue;
        }
        auto type = cast<MemRefType>(v.getType());
        SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)),
            sizes, strides(type.getRank(), b.getIndexAttr(1));
        for (int64_t s : type.getShape())
          sizes.push_back(b.getIndexAttr(s));
        offsets[at] = begin;
        sizes[at] = count;
        operands.push_back(
            memref::SubViewOp::create(b, loc, whole, offsets, sizes, strides));
      }
      // Constants the body uses come along.
      for (Region &region : op->getRegions())
        visitUsedValuesDefinedAbove(region, [&](OpOperand *use) {
          if (!mapping.contains(use->get()))
            mapping.map(use->get(),
                        b.clone(*use->get().getDefiningOp())->getResult(0));
        });
      Operation *clone = b.clone(*op, mapping);
      clone->setOperands(operands);
      func::ReturnOp::create(b, loc);

      // The call in the op's place; the stack slot lives in the entry block.
      Block &home = parent.getBody().front();
      b.setInsertionPointToStart(&home);
      Value one = LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                           b.getI64IntegerAttr(1));
      Value slot = LLVM::AllocaOp::create(b, loc, ptr, context, one);
      b.setInsertionPoint(op);
      Value value = LLVM::UndefOp::create(b, loc, context);
      for (auto [i, v] : llvm::enumerate(memrefs)) {
        Value d = UnrealizedConversionCastOp::create(b, loc, descriptors[i], v)
                      .getResult(0);
        value = LLVM::InsertValueOp::create(b, loc, value, d,
                                            static_cast<int64_t>(i));
      }
      LLVM::StoreOp::create(b, loc, value, slot);
      Value callee = func::ConstantOp::create(b, loc, rowsFn,
                                              SymbolRefAttr::get(fn));
      Value rows = arith::ConstantIndexOp::create(b, loc, split.rows);
      func::CallOp::create(b, loc, parallelRows,
                           ValueRange{callee, slot, rows});
      op->erase();
    }
  }
};

} // namespace
