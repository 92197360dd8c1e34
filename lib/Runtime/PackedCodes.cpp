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

} // namespace

extern "C" void smq_rt_pack_codes(int64_t bits, int64_t n, int64_t k,
                                  const uint8_t *src, int64_t srcRow,
                                  uint8_t *dst) {
  int64_t rowBytes = smq_rt_packed_row_bytes(k, bits);
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t *in = src + r * srcRow;
    uint8_t *out = dst + r * rowBytes;
    for (int64_t k0 = 0; k0 < k; k0 += 32) {
      unsigned code[32] = {};
      for (int64_t j = 0; j < 32 && k0 + j < k; ++j)
        code[j] = streamCode(in, k0 + j, bits);
      packChunk(code, bits, out + k0 / 32 * 4 * bits);
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
