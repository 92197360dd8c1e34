//===- GpuPasses.cpp - SMQ's own steps of the GPU pipeline ----------------===//
//
// The steps upstream MLIR leaves to each compiler: how loops become blocks
// and threads, where the host code's buffers live, the SPIR-V entry point
// ABI, and where converted SPIR-V modules go.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQGPUTILEPARALLELLOOPS
#define GEN_PASS_DEF_SMQGPUPARALLELDIMSFIRST
#define GEN_PASS_DEF_SMQGPUHOSTBUFFERS
#define GEN_PASS_DEF_SMQGPUBYTEBOOLS
#define GEN_PASS_DEF_SMQGPUSPIRVENTRYPOINTS
#define GEN_PASS_DEF_SMQGPUSINKVIEWS
#define GEN_PASS_DEF_SMQGPUNESTSPIRVMODULES
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Blocks and threads
//===----------------------------------------------------------------------===//

struct ParallelDimsFirst
    : public smq::impl::SmqGpuParallelDimsFirstBase<ParallelDimsFirst> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp g) { generics.push_back(g); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp g : generics) {
      SmallVector<unsigned> parallel, reduction;
      for (auto [i, it] : llvm::enumerate(g.getIteratorTypesArray()))
        (linalg::isParallelIterator(it) ? parallel : reduction).push_back(i);
      SmallVector<unsigned> order(parallel);
      order.append(reduction.begin(), reduction.end());
      if (llvm::is_sorted(order))
        continue;
      rewriter.setInsertionPoint(g);
      if (failed(linalg::interchangeGenericOp(rewriter, g, order))) {
        g.emitError("cannot put this op's parallel dims first");
        return signalPassFailure();
      }
    }
  }
};

struct TileParallelLoops
    : public smq::impl::SmqGpuTileParallelLoopsBase<TileParallelLoops> {
  using SmqGpuTileParallelLoopsBase::SmqGpuTileParallelLoopsBase;
  void runOnOperation() override {
    if (blockSize < 1) {
      getOperation().emitError("smq-gpu-tile-parallel-loops: block-size must "
                               "be at least 1");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() &&
          !op->getParentOfType<gpu::LaunchOp>())
        outermost.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp op : outermost) {
      scf::ParallelOp loop = op;
      unsigned rank = loop.getNumLoops();
      // The iterations, when the bounds are constants.
      std::optional<int64_t> trips = 1;
      for (unsigned i = 0; i < rank && trips; ++i) {
        auto lb = getConstantIntValue(loop.getLowerBound()[i]);
        auto ub = getConstantIntValue(loop.getUpperBound()[i]);
        auto st = getConstantIntValue(loop.getStep()[i]);
        if (lb && ub && st && *st > 0)
          *trips *= std::max<int64_t>(0, (*ub - *lb + *st - 1) / *st);
        else
          trips = std::nullopt;
      }
      if (rank > 1) {
        std::vector<unsigned> all(rank);
        for (unsigned i = 0; i < rank; ++i)
          all[i] = i;
        rewriter.setInsertionPoint(loop);
        // The collapsed loop replaces `loop`: find it where it was.
        Block *block = loop->getBlock();
        Operation *before = loop->getPrevNode();
        collapseParallelLoops(rewriter, loop, {all});
        Operation *first = before ? before->getNextNode() : &block->front();
        loop = nullptr;
        for (Operation *o = first; o; o = o->getNextNode())
          if ((loop = dyn_cast<scf::ParallelOp>(o)))
            break;
        if (!loop) {
          op.emitError("smq-gpu-tile-parallel-loops: collapsing lost the loop");
          return signalPassFailure();
        }
      }
      // A loop of fewer iterations than a block takes no more threads.
      int64_t tile = blockSize;
      if (trips)
        tile = std::max<int64_t>(1, std::min<int64_t>(tile, *trips));
      scf::tileParallelLoop(loop, {tile}, /*noMinMaxBounds=*/true);
    }
  }
};

//===----------------------------------------------------------------------===//
// Booleans as bytes
//===----------------------------------------------------------------------===//

MemRefType byteBoolType(Type t) {
  auto m = dyn_cast<MemRefType>(t);
  if (!m || !m.getElementType().isInteger(1))
    return nullptr;
  return MemRefType::get(m.getShape(), IntegerType::get(t.getContext(), 8),
                         m.getLayout(), m.getMemorySpace());
}

struct ByteBools : public smq::impl::SmqGpuByteBoolsBase<ByteBools> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type i1 = IntegerType::get(ctx, 1), i8 = IntegerType::get(ctx, 8);
    OpBuilder b(ctx);
    // Constants: an i1 global becomes an i8 one with the same 0/1 values.
    for (auto global : module.getOps<memref::GlobalOp>()) {
      MemRefType to = byteBoolType(global.getType());
      if (!to)
        continue;
      global.setType(to);
      if (auto init = dyn_cast_or_null<DenseElementsAttr>(
              global.getInitialValueAttr())) {
        SmallVector<int8_t> bytes;
        for (bool v : init.getValues<bool>())
          bytes.push_back(v ? 1 : 0);
        auto tensor = RankedTensorType::get(to.getShape(), i8);
        global.setInitialValueAttr(
            DenseElementsAttr::get(tensor, ArrayRef<int8_t>(bytes)));
      }
    }
    auto retype = [&](Value v) {
      if (MemRefType to = byteBoolType(v.getType()))
        v.setType(to);
    };
    // Every buffer first, then the accesses (whose buffers, block
    // arguments included, then have their new types).
    module.walk([&](Operation *op) {
      for (Region &r : op->getRegions())
        for (Block &block : r)
          for (BlockArgument a : block.getArguments())
            retype(a);
      for (Value v : op->getResults())
        retype(v);
    });
    module.walk([&](Operation *op) {
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        if (load.getType() != i1 ||
            !cast<MemRefType>(load.getMemRef().getType())
                 .getElementType()
                 .isInteger(8))
          return;
        load.getResult().setType(i8);
        b.setInsertionPointAfter(load);
        auto bit = arith::TruncIOp::create(b, load.getLoc(), i1, load);
        load.getResult().replaceAllUsesExcept(bit, bit);
      } else if (auto store = dyn_cast<memref::StoreOp>(op)) {
        if (store.getValue().getType() != i1 ||
            !cast<MemRefType>(store.getMemRef().getType())
                 .getElementType()
                 .isInteger(8))
          return;
        b.setInsertionPoint(store);
        store.getValueMutable().assign(
            arith::ExtUIOp::create(b, store.getLoc(), i8, store.getValue()));
      }
    });
    // Signatures follow their blocks' (retyped) arguments.
    module.walk([&](FunctionOpInterface fn) {
      if (fn.isExternal())
        return;
      SmallVector<Type> inputs(fn.getArgumentTypes());
      for (Type &t : inputs)
        if (MemRefType to = byteBoolType(t))
          t = to;
      SmallVector<Type> results(fn.getResultTypes());
      for (Type &t : results)
        if (MemRefType to = byteBoolType(t))
          t = to;
      fn.setType(FunctionType::get(ctx, inputs, results));
    });
  }
};

//===----------------------------------------------------------------------===//
// Host buffers
//===----------------------------------------------------------------------===//

/// Frees a gpu.alloc'ed buffer: gpu-to-llvm lowers only the asynchronous
/// gpu.dealloc, so on a stream of its own, waited for at once.
void freeBuffer(OpBuilder &b, Location loc, Value buffer) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  Value ready = gpu::WaitOp::create(b, loc, token, ValueRange{}).getAsyncToken();
  Value done = gpu::DeallocOp::create(b, loc, token, ValueRange{ready}, buffer)
                   .getAsyncToken();
  gpu::WaitOp::create(b, loc, Type(), ValueRange{done});
}

struct HostBuffers : public smq::impl::SmqGpuHostBuffersBase<HostBuffers> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Kernels are launched with bare buffer pointers: a view's offset or
    // strides would be lost on the way (smq-gpu-sink-views moves views
    // into kernels). Refuse rather than compute at the wrong place.
    bool views = false;
    module.walk([&](gpu::GPUFuncOp fn) {
      if (!fn.isKernel())
        return;
      for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes()))
        if (auto m = dyn_cast<MemRefType>(t); m && !m.getLayout().isIdentity()) {
          fn.emitError("GPU kernel argument ")
              << i << " is a view (" << m << "); kernels take whole buffers";
          views = true;
        }
    });
    if (views)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    WalkResult result = module.walk([&](func::FuncOp func) -> WalkResult {
      if (func.isExternal())
        return WalkResult::advance();
      SmallVector<Operation *> allocs, deallocs, globals;
      WalkResult found = func.walk([&](Operation *op) {
        if (op->getParentOfType<gpu::LaunchOp>())
          return WalkResult::advance();
        if (isa<memref::AllocOp>(op))
          allocs.push_back(op);
        else if (isa<memref::DeallocOp>(op))
          deallocs.push_back(op);
        else if (isa<memref::GetGlobalOp>(op))
          globals.push_back(op);
        else if (isa<memref::AllocaOp>(op) &&
                 llvm::any_of(op->getUsers(), [](Operation *user) {
                   return isa<gpu::LaunchFuncOp>(user);
                 })) {
          op->emitError("a stack buffer is passed to a GPU kernel");
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      });
      if (found.wasInterrupted())
        return WalkResult::interrupt();
      for (Operation *op : allocs) {
        auto alloc = cast<memref::AllocOp>(op);
        rewriter.setInsertionPoint(alloc);
        auto g = gpu::AllocOp::create(
            rewriter, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange{}, alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/true);
        rewriter.replaceOp(alloc, g.getMemref());
      }
      for (Operation *op : deallocs) {
        auto dealloc = cast<memref::DeallocOp>(op);
        rewriter.setInsertionPoint(dealloc);
        freeBuffer(rewriter, dealloc.getLoc(), dealloc.getMemref());
        rewriter.eraseOp(dealloc);
      }
      for (Operation *op : globals) {
        auto get = cast<memref::GetGlobalOp>(op);
        bool byKernel = llvm::any_of(get->getUsers(), [](Operation *u) {
          return isa<gpu::LaunchFuncOp>(u) || u->getParentOfType<gpu::LaunchOp>();
        });
        if (!byKernel)
          continue;
        auto type = cast<MemRefType>(get.getType());
        if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
          get.emitError("a GPU kernel reads a constant of type ")
              << type << "; only static, identity-layout ones are copied";
          return WalkResult::interrupt();
        }
        rewriter.setInsertionPointAfter(get);
        auto buffer = gpu::AllocOp::create(
            rewriter, get.getLoc(), type, Type(), ValueRange{}, ValueRange{},
            ValueRange{}, /*hostShared=*/true);
        rewriter.replaceAllUsesWith(get.getResult(), buffer.getMemref());
        memref::CopyOp::create(rewriter, get.getLoc(), get.getResult(),
                               buffer.getMemref());
        func.walk([&](func::ReturnOp ret) {
          rewriter.setInsertionPoint(ret);
          freeBuffer(rewriter, ret.getLoc(), buffer.getMemref());
        });
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

//===----------------------------------------------------------------------===//
// Views into kernels
//===----------------------------------------------------------------------===//

bool isView(Operation *op) {
  return isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::CastOp>(op);
}

/// Clones `op` at `b` (the views and constants it reads from outside
/// `region` first), recording the clones in `map`.
void cloneWithViews(Operation *op, Region &region, IRMapping &map,
                    OpBuilder &b) {
  for (Value operand : op->getOperands()) {
    if (map.contains(operand))
      continue;
    Operation *def = operand.getDefiningOp();
    if (def && !region.isAncestor(def->getParentRegion()) &&
        (isView(def) || def->hasTrait<OpTrait::ConstantLike>()))
      cloneWithViews(def, region, map, b);
  }
  b.clone(*op, map);
}

struct SinkViews : public smq::impl::SmqGpuSinkViewsBase<SinkViews> {
  void runOnOperation() override {
    getOperation().walk([&](gpu::LaunchOp launch) {
      Region &body = launch.getBody();
      SetVector<Value> captured;
      getUsedValuesDefinedAbove(body, captured);
      IRMapping map;
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      for (Value v : captured) {
        Operation *def = v.getDefiningOp();
        if (!def || !isView(def))
          continue;
        if (!map.contains(v))
          cloneWithViews(def, body, map, b);
        replaceAllUsesInRegionWith(v, map.lookup(v), body);
      }
    });
  }
};

//===----------------------------------------------------------------------===//
// SPIR-V
//===----------------------------------------------------------------------===//

struct SpirvEntryPoints
    : public smq::impl::SmqGpuSpirvEntryPointsBase<SpirvEntryPoints> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](gpu::GPUFuncOp func) {
      if (!func.isKernel())
        return;
      DenseI32ArrayAttr known = func.getKnownBlockSizeAttr();
      if (!known || known.size() != 3) {
        func.emitError("kernel '")
            << func.getName()
            << "' has no known block size; SPIR-V needs its workgroup size";
        failed = true;
        return;
      }
      // Vulkan launches bind buffers only: a value the host computes at run
      // time (an index of a loop around the launch) has no way in.
      for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
        if (!isa<MemRefType>(type)) {
          func.emitError("kernel '")
              << func.getName() << "' takes argument " << i << " (" << type
              << ") from the host at run time; Vulkan launches pass only "
                 "buffers";
          failed = true;
          return;
        }
      func->setAttr(spirv::getEntryPointABIAttrName(),
                    spirv::getEntryPointABIAttr(&getContext(),
                                                known.asArrayRef()));
    });
    if (failed)
      signalPassFailure();
  }
};

struct NestSpirvModules
    : public smq::impl::SmqGpuNestSpirvModulesBase<NestSpirvModules> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<spirv::ModuleOp> converted;
    for (auto spv : module.getOps<spirv::ModuleOp>())
      converted.push_back(spv);
    for (spirv::ModuleOp spv : converted) {
      std::optional<StringRef> name = spv.getName();
      StringRef prefix = "__spv__";
      if (!name || !name->starts_with(prefix))
        continue;
      auto gpuModule =
          module.lookupSymbol<gpu::GPUModuleOp>(name->drop_front(prefix.size()));
      if (!gpuModule) {
        spv.emitError("no gpu.module for ") << *name;
        return signalPassFailure();
      }
      spv->moveBefore(gpuModule.getBody(), gpuModule.getBody()->begin());
    }
  }
};

} // namespace
