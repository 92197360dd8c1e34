//===- GpuRuntime.cpp - the mgpu* ABI over the open backend ---------------===//
//
// MLIR's gpu-to-llvm lowering emits these calls; SMQ's compiled GPU models
// resolve them here. Module loads run from the model's static constructors
// when the model is loaded, so the device must be open first
// (smq_gpu_open, called by CompiledModel). Launches are synchronous, so
// streams are placeholders.
//
//===----------------------------------------------------------------------===//

#include "smq/Runtime/GpuRuntime.h"

#include "Backend.h"
#include "../ByteCount.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

using namespace smq::gpu;

namespace {

std::mutex &errorMutex() {
  static std::mutex m;
  return m;
}
std::string &pendingError() {
  static std::string e;
  return e;
}

std::unique_ptr<Backend> &device() {
  static std::unique_ptr<Backend> d;
  return d;
}
int openKind = 0;
// Which device of its API is open.
int openIndex = 0;

Backend *ready(const char *what) {
  if (failed())
    return nullptr;
  Backend *d = device().get();
  if (!d)
    fail(std::string(what) + ": no GPU device is open");
  return d;
}

void copyOut(const std::string &text, char *buf, size_t len) {
  if (!buf || len == 0)
    return;
  size_t n = std::min(len - 1, text.size());
  std::memcpy(buf, text.data(), n);
  buf[n] = '\0';
}

// Streams are placeholders: a non-null handle, never dereferenced.
char streamToken;

// What the device may hold (SMQ_GPU_MEMORY_LIMIT, bytes with an optional
// K, M or G), and what it holds.
uint64_t memoryLimit = UINT64_MAX;
uint64_t memoryInUse = 0;
std::mutex memoryMutex;
std::map<void *, uint64_t> deviceSizes;
// Host stand-ins for allocations that failed: the model's host code still
// copies into and out of them before the call returns and reports the
// error, so they must be real memory; nothing reads them afterwards.
std::map<void *, uint64_t> standIns;

} // namespace

void smq::gpu::fail(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex());
  if (pendingError().empty())
    pendingError() = message;
}

bool smq::gpu::failed() {
  std::lock_guard<std::mutex> lock(errorMutex());
  return !pendingError().empty();
}

extern "C" int smq_gpu_open(int kind, char *why, size_t whyLen) {
  return smq_gpu_open_device(kind, -1, why, whyLen);
}

extern "C" int smq_gpu_open_device(int kind, int index, char *why,
                                   size_t whyLen) {
  static std::mutex openMutex;
  std::lock_guard<std::mutex> lock(openMutex);
  if (device()) {
    if (kind == openKind && (index < 0 || index == openIndex))
      return 0;
    copyOut(kind != openKind
                ? "another GPU backend is open in this process"
                : "the GPU device of index " + std::to_string(openIndex) +
                      " is open in this process; one process uses one device",
            why, whyLen);
    return -1;
  }
  std::string reason;
  if (const char *limit = std::getenv("SMQ_GPU_MEMORY_LIMIT")) {
    if (!smq::rt::parseByteCount(limit, memoryLimit)) {
      copyOut(std::string("SMQ_GPU_MEMORY_LIMIT=") + limit +
                  " is not a byte count (such as 512M or 8G)",
              why, whyLen);
      return -1;
    }
  }
  std::unique_ptr<Backend> d;
  if (kind == SMQ_GPU_VULKAN)
    d = openVulkan(index, reason);
  else if (kind == SMQ_GPU_CUDA)
    d = openCuda(index, reason);
  else
    reason = "unknown GPU backend " + std::to_string(kind);
  if (!d) {
    copyOut(reason, why, whyLen);
    return -1;
  }
  device() = std::move(d);
  openKind = kind;
  openIndex = device()->ordinal;
  return 0;
}

extern "C" const char *smq_gpu_device_name(void) {
  return device() ? device()->name().c_str() : "";
}

extern "C" void *smq_gpu_alloc(uint64_t bytes) {
  Backend *d = device().get();
  if (!d) {
    fail("smq_gpu_alloc: no GPU device is open");
    return nullptr;
  }
  void *p = nullptr;
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    if (bytes > memoryLimit - memoryInUse)
      fail("out of device memory: " + std::to_string(bytes) +
           " bytes more would pass SMQ_GPU_MEMORY_LIMIT (" +
           std::to_string(memoryInUse) + " of " +
           std::to_string(memoryLimit) + " in use)");
  }
  if (!failed())
    p = d->alloc(bytes);
  std::lock_guard<std::mutex> lock(memoryMutex);
  if (p) {
    deviceSizes[p] = bytes;
    memoryInUse += bytes;
    return p;
  }
  // Failed (the reason is pending): a host stand-in, so that the host code
  // of the call under way runs to its end, and the call reports the error.
  p = std::calloc(1, bytes ? bytes : 1);
  if (p)
    standIns[p] = bytes;
  return p;
}

extern "C" void smq_gpu_free(void *ptr) {
  if (!ptr)
    return;
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    if (standIns.erase(ptr)) {
      std::free(ptr);
      return;
    }
    auto it = deviceSizes.find(ptr);
    if (it != deviceSizes.end()) {
      memoryInUse -= it->second;
      deviceSizes.erase(it);
    }
  }
  if (device())
    device()->free(ptr);
}

extern "C" void *smq_gpu_alloc_buffer(uint64_t bytes, char *why,
                                      size_t whyLen) {
  void *p = smq_gpu_alloc(bytes);
  bool failed = smq_gpu_take_error(why, whyLen);
  if (!failed && p)
    return p;
  if (!failed)
    copyOut("out of host memory", why, whyLen);
  smq_gpu_free(p);
  return nullptr;
}

extern "C" int smq_gpu_take_error(char *buf, size_t len) {
  std::lock_guard<std::mutex> lock(errorMutex());
  if (pendingError().empty())
    return 0;
  copyOut(pendingError(), buf, len);
  pendingError().clear();
  return 1;
}

extern "C" void *mgpuModuleLoad(void *data, size_t size) {
  Backend *d = ready("mgpuModuleLoad");
  return d ? d->loadModule(data, size) : nullptr;
}

extern "C" void *mgpuModuleLoadJIT(void *data, int) {
  Backend *d = ready("mgpuModuleLoadJIT");
  return d ? d->loadModule(data, 0) : nullptr;
}

extern "C" void mgpuModuleUnload(void *module) {
  if (module && device())
    device()->unloadModule(module);
}

extern "C" void *mgpuModuleGetFunction(void *module, const char *name) {
  Backend *d = ready("mgpuModuleGetFunction");
  if (!d)
    return nullptr;
  if (!module) {
    fail(std::string("kernel '") + name + "': its module did not load");
    return nullptr;
  }
  return d->function(module, name);
}

extern "C" void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy,
                                 intptr_t gz, intptr_t bx, intptr_t by,
                                 intptr_t bz, int32_t sharedBytes, void *,
                                 void **params, void **, size_t paramCount) {
  Backend *d = ready("mgpuLaunchKernel");
  if (!d || !function)
    return;
  const int64_t grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  d->launch(function, grid, block, sharedBytes, params, paramCount);
}

extern "C" void *mgpuStreamCreate(void) { return &streamToken; }
extern "C" void mgpuStreamDestroy(void *) {}
extern "C" void mgpuStreamSynchronize(void *) {}

extern "C" void *mgpuMemAlloc(uint64_t bytes, void *, bool) {
  return smq_gpu_alloc(bytes);
}

extern "C" void mgpuMemFree(void *ptr, void *) { smq_gpu_free(ptr); }
