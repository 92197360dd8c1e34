//===- Passes.td - smq transformations ---------------------*- tablegen -*-===//
#ifndef SMQ_TRANSFORMS_PASSES_TD
#define SMQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmqExternalizeWeights : Pass<"smq-externalize-weights", "ModuleOp"> {
  let summary = "Turn weight constants into arguments of the entry function";
  let description = [{
    Every `smq.constant` whose value is a `dense_resource` blob becomes a new
    argument of the function that uses it, marked `smq.weight = "<key>"`
    with the blob's key. Integer tensors of at most 1024 elements stay: they
    are shape data (Slice bounds, Reshape targets) that lowering needs as
    constants. Compiled code then reads weights from buffers the
    runtime provides (the imported blobs, memory-mapped external data)
    instead of embedding them, so compile time and code size do not grow
    with the model.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def SmqExposeActivations : Pass<"smq-expose-activations", "ModuleOp"> {
  let summary = "Return the input of every weight-bearing op, for calibration";
  let description = [{
    A weight-bearing op is an `smq.matmul` whose right operand is a weight
    (`smq.constant` with a `dense_resource` value of rank 2), or an
    `smq.gemm` whose B is one (and A is not transposed). Each such op's
    input activation becomes an extra result of its function, named
    `smq.name = "observe:<weight key>"`. Calibration runs the instrumented
    model and accumulates the statistics of these results; the weight key
    identifies the op across re-imports of the same model.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // SMQ_TRANSFORMS_PASSES_TD
