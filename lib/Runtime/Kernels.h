//===- Kernels.h - one table of kernels per instruction-set level -*- C++ -*-===//
//
// KernelsImpl.inc is compiled once per x86-64 level (baseline, AVX2,
// AVX-VNNI, AVX-512, AVX-512-VNNI), each time in its own namespace and with
// its own -m flags, and exports one KernelTable. Dispatch.cpp picks a table
// from CPUID at first use; Matmul.cpp splits work over threads and calls
// into it. Kernel translation units use no C++ library templates, so no
// inline function compiled for a higher level can be merged by the linker
// into code that runs on a lower one.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_LIB_RUNTIME_KERNELS_H
#define SMQ_LIB_RUNTIME_KERNELS_H

#include <cstdint>

namespace smq::rt {

/// C[m,n] += A[m,k]·B[k,n]; any strides.
struct F32Gemm {
  const float *a;
  int64_t lda, acs;
  const float *b;
  int64_t ldb, bcs;
  float *c;
  int64_t ldc, ccs;
  int64_t m, n, k;
};

/// C[m,n] = A[m,k]·W + bias, W[k,n] in panels (Runtime.h); A and C have
/// unit column strides, bias has n entries.
struct F32PanelGemm {
  const float *a;
  int64_t lda;
  const float *panels;
  const float *bias;
  float *c;
  int64_t ldc;
  int64_t m, n, k;
  /// C = GELU(C) as it is stored.
  bool gelu;
};

/// C[m,n] = A[m,k]·Ŵᵀ, Ŵ[n,k] in the packed layout (Runtime.h).
struct QGemm {
  const float *a;
  int64_t lda; // A's column stride is 1
  const uint8_t *codes;
  int64_t codeRow;
  const float *scales;
  int64_t scaleRow;
  const float *zeros;
  int64_t zeroRow;
  float *c;
  int64_t ldc; // C's column stride is 1
  int64_t m, n, k, bits, group;
};

/// Activations quantized to int8 per group and row, for QGemm::m rows:
/// q[row·kPadded + k], scale[row·groups + g], and sum[row·groups + g] =
/// scale · Σ_k q over the group (for the zero-point term).
struct QuantizedActs {
  const int8_t *q;
  const float *scale;
  const float *sum;
  int64_t kPadded, groups;
  /// q in the order the level's decode kernel reads it (orderI8Acts), or
  /// null when it reads q as it is.
  const int8_t *ordered = nullptr;
};

/// Causal attention over a KV cache for one batch row and kv head:
/// out[b, i, h, :] = softmax_j(scale · q[b, i, h, :]·k[b, h/G, j, :]) ·
/// v[b, h/G, j, :] over the slots lo(i) <= j <= pos[b, i] (lo = 0, or
/// pos − window + 1 with a window). Strides in elements, any order; the
/// vector paths need unit strides along H for v.
struct Attention {
  const float *q;
  int64_t qs[4]; // [B, S, N, H]
  const float *k;
  int64_t ks[4]; // [B, Nk, T, H]
  const float *v;
  int64_t vs[4];
  const int64_t *pos;
  int64_t ps[2]; // [B, S]
  float *out;
  int64_t os[4]; // [B, S, N, H]
  int64_t batch, seq, heads, kvHeads, slots, headSize;
  float scale, softcap;
  int64_t window;
};

/// Floats of scratch an attentionRows call needs: a transposed block of
/// keys, a row of scores per query row of a tile (4), each padded, and the
/// tile's queries.
inline int64_t attentionScratch(int64_t slots, int64_t headSize) {
  int64_t padded = (slots + 31) / 32 * 32 + 32;
  return padded * (headSize + 4) + 4 * headSize;
}

struct KernelTable {
  const char *name;
  /// Columns of C a gemmF32Cols call must start on a multiple of.
  int64_t nr;
  /// C[:, j0:j1) += A·B[:, j0:j1).
  void (*gemmF32Cols)(const F32Gemm &, int64_t j0, int64_t j1);
  /// C[:, j0:j1) = A·W[:, j0:j1) + bias[j0:j1) from panels; j0 is a
  /// multiple of the panel width (32).
  void (*gemmPanelsCols)(const F32PanelGemm &, int64_t j0, int64_t j1);
  /// Decode path, f32 activations: C[:, n0:n1) for m <= 4, A's rows
  /// zero-padded to a multiple of 32; sums[row·groups + g] = Σ_k A over
  /// group g.
  void (*qgemvF32)(const QGemm &, const float *sums, int64_t n0, int64_t n1);
  /// Decode path, int8 activations prepared by quantizeActs.
  void (*qgemvI8)(const QGemm &, const QuantizedActs &, int64_t n0,
                  int64_t n1);
  /// Writes qa.q into dst (m·kPadded bytes) in the order this level's
  /// qgemvI8 reads it for g's format, and returns true; false when it reads
  /// qa.q as it is. Once per call, before the tasks start.
  bool (*orderI8Acts)(const QGemm &, const QuantizedActs &, int8_t *dst);
  /// Prompt path: C[:, j0:j1) with tiles of Ŵ decoded into cache; j0 is a
  /// multiple of nr.
  void (*qgemmCols)(const QGemm &, int64_t j0, int64_t j1);
  /// Attention for batch row b, kv head kv and queries [i0, i1), with
  /// attentionScratch floats at scratch. Positions are in [0, slots).
  void (*attentionRows)(const Attention &, int64_t b, int64_t kv, int64_t i0,
                        int64_t i1, float *scratch);
};

/// Fills q, scale and sum for every row of g.a (buffers sized by the caller
/// from QuantizedActs::kPadded and ::groups). Plain C++, any level.
void quantizeActs(const QGemm &g, int8_t *q, float *scale, float *sum);

extern const KernelTable kBaselineKernels;
extern const KernelTable kAvx2Kernels;
extern const KernelTable kAvxVnniKernels;
extern const KernelTable kAvx512Kernels;
extern const KernelTable kAvx512VnniKernels;

/// The table of the level in use.
const KernelTable &kernels();

} // namespace smq::rt

#endif // SMQ_LIB_RUNTIME_KERNELS_H
