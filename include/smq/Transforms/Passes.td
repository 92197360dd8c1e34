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

def SmqEmbeddingAsInput : Pass<"smq-embedding-as-input", "ModuleOp"> {
  let summary = "Make the token embedding an input, to perturb it";
  let description = [{
    Finds, in each function, the token embedding: an `smq.gather` along
    axis 0 of a rank-2 weight (the table, V×D) by the function's first
    argument (the token ids). Its result becomes a new last argument named
    `smq.name = "embeddings"`, and the function is marked
    `smq.embedding_table = "<table key>"`. The model can then be run with
    embeddings moved off the table's rows, which is how `smq-eval`
    estimates the gradient of the loss with respect to them without
    autodiff. A function with no such gather, or more than one, is an error
    at the function: the model's embedding cannot be told.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def SmqQuantizeWeights : Pass<"smq-quantize-weights", "ModuleOp"> {
  let summary = "Quantize the weights of MatMuls and Gemms to grouped low-bit codes";
  let description = [{
    Every `smq.matmul` whose right operand is a rank-2 f32 weight constant
    (a K×N `dense_resource`) becomes an `smq.quantized_matmul` whose packed
    codes, scales and zero points are new `dense_resource` blobs named
    `<weight>.codes`, `.scales` and `.zeros`. So does every `smq.gemm` with
    an untransposed A and a constant B (K×N, or N×K with `transB`), followed
    by `smq.mul` by alpha and `smq.add` of beta·C where they are not 1 or
    absent. The weight Ŵ (N×K) minimises
    tr(ΔW M ΔWᵀ) with M = H̄ + λ·D̄ from the calibration statistics (see
    ../shared/docs/SMOOTHNESS.md and docs/StatsFormat.md), by `method`:
    `rtn` and `wmse` need no statistics; `search` and `gptq` do.

    `lambda=auto` (the default) chooses λ from `lambda-grid` by running
    the model: for each λ it quantizes a copy with the statistics of the
    calibration sequences that were not held out (`smq-calibrate
    --holdout`), runs it on the held-out sequences, and scores its mean
    next-token NLL (or, with `lambda-criterion=kl`, its KL divergence from
    the float model). The lowest score wins, the smaller λ on a tie; since
    0 is in the default grid, `auto` is never worse than fitting alone on
    the held-out sequences. The model is then quantized with that λ and
    the statistics of all sequences. This needs the model's token input
    to be [1, T] with T the held-out sequences' length, and a tool with an
    execution engine (smq-opt has one). `rtn` and `wmse` use no λ.

    `sequential` quantizes in stages instead, in program order: a stage is
    a run of weight-bearing ops none of whose inputs depends on another of
    the run (a block's q, k and v projections share one). The model's
    function is cut into segments before each stage and, between one stage
    and the next, where the fewest bytes are live (before a LayerNorm: the
    residual stream alone); each segment is compiled on its own when it is
    first needed. The calibration windows and their neighbours (which the
    statistics file keeps, format version 3) start at the first; once a
    stage is quantized, its segment runs on what the one before left, with
    the stage's quantized weights, so each stage's H and D come from the
    model with every earlier stage quantized, and the model runs about once
    in all, as the GPTQ reference runs block by block. Only one stage's
    statistics and the segments from where its values are held are kept
    at a time, with those values for every window. With `recompute` (on by
    default), a stage whose values would raise the peak if held for every
    window (an MLP's hidden values) has them recomputed a window at a time
    from where the stage before holds its own; with `float-target` such a
    stage goes over the windows twice (the float target's statistic with
    the float model's segments, then H with the quantized model's alone)
    and holds no compiled segment while it quantizes, so its K×K
    statistic never meets more than one segment's weights.
    `lambda=auto` picks λ with the file's one-shot statistics first. With
    `float-target`, the float model's values move through the segments
    too, and each layer is fitted
    to W' = W + W·E·H⁻¹ with E = Σ (x_float − x)xᵀ, which makes the
    quantized layer's output on its quantized-model inputs x match the
    float layer's output on the float model's inputs (GPTAQ's objective);
    full statistics only. `refit` then refits each row's scales and zero
    points to its codes by least squares on the row's whole objective.

    `sequential`, `float-target` and `refit` are on by default for search
    and gptq (docs/Results.md has the measurements behind that). Left to
    their defaults they step aside where they cannot apply: a statistics
    file without calibration windows, or a model whose token windows have
    another length than the calibration's (a warning each; quantized
    one-shot), diagonal statistics (no float target), methods without
    statistics.
    Set explicitly there, they are errors.

    A weight with no statistics, or statistics of another size, is an
    error at the op's location unless `exclude` matches the weight's name
    or the ONNX node's. `report` writes JSON: the λ chosen (with auto, each
    candidate's held-out NLL and KL) and one row per layer: shape, bits,
    group, method, λ, relative fitting and smoothness errors of the chosen
    weights and of the λ = 0 choice, the mean clip, and the time. Progress
    goes to the progress listener the tool gave the smq dialect (smq-opt's
    prints each layer with an ETA on stderr), unless `quiet`; the pass
    prints nothing itself.

    `average-bits` (mixed precision, in place of `bits`): each weight gets
    2, 3 or 4 bits, with at most this many on average over all weights
    (2.5, say). A layer's sensitivity is its output error under its
    calibration statistics, tr(ΔW H ΔWᵀ) with H = Σ x xᵀ, for its
    round-to-nearest weights at each width (in the pass's group size);
    the budget goes, bit by bit, where it saves the most error per
    weight-bit (smq::quant::allocateBits). Needs statistics with H. A note
    gives the allocation, the report a layer's bits, and each layer is
    then quantized with `method` at its width.
  }];
  let options = [
    Option<"statsPath", "stats", "std::string", "\"\"",
           "Calibration statistics file (smq-calibrate)">,
    Option<"bits", "bits", "int64_t", "4", "Bits per code: 2, 3, 4 or 8">,
    Option<"averageBits", "average-bits", "double", "0",
           "Mixed precision: 2, 3 or 4 bits per layer, this many on average "
           "(0: every layer gets `bits`)">,
    Option<"groupSize", "group-size", "int64_t", "64",
           "Inputs per group; 0 for one group per output channel">,
    Option<"method", "method", "::mlir::smq::QuantMethod",
           "::mlir::smq::QuantMethod::Gptq", "How each layer is quantized",
           [{::llvm::cl::values(
             clEnumValN(::mlir::smq::QuantMethod::Rtn, "rtn",
                        "each group's own range, rounded to nearest"),
             clEnumValN(::mlir::smq::QuantMethod::Wmse, "wmse",
                        "each group's clip minimising its squared error"),
             clEnumValN(::mlir::smq::QuantMethod::Search, "search",
                        "each group's clip minimising the M-weighted error"),
             clEnumValN(::mlir::smq::QuantMethod::Gptq, "gptq",
                        "GPTQ's column-by-column error feedback under M"))}]>,
    Option<"lambda", "lambda", "std::string", "\"auto\"",
           "Weight of the smoothness term: a number (0 is fitting only), or "
           "'auto' to choose it on held-out calibration sequences">,
    ListOption<"lambdaGrid", "lambda-grid", "double",
               "The λ values lambda=auto tries (default: 0,0.25,0.5,1)">,
    Option<"lambdaCriterion", "lambda-criterion",
           "::mlir::smq::LambdaCriterion", "::mlir::smq::LambdaCriterion::Nll",
           "What lambda=auto minimises on the held-out sequences",
           [{::llvm::cl::values(
             clEnumValN(::mlir::smq::LambdaCriterion::Nll, "nll",
                        "mean next-token negative log-likelihood"),
             clEnumValN(::mlir::smq::LambdaCriterion::Kl, "kl",
                        "mean KL divergence from the float model"))}]>,
    Option<"symmetric", "symmetric", "bool", "false",
           "Symmetric codes (zero point at mid-range)">,
    Option<"actOrder", "act-order", "bool", "false",
           "gptq: quantize columns in descending order of diag(M); each "
           "group's scale and zero point are chosen when its first column "
           "comes up, so groups and the runtime layout are unchanged">,
    Option<"staticGroups", "static-groups", "bool", "false",
           "gptq: choose every group's scale and zero point on the "
           "original weights, before error feedback">,
    Option<"sequential", "sequential", "bool", "true",
           "search and gptq: collect each stage's statistics with the "
           "layers before it already quantized, by running the model a "
           "segment at a time on the calibration windows the statistics "
           "file keeps">,
    Option<"recompute", "recompute", "bool", "true",
           "With sequential: where holding every window's values for a "
           "stage would raise the peak memory (an MLP's hidden values), "
           "hold them where the stage before does and recompute them a "
           "window at a time (false: hold them, and compute less)">,
    Option<"floatTarget", "float-target", "bool", "true",
           "With sequential: fit each layer so that its output on the "
           "quantized model's inputs matches the float model's output on "
           "the float model's inputs (as GPTAQ does)">,
    Option<"refit", "refit", "bool", "true",
           "search and gptq: once a row's codes are chosen, refit its "
           "groups' scales and zero points to them by least squares on the "
           "row's whole objective">,
    Option<"smoothnessControl", "smoothness-control",
           "::mlir::smq::SmoothnessControl",
           "::mlir::smq::SmoothnessControl::None",
           "Replace D by a control of the same trace (after normalisation), "
           "to measure what the token-swap structure adds",
           [{::llvm::cl::values(
             clEnumValN(::mlir::smq::SmoothnessControl::None, "none",
                        "the token-swap statistic D itself"),
             clEnumValN(::mlir::smq::SmoothnessControl::Ridge, "ridge",
                        "an isotropic ridge: D̄ = I"),
             clEnumValN(::mlir::smq::SmoothnessControl::Gaussian, "gaussian",
                        "Σ δδᵀ of Gaussian perturbations with D's covariance, "
                        "as many as D's positions"))}]>,
    Option<"scaleSearch", "scale-search", "::mlir::smq::ScaleSearch",
           "::mlir::smq::ScaleSearch::Clip",
           "How wmse, search and gptq choose each group's scale and zero "
           "point",
           [{::llvm::cl::values(
             clEnumValN(::mlir::smq::ScaleSearch::Clip, "clip",
                        "25 symmetric shrinks of the group's range"),
             clEnumValN(::mlir::smq::ScaleSearch::Grid, "grid",
                        "then a joint grid of both ends of the range, and "
                        "least-squares refits of scale and zero point"))}]>,
    Option<"exclude", "exclude", "std::string", "\"\"",
           "Regex of weight or node names to leave in float">,
    Option<"report", "report", "std::string", "\"\"",
           "Write a per-layer JSON report here">,
    Option<"threads", "threads", "int", "0",
           "Threads for the numerics (0: one per core)">,
    Option<"quiet", "quiet", "bool", "false",
           "Report no progress (it goes to the listener the tool gave the "
           "smq dialect; smq-opt's prints to stderr)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def SmqPackQuantizedWeights : Pass<"smq-pack-quantized-weights", "ModuleOp"> {
  let summary = "Repack quantized weights into the layout the CPU kernels stream";
  let description = [{
    Rewrites the constant codes of every `smq.quantized_matmul` from the
    LSB-first bit stream into the runtime kernels' packed layout (chunks
    of 32 codes that one vector load and a few shifts decode in order; see
    `include/smq/Runtime/Runtime.h`) and marks the op `packed`. This runs
    when the model is compiled, so the kernels never decode bit by bit.

    A format no kernel takes (bits other than 2, 3, 4 and 8, or groups
    that are not multiples of 32) gets a warning at the op and stays
    unpacked: its weight is then decoded to f32 when the model runs.

    `activations=int8` (the default) also marks the ops `int8_activations`:
    decoding (at most 4 rows) then quantizes activations to int8 per group
    and row and uses integer dot products. `f32` multiplies f32 activations
    by the decoded codes, exactly. int8 is the default because it is 2-3.5x
    faster for a cost in accuracy that is 1-2% of the weights' own: on the
    shared GPT and Llama at W4 g64, KL to the float model rises from 0.00333
    to 0.00340 and from 0.00389 to 0.00395 nats (docs/Benchmarks.md).
  }];
  let options = [
    Option<"activations", "activations", "std::string", "\"int8\"",
           "Decode-path activations: int8 (integer dot products) or f32 (exact)">
  ];
  let dependentDialects = ["::mlir::smq::SmqDialect"];
}

def SmqPackF32Weights : Pass<"smq-pack-f32-weights", "ModuleOp"> {
  let summary = "Lay f32 matmul weights out in the CPU kernels' panels, and fold their biases in";
  let description = [{
    Rewrites every `smq.matmul` whose right operand is a constant K×N f32
    weight into `smq.packed_matmul` on that weight's panels (32 columns
    each, row by row: the layout every level's kernels stream; see
    `include/smq/Runtime/Runtime.h`). A weight shared by several products
    is packed once, and the original constant goes once nothing uses it.

    If the product's only use is an `smq.add` of a constant N-vector, that
    bias becomes the op's `bias` operand and the add goes: the kernel
    writes bias plus products in one pass over the output. If the result
    then feeds exactly an exact GELU (`smq.gelu` with approximate = "none",
    or the Div/Erf/Add/Mul/Mul form of ONNX exports of PyTorch), the op is
    marked `gelu` and the kernel applies it as it stores, on every thread.

    This runs when a model is compiled, before weights become arguments, so
    the kernels never copy a weight per call (they did: a column panel per
    call, 7 MB per pass of the bundled GPT at 128 tokens).
  }];
  let dependentDialects = ["::mlir::smq::SmqDialect"];
}

def SmqSpecializeShapes : Pass<"smq-specialize-shapes", "ModuleOp"> {
  let summary = "Give dynamic graph inputs static shapes and refold the graph";
  let description = [{
    Sets the type of each entry-function argument named in `shapes`
    (`NAME=DIMxDIM...`, matched against the argument's `smq.name`; `NAME=`
    is a scalar), then alternates inferring every op's result type from
    its operands and folding, until neither changes anything: the same
    folding the ONNX importer does with `--input-shape`, applied later. A
    model imported once with dynamic dims (a decoder with a KV cache, say)
    can so be quantized once and compiled for each shape it is run at;
    `smq-generate` compiles a prompt and a decode step this way.

    A shape that contradicts a static dim, a rank that differs, an unknown
    input name, or ops whose operands stop agreeing once the shapes are
    known are errors at the function or the op.
  }];
  let options = [
    ListOption<"shapes", "shapes", "std::string",
               "Input shapes: NAME=DIMxDIM... (the argument's smq.name)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def SmqDecomposeAttention : Pass<"smq-decompose-attention", "ModuleOp"> {
  let summary = "Spell smq.group_query_attention out in smq primitives";
  let description = [{
    Rewrites each `smq.group_query_attention`, whose shapes must be static
    (and its total_sequence_length a constant), into matmuls, comparisons,
    a masked softmax and reshapes. The new keys and values go into the
    present at each row's past length through a one-hot matmul, which is
    exact. The CPU pipeline runs this first; an op it cannot decompose is
    an error at the op. With `kernel`, the CPU runtime's kernels do the
    work instead: `smq.ukernel.kv_place` writes the present by row copies,
    and `smq.ukernel.attention`, which reads each row's positions at run
    time, attends only the slots they allow, not all T slots of the
    present (the CPU pipeline sets it when matmuls go to the runtime).
  }];
  let options = [
    Option<"kernel", "kernel", "bool", /*default=*/"false",
           "Attend through smq.ukernel.attention (the CPU runtime's kernel)">,
    Option<"stalePresentTail", "stale-present-tail", "bool",
           /*default=*/"false",
           "With kernel: leave the present's slots after the new rows as "
           "they were instead of zeroing them (for callers that read only "
           "the new rows, as smq-generate does)">
  ];
  let dependentDialects = ["::mlir::smq::SmqDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // SMQ_TRANSFORMS_PASSES_TD
