//===- EmbeddingAsInput.cpp - the token embedding as an argument ----------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQEMBEDDINGASINPUT
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

struct EmbeddingAsInputPass
    : public mlir::smq::impl::SmqEmbeddingAsInputBase<EmbeddingAsInputPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || func.getNumArguments() == 0)
        continue;
      Value ids = func.getArgument(0);
      SmallVector<GatherOp> found;
      for (Operation *user : ids.getUsers())
        if (auto gather = dyn_cast<GatherOp>(user))
          if (gather.getIndices() == ids && gather.getAxis() == 0 &&
              getWeightAttr(gather.getData()))
            found.push_back(gather);
      if (found.size() != 1) {
        func.emitError() << "cannot find the token embedding: expected one "
                            "smq.gather of a weight by the token ids (the "
                            "first argument), found "
                         << found.size();
        return signalPassFailure();
      }
      GatherOp gather = found.front();
      OpBuilder b(func);
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, gather.getType(),
              b.getDictionaryAttr(
                  b.getNamedAttr("smq.name", b.getStringAttr("embeddings"))),
              gather.getLoc())))
        return signalPassFailure();
      func->setAttr("smq.embedding_table",
                    b.getStringAttr(getWeightAttr(gather.getData())
                                        .getRawHandle()
                                        .getKey()));
      Value table = gather.getData();
      gather.getResult().replaceAllUsesWith(func.getArgument(index));
      gather.erase();
      if (table.use_empty())
        table.getDefiningOp()->erase();
    }
  }
};

} // namespace
