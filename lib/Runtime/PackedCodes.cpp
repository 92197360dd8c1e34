//===- PackedCodes.cpp - the quantized kernels' weight layout -------------===//
//
// Runtime.h describes the layout. Packing runs when a model is compiled
// (smq-pack-quantized-weights), so the kernels never see the bit stream.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include "smq/Runtime/PackedLayout.h"

#include <cstring>

extern "C" int64_t smq_rt_packed_row_bytes(int64_t k, int64_t bits) {
  return smq::packedRowBytes(k, bits);
}

extern "C" int smq_rt_qformat_supported(int64_t bits, int64_t group) {
  return smq::kernelFormatSupported(bits, group);
}

namespace {

/// Code k of an LSB-first bit stream.
unsigned streamCode(const uint8_t *row, int64_t k, int64_t bits) {
  int64_t bit = k * bits;
  unsigned word = row[bit >> 3];
  if ((bit & 7) + bits > 8)
    word |= unsigned(row[(bit >> 3) + 1]) << 8;
  return (word >> (bit & 7)) & ((1u << bits) - 1);
}

/// One chunk of 32 codes (zero past the end of the row) into its 4·bits
/// bytes.
void packChunk(const unsigned *code, int64_t bits, uint8_t *out) {
  std::memset(out, 0, 4 * bits);
  for (int j = 0; j < 32; ++j) {
    unsigned q = code[j];
    switch (bits) {
    case 8:
      out[j] = static_cast<uint8_t>(q);
      break;
    case 4:
      out[j & 15] |= static_cast<uint8_t>(q << ((j >> 4) * 4));
      break;
    case 2:
      out[j & 7] |= static_cast<uint8_t>(q << ((j >> 3) * 2));
      break;
    case 3:
      out[j & 7] |= static_cast<uint8_t>((q & 3) << ((j >> 3) * 2));
      out[8 + (j >> 3)] |= static_cast<uint8_t>((q >> 2) << (j & 7));
      break;
    }
  }
}

/// Eight chunks of 3-bit codes (code[c][t], t < 32) into one 96-byte
/// block of three 32-byte vectors X, Y, Z (Runtime.h). Code 4i + j of
/// chunk c is plane i's code at position p = 4c + j: planes 0 and 1 in bits
/// 0..2 and 3..5 of X[p], 2 and 3 of Y[p], 4 and 5 of Z[p]; planes 6 and 7
/// have their low two bits in bits 6..7 of X[p] and Y[p] and their high
/// bits in bits 6 and 7 of Z[p].
void packBlock3(const unsigned (*code)[32], uint8_t *out) {
  std::memset(out, 0, 96);
  for (int c = 0; c < 8; ++c)
    for (int t = 0; t < 32; ++t) {
      unsigned q = code[c][t];
      int i = t >> 2, p = 4 * c + (t & 3);
      if (i < 6) {
        out[32 * (i / 2) + p] |= static_cast<uint8_t>(q << (3 * (i % 2)));
      } else {
        out[32 * (i - 6) + p] |= static_cast<uint8_t>((q & 3) << 6);
        out[64 + p] |= static_cast<uint8_t>((q >> 2) << i);
      }
    }
}

} // namespace

extern "C" void smq_rt_pack_codes(int64_t bits, int64_t n, int64_t k,
                                  const uint8_t *src, int64_t srcRow,
                                  uint8_t *dst) {
  int64_t rowBytes = smq_rt_packed_row_bytes(k, bits);
  int64_t chunks = (k + 31) / 32;
  // 3 bits: whole blocks of eight chunks first, then chunks.
  constexpr int64_t kBlock = smq::packedBlockChunks(3);
  int64_t blocked = bits == 3 ? chunks / kBlock * kBlock : 0;
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t *in = src + r * srcRow;
    uint8_t *out = dst + r * rowBytes;
    for (int64_t ch = 0; ch < blocked; ch += kBlock) {
      unsigned code[kBlock][32];
      for (int c = 0; c < kBlock; ++c)
        for (int t = 0; t < 32; ++t)
          code[c][t] = streamCode(in, (ch + c) * 32 + t, bits);
      packBlock3(code, out + ch * 12);
    }
    for (int64_t ch = blocked; ch < chunks; ++ch) {
      unsigned code[32] = {};
      for (int64_t j = 0; j < 32 && ch * 32 + j < k; ++j)
        code[j] = streamCode(in, ch * 32 + j, bits);
      packChunk(code, bits, out + ch * 4 * bits);
    }
  }
}

extern "C" void smq_rt_pack_f32_panels(int64_t k, int64_t n, const float *w,
                                       int64_t ldw, float *panels) {
  const int64_t pw = smq::kF32PanelWidth;
  for (int64_t s = 0; s < smq::f32PanelCount(n); ++s) {
    int64_t j0 = s * pw, width = n - j0 < pw ? n - j0 : pw;
    for (int64_t p = 0; p < k; ++p) {
      float *dst = panels + (s * k + p) * pw;
      std::memcpy(dst, w + p * ldw + j0, width * sizeof(float));
      std::memset(dst + width, 0, (pw - width) * sizeof(float));
    }
  }
}
