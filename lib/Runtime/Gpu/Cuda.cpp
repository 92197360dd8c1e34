//===- Cuda.cpp - the CUDA driver API backend -----------------------------===//
//
// libcuda.so.1 is opened at run time, so SMQ builds without a CUDA
// toolkit. Kernels come as PTX text, which cuModuleLoadData compiles for
// the device at hand. Buffers are managed memory (cuMemAllocManaged): the
// host code's copies and index checks read them as kernels do. Launches
// are synchronous.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#include <dlfcn.h>

#include <mutex>

namespace smq::gpu {
namespace {

// The driver API's own types, as cuda.h declares them.
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUdeviceptr = unsigned long long;
constexpr unsigned kAttachGlobal = 1; // CU_MEM_ATTACH_GLOBAL

class Cuda final : public Backend {
public:
  ~Cuda() override = default;
  /// Device `wanted` (from 0), or the default one when it is -1.
  bool open(int wanted, std::string &why);
  const std::string &name() const override { return deviceName; }
  void *alloc(uint64_t bytes) override;
  void free(void *ptr) override;
  void *loadModule(const void *data, size_t size) override;
  void unloadModule(void *module) override;
  void *function(void *module, const char *name) override;
  void launch(void *function, const int64_t grid[3], const int64_t block[3],
              int32_t sharedBytes, void **params, size_t paramCount) override;

private:
  bool check(CUresult r, const std::string &what);

  void *library = nullptr;
  std::string deviceName;
  CUcontext context = nullptr;
  std::mutex mutex;

  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuModuleLoadData)(CUmodule *, const void *) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **) = nullptr;
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
};

bool Cuda::check(CUresult r, const std::string &what) {
  if (r == 0)
    return true;
  const char *text = nullptr;
  if (cuGetErrorString)
    cuGetErrorString(r, &text);
  fail(what + " failed: " + (text ? text : "CUDA error " + std::to_string(r)));
  return false;
}

bool Cuda::open(int wanted, std::string &why) {
  library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    why = "no CUDA driver (libcuda.so.1 could not be opened: " +
          std::string(dlerror()) + ")";
    return false;
  }
  bool ok = true;
  auto load = [&](auto &fn, const char *symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(library, symbol));
    if (!fn && ok) {
      why = std::string("libcuda.so.1 has no ") + symbol;
      ok = false;
    }
  };
  load(cuInit, "cuInit");
  load(cuDeviceGetCount, "cuDeviceGetCount");
  load(cuDeviceGet, "cuDeviceGet");
  load(cuDeviceGetName, "cuDeviceGetName");
  load(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  load(cuCtxSetCurrent, "cuCtxSetCurrent");
  load(cuCtxSynchronize, "cuCtxSynchronize");
  load(cuModuleLoadData, "cuModuleLoadData");
  load(cuModuleUnload, "cuModuleUnload");
  load(cuModuleGetFunction, "cuModuleGetFunction");
  load(cuLaunchKernel, "cuLaunchKernel");
  load(cuMemAllocManaged, "cuMemAllocManaged");
  load(cuMemFree, "cuMemFree_v2");
  load(cuGetErrorString, "cuGetErrorString");
  if (!ok)
    return false;
  int count = 0;
  if (cuInit(0) != 0 || cuDeviceGetCount(&count) != 0 || count == 0) {
    why = "the CUDA driver found no GPU";
    return false;
  }
  if (wanted >= count) {
    why = "no CUDA device " + std::to_string(wanted) +
          " (the indices are 0 to " + std::to_string(count - 1) + ")";
    return false;
  }
  int which = wanted < 0 ? 0 : wanted;
  CUdevice device;
  char buf[256] = {0};
  if (cuDeviceGet(&device, which) != 0 ||
      cuDeviceGetName(buf, sizeof buf - 1, device) != 0 ||
      cuDevicePrimaryCtxRetain(&context, device) != 0 ||
      cuCtxSetCurrent(context) != 0) {
    why = "could not open CUDA device " + std::to_string(which);
    return false;
  }
  deviceName = buf;
  ordinal = which;
  return true;
}

void *Cuda::alloc(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  cuCtxSetCurrent(context);
  CUdeviceptr p = 0;
  if (!check(cuMemAllocManaged(&p, bytes ? bytes : 16, kAttachGlobal),
             "allocating " + std::to_string(bytes) + " bytes of managed "
             "memory"))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

void Cuda::free(void *ptr) {
  std::lock_guard<std::mutex> lock(mutex);
  cuCtxSetCurrent(context);
  check(cuMemFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

void *Cuda::loadModule(const void *data, size_t size) {
  std::lock_guard<std::mutex> lock(mutex);
  cuCtxSetCurrent(context);
  if (size != 0) {
    fail("a CUDA kernel module must be PTX text; was the model compiled for "
         "target=spirv?");
    return nullptr;
  }
  CUmodule m = nullptr;
  if (!check(cuModuleLoadData(&m, data), "loading PTX (cuModuleLoadData)"))
    return nullptr;
  return m;
}

void Cuda::unloadModule(void *module) {
  std::lock_guard<std::mutex> lock(mutex);
  cuModuleUnload(module);
}

void *Cuda::function(void *module, const char *name) {
  std::lock_guard<std::mutex> lock(mutex);
  CUfunction f = nullptr;
  if (!check(cuModuleGetFunction(&f, module, name),
             std::string("finding kernel '") + name + "'"))
    return nullptr;
  return f;
}

void Cuda::launch(void *function, const int64_t grid[3],
                  const int64_t block[3], int32_t sharedBytes, void **params,
                  size_t) {
  std::lock_guard<std::mutex> lock(mutex);
  cuCtxSetCurrent(context);
  if (check(cuLaunchKernel(function, unsigned(grid[0]), unsigned(grid[1]),
                           unsigned(grid[2]), unsigned(block[0]),
                           unsigned(block[1]), unsigned(block[2]),
                           unsigned(sharedBytes), nullptr, params, nullptr),
            "cuLaunchKernel"))
    check(cuCtxSynchronize(), "running a kernel");
}

} // namespace

std::unique_ptr<Backend> openCuda(int index, std::string &why) {
  auto c = std::make_unique<Cuda>();
  if (!c->open(index, why))
    return nullptr;
  return c;
}

} // namespace smq::gpu
