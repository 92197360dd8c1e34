/*===- Runtime.h - what compiled SMQ models link against ------*- C -*-===*
 *
 * Plain C ABI, no LLVM or MLIR: a deployment toolchain ships this library
 * alone. Compiled code calls the kernels through MLIR's C interface
 * (`_mlir_ciface_*`, memref descriptors passed by pointer).
 *
 *===---------------------------------------------------------------------===*/
#ifndef SMQ_RUNTIME_RUNTIME_H
#define SMQ_RUNTIME_RUNTIME_H

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

/* Compiled code allocates its temporaries with malloc on every call. glibc
 * serves blocks above 128 KiB with mmap and unmaps them on free, so every
 * call would fault its activations in afresh; this raises the thresholds so
 * freed blocks are reused. Called once by hosts before running models. */
void smq_rt_tune_allocator(void);

/* C[M,N] += A[M,K] * Ŵᵀ for a weight Ŵ[N,K] stored as grouped low-bit
 * codes (the layout of smq.quantized_matmul): row n of `codes` is a
 * little-endian bit stream of K codes; params = {bits, group size}. Blocks of
 * Ŵ are decoded into an L1-sized buffer as the product needs them: the float
 * weight is never materialised. */
void _mlir_ciface_smq_rt_qmatmul_f32(SmqMemRef2F32 *a, SmqMemRef2U8 *codes,
                                     SmqMemRef2F32 *scales,
                                     SmqMemRef2F32 *zeros,
                                     SmqMemRef1I64 *params, SmqMemRef2F32 *c);

/* Threads the kernels may use (1 = the calling thread only). Results are
 * bit-identical for any thread count. */
void smq_rt_set_num_threads(int threads);
int smq_rt_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif /* SMQ_RUNTIME_RUNTIME_H */
