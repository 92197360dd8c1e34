//===- StridedCopiesToLoops.cpp - compiled strided copies -----------------===//
//
// memref.copy between buffers that are not both contiguous lowers to a call
// of MLIR's generic, element-at-a-time memrefCopy. As linalg.copy it lowers
// to loops instead, and LLVM vectorizes the innermost one.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/Builders.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQSTRIDEDCOPIESTOLOOPS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

bool contiguous(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref::isStaticShapeAndContiguousRowMajor(memref);
}

struct StridedCopiesToLoopsPass
    : public smq::impl::SmqStridedCopiesToLoopsBase<StridedCopiesToLoopsPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> strided;
    getOperation()->walk([&](memref::CopyOp copy) {
      if (!contiguous(copy.getSource().getType()) ||
          !contiguous(copy.getTarget().getType()))
        strided.push_back(copy);
    });
    for (memref::CopyOp copy : strided) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};

} // namespace
