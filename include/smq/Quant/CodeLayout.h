//===- CodeLayout.h - low-bit codes in SMQ's and ONNX's layouts -*- C++ -*-===//
//
// SMQ stores a quantized N×K weight as rows of K `bits`-bit codes, a
// little-endian bit stream per row (ceil(K·bits/8) bytes), with one scale
// and one zero point per group of `group` inputs (include/smq/Quant/
// Quantizer.h). ONNX Runtime's MatMulNBits stores the same stream per row
// but padded to whole blocks, and packs its zero points the same way; the
// blocked DequantizeLinear of opset 21 stores a K×N tensor of 4-bit values,
// two to a byte, low nibble first. These functions move codes between the
// layouts. Plain C++: the exporter and the importer both use them.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_QUANT_CODELAYOUT_H
#define SMQ_QUANT_CODELAYOUT_H

#include <cstdint>
#include <vector>

namespace smq::quant {

/// Bytes of a little-endian stream of `count` values of `bits` bits.
inline int64_t streamBytes(int64_t count, int bits) {
  return (count * bits + 7) / 8;
}

/// Value `i` of a little-endian bit stream of `bits`-bit values.
inline uint32_t streamGet(const uint8_t *stream, int64_t i, int bits) {
  uint32_t v = 0;
  int64_t bit = i * bits;
  for (int b = 0; b < bits; ++b, ++bit)
    v |= uint32_t(stream[bit / 8] >> (bit % 8) & 1) << b;
  return v;
}

/// Sets value `i` (assumed zero before) of a little-endian bit stream.
inline void streamSet(uint8_t *stream, int64_t i, int bits, uint32_t v) {
  int64_t bit = i * bits;
  for (int b = 0; b < bits; ++b, ++bit)
    if (v >> b & 1)
      stream[bit / 8] |= uint8_t(1u << (bit % 8));
}

/// SMQ rows (N of ceil(K·bits/8) bytes) → MatMulNBits' B, [N, nBlocks,
/// block·bits/8] bytes: each row's stream, zero-padded to whole blocks.
/// `bits` must divide 8 and `block`·bits must be a multiple of 8.
std::vector<uint8_t> toMatMulNBitsCodes(const uint8_t *rows, int64_t n,
                                        int64_t k, int bits, int64_t block);

/// MatMulNBits' B → SMQ rows: the first ceil(K·bits/8) bytes of each padded
/// row, with the bits past K cleared.
std::vector<uint8_t> fromMatMulNBitsCodes(const uint8_t *b, int64_t n,
                                          int64_t k, int bits, int64_t block);

/// Re-encodes SMQ rows of `from`-bit codes as `to`-bit codes (to ≥ from):
/// the values are unchanged, so the weight is too.
std::vector<uint8_t> widenCodes(const uint8_t *rows, int64_t n, int64_t k,
                                int from, int to);

/// Zero points (N×G floats, each an integer in [0, 2^bits)) → MatMulNBits'
/// packed uint8 zero points, [N, ceil(G·bits/8)].
std::vector<uint8_t> packZeroPoints(const float *zeros, int64_t n, int64_t g,
                                    int bits);

/// MatMulNBits' packed zero points → N×G floats.
std::vector<float> unpackZeroPoints(const uint8_t *packed, int64_t n,
                                    int64_t g, int bits);

/// SMQ rows (N×K codes of `bits` ≤ 8 bits) → a K×N ONNX tensor of `bits`
/// 4 or 8: 4-bit values two to a byte (low nibble first) in row-major order,
/// or one byte each. With `offset` (2^(bits−1) for the signed types) each
/// value is code − offset, in two's complement.
std::vector<uint8_t> toOnnxKxN(const uint8_t *rows, int64_t n, int64_t k,
                               int bits, int onnxBits, int offset);

/// N×G floats → a G×N ONNX tensor of `onnxBits` (4 or 8) holding each
/// value − `offset`, packed as toOnnxKxN packs.
std::vector<uint8_t> zerosToOnnxGxN(const float *zeros, int64_t n, int64_t g,
                                    int onnxBits, int offset);

/// True if every zero point is an integer in [0, 2^bits).
bool zeroPointsAreCodes(const float *zeros, int64_t count, int bits);

} // namespace smq::quant

#endif // SMQ_QUANT_CODELAYOUT_H
