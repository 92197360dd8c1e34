//===- SmqBase.td - smq dialect definition -----------------*- tablegen -*-===//
//
// The smq dialect: a tensor-level representation of decoder-only LLMs as
// ONNX exporters emit them, designed for post-training weight quantization.
//
//===----------------------------------------------------------------------===//

#ifndef SMQ_DIALECT_SMQ_IR_SMQBASE_TD
#define SMQ_DIALECT_SMQ_IR_SMQBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Smq_Dialect : Dialect {
  let name = "smq";
  let cppNamespace = "::mlir::smq";
  let summary = "Tensor-level ops for quantizing and compiling LLMs";
  let description = [{
    The `smq` dialect holds an imported model between the ONNX importer and
    the lowering to upstream dialects. Ops follow ONNX semantics (numpy
    broadcasting, ONNX attribute meanings) at the tensor level, with three
    differences that make the IR easier to transform:

    * Values that ONNX passes as inputs but that are compile-time constants
      in practice (reduction axes, squeeze axes, split sizes, `Trilu`'s `k`)
      are attributes, normalised to non-negative axes.
    * Values that may genuinely be dynamic (a `Reshape` target, `Slice`
      bounds, an `Expand` shape) stay operands. Each op's result type is
      inferred from its operands, and folders evaluate constant operands, so
      once input shapes are known a torch export folds to a static graph.
    * Weights are `smq.constant` ops whose value is a `dense_resource` blob:
      weights never appear inline in the IR and are never copied by passes
      that do not change them.

    Every op has a location naming the ONNX node it came from and the model
    file, so diagnostics point at the node a user can find in Netron.
  }];
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Where the passes report progress (see smq/Support/Progress.h): the
    /// tool sets it, and passes print nothing themselves. Null: nowhere.
    ::smq::ProgressListener *getProgressListener() const {
      return progressListener;
    }
    void setProgressListener(::smq::ProgressListener *listener) {
      progressListener = listener;
    }

  private:
    ::smq::ProgressListener *progressListener = nullptr;

  public:
  }];
}

class Smq_Op<string mnemonic, list<Trait> traits = []>
    : Op<Smq_Dialect, mnemonic, traits>;

// Tensor type constraints.
def Smq_FloatTensor : TensorOf<[AnyFloat]>;
def Smq_IndexTensor : TensorOf<[I32, I64]>;
def Smq_I64Tensor : TensorOf<[I64]>;
def Smq_BoolTensor : TensorOf<[I1]>;

#endif // SMQ_DIALECT_SMQ_IR_SMQBASE_TD
