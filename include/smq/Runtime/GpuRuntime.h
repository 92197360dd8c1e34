/*===- GpuRuntime.h - SMQ's device runtime for GPU-compiled models -*- C -*-===*
 *
 * Compiled GPU models (--smq-gpu-pipeline) call the mgpu* functions that
 * MLIR's gpu-to-llvm lowering emits (module loads, kernel launches, buffer
 * allocation). SMQ implements them over one of two backends, each loaded
 * at run time so that building SMQ needs neither SDK:
 *   - Vulkan compute (libvulkan.so.1): SPIR-V kernels, buffers in
 *     host-visible, coherent memory;
 *   - CUDA (libcuda.so.1, the driver API): PTX kernels, managed memory.
 * Every buffer a kernel reads is one of the runtime's allocations, which
 * host code can read and write as well (unified memory). Launches are
 * synchronous. Plain C ABI, no LLVM.
 *
 *===----------------------------------------------------------------------===*/
#ifndef SMQ_RUNTIME_GPURUNTIME_H
#define SMQ_RUNTIME_GPURUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SMQ_GPU_VULKAN = 1, SMQ_GPU_CUDA = 2 };

/** Opens the first device of `kind` (SMQ_VULKAN_DEVICE=N picks another
 *  Vulkan device), once per process; a second call with the same kind
 *  returns at once. Returns 0, or -1 with the reason in `why`. */
int smq_gpu_open(int kind, char *why, size_t why_len);
/** The same for device `index` of that kind, counting from 0 (-1: the
 *  default, as smq_gpu_open). Opening another device than the one open
 *  already fails: a process has one GPU device. */
int smq_gpu_open_device(int kind, int index, char *why, size_t why_len);

/** The open device's name ("" when none). */
const char *smq_gpu_device_name(void);

/** Device memory the host can read and write too. `bytes` may be 0. On
 *  failure (the device is out of memory, or SMQ_GPU_MEMORY_LIMIT would be
 *  passed) the reason becomes the pending error and the result is a host
 *  stand-in (NULL only if even that fails), so that host code under way
 *  runs to its end; the caller must check smq_gpu_take_error. */
void *smq_gpu_alloc(uint64_t bytes);
void smq_gpu_free(void *ptr);
/** smq_gpu_alloc for a buffer its caller keeps (weights, staged inputs and
 *  outputs): the device buffer, or NULL with the reason in `why` (the
 *  pending error, taken; the host stand-in freed). */
void *smq_gpu_alloc_buffer(uint64_t bytes, char *why, size_t why_len);

/** Takes the first error since the last call: 1 and its text in `buf`,
 *  or 0 when none. Runtime calls made after an error do nothing. */
int smq_gpu_take_error(char *buf, size_t len);

/* The ABI of MLIR's gpu-to-llvm lowering (see GpuRuntime.cpp). */
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int opt_level);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t grid_x, intptr_t grid_y,
                      intptr_t grid_z, intptr_t block_x, intptr_t block_y,
                      intptr_t block_z, int32_t shared_bytes, void *stream,
                      void **params, void **extra, size_t param_count);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void *mgpuMemAlloc(uint64_t bytes, void *stream, bool host_shared);
void mgpuMemFree(void *ptr, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* SMQ_RUNTIME_GPURUNTIME_H */
