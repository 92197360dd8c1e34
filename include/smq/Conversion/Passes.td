//===- Passes.td - conversions out of smq ------------------*- tablegen -*-===//
#ifndef SMQ_CONVERSION_PASSES_TD
#define SMQ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertSmqToLinalg : Pass<"convert-smq-to-linalg", "ModuleOp"> {
  let summary = "Lower smq ops to linalg, tensor, arith and math";
  let description = [{
    Elementwise ops become `linalg.generic` with broadcasting indexing
    maps, reductions and normalisations become reduction generics,
    contractions become `linalg.matmul` / `linalg.batch_matmul`, and data
    movement becomes `linalg.transpose`, `tensor.extract_slice`,
    `tensor.insert_slice` and `tensor.reshape`. Unsigned element types
    become signless; ops keep their signedness in the arith ops chosen.
    Shapes must be static: import with `--input-shape`.

    `smq.quantized_matmul` becomes the runtime's kernel op
    (`smq.ukernel.qmatmul`) for packed codes, and a decode into a float
    weight then a matmul for unpacked ones (`quantized-matmul=kernel`), or
    one contraction generic that decodes each weight where it is multiplied
    (`quantized-matmul=fused`, for GPU targets; unpacked codes only). A
    fused decode (up to 4 rows, K a multiple of 32 with at least 4 steps
    per lane) splits K into 64 or 32 lanes, each a partial sum over its
    steps, then sums each output's lanes in order.

    The patterns are grouped by op family behind the populate functions of
    `smq/Conversion/SmqToLinalg/SmqToLinalg.h`, for other pipelines.
  }];
  let options = [
    Option<"quantizedMatmul", "quantized-matmul", "std::string",
           /*default=*/"\"kernel\"",
           "How smq.quantized_matmul lowers: 'kernel' or 'fused'">,
    Option<"indexChecks", "index-checks", "bool", /*default=*/"true",
           "Check data-dependent Gather and ScatterND indices at run time "
           "(else: clamp them silently)">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::func::FuncDialect", "::mlir::scf::SCFDialect",
    "::mlir::bufferization::BufferizationDialect"
  ];
}

def SmqLinalgToRuntimeCalls : Pass<"smq-linalg-to-runtime-calls", "ModuleOp"> {
  let summary = "Call the runtime's kernels for f32 matmuls and smq.ukernel ops on buffers";
  let description = [{
    Rewrites `linalg.matmul` and `linalg.batch_matmul` on f32 memrefs into
    calls of `smq_rt_matmul_f32` and `smq_rt_batch_matmul_f32`, and every
    bufferized `smq.ukernel.qmatmul`, `smq.ukernel.matmul`,
    `smq.ukernel.attention` and `smq.ukernel.kv_place` into a call of
    `smq_rt_qmatmul_packed_f32`, `smq_rt_matmul_panels_f32` (`_gelu_f32`),
    `smq_rt_attention_f32` and `smq_rt_kv_place_f32`.
    These are the register-blocked, multithreaded kernels of the SMQ
    runtime, built for every x86-64 level and dispatched at run time (the
    approach of IREE's ukernels). Chosen over tiling and vectorizing in
    MLIR by measurement; see docs/Benchmarks.md.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def SmqOutlineParallelRows : Pass<"smq-outline-parallel-rows", "ModuleOp"> {
  let summary = "Run elementwise and normalisation loops over rows on the runtime's threads";
  let description = [{
    Moves each linalg op on buffers that sits at the top level of a
    function, has at least `min-work` iterations, and whose outermost loop
    of more than one iteration is parallel, into a function
    `(context, begin, end)` that runs the op on rows [begin, end) of that
    loop through subviews. The op is replaced by a call of
    `smq_rt_parallel_rows(fn, context, rows)`, which splits the rows over the
    runtime's threads (and runs them inline on one thread). The memrefs the
    op reads and writes travel as their descriptors in a stack struct.

    Every row is computed by the same code whatever range holds it, so
    results are bit-identical at any thread count. Ops are left alone when
    that loop is a reduction, when an operand indexes it by anything but the
    loop variable itself, when an output does not index it, when the body
    reads `linalg.index` of it, or when the body uses a value from outside
    that is not a constant. Matmuls are not touched: the runtime's kernels
    thread them already.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"16384",
           "Iterations an op must have to be run on threads">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def SmqApproximateMath : Pass<"smq-approximate-math"> {
  let summary = "Replace exp, log, tanh, erf, sin and cos by polynomials";
  let description = [{
    Rewrites the transcendental `math` ops of f32 into MLIR's polynomial
    approximations (Cephes-style range reduction and minimax polynomials),
    which vectorize, instead of scalar libm calls. Softmax's exp and GELU's
    erf dominate a transformer's non-matmul time without this. The bundled
    GPT's logits stay within 2e-5 of PyTorch's with it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def SmqReassociateReductions : Pass<"smq-reassociate-reductions"> {
  let summary = "Let the combiners of reduction generics be reassociated";
  let description = [{
    Marks the float op that combines a `linalg.generic`'s reduction
    accumulator with the next element (`arith.addf`, `arith.mulf`,
    `arith.maximumf`, `arith.minimumf`, `arith.maxnumf`, `arith.minnumf`)
    with `fastmath<reassoc>`. LLVM's loop vectorizer then keeps one partial
    result per vector lane instead of a strictly sequential scalar chain:
    layer norm's mean and variance and softmax's max and sum run at vector
    speed. The order of summation is fixed by the compiled code, so results
    stay identical from run to run and at any thread count; they differ
    from a sequential sum in the last bits. Nothing else is relaxed.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def SmqStridedCopiesToLoops : Pass<"smq-strided-copies-to-loops"> {
  let summary = "Compile copies between non-contiguous buffers as loops";
  let description = [{
    Rewrites each `memref.copy` whose source or target is not a contiguous
    row-major buffer into `linalg.copy`, which lowers to loops that LLVM
    vectorizes along the innermost dim. Otherwise MLIR's memref lowering
    calls `memrefCopy`, a generic runtime function that walks the buffers
    element by element through their strides. Copies between contiguous
    buffers stay `memref.copy` and become one `memcpy`. Bufferizing a
    concatenation along an inner dim (a KV cache's past and new keys)
    gives such strided copies: on the shared KV GPT's decode step they were
    63% of the time before this pass.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SmqResultsInPlace : Pass<"smq-results-in-place", "func::FuncOp"> {
  let summary = "Compute results straight into their out-parameters";
  let description = [{
    After `buffer-results-to-out-params`, a result computed into a buffer
    of its own is copied into the caller's out-parameter before the
    return. Where that buffer is a `memref.alloc` of the out-parameter's
    type in the function's body, every other use of it comes before the
    copy, and the out-parameter has no other use, the alloc is replaced by
    the out-parameter and the copy dropped: the KV cache's present and
    other results are written once, where the caller wants them. (Upstream's
    `hoist-static-allocs` option does the same more generally, and crashes
    on some ONNX node tests in MLIR 22.) The caller must pass output
    buffers that overlap no input, as the C API checks.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def SmqOutlineLoopNests : Pass<"smq-outline-loop-nests", "ModuleOp"> {
  let summary = "Move each loop nest into a function, one per distinct body";
  let description = [{
    Moves every top-level `scf.for` or `scf.parallel` (without results) of
    a function with at least `min-nests` of them into a private function
    whose arguments are the values the nest reads from outside (constants
    are cloned in), and replaces it by a call. Nests whose functions print
    the same keep one function: a decoder's layers, the same code on
    different buffers, share theirs. The functions carry LLVM's `noinline`.
    This bounds the size of the functions LLVM optimises and compiles, which
    otherwise took most of a large model's compile time.
  }];
  let options = [
    Option<"minNests", "min-nests", "int64_t", /*default=*/"8",
           "Loop nests a function must have to be split">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

//===----------------------------------------------------------------------===//
// GPU (--smq-gpu-pipeline)
//===----------------------------------------------------------------------===//

def SmqGpuParallelDimsFirst : Pass<"smq-gpu-parallel-dims-first", "func::FuncOp"> {
  let summary = "Put a linalg.generic's parallel dims before its reductions";
  let description = [{
    Interchanges the loops of every `linalg.generic` whose reduction dims
    come before parallel ones (a reduction over an outer axis), so that
    `convert-linalg-to-parallel-loops` makes one `scf.parallel` over all
    parallel dims with the reductions as `scf.for` inside it: one kernel,
    each thread reducing its own outputs, rather than a parallel loop
    nested in a sequential one inside another, which cannot be mapped to
    blocks and threads. The order of each reduction is unchanged.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SmqGpuTileParallelLoops : Pass<"smq-gpu-tile-parallel-loops", "func::FuncOp"> {
  let summary = "Make each outermost scf.parallel a grid of fixed-size blocks";
  let description = [{
    Collapses every outermost `scf.parallel` (outside `gpu.launch`) to one
    dim and tiles it by `block-size`: the outer loop becomes the grid's
    blocks and the inner one a block's threads once `gpu-map-parallel-loops`
    has run. The inner loop keeps a constant trip count; a guard skips the
    threads past the end. One dim of many blocks fits every loop shape and
    keeps consecutive threads on consecutive elements of the innermost dim.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"64",
           "Threads per block">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def SmqExpandIntegerPow : Pass<"smq-expand-integer-pow"> {
  let summary = "Integer powers as loops in place";
  let description = [{
    Rewrites every `math.ipowi` into structured control flow where it
    stands: exponentiation by squaring in an `scf.while`, and the cases of
    a zero or negative exponent in `scf.if`s, with the semantics of the
    helper function `convert-math-to-funcs` makes (x^0 = 1; for a negative
    exponent, 1 and -1 keep their powers' magnitude 1, any other base gives
    0, and 0 divides 1 by zero). For targets whose kernels cannot call
    functions: SPIR-V compute shaders here.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def SmqGpuByteBools : Pass<"smq-gpu-byte-bools", "ModuleOp"> {
  let summary = "Store booleans as bytes in buffers that kernels share";
  let description = [{
    Retypes every `memref<...xi1>` (allocations, constants, views, function
    arguments) to `memref<...xi8>`: loads truncate to i1 and stores extend
    from it. The bytes do not change (LLVM stores an i1 as a 0/1 byte, and
    SPIR-V has no booleans in storage buffers), but the launch ABI and the
    Vulkan runtime need element types with a size in bytes. Runs on loops,
    after linalg ops are lowered.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def SmqGpuHostBuffers : Pass<"smq-gpu-host-buffers", "ModuleOp"> {
  let summary = "Allocate the host code's buffers where kernels can reach them";
  let description = [{
    In host functions, `memref.alloc` becomes `gpu.alloc host_shared` and
    `memref.dealloc` becomes `gpu.dealloc`: buffers in memory that both the
    device and the host code (copies, index checks) can access. A
    `memref.get_global` (a constant) read by a kernel is copied into such a
    buffer first, freed before the function returns. The device runtime
    owns these allocations; the arguments of the entry function must be
    its buffers as well (CompiledModel uploads weights once, and stages
    inputs and outputs). A kernel whose argument is a view (not an
    identity layout) is an error: launches pass bare buffer pointers.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SmqGpuSinkViews : Pass<"smq-gpu-sink-views", "func::FuncOp"> {
  let summary = "Move the views a gpu.launch reads into it";
  let description = [{
    Sinks into each `gpu.launch` the `memref.subview`, `expand_shape`,
    `collapse_shape` and `cast` ops (and the constants and index
    computations they use) whose results it reads, so that kernels receive
    whole buffers (identity layouts) and index the views themselves; a
    kernel writing a KV cache's new row gets the cache, not a view at an
    offset, which a bare-pointer launch cannot pass (the pointer would be
    the buffer's, the offset lost). `fold-memref-alias-ops` then folds the
    views into the kernels' loads and stores.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SmqGpuSpirvEntryPoints : Pass<"smq-gpu-spirv-entry-points", "ModuleOp"> {
  let summary = "Give each kernel its SPIR-V entry point ABI (workgroup size)";
  let description = [{
    Sets `spirv.entry_point_abi` on every `gpu.func` kernel from its
    `known_block_size`, which `gpu-kernel-outlining` records from constant
    launch sizes: SPIR-V compute shaders declare their workgroup size. A
    kernel without a known block size is an error, and so is one that
    takes anything but buffers (Vulkan launches bind buffers only).
  }];
  let dependentDialects = ["::mlir::spirv::SPIRVDialect"];
}

def SmqGpuNestSpirvModules : Pass<"smq-gpu-nest-spirv-modules", "ModuleOp"> {
  let summary = "Move each converted spirv.module into its gpu.module";
  let description = [{
    `convert-gpu-to-spirv` leaves the SPIR-V module it makes from
    `gpu.module @m` beside it as `spirv.module @__spv__m`, for
    Vulkan targets; `gpu-module-to-binary` serializes the `spirv.module`
    inside a `gpu.module`. This moves each into the `gpu.module` it came
    from, beside the `gpu.func` kernels (which the host's launches still
    name until the module is serialized).
  }];
}

#endif // SMQ_CONVERSION_PASSES_TD
