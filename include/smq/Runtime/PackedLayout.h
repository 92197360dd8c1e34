//===- PackedLayout.h - sizes of the kernels' packed codes -----*- C++ -*-===//
//
// Header-only, so the dialect's verifier and the runtime agree on one
// definition without the compiler linking the runtime. Runtime.h describes
// the layout itself.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_RUNTIME_PACKEDLAYOUT_H
#define SMQ_RUNTIME_PACKEDLAYOUT_H

#include <cstdint>

namespace smq {

/// Codes per chunk of the packed layout.
constexpr int64_t kPackedChunk = 32;

/// Bytes of one packed row of k codes of `bits` bits.
constexpr int64_t packedRowBytes(int64_t k, int64_t bits) {
  return (k + kPackedChunk - 1) / kPackedChunk * 4 * bits;
}

/// Chunks per block of the int8 decode kernels: 4 for 2 bits, 8 for 3 and
/// 2 for 4. Whole 3-bit blocks also have a layout of their own (Runtime.h),
/// 4·3·8 = 96 bytes each.
constexpr int64_t packedBlockChunks(int64_t bits) {
  return bits == 2 ? 4 : (bits == 3 ? 8 : 2);
}

/// Whether the quantized kernels take this format.
constexpr bool kernelFormatSupported(int64_t bits, int64_t group) {
  return (bits == 2 || bits == 3 || bits == 4 || bits == 8) && group > 0 &&
         group % kPackedChunk == 0;
}

/// Columns per panel of an f32 weight in the kernels' layout: panel s holds
/// W[0:K, 32s : 32s+32) row by row (zero-padded past N), so panels[s][p]
/// is 32 contiguous floats. One layout for every level: AVX-512 takes a
/// panel row as two vectors, AVX2 in two halves of two, SSE in four.
constexpr int64_t kF32PanelWidth = 32;

/// Panels of an f32 weight with n columns.
constexpr int64_t f32PanelCount(int64_t n) {
  return (n + kF32PanelWidth - 1) / kF32PanelWidth;
}

} // namespace smq

#endif // SMQ_RUNTIME_PACKEDLAYOUT_H
