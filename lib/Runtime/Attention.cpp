//===- Attention.cpp - attention and KV-cache entry points -----------------===//
//
// What compiled code calls for smq.ukernel.attention and
// smq.ukernel.kv_place. Attention checks the positions, splits batch rows,
// kv heads and blocks of queries into tasks, and runs the level's kernel
// (Kernels.h) on each; the KV update is row copies per batch row and kv
// head. The split depends on the shape only, and each output row belongs
// to one task.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include "Kernels.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

using namespace smq::rt;

namespace {

/// Queries per task: a prompt chunk's 32 share one transposed block of
/// keys per kv head, and the kv heads (and batch rows) give threads work.
constexpr int64_t kQueriesPerTask = 32;

void copyStrides(int64_t *dst, const int64_t *src, int rank) {
  for (int d = 0; d < rank; ++d)
    dst[d] = src[d];
}

/// dst[x·ds] = src[x·ss] for x < n, or zero without src (unit strides:
/// one memcpy or memset).
void copyRow(float *dst, int64_t ds, const float *src, int64_t ss,
             int64_t n) {
  if (ds == 1 && (!src || ss == 1)) {
    if (src)
      std::memcpy(dst, src, n * sizeof(float));
    else
      std::memset(dst, 0, n * sizeof(float));
    return;
  }
  for (int64_t x = 0; x < n; ++x)
    dst[x * ds] = src ? src[x * ss] : 0.0f;
}

/// NaN in every element of out[b, i, :, :] for a 4-D output: what a call
/// the kernels cannot answer leaves, never garbage.
void nanRow(SmqMemRef4F32 *out, int64_t b, int64_t i) {
  const int64_t *s = out->strides;
  float *row = out->aligned + out->offset + b * s[0] + i * s[1];
  for (int64_t h = 0; h < out->sizes[2]; ++h)
    for (int64_t d = 0; d < out->sizes[3]; ++d)
      row[h * s[2] + d * s[3]] = std::numeric_limits<float>::quiet_NaN();
}

} // namespace

extern "C" void _mlir_ciface_smq_rt_attention_f32(
    SmqMemRef4F32 *q, SmqMemRef4F32 *k, SmqMemRef4F32 *v, SmqMemRef2I64 *pos,
    SmqMemRef1F32 *params, SmqMemRef1I64 *window, SmqMemRef4F32 *out) {
  Attention a;
  a.q = q->aligned + q->offset;
  a.k = k->aligned + k->offset;
  a.v = v->aligned + v->offset;
  a.pos = pos->aligned + pos->offset;
  a.out = out->aligned + out->offset;
  copyStrides(a.qs, q->strides, 4);
  copyStrides(a.ks, k->strides, 4);
  copyStrides(a.vs, v->strides, 4);
  copyStrides(a.ps, pos->strides, 2);
  copyStrides(a.os, out->strides, 4);
  a.batch = q->sizes[0];
  a.seq = q->sizes[1];
  a.heads = q->sizes[2];
  a.headSize = q->sizes[3];
  a.kvHeads = k->sizes[1];
  a.slots = k->sizes[2];
  const float *pv = params->aligned + params->offset;
  a.scale = pv[0];
  a.softcap = pv[params->strides[0]];
  a.window = window->aligned[window->offset];

  // The op's verifier checks the shapes; positions come from the caller's
  // inputs, so a bad one is reported, and its row is NaN, never garbage.
  bool shapesOk = a.kvHeads > 0 && a.heads % a.kvHeads == 0 &&
                  k->sizes[0] == a.batch && k->sizes[3] == a.headSize &&
                  v->sizes[0] == a.batch && v->sizes[1] == a.kvHeads &&
                  v->sizes[2] == a.slots && v->sizes[3] == a.headSize &&
                  pos->sizes[0] == a.batch && pos->sizes[1] == a.seq &&
                  out->sizes[0] == a.batch && out->sizes[1] == a.seq &&
                  out->sizes[2] == a.heads && out->sizes[3] == a.headSize;
  if (!shapesOk) {
    std::fprintf(stderr, "smq runtime: attention operands disagree in shape; "
                         "the result is NaN\n");
    for (int64_t b = 0; b < out->sizes[0]; ++b)
      for (int64_t i = 0; i < out->sizes[1]; ++i)
        nanRow(out, b, i);
    return;
  }
  int64_t longest = 0;
  std::vector<uint8_t> badRow;
  for (int64_t b = 0; b < a.batch; ++b)
    for (int64_t i = 0; i < a.seq; ++i) {
      int64_t p = a.pos[b * a.ps[0] + i * a.ps[1]];
      bool bad = p < 0 || p >= a.slots;
      if (bad) {
        if (badRow.empty())
          badRow.assign(a.batch * a.seq, 0);
        badRow[b * a.seq + i] = 1;
        std::fprintf(stderr,
                       "smq runtime: attention position %lld of row %lld is "
                       "outside the cache's %lld slots; its output is NaN\n",
                       static_cast<long long>(p), static_cast<long long>(b),
                       static_cast<long long>(a.slots));
      } else if (p + 1 > longest) {
        longest = p + 1;
      }
    }
  if (!badRow.empty()) {
    // Rows with a bad position get NaN; the rest are computed one query at
    // a time (the kernel's results do not depend on the split).
    std::vector<float> scratch(attentionScratch(a.slots, a.headSize));
    for (int64_t b = 0; b < a.batch; ++b)
      for (int64_t i = 0; i < a.seq; ++i) {
        if (badRow[b * a.seq + i]) {
          nanRow(out, b, i);
          continue;
        }
        for (int64_t kv = 0; kv < a.kvHeads; ++kv)
          kernels().attentionRows(a, b, kv, i, i + 1, scratch.data());
      }
    return;
  }

  const int64_t blocks = (a.seq + kQueriesPerTask - 1) / kQueriesPerTask;
  const int64_t tasks = a.batch * a.kvHeads * blocks;
  const KernelTable &t = kernels();
  auto task = [&](int64_t ti) {
    thread_local std::vector<float> scratch;
    scratch.resize(attentionScratch(a.slots, a.headSize));
    int64_t blk = ti % blocks, kv = ti / blocks % a.kvHeads,
            b = ti / blocks / a.kvHeads;
    int64_t i0 = blk * kQueriesPerTask;
    t.attentionRows(a, b, kv, i0, std::min(a.seq, i0 + kQueriesPerTask),
                    scratch.data());
  };
  // Two products of heads × queries × slots × head size.
  if (4 * a.batch * a.heads * a.seq * longest * a.headSize > (1 << 18))
    parallelFor(tasks, task);
  else
    for (int64_t ti = 0; ti < tasks; ++ti)
      task(ti);
}

extern "C" void _mlir_ciface_smq_rt_kv_place_f32(SmqMemRef4F32 *past,
                                                 SmqMemRef4F32 *fresh,
                                                 SmqMemRef2I64 *pos,
                                                 SmqMemRef1I64 *params,
                                                 SmqMemRef4F32 *out) {
  const int64_t B = out->sizes[0], Nk = out->sizes[1], T = out->sizes[2],
                H = out->sizes[3], P = past->sizes[2], S = fresh->sizes[1];
  const int64_t *ps = pos->aligned + pos->offset;
  const bool zeroTail = params->aligned[params->offset] != 0;
  const int64_t *o = out->strides;
  float *base = out->aligned + out->offset;
  bool shapesOk = S > 0 && past->sizes[0] == B && past->sizes[1] == Nk &&
                  past->sizes[3] == H && fresh->sizes[0] == B &&
                  fresh->sizes[2] == Nk && fresh->sizes[3] == H &&
                  pos->sizes[0] == B && pos->sizes[1] == S;
  if (!shapesOk) {
    std::fprintf(stderr, "smq runtime: KV cache operands disagree in shape; "
                         "the present is NaN\n");
    for (int64_t b = 0; b < B; ++b)
      for (int64_t kv = 0; kv < Nk; ++kv)
        nanRow(out, b, kv);
    return;
  }
  // Allocated only when a position is bad: a decode step allocates nothing.
  std::vector<uint8_t> badRow;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < S; ++i) {
      int64_t p = ps[b * pos->strides[0] + i * pos->strides[1]];
      if ((p < 0 || p >= T) && (badRow.empty() || !badRow[b])) {
        if (badRow.empty())
          badRow.assign(B, 0);
        badRow[b] = 1;
        std::fprintf(stderr,
                     "smq runtime: KV cache position %lld of row %lld is "
                     "outside the cache's %lld slots; its present is NaN\n",
                     static_cast<long long>(p), static_cast<long long>(b),
                     static_cast<long long>(T));
      }
    }
  auto task = [&](int64_t t) {
    int64_t b = t / Nk, kv = t % Nk;
    if (!badRow.empty() && badRow[b])
      return nanRow(out, b, kv);
    int64_t kept = std::min(ps[b * pos->strides[0]], P);
    float *dst = base + b * o[0] + kv * o[1];
    const float *src = past->aligned + past->offset + b * past->strides[0] +
                       kv * past->strides[1];
    // A present that is its past's own buffer (the generator's shared
    // cache) holds those rows already.
    bool inPlace = src == dst && past->strides[2] == o[2] &&
                   past->strides[3] == o[3];
    for (int64_t j = 0; j < kept && !inPlace; ++j)
      copyRow(dst + j * o[2], o[3], src + j * past->strides[2],
              past->strides[3], H);
    for (int64_t j = kept; zeroTail && j < T; ++j)
      copyRow(dst + j * o[2], o[3], nullptr, 0, H);
    const float *f = fresh->aligned + fresh->offset + b * fresh->strides[0] +
                     kv * fresh->strides[2];
    for (int64_t i = 0; i < S; ++i)
      copyRow(dst + ps[b * pos->strides[0] + i * pos->strides[1]] * o[2], o[3],
              f + i * fresh->strides[1], fresh->strides[3], H);
  };
  if (B * Nk * T * H > (1 << 18))
    parallelFor(B * Nk, task);
  else
    for (int64_t t = 0; t < B * Nk; ++t)
      task(t);
}
