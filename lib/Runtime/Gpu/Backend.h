//===- Backend.h - one GPU API behind the mgpu* ABI -------------*- C++ -*-===//
#ifndef SMQ_LIB_RUNTIME_GPU_BACKEND_H
#define SMQ_LIB_RUNTIME_GPU_BACKEND_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace smq::gpu {

/// A device opened through one API. Methods report failures through
/// fail() and return a null or do nothing; none throws.
class Backend {
public:
  virtual ~Backend() = default;
  /// Which device of its API this is, from 0.
  int ordinal = 0;
  virtual const std::string &name() const = 0;
  virtual void *alloc(uint64_t bytes) = 0;
  virtual void free(void *ptr) = 0;
  /// A SPIR-V binary of `size` bytes, or PTX text (size 0).
  virtual void *loadModule(const void *data, size_t size) = 0;
  virtual void unloadModule(void *module) = 0;
  virtual void *function(void *module, const char *name) = 0;
  /// `params[i]` points at argument i's value, as cuLaunchKernel takes
  /// them. For Vulkan these alternate buffer pointers and byte sizes.
  virtual void launch(void *function, const int64_t grid[3],
                      const int64_t block[3], int32_t sharedBytes,
                      void **params, size_t paramCount) = 0;
};

/// Records the first error (later ones are dropped until it is taken).
void fail(const std::string &message);
/// Whether an error is pending: calls then do nothing.
bool failed();

/// Device `index` (from 0) of the API, or its default one for -1
/// (SMQ_VULKAN_DEVICE, else the first).
std::unique_ptr<Backend> openVulkan(int index, std::string &why);
std::unique_ptr<Backend> openCuda(int index, std::string &why);

} // namespace smq::gpu

#endif // SMQ_LIB_RUNTIME_GPU_BACKEND_H
