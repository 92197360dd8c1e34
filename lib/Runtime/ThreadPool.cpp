//===- ThreadPool.cpp - persistent workers for the kernels ----------------===//
//
// Kernels run for microseconds to milliseconds, so threads are started once
// and woken per call rather than spawned.
//
//===----------------------------------------------------------------------===//
#include "ThreadPool.h"

#include "smq/Runtime/Runtime.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace smq::rt {
namespace {

class Pool {
public:
  ~Pool() { resize(1); }

  void resize(int threads) {
    std::unique_lock<std::mutex> lock(mutex);
    stopWorkers(lock);
    // A worker must know the generation current at its creation: reading it
    // on its own thread could miss a job posted before it starts.
    for (int i = 1; i < threads; ++i)
      workers.emplace_back([this, seen = generation] { workerLoop(seen); });
    size = threads;
  }

  int threads() const { return size; }

  void run(int64_t n, const std::function<void(int64_t)> &fn) {
    if (size <= 1 || n <= 1) {
      for (int64_t i = 0; i < n; ++i)
        fn(i);
      return;
    }
    std::unique_lock<std::mutex> lock(mutex);
    job = &fn;
    jobSize = n;
    next.store(0);
    pending = static_cast<int>(workers.size());
    ++generation;
    wake.notify_all();
    lock.unlock();
    drain();
    lock.lock();
    done.wait(lock, [this] { return pending == 0; });
    job = nullptr;
  }

private:
  void drain() {
    for (int64_t i = next.fetch_add(1); i < jobSize; i = next.fetch_add(1))
      (*job)(i);
  }

  void workerLoop(uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
      lock.unlock();
      drain();
      lock.lock();
      if (--pending == 0)
        done.notify_one();
    }
  }

  void stopWorkers(std::unique_lock<std::mutex> &lock) {
    stopping = true;
    wake.notify_all();
    lock.unlock();
    for (auto &t : workers)
      t.join();
    lock.lock();
    workers.clear();
    stopping = false;
  }

  std::mutex mutex;
  std::condition_variable wake, done;
  std::vector<std::thread> workers;
  const std::function<void(int64_t)> *job = nullptr;
  int64_t jobSize = 0;
  std::atomic<int64_t> next{0};
  int pending = 0;
  uint64_t generation = 0;
  bool stopping = false;
  int size = 1;
};

Pool &pool() {
  static Pool p;
  return p;
}

} // namespace

void parallelFor(int64_t n, const std::function<void(int64_t)> &fn) {
  pool().run(n, fn);
}

int numThreads() { return pool().threads(); }

} // namespace smq::rt

extern "C" void smq_rt_set_num_threads(int threads) {
  smq::rt::pool().resize(threads < 1 ? 1 : threads);
}

extern "C" int smq_rt_get_num_threads(void) { return smq::rt::numThreads(); }

#include <malloc.h>

extern "C" void smq_rt_tune_allocator(void) {
  static bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)done;
}
