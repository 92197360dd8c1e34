//===- PackQuantizedWeights.cpp - codes into the kernels' layout ----------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/ConstantBytes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Runtime/PackedLayout.h"
#include "smq/Runtime/Runtime.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQPACKQUANTIZEDWEIGHTS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

struct PackQuantizedWeightsPass
    : public mlir::smq::impl::SmqPackQuantizedWeightsBase<PackQuantizedWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (activations != "f32" && activations != "int8") {
      getOperation().emitError("smq-pack-quantized-weights: activations must "
                               "be f32 or int8, not '")
          << activations << "'";
      return signalPassFailure();
    }
    // Codes shared by several ops are packed once.
    llvm::DenseMap<Operation *, Value> packedOf;
    getOperation().walk([&](QuantizedMatMulOp op) {
      if (op.getPacked())
        return;
      int64_t bits = op.getBits(), group = op.getGroupSize();
      if (!::smq::kernelFormatSupported(bits, group)) {
        op.emitWarning("no quantized kernel takes ")
            << bits << "-bit codes in groups of " << group
            << "; the weight is decoded to f32 when the model runs";
        return;
      }
      auto cst = op.getCodes().getDefiningOp<ConstantOp>();
      std::optional<ArrayRef<char>> bytes =
          cst ? constantBytes(cst.getValue()) : std::nullopt;
      if (!bytes) {
        op.emitWarning("codes are not a constant; left unpacked, the "
                       "weight is decoded to f32 when the model runs");
        return;
      }
      auto codesType = cast<RankedTensorType>(op.getCodes().getType());
      int64_t n = codesType.getDimSize(0), srcRow = codesType.getDimSize(1);
      int64_t k = cast<RankedTensorType>(op.getLhs().getType()).getShape().back();
      // A model kept with dynamic dims is packed once its inputs are known.
      if (ShapedType::isDynamic(k))
        return;
      Value &packed = packedOf[cst];
      if (!packed) {
        int64_t rowBytes = ::smq::packedRowBytes(k, bits);
        std::vector<char> out(n * rowBytes);
        smq_rt_pack_codes(bits, n, k,
                          reinterpret_cast<const uint8_t *>(bytes->data()),
                          srcRow, reinterpret_cast<uint8_t *>(out.data()));
        auto type = RankedTensorType::get({n, rowBytes},
                                          codesType.getElementType());
        std::string key = "codes.packed";
        if (auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue()))
          key = (res.getRawHandle().getKey() + ".packed").str();
        OpBuilder b(cst);
        packed = ConstantOp::create(b, cst.getLoc(), bytesAttr(type, key, out));
      }
      op.getCodesMutable().assign(packed);
      op.setPacked(true);
      if (activations == "int8")
        op.setInt8Activations(true);
      if (cst.use_empty())
        cst.erase();
    });
  }
};

} // namespace
