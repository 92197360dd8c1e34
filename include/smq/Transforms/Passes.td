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

def SmqQuantizeWeights : Pass<"smq-quantize-weights", "ModuleOp"> {
  let summary = "Quantize the weights of MatMuls to grouped low-bit codes";
  let description = [{
    Every `smq.matmul` whose right operand is a rank-2 f32 weight constant
    (a K×N `dense_resource`) becomes an `smq.quantized_matmul` whose packed
    codes, scales and zero points are new `dense_resource` blobs named
    `<weight>.codes`, `.scales` and `.zeros`. The weight Ŵ (N×K) minimises
    tr(ΔW M ΔWᵀ) with M = H̄ + λ·D̄ from the calibration statistics (see
    ../shared/docs/SMOOTHNESS.md and docs/StatsFormat.md), by `method`:
    `rtn` and `wmse` need no statistics; `search` and `gptq` do.

    A weight with no statistics, or statistics of another size, is an
    error at the op's location unless `exclude` matches the weight's name
    or the ONNX node's. `report` writes one JSON row per layer: shape, bits,
    group, method, λ, relative fitting and smoothness errors of the chosen
    weights and of the λ = 0 choice, the mean clip, and the time.
  }];
  let options = [
    Option<"statsPath", "stats", "std::string", "\"\"",
           "Calibration statistics file (smq-calibrate)">,
    Option<"bits", "bits", "int64_t", "4", "Bits per code: 2, 3, 4 or 8">,
    Option<"groupSize", "group-size", "int64_t", "64",
           "Inputs per group; 0 for one group per output channel">,
    Option<"method", "method", "std::string", "\"gptq\"",
           "rtn, wmse, search or gptq">,
    Option<"lambda", "lambda", "std::string", "\"0\"",
           "Weight of the smoothness term (a number; 'auto' is not "
           "implemented yet)">,
    Option<"symmetric", "symmetric", "bool", "false",
           "Symmetric codes (zero point at mid-range)">,
    Option<"exclude", "exclude", "std::string", "\"\"",
           "Regex of weight or node names to leave in float">,
    Option<"report", "report", "std::string", "\"\"",
           "Write a per-layer JSON report here">,
    Option<"threads", "threads", "int", "0",
           "Threads for the numerics (0: one per core)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // SMQ_TRANSFORMS_PASSES_TD
