//===- Copy.cpp - strided buffer copies -----------------------------------===//
#include "smq/Runtime/Runtime.h"

#include <cstring>
#include <vector>

namespace {
/// The parts of a ranked descriptor {allocated, aligned, offset,
/// sizes[rank], strides[rank]}; every field is 8 bytes.
struct DescriptorView {
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
  explicit DescriptorView(void *d) {
    auto *fields = static_cast<int64_t *>(d);
    aligned = reinterpret_cast<char *>(fields[1]);
    offset = fields[2];
    sizes = fields + 3;
    strides = nullptr;
  }
};
} // namespace

extern "C" void memrefCopy(int64_t elementSize, SmqUnrankedMemRef *src,
                           SmqUnrankedMemRef *dst) {
  int64_t rank = src->rank;
  DescriptorView s(src->descriptor), d(dst->descriptor);
  s.strides = s.sizes + rank;
  d.strides = d.sizes + rank;
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= s.sizes[i];
  if (total == 0)
    return;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t n = 0; n < total; ++n) {
    int64_t so = s.offset, dof = d.offset;
    for (int64_t i = 0; i < rank; ++i) {
      so += idx[i] * s.strides[i];
      dof += idx[i] * d.strides[i];
    }
    std::memcpy(d.aligned + dof * elementSize, s.aligned + so * elementSize,
                elementSize);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < s.sizes[i])
        break;
      idx[i] = 0;
    }
  }
}
