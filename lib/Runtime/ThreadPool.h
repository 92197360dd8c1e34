//===- ThreadPool.h - the runtime's worker threads --------------*- C++ -*-===//
#ifndef SMQ_LIB_RUNTIME_THREADPOOL_H
#define SMQ_LIB_RUNTIME_THREADPOOL_H

#include <cstdint>

namespace smq::rt {

/// A callable taken by reference, as the pool runs it: unlike
/// std::function, making one never allocates (the kernels run per token,
/// and a lambda capturing more than two references would be copied to the
/// heap on every call). The callable must outlive the call it is passed to.
class TaskRef {
public:
  template <typename F>
  TaskRef(const F &fn)
      : object(&fn), invoke([](const void *o, int64_t i) {
          (*static_cast<const F *>(o))(i);
        }) {}
  void operator()(int64_t i) const { invoke(object, i); }

private:
  const void *object;
  void (*invoke)(const void *, int64_t);
};

/// Runs fn(i) for i in [0, n) on the runtime's threads and waits. Which
/// thread runs which i never changes a result: each i owns its outputs.
void parallelFor(int64_t n, TaskRef fn);

int numThreads();

} // namespace smq::rt

#endif // SMQ_LIB_RUNTIME_THREADPOOL_H
