//===- KernelsTest.cpp - the runtime's kernels against scalar references -===//
//
// Every test runs on every instruction-set level this CPU has (selected as
// SMQ_CPU_ISA would), and checks results against a double-precision
// reference written from the definitions in Runtime.h, plus bit-identical
// results at 1, 2 and 3 threads.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct Matrix {
  int64_t rows, cols, rowStride, colStride;
  std::vector<float> data;
  Matrix(int64_t r, int64_t c, bool transposed = false)
      : rows(r), cols(c), rowStride(transposed ? 1 : c),
        colStride(transposed ? r : 1), data(r * c, 0.0f) {}
  float &at(int64_t i, int64_t j) {
    return data[i * rowStride + j * colStride];
  }
  SmqMemRef2F32 ref() {
    return {data.data(), data.data(), 0, {rows, cols}, {rowStride, colStride}};
  }
};

class OnEveryIsa : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override {
    if (!smq_rt_isa_supported(GetParam()))
      GTEST_SKIP() << smq_rt_isa_name(GetParam()) << " not on this CPU";
    char err[256];
    ASSERT_EQ(smq_rt_select_isa(smq_rt_isa_name(GetParam()), err, sizeof err),
              0)
        << err;
    ASSERT_EQ(smq_rt_cpu_isa(), GetParam());
  }
  void TearDown() override {
    smq_rt_select_isa("best", nullptr, 0);
    smq_rt_set_num_threads(1);
  }
};

std::string isaName(const ::testing::TestParamInfo<int> &info) {
  return smq_rt_isa_name(info.param);
}

void fillRandom(Matrix &m, std::mt19937 &rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j)
      m.at(i, j) = d(rng);
}

/// Runs f at 1, 2 and 3 threads; every run must give the same bytes.
template <typename F> std::vector<float> sameAtAnyThreadCount(F f) {
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    smq_rt_set_num_threads(threads);
    std::vector<float> out = f();
    if (first.empty())
      first = out;
    else
      EXPECT_EQ(std::memcmp(first.data(), out.data(), out.size() * 4), 0)
          << "differs at " << threads << " threads";
  }
  smq_rt_set_num_threads(1);
  return first;
}

TEST_P(OnEveryIsa, F32MatmulOddShapes) {
  std::mt19937 rng(1);
  struct Shape {
    int64_t m, n, k;
    bool transposedB, transposedC;
  };
  for (Shape s : {Shape{1, 1, 1, false, false}, Shape{7, 13, 5, false, false},
                  Shape{13, 67, 300, false, false},
                  Shape{1, 257, 513, false, false},
                  Shape{30, 300, 40, true, false},
                  Shape{9, 40, 17, false, true},
                  Shape{64, 640, 64, false, false}}) {
    Matrix a(s.m, s.k), b(s.k, s.n, s.transposedB), c0(s.m, s.n, s.transposedC);
    fillRandom(a, rng);
    fillRandom(b, rng);
    fillRandom(c0, rng);
    std::vector<float> got = sameAtAnyThreadCount([&] {
      Matrix c = c0;
      SmqMemRef2F32 ra = a.ref(), rb = b.ref(), rc = c.ref();
      _mlir_ciface_smq_rt_matmul_f32(&ra, &rb, &rc);
      return c.data;
    });
    Matrix c = c0;
    c.data = got;
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double want = c0.at(i, j), mag = std::fabs(want);
        for (int64_t p = 0; p < s.k; ++p) {
          want += double(a.at(i, p)) * b.at(p, j);
          mag += std::fabs(double(a.at(i, p)) * b.at(p, j));
        }
        ASSERT_NEAR(c.at(i, j), want, 1e-6 * mag + 1e-7)
            << s.m << "x" << s.n << "x" << s.k << " at " << i << "," << j;
      }
  }
}

/// The panel layout of Runtime.h, written out from its definition.
TEST(F32Panels, HandDerivedLayout) {
  // W is 2×33: one full panel of 32 columns and one with a single column.
  int64_t k = 2, n = 33;
  std::vector<float> w(k * n);
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j)
      w[p * n + j] = float(100 * p + j);
  std::vector<float> panels(2 * k * 32, -1.0f);
  smq_rt_pack_f32_panels(k, n, w.data(), n, panels.data());
  EXPECT_EQ(panels[0], 0.0f);            // panel 0, row 0, column 0
  EXPECT_EQ(panels[31], 31.0f);          // panel 0, row 0, column 31
  EXPECT_EQ(panels[32 + 5], 105.0f);     // panel 0, row 1, column 5
  EXPECT_EQ(panels[64], 32.0f);          // panel 1, row 0, column 32
  EXPECT_EQ(panels[64 + 1], 0.0f);       // padding
  EXPECT_EQ(panels[96], 132.0f);         // panel 1, row 1, column 32
  EXPECT_EQ(panels[127], 0.0f);
}

/// C = A·W + bias from panels: odd shapes, with and without bias, strided
/// A and C, against a double reference; the same bytes at any thread count;
/// and each row the same whether it is decoded alone (M <= 4) or with
/// others (tiles), since both sum bias then k in order.
TEST_P(OnEveryIsa, F32PanelsOddShapes) {
  std::mt19937 rng(3);
  struct Shape {
    int64_t m, n, k;
    bool bias, transposedA, transposedC;
  };
  for (Shape s : {Shape{1, 1, 1, true, false, false},
                  Shape{2, 7, 5, false, false, false},
                  Shape{3, 33, 17, true, false, false},
                  Shape{4, 100, 300, true, false, false},
                  Shape{5, 67, 260, true, false, false},
                  Shape{13, 129, 513, true, false, false},
                  Shape{7, 40, 9, false, true, true},
                  Shape{64, 640, 64, true, false, false},
                  Shape{1, 1100, 300, true, false, false}}) {
    Matrix a(s.m, s.k, s.transposedA), w(s.k, s.n);
    fillRandom(a, rng);
    fillRandom(w, rng);
    std::vector<float> bias(s.bias ? s.n : 0);
    for (float &b : bias)
      b = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
    int64_t count = (s.n + 31) / 32;
    std::vector<float> panels(count * s.k * 32);
    smq_rt_pack_f32_panels(s.k, s.n, w.data.data(), s.n, panels.data());
    auto run = [&](Matrix &x) {
      Matrix c(x.rows, s.n, s.transposedC);
      std::fill(c.data.begin(), c.data.end(), 1e30f); // overwritten
      SmqMemRef2F32 ra = x.ref(), rc = c.ref();
      SmqMemRef3F32 rp{panels.data(), panels.data(), 0, {count, s.k, 32},
                       {s.k * 32, 32, 1}};
      SmqMemRef1F32 rb{bias.data(), bias.data(), 0,
                       {static_cast<int64_t>(bias.size())}, {1}};
      _mlir_ciface_smq_rt_matmul_panels_f32(&ra, &rp, &rb, &rc);
      return c;
    };
    Matrix c(s.m, s.n, s.transposedC);
    c.data = sameAtAnyThreadCount([&] { return run(a).data; });
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double want = s.bias ? bias[j] : 0.0, mag = std::fabs(want);
        for (int64_t p = 0; p < s.k; ++p) {
          want += double(a.at(i, p)) * w.at(p, j);
          mag += std::fabs(double(a.at(i, p)) * w.at(p, j));
        }
        ASSERT_NEAR(c.at(i, j), want, 1e-6 * mag + 1e-7)
            << s.m << "x" << s.n << "x" << s.k << " at " << i << "," << j;
      }
    // Row by row through the decode path.
    for (int64_t i = 0; i < s.m; ++i) {
      Matrix row(1, s.k);
      for (int64_t p = 0; p < s.k; ++p)
        row.at(0, p) = a.at(i, p);
      Matrix one = run(row);
      for (int64_t j = 0; j < s.n; ++j)
        ASSERT_EQ(one.at(0, j), c.at(i, j))
            << "row " << i << " of " << s.m << "x" << s.n << "x" << s.k
            << ", column " << j;
    }
  }
}

/// GELU as the kernel's epilogue: against 0.5 y (1 + erf(y/√2)) in double
/// on y = A·W + bias, over inputs that reach erf's flat tails, on the
/// decode and prompt paths, the same bytes at any thread count, and each
/// row the same alone as in a prompt.
TEST_P(OnEveryIsa, F32PanelsGelu) {
  std::mt19937 rng(5);
  for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{1, 37, 20},
                         {3, 70, 50}, {9, 65, 33}, {40, 130, 300}}) {
    Matrix a(m, k), w(k, n);
    fillRandom(a, rng);
    fillRandom(w, rng);
    std::vector<float> bias(n);
    for (float &b : bias)
      b = std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng);
    int64_t count = (n + 31) / 32;
    std::vector<float> panels(count * k * 32);
    smq_rt_pack_f32_panels(k, n, w.data.data(), n, panels.data());
    auto run = [&](Matrix &x) {
      Matrix c(x.rows, n);
      SmqMemRef2F32 ra = x.ref(), rc = c.ref();
      SmqMemRef3F32 rp{panels.data(), panels.data(), 0, {count, k, 32},
                       {k * 32, 32, 1}};
      SmqMemRef1F32 rb{bias.data(), bias.data(), 0, {n}, {1}};
      _mlir_ciface_smq_rt_matmul_panels_gelu_f32(&ra, &rp, &rb, &rc);
      return c;
    };
    Matrix c(m, n);
    c.data = sameAtAnyThreadCount([&] { return run(a).data; });
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double y = bias[j], mag = std::fabs(y);
        for (int64_t p = 0; p < k; ++p) {
          y += double(a.at(i, p)) * w.at(p, j);
          mag += std::fabs(double(a.at(i, p)) * w.at(p, j));
        }
        double want = 0.5 * y * (1.0 + std::erf(y / std::sqrt(2.0)));
        ASSERT_NEAR(c.at(i, j), want, 2e-6 * (1 + std::fabs(y)) + 1e-6 * mag)
            << m << "x" << n << "x" << k << " at " << i << "," << j
            << " (y = " << y << ")";
      }
    for (int64_t i = 0; i < m; ++i) {
      Matrix row(1, k);
      for (int64_t p = 0; p < k; ++p)
        row.at(0, p) = a.at(i, p);
      Matrix one = run(row);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(one.at(0, j), c.at(i, j)) << "row " << i << ", column " << j;
    }
  }
}

/// A quantized weight in the bit-stream layout of smq.quantized_matmul,
/// with its packed form.
struct QWeight {
  int64_t n, k, bits, group, groups;
  std::vector<uint8_t> codes, stream, packed;
  std::vector<float> scales, zeros;

  /// Random codes, or every code `fixedCode` when it is not negative.
  QWeight(int64_t n, int64_t k, int64_t bits, int64_t group, bool symmetric,
          std::mt19937 &rng, int fixedCode = -1)
      : n(n), k(k), bits(bits), group(group),
        groups((k + group - 1) / group) {
    std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
    std::uniform_real_distribution<float> scale(0.01f, 0.1f);
    std::uniform_int_distribution<int> zero(0, (1 << bits) - 1);
    codes.resize(n * k);
    for (auto &c : codes)
      c = static_cast<uint8_t>(fixedCode >= 0 ? fixedCode : code(rng));
    int64_t rowBytes = (k * bits + 7) / 8;
    stream.assign(n * rowBytes, 0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < k; ++j)
        for (int64_t bit = 0; bit < bits; ++bit)
          if (codes[r * k + j] >> bit & 1) {
            int64_t at = j * bits + bit;
            stream[r * rowBytes + at / 8] |= uint8_t(1 << (at % 8));
          }
    packed.resize(n * smq_rt_packed_row_bytes(k, bits));
    smq_rt_pack_codes(bits, n, k, stream.data(), rowBytes, packed.data());
    for (int64_t i = 0; i < n * groups; ++i) {
      scales.push_back(scale(rng));
      // Symmetric codes centre on 2^(bits-1), as the quantizers write them.
      zeros.push_back(symmetric ? float(1 << (bits - 1)) : float(zero(rng)));
    }
  }
  double weight(int64_t r, int64_t j) const {
    int64_t g = r * groups + j / group;
    return double(scales[g]) * (double(codes[r * k + j]) - zeros[g]);
  }
};

/// What the int8 path multiplies by: activations quantized per group and
/// row to [-127, 127] by round-half-even of a·127/max|a|.
std::vector<double> int8Activations(const Matrix &a, int64_t group) {
  std::vector<double> out(a.rows * a.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t g0 = 0; g0 < a.cols; g0 += group) {
      int64_t g1 = std::min(a.cols, g0 + group);
      float amax = 0.0f;
      for (int64_t j = g0; j < g1; ++j)
        amax = std::max(amax, std::fabs(a.data[i * a.cols + j]));
      for (int64_t j = g0; j < g1; ++j) {
        float q = amax > 0 ? std::nearbyint(a.data[i * a.cols + j] *
                                            (127.0f / amax))
                           : 0.0f;
        out[i * a.cols + j] = double(q) * (amax / 127.0f);
      }
    }
  return out;
}

std::vector<float> runQmatmul(const Matrix &a, const QWeight &w, int acts) {
  Matrix am = a, c(a.rows, w.n);
  int64_t rowBytes = smq_rt_packed_row_bytes(w.k, w.bits);
  std::vector<uint8_t> codes = w.packed;
  std::vector<float> scales = w.scales, zeros = w.zeros;
  int64_t params[3] = {w.bits, w.group, acts};
  SmqMemRef2F32 ra = am.ref(), rc = c.ref();
  SmqMemRef2U8 rcodes{codes.data(), codes.data(), 0, {w.n, rowBytes},
                      {rowBytes, 1}};
  SmqMemRef2F32 rs{scales.data(), scales.data(), 0, {w.n, w.groups},
                   {w.groups, 1}};
  SmqMemRef2F32 rz{zeros.data(), zeros.data(), 0, {w.n, w.groups},
                   {w.groups, 1}};
  SmqMemRef1I64 rp{params, params, 0, {3}, {1}};
  // C is overwritten: start from garbage.
  std::fill(c.data.begin(), c.data.end(), 12345.0f);
  _mlir_ciface_smq_rt_qmatmul_packed_f32(&ra, &rcodes, &rs, &rz, &rp, &rc);
  return c.data;
}

TEST_P(OnEveryIsa, QuantizedMatmulEveryFormat) {
  std::mt19937 rng(7);
  for (int64_t bits : {2, 3, 4, 8})
    for (int64_t group : {32, 64, 128})
      for (bool symmetric : {false, true})
        for (int64_t m : {1, 3, 4, 5, 17})
          for (int acts : {0, 1})
            for (int64_t kTail : {40, 8}) {
            // K not a multiple of the group (nor of 32), and a last group
            // of one chunk or of two; N not a multiple of any tile.
            int64_t n = 37, k = 2 * group + kTail;
            QWeight w(n, k, bits, group, symmetric, rng);
            Matrix a(m, k);
            fillRandom(a, rng);
            std::vector<float> got =
                sameAtAnyThreadCount([&] { return runQmatmul(a, w, acts); });
            // The int8 path applies only to decoding (m <= 4).
            bool int8 = acts == 1 && m <= 4;
            std::vector<double> aq;
            if (int8)
              aq = int8Activations(a, group);
            for (int64_t i = 0; i < m; ++i)
              for (int64_t r = 0; r < n; ++r) {
                double want = 0, mag = 0;
                for (int64_t j = 0; j < k; ++j) {
                  double x = int8 ? aq[i * k + j] : a.data[i * k + j];
                  want += x * w.weight(r, j);
                  mag += std::fabs(x * w.weight(r, j)) +
                         std::fabs(x * w.scales[r * w.groups + j / group] *
                                   w.zeros[r * w.groups + j / group]);
                }
                ASSERT_NEAR(got[i * n + r], want, 2e-6 * mag + 1e-6)
                    << "bits " << bits << " group " << group << " m " << m
                    << " k " << k << " acts " << acts << " sym "
                    << symmetric << " at " << i << "," << r;
              }
            }
}

TEST_P(OnEveryIsa, QuantizedDecodeLargeGroups) {
  // 2, 3 and 4 bits are decoded a block at a time: groups smaller than a
  // block (scaled lane by lane; a 3-bit block is 256 codes), groups of
  // several blocks (the int16 sums widened before they could overflow, at 512),
  // a group that is not whole blocks (192 at 2 bits), a last group cut
  // short, and codes at their largest against activations of ±127.
  std::mt19937 rng(11);
  for (int64_t bits : {2, 3, 4})
    for (int64_t group : {32, 64, 128, 192, 256, 512, 1536})
      for (int64_t m : {1, 2}) {
        int64_t n = 9, k = std::max<int64_t>(2 * group, 512) + 104;
        // From 512 on: every code at its largest and every activation at
        // +127 (row 0) or −127 (row 1), the int16 sums' worst case.
        bool worst = group >= 512;
        QWeight w(n, k, bits, group, false, rng, worst ? (1 << bits) - 1 : -1);
        Matrix a(m, k);
        fillRandom(a, rng);
        if (worst)
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < k; ++j)
              a.data[i * k + j] = i ? -1.0f : 1.0f;
        std::vector<float> got =
            sameAtAnyThreadCount([&] { return runQmatmul(a, w, 1); });
        std::vector<double> aq = int8Activations(a, group);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t r = 0; r < n; ++r) {
            double want = 0, mag = 0;
            for (int64_t j = 0; j < k; ++j) {
              want += aq[i * k + j] * w.weight(r, j);
              mag += std::fabs(aq[i * k + j] * w.weight(r, j)) +
                     std::fabs(aq[i * k + j] * w.scales[r * w.groups + j / group] *
                               w.zeros[r * w.groups + j / group]);
            }
            ASSERT_NEAR(got[i * n + r], want, 2e-6 * mag + 1e-6)
                << "bits " << bits << " group " << group << " m " << m
                << " at " << i << "," << r;
          }
      }
}

TEST_P(OnEveryIsa, QuantizedMatmulRecoversEachWeight) {
  // With one-hot activations the product is one column of Ŵ.
  // K = 300 gives 3 bits a whole block (chunks 0..7) and two chunks past it.
  std::mt19937 rng(3);
  for (int64_t bits : {2, 3, 4, 8})
    for (int64_t k : {70, 300}) {
      QWeight w(5, k, bits, 32, false, rng);
      for (int64_t j : {0, 15, 16, 31, 32, 63, 69, 100, 127, 200, 255, 299}) {
        if (j >= k)
          continue;
        Matrix a(1, w.k);
        a.data[j] = 1.0f;
        std::vector<float> got = runQmatmul(a, w, 0);
        for (int64_t r = 0; r < w.n; ++r)
          // One float rounding of scale·(code − zero), as large as 255·s.
          EXPECT_NEAR(got[r], w.weight(r, j),
                      1e-6 * (1 + std::fabs(w.weight(r, j))))
              << "bits " << bits << " row " << r << " k " << j;
      }
    }
}

/// A 4-D f32 array with the given dimension order in memory: order[0] is
/// the outermost dimension stored.
struct Array4 {
  int64_t sizes[4], strides[4];
  std::vector<float> data;
  Array4(std::initializer_list<int64_t> dims, std::array<int, 4> order) {
    std::copy(dims.begin(), dims.end(), sizes);
    int64_t stride = 1;
    for (int d = 3; d >= 0; --d) {
      strides[order[d]] = stride;
      stride *= sizes[order[d]];
    }
    data.assign(stride, 0.0f);
  }
  float &at(int64_t a, int64_t b, int64_t c, int64_t d) {
    return data[a * strides[0] + b * strides[1] + c * strides[2] +
                d * strides[3]];
  }
  SmqMemRef4F32 ref() {
    SmqMemRef4F32 r{data.data(), data.data(), 0, {}, {}};
    for (int d = 0; d < 4; ++d) {
      r.sizes[d] = sizes[d];
      r.strides[d] = strides[d];
    }
    return r;
  }
};

struct AttentionCase {
  int64_t batch, seq, heads, kvHeads, slots, headSize, window;
  float softcap;
  bool oddLayouts;
};

/// Runs smq_rt_attention_f32 and checks it against a double-precision
/// reference of Runtime.h's definition. Row 1 has a shorter past than
/// row 0 (ragged rows); positions grow by one per query.
void checkAttention(const AttentionCase &c) {
  std::mt19937 rng(7 + c.headSize + c.seq);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  const int64_t B = c.batch, S = c.seq, N = c.heads, Nk = c.kvHeads,
                T = c.slots, H = c.headSize, G = N / Nk;
  // Queries stored [B, N, S, H] and values [B, Nk, H, T] when oddLayouts:
  // strided query reads and the kernel's scalar path for values.
  Array4 q({B, S, N, H}, c.oddLayouts ? std::array<int, 4>{0, 2, 1, 3}
                                      : std::array<int, 4>{0, 1, 2, 3});
  Array4 k({B, Nk, T, H}, {0, 1, 2, 3});
  Array4 v({B, Nk, T, H}, c.oddLayouts ? std::array<int, 4>{0, 1, 3, 2}
                                       : std::array<int, 4>{0, 1, 2, 3});
  for (Array4 *a : {&q, &k})
    for (float &x : a->data)
      x = d(rng);
  for (float &x : v.data)
    x = 2.0f * d(rng);
  std::vector<int64_t> pos(B * S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < S; ++i)
      pos[b * S + i] = (T - S) / (b + 1) + i;
  SmqMemRef2I64 posRef{pos.data(), pos.data(), 0, {B, S}, {S, 1}};
  float params[2] = {1.0f / std::sqrt(static_cast<float>(H)), c.softcap};
  SmqMemRef1F32 paramsRef{params, params, 0, {2}, {1}};
  int64_t window = c.window;
  SmqMemRef1I64 windowRef{&window, &window, 0, {1}, {1}};
  std::vector<float> got = sameAtAnyThreadCount([&] {
    Array4 out({B, S, N, H}, {0, 1, 2, 3});
    SmqMemRef4F32 qr = q.ref(), kr = k.ref(), vr = v.ref(), outRef = out.ref();
    _mlir_ciface_smq_rt_attention_f32(&qr, &kr, &vr, &posRef, &paramsRef,
                                      &windowRef, &outRef);
    return out.data;
  });
  double worst = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < S; ++i)
      for (int64_t h = 0; h < N; ++h) {
        int64_t p = pos[b * S + i], kv = h / G;
        int64_t lo = c.window > 0 ? std::max<int64_t>(0, p - c.window + 1) : 0;
        std::vector<double> w;
        double top = -1e300;
        for (int64_t j = lo; j <= p; ++j) {
          double dot = 0;
          for (int64_t x = 0; x < H; ++x)
            dot += double(q.at(b, i, h, x)) * k.at(b, kv, j, x);
          dot *= params[0];
          if (c.softcap > 0)
            dot = c.softcap * std::tanh(dot / c.softcap);
          w.push_back(dot);
          top = std::max(top, dot);
        }
        double sum = 0;
        for (double &x : w)
          sum += x = std::exp(x - top);
        for (int64_t x = 0; x < H; ++x) {
          double want = 0;
          for (int64_t j = lo; j <= p; ++j)
            want += w[j - lo] / sum * v.at(b, kv, j, x);
          double diff =
              std::abs(got[((b * S + i) * N + h) * H + x] - want);
          worst = std::max(worst, diff);
        }
      }
  EXPECT_LT(worst, 2e-6) << "B=" << B << " S=" << S << " H=" << H
                         << " window=" << c.window;
}

TEST_P(OnEveryIsa, AttentionAgainstReference) {
  // Decode and prompt chunks (keys read in place, or transposed once per
  // call); head sizes that fill whole pairs of vectors, one vector, and
  // neither; GQA and plain multi-head; windows, softcap and strided
  // layouts.
  for (const AttentionCase &c : std::vector<AttentionCase>{
           {1, 1, 12, 4, 256, 64, 0, 0.0f, false},
           {2, 1, 6, 2, 37, 64, 0, 0.0f, false},
           {2, 13, 6, 2, 37, 64, 0, 0.0f, false},
           {2, 32, 12, 4, 256, 64, 0, 0.0f, false},
           {2, 9, 4, 4, 40, 20, 0, 0.0f, false},
           {2, 5, 3, 1, 17, 7, 0, 0.0f, false},
           {2, 11, 6, 2, 37, 64, 5, 0.0f, false},
           {2, 11, 6, 2, 37, 16, 0, 3.0f, false},
           {2, 11, 6, 3, 29, 24, 4, 0.0f, true},
           // Fewer than 8 rows a call: keys read in place, not transposed.
           {2, 1, 4, 4, 40, 20, 3, 0.0f, false},
           {2, 2, 3, 1, 17, 7, 0, 2.0f, true},
           {1, 1, 12, 4, 256, 64, 100, 0.0f, false},
       })
    checkAttention(c);
}

TEST_P(OnEveryIsa, AttentionRefusesPositionsOutsideTheCache) {
  // Row 0 is fine, row 1 points past the 8 slots: its output is NaN, row
  // 0's is the one key's value (the only slot it attends).
  const int64_t H = 4;
  Array4 q({2, 1, 2, H}, {0, 1, 2, 3}), k({2, 1, 8, H}, {0, 1, 2, 3}),
      v({2, 1, 8, H}, {0, 1, 2, 3}), out({2, 1, 2, H}, {0, 1, 2, 3});
  for (int64_t x = 0; x < H; ++x)
    v.at(0, 0, 0, x) = float(x + 1);
  std::vector<int64_t> pos = {0, 8};
  SmqMemRef2I64 posRef{pos.data(), pos.data(), 0, {2, 1}, {1, 1}};
  float params[2] = {0.5f, 0.0f};
  SmqMemRef1F32 paramsRef{params, params, 0, {2}, {1}};
  int64_t window = 0;
  SmqMemRef1I64 windowRef{&window, &window, 0, {1}, {1}};
  SmqMemRef4F32 qr = q.ref(), kr = k.ref(), vr = v.ref(), outRef = out.ref();
  testing::internal::CaptureStderr();
  _mlir_ciface_smq_rt_attention_f32(&qr, &kr, &vr, &posRef, &paramsRef,
                                    &windowRef, &outRef);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("attention position 8 of row 1 is outside the cache's 8 "
                     "slots"),
            std::string::npos)
      << err;
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t x = 0; x < H; ++x) {
      EXPECT_EQ(out.at(0, 0, h, x), float(x + 1));
      EXPECT_TRUE(std::isnan(out.at(1, 0, h, x)));
    }
}

TEST(KvPlace, HandDerivedPresent) {
  // 2 rows, 1 kv head, past of 3 slots, 2 new tokens, present of 5 slots,
  // head size 2. Row 0's past length is 1 (positions 1, 2): slot 0 from
  // the past, slots 1 and 2 new, the rest zero (past slot 1 and 2 are not
  // kept). Row 1's is 3 (positions 3, 4): the whole past, then the new.
  // Fresh is [B, S, Nk, H]; the past holds 100 + 10·slot + x.
  Array4 past({2, 1, 3, 2}, {0, 1, 2, 3}), fresh({2, 2, 1, 2}, {0, 1, 2, 3}),
      out({2, 1, 5, 2}, {0, 1, 2, 3});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t x = 0; x < 2; ++x)
        past.at(b, 0, j, x) = 100 * (b + 1) + 10 * j + x;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t x = 0; x < 2; ++x)
        fresh.at(b, i, 0, x) = -(10 * b + 2 * i + x + 1);
  for (float &x : out.data)
    x = 7.0f; // every slot must be written
  std::vector<int64_t> pos = {1, 2, 3, 4};
  SmqMemRef2I64 posRef{pos.data(), pos.data(), 0, {2, 2}, {2, 1}};
  SmqMemRef4F32 pr = past.ref(), fr = fresh.ref(), orf = out.ref();
  int64_t zero = 1;
  SmqMemRef1I64 zeroRef{&zero, &zero, 0, {1}, {1}};
  _mlir_ciface_smq_rt_kv_place_f32(&pr, &fr, &posRef, &zeroRef, &orf);
  std::vector<float> want = {
      100, 101, -1,  -2,  -3,  -4,  0,   0,   0,   0,   // row 0
      200, 201, 210, 211, 220, 221, -11, -12, -13, -14, // row 1
  };
  EXPECT_EQ(out.data, want);

  // Without zeroing, row 0's slots after its new rows keep what the
  // buffer held; everything else is the same.
  for (float &x : out.data)
    x = 7.0f;
  zero = 0;
  _mlir_ciface_smq_rt_kv_place_f32(&pr, &fr, &posRef, &zeroRef, &orf);
  std::vector<float> stale = want;
  for (int j = 6; j < 10; ++j)
    stale[j] = 7.0f;
  EXPECT_EQ(out.data, stale);
  zero = 1;

  // A position past the 5 slots: that row's present is NaN, with a
  // message; the other row is unchanged.
  pos = {1, 2, 4, 5};
  testing::internal::CaptureStderr();
  _mlir_ciface_smq_rt_kv_place_f32(&pr, &fr, &posRef, &zeroRef, &orf);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("KV cache position 5 of row 1 is outside the cache's 5 "
                     "slots"),
            std::string::npos)
      << err;
  for (int64_t j = 0; j < 10; ++j) {
    EXPECT_EQ(out.data[j], want[j]);
    EXPECT_TRUE(std::isnan(out.data[10 + j]));
  }
}

INSTANTIATE_TEST_SUITE_P(Runtime, OnEveryIsa,
                         ::testing::Range(0, int(SMQ_ISA_COUNT)), isaName);

TEST(PackedCodes, HandDerivedLayout) {
  // 4 bits: codes 0..31 of one chunk; byte j = code j | code j+16 << 4.
  std::vector<uint8_t> stream(16), packed(16);
  for (int j = 0; j < 32; ++j)
    stream[j / 2] |= uint8_t((j % 16) << (4 * (j % 2)));
  smq_rt_pack_codes(4, 1, 32, stream.data(), 16, packed.data());
  for (int j = 0; j < 16; ++j)
    EXPECT_EQ(packed[j], uint8_t((j % 16) | ((j + 16) % 16) << 4)) << j;
  // 3 bits: code j = 7 for j = 9 only: low bits 3 at byte 1, bits 2..3;
  // high bit at bit 9 of the word after 8 bytes.
  std::vector<uint8_t> s3(12, 0), p3(12);
  int64_t at = 9 * 3;
  for (int b = 0; b < 3; ++b)
    s3[(at + b) / 8] |= uint8_t(1 << ((at + b) % 8));
  smq_rt_pack_codes(3, 1, 32, s3.data(), 12, p3.data());
  std::vector<uint8_t> want(12, 0);
  want[1] = 3 << 2;
  want[8 + 1] = 1 << 1;
  EXPECT_EQ(p3, want);
  // A tail chunk is padded with code 0; row size counts whole chunks.
  EXPECT_EQ(smq_rt_packed_row_bytes(33, 2), 16);
  EXPECT_EQ(smq_rt_packed_row_bytes(32, 3), 12);
}

TEST(PackedCodes, HandDerived3BitBlock) {
  // 320 codes: one whole block of eight chunks, then two chunks. Code 4i + j
  // of chunk c is plane i's code at position p = 4c + j.
  std::vector<uint8_t> s(120, 0), p(120);
  auto set = [&](int64_t k, unsigned code) {
    for (int b = 0; b < 3; ++b)
      if (code >> b & 1)
        s[(3 * k + b) / 8] |= uint8_t(1 << ((3 * k + b) % 8));
  };
  set(73, 7);  // chunk 2, code 9: plane 2, p = 9
  set(186, 5); // chunk 5, code 26: plane 6, p = 22
  set(258, 7); // the first chunk past the block, code 2
  smq_rt_pack_codes(3, 1, 320, s.data(), 120, p.data());
  std::vector<uint8_t> want(120, 0);
  want[32 + 9] = 7; // plane 2: bits 0..2 of Y[p]
  // Plane 6: the low bits in bits 6..7 of X[p], the high bit in bit 6 of
  // Z[p].
  want[22] = 1 << 6;
  want[64 + 22] = 1 << 6;
  // Past the block, as in HandDerivedLayout.
  want[96 + 2] = 3;
  want[96 + 8] = 1 << 2;
  EXPECT_EQ(p, want);
}

TEST(PackedCodes, SupportedFormats) {
  EXPECT_TRUE(smq_rt_qformat_supported(4, 128));
  EXPECT_TRUE(smq_rt_qformat_supported(3, 32));
  EXPECT_FALSE(smq_rt_qformat_supported(5, 64));
  EXPECT_FALSE(smq_rt_qformat_supported(4, 48));
  EXPECT_FALSE(smq_rt_qformat_supported(4, 0));
}

TEST(Dispatch, RefusesUnknownAndMissingLevels) {
  char err[256] = "";
  EXPECT_NE(smq_rt_select_isa("avx9", err, sizeof err), 0);
  EXPECT_NE(std::string(err).find("unknown CPU level 'avx9'"),
            std::string::npos);
  for (int isa = 0; isa < SMQ_ISA_COUNT; ++isa)
    if (!smq_rt_isa_supported(isa)) {
      int before = smq_rt_cpu_isa();
      EXPECT_NE(smq_rt_select_isa(smq_rt_isa_name(isa), err, sizeof err), 0);
      EXPECT_NE(std::string(err).find("lacks"), std::string::npos) << err;
      EXPECT_EQ(smq_rt_cpu_isa(), before);
    }
  EXPECT_EQ(smq_rt_select_isa("baseline", err, sizeof err), 0);
  EXPECT_EQ(smq_rt_cpu_isa(), SMQ_ISA_BASELINE);
  EXPECT_EQ(smq_rt_select_isa("best", err, sizeof err), 0);
  EXPECT_GE(smq_rt_cpu_isa(), SMQ_ISA_BASELINE);
}

} // namespace
