//===- CodeLayout.cpp - low-bit codes in SMQ's and ONNX's layouts ---------===//

#include "smq/Quant/CodeLayout.h"

#include <cmath>
#include <cstring>

namespace smq::quant {

std::vector<uint8_t> toMatMulNBitsCodes(const uint8_t *rows, int64_t n,
                                        int64_t k, int bits, int64_t block) {
  int64_t rowBytes = streamBytes(k, bits);
  int64_t blocks = (k + block - 1) / block;
  int64_t padded = blocks * block * bits / 8;
  std::vector<uint8_t> out(n * padded, 0);
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(&out[r * padded], rows + r * rowBytes, rowBytes);
  return out;
}

std::vector<uint8_t> fromMatMulNBitsCodes(const uint8_t *b, int64_t n,
                                          int64_t k, int bits, int64_t block) {
  int64_t rowBytes = streamBytes(k, bits);
  int64_t blocks = (k + block - 1) / block;
  int64_t padded = blocks * block * bits / 8;
  std::vector<uint8_t> out(n * rowBytes, 0);
  int tail = static_cast<int>(k * bits % 8);
  for (int64_t r = 0; r < n; ++r) {
    std::memcpy(&out[r * rowBytes], b + r * padded, rowBytes);
    if (tail)
      out[r * rowBytes + rowBytes - 1] &= uint8_t((1u << tail) - 1);
  }
  return out;
}

std::vector<uint8_t> widenCodes(const uint8_t *rows, int64_t n, int64_t k,
                                int from, int to) {
  int64_t inBytes = streamBytes(k, from), outBytes = streamBytes(k, to);
  std::vector<uint8_t> out(n * outBytes, 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      streamSet(&out[r * outBytes], c, to,
                streamGet(rows + r * inBytes, c, from));
  return out;
}

std::vector<uint8_t> packZeroPoints(const float *zeros, int64_t n, int64_t g,
                                    int bits) {
  int64_t rowBytes = streamBytes(g, bits);
  std::vector<uint8_t> out(n * rowBytes, 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < g; ++j)
      streamSet(&out[r * rowBytes], j, bits,
                static_cast<uint32_t>(zeros[r * g + j]));
  return out;
}

std::vector<float> unpackZeroPoints(const uint8_t *packed, int64_t n,
                                    int64_t g, int bits) {
  int64_t rowBytes = streamBytes(g, bits);
  std::vector<float> out(n * g);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < g; ++j)
      out[r * g + j] =
          static_cast<float>(streamGet(packed + r * rowBytes, j, bits));
  return out;
}

namespace {
/// Writes value `i` of an ONNX tensor of 4- or 8-bit elements.
void onnxSet(std::vector<uint8_t> &out, int64_t i, int onnxBits, int value) {
  uint8_t v = static_cast<uint8_t>(value);
  if (onnxBits == 8)
    out[i] = v;
  else
    out[i / 2] |= uint8_t((v & 0xF) << (i % 2 * 4));
}
} // namespace

std::vector<uint8_t> toOnnxKxN(const uint8_t *rows, int64_t n, int64_t k,
                               int bits, int onnxBits, int offset) {
  int64_t rowBytes = streamBytes(k, bits);
  std::vector<uint8_t> out(streamBytes(n * k, onnxBits), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      onnxSet(out, c * n + r, onnxBits,
              static_cast<int>(streamGet(rows + r * rowBytes, c, bits)) -
                  offset);
  return out;
}

std::vector<uint8_t> zerosToOnnxGxN(const float *zeros, int64_t n, int64_t g,
                                    int onnxBits, int offset) {
  std::vector<uint8_t> out(streamBytes(n * g, onnxBits), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < g; ++j)
      onnxSet(out, j * n + r, onnxBits,
              static_cast<int>(zeros[r * g + j]) - offset);
  return out;
}

bool zeroPointsAreCodes(const float *zeros, int64_t count, int bits) {
  float top = static_cast<float>((1 << bits) - 1);
  for (int64_t i = 0; i < count; ++i)
    if (!(zeros[i] >= 0 && zeros[i] <= top) || zeros[i] != std::floor(zeros[i]))
      return false;
  return true;
}

} // namespace smq::quant
