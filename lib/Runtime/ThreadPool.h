//===- ThreadPool.h - the runtime's worker threads --------------*- C++ -*-===//
#ifndef SMQ_LIB_RUNTIME_THREADPOOL_H
#define SMQ_LIB_RUNTIME_THREADPOOL_H

#include <cstdint>
#include <functional>

namespace smq::rt {

/// Runs fn(i) for i in [0, n) on the runtime's threads and waits. Which
/// thread runs which i never changes a result: each i owns its outputs.
void parallelFor(int64_t n, const std::function<void(int64_t)> &fn);

int numThreads();

} // namespace smq::rt

#endif // SMQ_LIB_RUNTIME_THREADPOOL_H
