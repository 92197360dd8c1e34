//===- Matmul.cpp - f32 matrix-multiply micro-kernels ---------------------===//
//
// C += A·B with a 6×16 register-blocked micro-kernel (12 vector
// accumulators of 8 floats), the shape BLIS uses on AVX2. Work is split
// across threads by blocks of C, so each output element is computed by one
// thread in one fixed order: results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include "ThreadPool.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace {

// Vectors as wide as the machine has (16 floats with AVX-512, else 8);
// the tile is MR rows by two vectors.
#if defined(__AVX512F__)
constexpr int VL = 16;
#else
constexpr int VL = 8;
#endif
typedef float vf __attribute__((vector_size(VL * 4), aligned(4)));

constexpr int64_t MR = 6, NR = 2 * VL;
/// Rows of B a column panel keeps hot across all row tiles: KC×NR floats
/// (32 KiB with AVX-512) fit in L1.
constexpr int64_t KC = 256;

struct View {
  const float *data;
  int64_t rowStride, colStride;
  float at(int64_t i, int64_t j) const {
    return data[i * rowStride + j * colStride];
  }
};

struct MutView {
  float *data;
  int64_t rowStride, colStride;
  float &at(int64_t i, int64_t j) const {
    return data[i * rowStride + j * colStride];
  }
};

/// An R×NR tile (R <= MR) when B and C have unit column stride: R rows of
/// A broadcast against two vectors of B per k, accumulated in registers.
template <int R>
inline void tileFast(const View &a, const View &b, const MutView &c,
                     int64_t i0, int64_t j0, int64_t k) {
  vf acc[R][2];
  for (int r = 0; r < R; ++r) {
    std::memcpy(&acc[r][0], &c.at(i0 + r, j0), sizeof(vf));
    std::memcpy(&acc[r][1], &c.at(i0 + r, j0 + VL), sizeof(vf));
  }
  for (int64_t p = 0; p < k; ++p) {
    vf b0, b1;
    std::memcpy(&b0, &b.data[p * b.rowStride + j0], sizeof(vf));
    std::memcpy(&b1, &b.data[p * b.rowStride + j0 + VL], sizeof(vf));
    for (int r = 0; r < R; ++r) {
      vf va = a.at(i0 + r, p) - (vf){};
      acc[r][0] += va * b0;
      acc[r][1] += va * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    std::memcpy(&c.at(i0 + r, j0), &acc[r][0], sizeof(vf));
    std::memcpy(&c.at(i0 + r, j0 + VL), &acc[r][1], sizeof(vf));
  }
}

/// An R×VL tile: the column remainder when at least one vector is left.
template <int R>
inline void tileHalf(const View &a, const View &b, const MutView &c,
                     int64_t i0, int64_t j0, int64_t k) {
  vf acc[R];
  for (int r = 0; r < R; ++r)
    std::memcpy(&acc[r], &c.at(i0 + r, j0), sizeof(vf));
  for (int64_t p = 0; p < k; ++p) {
    vf b0;
    std::memcpy(&b0, &b.data[p * b.rowStride + j0], sizeof(vf));
    for (int r = 0; r < R; ++r)
      acc[r] += (a.at(i0 + r, p) - (vf){}) * b0;
  }
  for (int r = 0; r < R; ++r)
    std::memcpy(&c.at(i0 + r, j0), &acc[r], sizeof(vf));
}

using TileFn = void (*)(const View &, const View &, const MutView &, int64_t,
                        int64_t, int64_t);
constexpr TileFn kHalfTiles[MR + 1] = {nullptr,     tileHalf<1>, tileHalf<2>,
                                       tileHalf<3>, tileHalf<4>, tileHalf<5>,
                                       tileHalf<6>};
constexpr TileFn kTiles[MR + 1] = {nullptr,      tileFast<1>, tileFast<2>,
                                   tileFast<3>,  tileFast<4>, tileFast<5>,
                                   tileFast<6>};

/// Any tile (edges, or strided B/C), accumulating in the same k order.
inline void tileGeneric(const View &a, const View &b, const MutView &c,
                        int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                        int64_t k) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = j0; j < j1; ++j) {
      float acc = c.at(i, j);
      for (int64_t p = 0; p < k; ++p)
        acc += a.at(i, p) * b.at(p, j);
      c.at(i, j) = acc;
    }
}

/// One matrix product, its tiles shared out over the runtime's threads.
/// Fills packed[p * NR + (j - j0)] with B[k0 + p, j] for j in [j0, j1),
/// p in [0, kc): how a quantized weight supplies decoded blocks of B.
using BlockFill = std::function<void(int64_t j0, int64_t j1, int64_t k0,
                                     int64_t kc, float *packed)>;

void matmul(const View &a, const View &b, const MutView &c, int64_t m,
            int64_t n, int64_t k, bool parallel,
            const BlockFill *fill = nullptr) {
  bool unit = (fill || b.colStride == 1) && c.colStride == 1;
  int64_t tilesM = (m + MR - 1) / MR, tilesN = (n + NR - 1) / NR;
  // Threads take column panels of C, so each reads only its part of B.
  int64_t panelTiles = std::max<int64_t>(1, tilesN / 8);
  int64_t panels = (tilesN + panelTiles - 1) / panelTiles;
  auto runPanel = [&](int64_t panel) {
    int64_t tn0 = panel * panelTiles,
            tn1 = std::min(tilesN, tn0 + panelTiles);
    // Per strip of NR columns, each k-block of B (KC×NR floats, in L1) is
    // reused by every row tile before the next is loaded. Every C element
    // still sums over k in order, so the blocking does not change results.
    for (int64_t tn = tn0; tn < tn1; ++tn) {
      int64_t j0 = tn * NR, j1 = std::min(n, j0 + NR);
      for (int64_t k0 = 0; k0 < k; k0 += KC) {
        int64_t kc = std::min(KC, k - k0);
        View ak{a.data + k0 * a.colStride, a.rowStride, a.colStride};
        View bk{b.data + k0 * b.rowStride, b.rowStride, b.colStride};
        // Copy the block of B into one contiguous KC×NR buffer: rows of a
        // wide B lie a page apart, and the row tiles would otherwise walk
        // the TLB for every k. With few row tiles the copy does not pay.
        alignas(64) static thread_local float packed[KC * NR];
        if (fill) {
          (*fill)(j0, j1, k0, kc, packed);
          bk = View{packed - j0, NR, 1};
        } else if (unit && j1 - j0 == NR && n > 4 * NR && tilesM >= 4) {
          for (int64_t p = 0; p < kc; ++p)
            std::memcpy(&packed[p * NR], &bk.data[p * bk.rowStride + j0],
                        NR * sizeof(float));
          bk = View{packed - j0, NR, 1};
        }
        for (int64_t tm = 0; tm < tilesM; ++tm) {
          int64_t i0 = tm * MR, i1 = std::min(m, i0 + MR);
          if (unit && j1 - j0 == NR) {
            kTiles[i1 - i0](ak, bk, c, i0, j0, kc);
            continue;
          }
          int64_t j = j0;
          if (unit && j1 - j0 >= VL) {
            kHalfTiles[i1 - i0](ak, bk, c, i0, j0, kc);
            j += VL;
          }
          if (j < j1)
            tileGeneric(ak, bk, c, i0, i1, j, j1, kc);
        }
      }
    }
  };
  if (parallel && 2 * m * n * k > (1 << 24))
    smq::rt::parallelFor(panels, runPanel);
  else
    for (int64_t p = 0; p < panels; ++p)
      runPanel(p);
}

} // namespace

extern "C" void _mlir_ciface_smq_rt_matmul_f32(SmqMemRef2F32 *a,
                                               SmqMemRef2F32 *b,
                                               SmqMemRef2F32 *c) {
  View va{a->aligned + a->offset, a->strides[0], a->strides[1]};
  View vb{b->aligned + b->offset, b->strides[0], b->strides[1]};
  MutView vc{c->aligned + c->offset, c->strides[0], c->strides[1]};
  matmul(va, vb, vc, a->sizes[0], b->sizes[1], a->sizes[1], true);
}

extern "C" void _mlir_ciface_smq_rt_batch_matmul_f32(SmqMemRef3F32 *a,
                                                     SmqMemRef3F32 *b,
                                                     SmqMemRef3F32 *c) {
  int64_t batch = a->sizes[0];
  auto one = [&](int64_t bi) {
    View va{a->aligned + a->offset + bi * a->strides[0], a->strides[1],
            a->strides[2]};
    View vb{b->aligned + b->offset + bi * b->strides[0], b->strides[1],
            b->strides[2]};
    MutView vc{c->aligned + c->offset + bi * c->strides[0], c->strides[1],
               c->strides[2]};
    matmul(va, vb, vc, a->sizes[1], b->sizes[2], a->sizes[2], false);
  };
  // Batches (attention heads) are the natural unit of parallel work, when
  // there is enough of it to pay for waking a thread.
  if (2 * batch * a->sizes[1] * b->sizes[2] * a->sizes[2] > (1 << 18))
    smq::rt::parallelFor(batch, one);
  else
    for (int64_t bi = 0; bi < batch; ++bi)
      one(bi);
}

extern "C" void _mlir_ciface_smq_rt_qmatmul_f32(SmqMemRef2F32 *a,
                                                SmqMemRef2U8 *codes,
                                                SmqMemRef2F32 *scales,
                                                SmqMemRef2F32 *zeros,
                                                SmqMemRef1I64 *params,
                                                SmqMemRef2F32 *c) {
  int64_t bits = params->aligned[params->offset];
  int64_t group = params->aligned[params->offset + params->strides[0]];
  const uint8_t *cd = codes->aligned + codes->offset;
  const float *sc = scales->aligned + scales->offset;
  const float *zp = zeros->aligned + zeros->offset;
  int64_t cRow = codes->strides[0], sRow = scales->strides[0],
          zRow = zeros->strides[0];
  uint32_t mask = (1u << bits) - 1;
  // Decodes Ŵ[j, k0 .. k0+kc) for each j of the strip into B's layout.
  BlockFill fill = [&](int64_t j0, int64_t j1, int64_t k0, int64_t kc,
                       float *packed) {
    for (int64_t j = j0; j < j1; ++j) {
      const uint8_t *row = cd + j * cRow;
      for (int64_t p = 0; p < kc; ++p) {
        int64_t kk = k0 + p, bit = kk * bits;
        uint32_t word = row[bit >> 3];
        if ((bit & 7) + bits > 8)
          word |= uint32_t(row[(bit >> 3) + 1]) << 8;
        uint32_t q = (word >> (bit & 7)) & mask;
        int64_t g = kk / group;
        packed[p * NR + (j - j0)] =
            sc[j * sRow + g] * (static_cast<float>(q) - zp[j * zRow + g]);
      }
    }
  };
  View va{a->aligned + a->offset, a->strides[0], a->strides[1]};
  MutView vc{c->aligned + c->offset, c->strides[0], c->strides[1]};
  matmul(va, View{nullptr, 0, 1}, vc, a->sizes[0], c->sizes[1], a->sizes[1],
         true, &fill);
}
