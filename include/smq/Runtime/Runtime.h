/*===- Runtime.h - what compiled SMQ models link against ------*- C -*-===*
 *
 * Plain C ABI, no LLVM or MLIR: a deployment toolchain ships this library
 * alone. Compiled code calls the kernels through MLIR's C interface
 * (`_mlir_ciface_*`, memref descriptors passed by pointer).
 *
 *===---------------------------------------------------------------------===*/
#ifndef SMQ_RUNTIME_RUNTIME_H
#define SMQ_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A strided memref descriptor of rank 2 or 3, as MLIR lays it out. */
typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} SmqMemRef2F32;

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} SmqMemRef3F32;

typedef struct {
  uint8_t *allocated;
  uint8_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} SmqMemRef2U8;

typedef struct {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} SmqMemRef1I64;

/* C[M,N] += A[M,K] * B[K,N]. */
void _mlir_ciface_smq_rt_matmul_f32(SmqMemRef2F32 *a, SmqMemRef2F32 *b,
                                    SmqMemRef2F32 *c);
/* C[b,M,N] += A[b,M,K] * B[b,K,N] for every batch b. */
void _mlir_ciface_smq_rt_batch_matmul_f32(SmqMemRef3F32 *a, SmqMemRef3F32 *b,
                                          SmqMemRef3F32 *c);

/* A rank-erased memref, as MLIR passes one to library calls. */
typedef struct {
  int64_t rank;
  void *descriptor;
} SmqUnrankedMemRef;

/* memref.copy between buffers with arbitrary strides (the contiguous case
 * compiles to memcpy and never gets here). Same ABI as MLIR's runner
 * utilities, so compiled code links against either. */
void memrefCopy(int64_t elementSize, SmqUnrankedMemRef *src,
                SmqUnrankedMemRef *dst);

/* The runtime's own scratch and the GPU pipeline's host code allocate with
 * malloc (the CPU pipeline's code takes its temporaries from
 * smq_rt_buffer_alloc, below, whose fresh blocks come from malloc too).
 * glibc serves blocks above 128 KiB with mmap and unmaps them on free, so
 * every call would fault its activations in afresh; this raises the
 * thresholds so
 * freed blocks are reused: up to 32 MiB (glibc's own ceiling when it
 * adapts the threshold), with up to 64 MiB free kept at the heap's top.
 * Larger blocks are still mapped and given back when freed, so a host that
 * also holds big buffers for a while (the quantizer's K×K statistics)
 * does not keep their pages. Called once by hosts before running models. */
void smq_rt_tune_allocator(void);

/* The CPU pipeline's compiled code allocates its temporaries here
 * (memref.alloc and memref.dealloc, lowered to MLIR's
 * _mlir_memref_to_llvm_alloc and _mlir_memref_to_llvm_free). A freed block
 * is kept, by size, and handed back for the next request of that size: a
 * model's calls request the same sizes every time (a decoder step makes
 * 60 to 180 of them), so after the first call a run takes nothing from the
 * heap. Blocks are 64-byte aligned. The cache keeps at most
 * SMQ_BUFFER_CACHE bytes (default 512M; 0 turns it off), process-wide,
 * and thread-safe; builds with AddressSanitizer keep nothing, so that a
 * use after free is still caught. */
void *smq_rt_buffer_alloc(uint64_t bytes);
void smq_rt_buffer_free(void *ptr);
/* Frees every kept block (hosts call it when a model goes away). */
void smq_rt_buffer_trim(void);
/* Bytes kept now (each block with its 64-byte header), for tests and
 * reports. */
uint64_t smq_rt_buffer_cached_bytes(void);

/* The kernels' layout of low-bit weight codes ("packed"). Each row of Ŵ
 * (N rows of K codes) is cut into chunks of 32 codes (the last one padded
 * with code 0), and a chunk of `bits`-bit codes takes 4·bits bytes:
 *   8 bits: byte j holds code j;
 *   4 bits: byte j holds code j (low nibble) and code j+16 (high nibble);
 *   2 bits: byte j holds code j+8i in bits 2i..2i+1, i = 0..3;
 *   3 bits: 8 bytes of the low two bits as for 2 bits, then a 32-bit
 *           little-endian word whose bit j is bit 2 of code j; but every
 *           whole block of eight chunks (c = 0..7) from the start of the
 *           row takes 96 bytes laid out for the block kernels instead:
 *           three 32-byte vectors X, Y, Z. Code 4i + j (i < 8, j < 4) of
 *           chunk c is plane i's code at position p = 4c + j; planes 0
 *           and 1 are bits 0..2 and 3..5 of X[p], planes 2 and 3 those of
 *           Y[p], planes 4 and 5 those of Z[p]; planes 6 and 7 have their
 *           low two bits in bits 6..7 of X[p] and Y[p] and their high bits
 *           in bits 6 and 7 of Z[p]. The chunks past the last whole block
 *           keep the chunk layout.
 * One vector load and a few shifts and masks give 32 codes in order, so
 * nothing is decoded bit by bit. Rows take smq_rt_packed_row_bytes bytes. */
int64_t smq_rt_packed_row_bytes(int64_t k, int64_t bits);

/* Whether the quantized kernels take this format: bits 2, 3, 4 or 8 and a
 * group size that is a positive multiple of 32. */
int smq_rt_qformat_supported(int64_t bits, int64_t group);

/* Repacks N rows of K codes from the LSB-first bit stream of
 * smq.quantized_matmul and ONNX's MatMulNBits (row n at src + n·srcRow) into
 * the packed layout (row n at dst + n·smq_rt_packed_row_bytes(k, bits)). */
void smq_rt_pack_codes(int64_t bits, int64_t n, int64_t k, const uint8_t *src,
                       int64_t srcRow, uint8_t *dst);

/* C[M,N] = A[M,K] · Ŵᵀ for a weight Ŵ[N,K] in the packed layout, with
 * Ŵ[n,k] = scales[n,g] · (code[n,k] − zeros[n,g]), g = k / group;
 * params = {bits, group size, activations} where activations is 0 for f32
 * and 1 for int8 quantized per group and row (integer dot products). C is
 * overwritten. M ≤ 4 streams the weight once (decode); larger M decodes
 * tiles of Ŵ into cache and reuses them across rows (prompts). */
void _mlir_ciface_smq_rt_qmatmul_packed_f32(SmqMemRef2F32 *a,
                                            SmqMemRef2U8 *codes,
                                            SmqMemRef2F32 *scales,
                                            SmqMemRef2F32 *zeros,
                                            SmqMemRef1I64 *params,
                                            SmqMemRef2F32 *c);

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} SmqMemRef1F32;

/* The f32 weight layout of the kernels ("panels"): W[K,N] is cut into
 * ceil(N/32) panels of 32 columns; panel s holds rows p = 0..K-1 of
 * W[p, 32s : 32s+32) as 32 contiguous floats, zero-padded past column N.
 * So a [ceil(N/32), K, 32] array. Every level's kernels read this one
 * layout, so it is fixed when a model is compiled. */
void smq_rt_pack_f32_panels(int64_t k, int64_t n, const float *w, int64_t ldw,
                            float *panels);

/* C[M,N] = A[M,K] · W + bias[N] for W in panels ([ceil(N/32), K, 32],
 * contiguous). C is overwritten. M ≤ 4 streams the panels once (decode);
 * larger M runs the register tiles of smq_rt_matmul_f32 straight from them,
 * with no copy of W. Each C element sums bias, then k = 0..K-1 in order,
 * on every path and at any thread count. */
void _mlir_ciface_smq_rt_matmul_panels_f32(SmqMemRef2F32 *a,
                                           SmqMemRef3F32 *panels,
                                           SmqMemRef1F32 *bias,
                                           SmqMemRef2F32 *c);
/* The same, then C = GELU(C) = 0.5 C (1 + erf(C/√2)) applied to each output
 * as it is stored (erf to about 2e-7 absolute). */
void _mlir_ciface_smq_rt_matmul_panels_gelu_f32(SmqMemRef2F32 *a,
                                                SmqMemRef3F32 *panels,
                                                SmqMemRef1F32 *bias,
                                                SmqMemRef2F32 *c);

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[4];
  int64_t strides[4];
} SmqMemRef4F32;

typedef struct {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} SmqMemRef2I64;

/* Causal attention over a KV cache (smq.ukernel.attention): for query
 * q[B, S, N, H] and keys and values [B, Nk, T, H],
 *   out[b, i, h, :] = Σ_j softmax_j(s_j) · v[b, h / (N/Nk), j, :],
 *   s_j = scale · q[b, i, h, :] · k[b, h / (N/Nk), j, :]
 * (then softcap · tanh(s_j / softcap) when softcap > 0), over only the
 * slots j <= pos[b, i], and j > pos[b, i] − window when window > 0.
 * params = {scale, softcap}; window is a one-element array. So the work
 * grows with each row's length, not with T. A position outside [0, T)
 * makes that row's output NaN and is reported on stderr. Each output is
 * computed by one task in one order: bit-identical at any thread count. */
void _mlir_ciface_smq_rt_attention_f32(SmqMemRef4F32 *q, SmqMemRef4F32 *k,
                                       SmqMemRef4F32 *v, SmqMemRef2I64 *pos,
                                       SmqMemRef1F32 *params,
                                       SmqMemRef1I64 *window,
                                       SmqMemRef4F32 *out);

/* The present of a KV cache (smq.ukernel.kv_place): with L = pos[b, 0],
 *   out[b, h, j, :] = past[b, h, j, :]      for j < min(L, P),
 *   out[b, h, pos[b, i], :] = fresh[b, i, h, :],
 * and zero elsewhere, for past [B, Nk, P, H], fresh [B, S, Nk, H] and out
 * [B, Nk, T, H]; params = {zero}: with 0, the slots that would be zero are
 * left as they were. A position outside [0, T) makes the row's present NaN
 * and is reported on stderr. */
void _mlir_ciface_smq_rt_kv_place_f32(SmqMemRef4F32 *past, SmqMemRef4F32 *fresh,
                                      SmqMemRef2I64 *pos, SmqMemRef1I64 *params,
                                      SmqMemRef4F32 *out);

/* The checksum of AOT weights files (Artifact.h): fast, not cryptographic. */
uint64_t smq_rt_checksum64(const void *data, size_t size);

/* Instruction-set levels the kernels are built for. One build carries all
 * of them; the best one the CPU (and OS) supports is chosen at first use,
 * or SMQ_CPU_ISA=baseline|avx2|avxvnni|avx512|avx512vnni forces one. */
typedef enum {
  SMQ_ISA_BASELINE = 0, /* x86-64 SSE2 */
  SMQ_ISA_AVX2 = 1,     /* AVX2 + FMA */
  SMQ_ISA_AVXVNNI = 2,  /* AVX2 + FMA + AVX-VNNI (VEX int8 dot products) */
  SMQ_ISA_AVX512 = 3,   /* AVX-512 F/BW/VL/DQ */
  SMQ_ISA_AVX512VNNI = 4,
  SMQ_ISA_COUNT = 5
} SmqCpuIsa;

/* The level in use (chosen on the first call if not yet). */
int smq_rt_cpu_isa(void);
const char *smq_rt_isa_name(int isa);
/* Whether this CPU and OS can run `isa`. */
int smq_rt_isa_supported(int isa);
/* Selects a level by name ("best" = the CPU's best). Returns 0, or -1 with a
 * message in err (naming the features the CPU lacks) and nothing changed. */
int smq_rt_select_isa(const char *name, char *err, size_t errLen);
/* Applies SMQ_CPU_ISA if set: what tools call before running anything. */
int smq_rt_select_isa_from_env(char *err, size_t errLen);

/* Loops over rows that compiled code moved out of a function
 * (smq-outline-parallel-rows): fn(ctx, begin, end) runs rows [begin, end). */
typedef void (*SmqRowsFn)(void *ctx, int64_t begin, int64_t end);
/* Runs fn over [0, n) in contiguous ranges on the runtime's threads and
 * waits. Each row owns its outputs, so no split changes a result. */
void smq_rt_parallel_rows(SmqRowsFn fn, void *ctx, int64_t n);

/* Data-dependent indices (Gather, ScatterND) that compiled code found out
 * of range: it clamps them, so nothing is read or written outside a
 * tensor, and reports the first one through smq_rt_index_error. The
 * caller of the model's entry takes it afterwards and fails the run. The
 * slot is per thread (the checks run on the thread that called the
 * entry). `site` numbers the checking op in its module. */
void smq_rt_index_error(int64_t site, int64_t index, int64_t dim);
/* Returns 1 and the first error since the last call, or 0; clears it. */
int smq_rt_take_index_error(int64_t *site, int64_t *index, int64_t *dim);

/* Threads the kernels may use (1 = the calling thread only). Results are
 * bit-identical for any thread count. */
void smq_rt_set_num_threads(int threads);
int smq_rt_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* SMQ_RUNTIME_RUNTIME_H */
