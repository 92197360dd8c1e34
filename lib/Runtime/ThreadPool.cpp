//===- ThreadPool.cpp - persistent workers for the kernels ----------------===//
//
// Kernels run for microseconds to milliseconds, so threads are started once
// and woken per call rather than spawned.
//
//===----------------------------------------------------------------------===//
#include "ThreadPool.h"

#include "smq/Runtime/Runtime.h"

#include <algorithm>
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
    stopWorkers();
    // A worker must know the generation current at its creation: reading it
    // on its own thread could miss a job posted before it starts.
    for (int i = 1; i < threads; ++i)
      workers.emplace_back(
          [this, seen = generation.load()] { workerLoop(seen); });
    size = threads;
  }

  int threads() const { return size; }

  void run(int64_t n, const TaskRef &fn) {
    if (size <= 1 || n <= 1) {
      for (int64_t i = 0; i < n; ++i)
        fn(i);
      return;
    }
    job = &fn;
    jobSize = n;
    next.store(0);
    pending.store(static_cast<int>(workers.size()));
    {
      std::lock_guard<std::mutex> lock(mutex);
      generation.fetch_add(1, std::memory_order_release);
    }
    wake.notify_all();
    drain();
    for (int spin = 0; pending.load(std::memory_order_acquire) && spin < kSpin;
         ++spin)
      pause();
    if (pending.load(std::memory_order_acquire)) {
      std::unique_lock<std::mutex> lock(mutex);
      done.wait(lock, [this] { return pending.load() == 0; });
    }
    job = nullptr;
  }

private:
  // Kernels are short: a worker spins this long for the next job before
  // sleeping, which saves a futex wake-up per kernel call.
  static constexpr int kSpin = 1 << 15;

  static void pause() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }

  void drain() {
    for (int64_t i = next.fetch_add(1); i < jobSize; i = next.fetch_add(1))
      (*job)(i);
  }

  void workerLoop(uint64_t seen) {
    while (true) {
      uint64_t g = seen;
      for (int spin = 0; spin < kSpin && !stopping.load(); ++spin) {
        g = generation.load(std::memory_order_acquire);
        if (g != seen)
          break;
        pause();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] {
          return stopping.load() || generation.load() != seen;
        });
      }
      if (stopping.load())
        return;
      seen = generation.load(std::memory_order_acquire);
      drain();
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex);
        done.notify_one();
      }
    }
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping.store(true);
    }
    wake.notify_all();
    for (auto &t : workers)
      t.join();
    workers.clear();
    stopping.store(false);
  }

  std::mutex mutex;
  std::condition_variable wake, done;
  std::vector<std::thread> workers;
  const TaskRef *job = nullptr;
  int64_t jobSize = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int> pending{0};
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
  int size = 1;
};

Pool &pool() {
  static Pool p;
  return p;
}

} // namespace

void parallelFor(int64_t n, TaskRef fn) {
  pool().run(n, fn);
}

int numThreads() { return pool().threads(); }

} // namespace smq::rt

extern "C" void smq_rt_set_num_threads(int threads) {
  smq::rt::pool().resize(threads < 1 ? 1 : threads);
}

extern "C" int smq_rt_get_num_threads(void) { return smq::rt::numThreads(); }

extern "C" void smq_rt_parallel_rows(SmqRowsFn fn, void *ctx, int64_t n) {
  int threads = smq::rt::numThreads();
  if (threads <= 1 || n <= 1) {
    fn(ctx, 0, n);
    return;
  }
  // A few ranges per thread, so that a thread the OS delays leaves its
  // share to the others; equal rows cost the same, so no finer split pays.
  int64_t tasks = std::min<int64_t>(n, 4 * static_cast<int64_t>(threads));
  smq::rt::parallelFor(tasks, [&](int64_t t) {
    fn(ctx, n * t / tasks, n * (t + 1) / tasks);
  });
}

#include <malloc.h>

extern "C" void smq_rt_tune_allocator(void) {
  static bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return true;
  }();
  (void)done;
}

namespace {
struct IndexError {
  bool set = false;
  int64_t site = 0, index = 0, dim = 0;
};
thread_local IndexError indexError;
} // namespace

extern "C" void smq_rt_index_error(int64_t site, int64_t index, int64_t dim) {
  if (indexError.set)
    return;
  indexError = {true, site, index, dim};
}

extern "C" int smq_rt_take_index_error(int64_t *site, int64_t *index,
                                       int64_t *dim) {
  if (!indexError.set)
    return 0;
  *site = indexError.site;
  *index = indexError.index;
  *dim = indexError.dim;
  indexError = IndexError();
  return 1;
}
