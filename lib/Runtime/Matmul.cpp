//===- Matmul.cpp - matrix-multiply entry points ---------------------------===//
//
// What compiled code calls. These split the work over the runtime's threads
// and call the kernels of the level in use (Kernels.h). Work is cut by the
// shape and the level only, never by the thread count, and each output
// element is computed by one task in one fixed order: results are
// bit-identical at any thread count.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include "smq/Runtime/PackedLayout.h"

#include "Kernels.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

using namespace smq::rt;

namespace {

/// Calls cols(j0, j1) over [0, n) in panels of whole nr-wide tiles.
template <typename Cols>
void forColumnPanels(int64_t n, int64_t nr, bool parallel, const Cols &cols) {
  int64_t tiles = (n + nr - 1) / nr;
  int64_t perPanel = std::max<int64_t>(1, tiles / 8);
  int64_t panels = (tiles + perPanel - 1) / perPanel;
  auto panel = [&](int64_t p) {
    int64_t j0 = p * perPanel * nr;
    cols(j0, std::min(n, j0 + perPanel * nr));
  };
  if (parallel)
    parallelFor(panels, panel);
  else
    for (int64_t p = 0; p < panels; ++p)
      panel(p);
}

/// Whether an f32 product is worth a second thread: enough arithmetic, or
/// (decoding) a large B to stream, where another thread adds its own share
/// of memory bandwidth.
bool worthThreads(int64_t m, int64_t n, int64_t k) {
  return 2 * m * n * k > (1 << 24) || n * k >= (1 << 18);
}

/// dst[i·drs + j·dcs] = src[i·srs + j·scs] for an m×n matrix: strided
/// operands to and from the contiguous ones the kernels take.
void copyMatrix(const float *src, int64_t srs, int64_t scs, int64_t m,
                int64_t n, float *dst, int64_t drs, int64_t dcs) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      dst[i * drs + j * dcs] = src[i * srs + j * scs];
}

void gemmF32(F32Gemm g, bool parallel) {
  if (g.m == 0 || g.n == 0)
    return;
  std::vector<float> aCopy, cCopy;
  if (g.acs != 1) {
    aCopy.resize(g.m * g.k);
    copyMatrix(g.a, g.lda, g.acs, g.m, g.k, aCopy.data(), g.k, 1);
    g.a = aCopy.data();
    g.lda = g.k;
    g.acs = 1;
  }
  float *cOut = g.c;
  int64_t cRs = g.ldc, cCs = g.ccs;
  if (g.ccs != 1) {
    cCopy.resize(g.m * g.n);
    copyMatrix(g.c, g.ldc, g.ccs, g.m, g.n, cCopy.data(), g.n, 1);
    g.c = cCopy.data();
    g.ldc = g.n;
    g.ccs = 1;
  }
  const KernelTable &t = kernels();
  forColumnPanels(g.n, t.nr, parallel && worthThreads(g.m, g.n, g.k),
                  [&](int64_t j0, int64_t j1) { t.gemmF32Cols(g, j0, j1); });
  if (!cCopy.empty())
    copyMatrix(cCopy.data(), g.n, 1, g.m, g.n, cOut, cRs, cCs);
}

/// Rows of Ŵ per decode task: enough to pay for a hand-off, few enough to
/// balance two to sixteen threads.
constexpr int64_t kDecodeRows = 64;

} // namespace

void smq::rt::quantizeActs(const QGemm &g, int8_t *q, float *scale,
                           float *sum) {
  int64_t kPadded = (g.k + 31) / 32 * 32;
  int64_t groups = (g.k + g.group - 1) / g.group;
  for (int64_t m = 0; m < g.m; ++m) {
    const float *a = g.a + m * g.lda;
    int8_t *qm = q + m * kPadded;
    std::memset(qm, 0, kPadded);
    for (int64_t gi = 0; gi < groups; ++gi) {
      int64_t k0 = gi * g.group, k1 = std::min(g.k, k0 + g.group);
      // Eight running maxima (exact in any order), so that the loop does
      // not wait on one maxss chain per element.
      float lane[8] = {};
      int64_t k = k0;
      for (; k + 8 <= k1; k += 8)
        for (int j = 0; j < 8; ++j)
          lane[j] = std::max(lane[j], std::fabs(a[k + j]));
      float amax = 0.0f;
      for (; k < k1; ++k)
        amax = std::max(amax, std::fabs(a[k]));
      for (float x : lane)
        amax = std::max(amax, x);
      float s = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      int32_t total = 0;
      for (int64_t k = k0; k < k1; ++k) {
        // Round half to even, as the vector conversions do: adding and
        // taking away 1.5·2^23 leaves the nearest integer (ties to even)
        // for |x| < 2^22, as nearbyint does in the default rounding mode,
        // without a libm call per element (|x| <= 127 here).
        constexpr float kRound = 12582912.0f;
        float r = (a[k] * inv + kRound) - kRound;
        int32_t v = static_cast<int32_t>(std::min(127.0f, std::max(-127.0f, r)));
        qm[k] = static_cast<int8_t>(v);
        total += v;
      }
      scale[m * groups + gi] = s;
      sum[m * groups + gi] = s * static_cast<float>(total);
    }
  }
}

extern "C" void _mlir_ciface_smq_rt_matmul_f32(SmqMemRef2F32 *a,
                                               SmqMemRef2F32 *b,
                                               SmqMemRef2F32 *c) {
  F32Gemm g{a->aligned + a->offset, a->strides[0], a->strides[1],
            b->aligned + b->offset, b->strides[0], b->strides[1],
            c->aligned + c->offset, c->strides[0], c->strides[1],
            a->sizes[0],            b->sizes[1],   a->sizes[1]};
  gemmF32(g, true);
}

extern "C" void _mlir_ciface_smq_rt_batch_matmul_f32(SmqMemRef3F32 *a,
                                                     SmqMemRef3F32 *b,
                                                     SmqMemRef3F32 *c) {
  int64_t batch = a->sizes[0];
  auto one = [&](int64_t bi) {
    F32Gemm g{a->aligned + a->offset + bi * a->strides[0],
              a->strides[1],
              a->strides[2],
              b->aligned + b->offset + bi * b->strides[0],
              b->strides[1],
              b->strides[2],
              c->aligned + c->offset + bi * c->strides[0],
              c->strides[1],
              c->strides[2],
              a->sizes[1],
              b->sizes[2],
              a->sizes[2]};
    gemmF32(g, false);
  };
  // Batches (attention heads) are the natural unit of parallel work, when
  // there is enough of it to pay for waking a thread.
  if (2 * batch * a->sizes[1] * b->sizes[2] * a->sizes[2] > (1 << 18))
    parallelFor(batch, one);
  else
    for (int64_t bi = 0; bi < batch; ++bi)
      one(bi);
}

namespace {
void matmulPanels(SmqMemRef2F32 *a, SmqMemRef3F32 *panels, SmqMemRef1F32 *bias,
                  SmqMemRef2F32 *c, bool gelu) {
  int64_t m = a->sizes[0], k = a->sizes[1], n = c->sizes[1];
  float *cOut = c->aligned + c->offset;
  bool layoutOk = panels->sizes[0] == smq::f32PanelCount(n) &&
                  panels->sizes[1] == k &&
                  panels->sizes[2] == smq::kF32PanelWidth &&
                  panels->strides[2] == 1 &&
                  panels->strides[1] == smq::kF32PanelWidth &&
                  panels->strides[0] == k * smq::kF32PanelWidth &&
                  c->sizes[0] == m &&
                  (bias->sizes[0] == 0 || bias->sizes[0] == n);
  if (!layoutOk) {
    // The op's verifier rules these out; never a silent answer.
    std::fprintf(stderr, "smq runtime: f32 weight panels are not [%lld, %lld, "
                         "%lld] and contiguous; the result is NaN\n",
                 static_cast<long long>(smq::f32PanelCount(n)),
                 static_cast<long long>(k),
                 static_cast<long long>(smq::kF32PanelWidth));
    for (int64_t i = 0; i < c->sizes[0]; ++i)
      for (int64_t j = 0; j < n; ++j)
        cOut[i * c->strides[0] + j * c->strides[1]] =
            std::numeric_limits<float>::quiet_NaN();
    return;
  }
  if (m == 0 || n == 0)
    return;
  std::vector<float> aCopy, cCopy, biasCopy;
  F32PanelGemm g{a->aligned + a->offset, a->strides[0],
                 panels->aligned + panels->offset, nullptr,
                 cOut, c->strides[0], m, n, k, gelu};
  if (a->strides[1] != 1) {
    aCopy.resize(m * k);
    copyMatrix(g.a, a->strides[0], a->strides[1], m, k, aCopy.data(), k, 1);
    g.a = aCopy.data();
    g.lda = k;
  }
  if (bias->sizes[0] == n) {
    g.bias = bias->aligned + bias->offset;
    if (bias->strides[0] != 1) {
      biasCopy.resize(n);
      for (int64_t j = 0; j < n; ++j)
        biasCopy[j] = g.bias[j * bias->strides[0]];
      g.bias = biasCopy.data();
    }
  }
  if (c->strides[1] != 1) {
    cCopy.resize(m * n);
    g.c = cCopy.data();
    g.ldc = n;
  }
  const KernelTable &t = kernels();
  forColumnPanels(n, smq::kF32PanelWidth, worthThreads(m, n, k),
                  [&](int64_t j0, int64_t j1) { t.gemmPanelsCols(g, j0, j1); });
  if (!cCopy.empty())
    copyMatrix(cCopy.data(), n, 1, m, n, cOut, c->strides[0], c->strides[1]);
}
} // namespace

extern "C" void _mlir_ciface_smq_rt_matmul_panels_f32(SmqMemRef2F32 *a,
                                                      SmqMemRef3F32 *panels,
                                                      SmqMemRef1F32 *bias,
                                                      SmqMemRef2F32 *c) {
  matmulPanels(a, panels, bias, c, false);
}

extern "C" void _mlir_ciface_smq_rt_matmul_panels_gelu_f32(
    SmqMemRef2F32 *a, SmqMemRef3F32 *panels, SmqMemRef1F32 *bias,
    SmqMemRef2F32 *c) {
  matmulPanels(a, panels, bias, c, true);
}

extern "C" void _mlir_ciface_smq_rt_qmatmul_packed_f32(
    SmqMemRef2F32 *a, SmqMemRef2U8 *codes, SmqMemRef2F32 *scales,
    SmqMemRef2F32 *zeros, SmqMemRef1I64 *params, SmqMemRef2F32 *c) {
  const int64_t *pr = params->aligned + params->offset;
  int64_t bits = pr[0], group = pr[params->strides[0]],
          acts = pr[2 * params->strides[0]];
  int64_t m = a->sizes[0], k = a->sizes[1], n = c->sizes[1];
  float *cOut = c->aligned + c->offset;
  if (!smq_rt_qformat_supported(bits, group)) {
    // The compiler rejects these formats at the op; never a silent answer.
    std::fprintf(stderr,
                 "smq runtime: no quantized kernel for %lld bits, groups of "
                 "%lld; the result is NaN\n",
                 static_cast<long long>(bits), static_cast<long long>(group));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        cOut[i * c->strides[0] + j * c->strides[1]] =
            std::numeric_limits<float>::quiet_NaN();
    return;
  }
  QGemm g{a->aligned + a->offset,      a->strides[0],
          codes->aligned + codes->offset, codes->strides[0],
          scales->aligned + scales->offset, scales->strides[0],
          zeros->aligned + zeros->offset,   zeros->strides[0],
          cOut,                         c->strides[0],
          m, n, k, bits, group};
  if (m == 0 || n == 0)
    return;
  int64_t kPadded = (k + 31) / 32 * 32, groups = (k + group - 1) / group;
  bool decode = m <= 4;
  // A decode step's scratch (a few rows of K) is kept from call to call on
  // this thread, so a generated token does not allocate it again for every
  // matmul; a prompt's copies are the call's own.
  thread_local std::vector<float> decodeA, sum, scale;
  thread_local std::vector<int8_t> q, ordered;
  std::vector<float> promptA, cCopy;
  std::vector<float> &aCopy = decode ? decodeA : promptA;
  if (decode || a->strides[1] != 1) {
    // Decode reads whole chunks of 32: rows padded with zeros.
    int64_t ld = decode ? kPadded : k;
    aCopy.assign(m * ld, 0.0f);
    copyMatrix(g.a, a->strides[0], a->strides[1], m, k, aCopy.data(), ld, 1);
    g.a = aCopy.data();
    g.lda = ld;
  }
  if (c->strides[1] != 1) {
    cCopy.assign(m * n, 0.0f);
    g.c = cCopy.data();
    g.ldc = n;
  }
  const KernelTable &t = kernels();
  bool parallel = n * k > (1 << 18);
  if (decode) {
    int64_t tasks = (n + kDecodeRows - 1) / kDecodeRows;
    sum.resize(m * groups);
    if (acts == 1) {
      q.resize(m * kPadded);
      scale.resize(m * groups);
      quantizeActs(g, q.data(), scale.data(), sum.data());
    } else {
      for (int64_t i = 0; i < m; ++i)
        for (int64_t gi = 0; gi < groups; ++gi) {
          float s = 0.0f;
          for (int64_t p = gi * group; p < std::min(k, (gi + 1) * group); ++p)
            s += g.a[i * g.lda + p];
          sum[i * groups + gi] = s;
        }
    }
    QuantizedActs qa{q.data(), scale.data(), sum.data(), kPadded, groups};
    if (acts == 1) {
      ordered.resize(m * kPadded);
      if (t.orderI8Acts(g, qa, ordered.data()))
        qa.ordered = ordered.data();
    }
    auto task = [&](int64_t ti) {
      int64_t n0 = ti * kDecodeRows, n1 = std::min(n, n0 + kDecodeRows);
      if (acts == 1)
        t.qgemvI8(g, qa, n0, n1);
      else
        t.qgemvF32(g, sum.data(), n0, n1);
    };
    if (parallel)
      parallelFor(tasks, task);
    else
      for (int64_t ti = 0; ti < tasks; ++ti)
        task(ti);
  } else {
    forColumnPanels(n, t.nr, parallel && 2 * m * n * k > (1 << 24),
                    [&](int64_t j0, int64_t j1) { t.qgemmCols(g, j0, j1); });
  }
  if (!cCopy.empty())
    copyMatrix(cCopy.data(), n, 1, m, n, cOut, c->strides[0], c->strides[1]);
}
