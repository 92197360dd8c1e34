//===- Parallel.h - fixed work items over threads (lib/Quant only) --------===//
//
// Work is cut into items that do not depend on the thread count, so a
// result is bit-identical whatever `threads` is: only which thread runs an
// item changes.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_LIB_QUANT_PARALLEL_H
#define SMQ_LIB_QUANT_PARALLEL_H

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace smq::quant::detail {

/// `threads` as a count: 0 (or less) is one per core.
inline int threadCount(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(
                           std::max(1u, std::thread::hardware_concurrency()));
}

/// Runs fn(item) for every item < items on `threads` threads (0: one per
/// core).
template <typename Fn> void forEachRow(int64_t items, int threads, Fn fn) {
  threads = threadCount(threads);
  threads = static_cast<int>(std::min<int64_t>(threads, items));
  if (threads <= 1) {
    for (int64_t r = 0; r < items; ++r)
      fn(r);
    return;
  }
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t r = next.fetch_add(1); r < items; r = next.fetch_add(1))
      fn(r);
  };
  // The caller is one of the workers.
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto &t : pool)
    t.join();
}

} // namespace smq::quant::detail

#endif // SMQ_LIB_QUANT_PARALLEL_H
