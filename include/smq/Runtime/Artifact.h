/*===- Artifact.h - the ABI between smq-compile's libraries and the runtime -===*
 *
 * An AOT library exports one function, <prefix>_smq_model_v1. The runtime
 * calls it with the kernels the model's code needs (so the library links
 * only libc and libm, and works with a static or a shared runtime) and gets
 * back the model's description. smq-compile writes this header's text into
 * the C file it generates, so both sides see one definition.
 *
 * Element types are SmqElementType's values (smq-c/Runtime.h).
 *
 *===---------------------------------------------------------------------===*/
#ifndef SMQ_RUNTIME_ARTIFACT_H
#define SMQ_RUNTIME_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define SMQ_ARTIFACT_BOOL bool
#else
#define SMQ_ARTIFACT_BOOL _Bool
#endif

/* Raised whenever the meaning of a library's data changes. 2: whole blocks
 * of 3-bit packed codes have their own layout (Runtime.h). */
#define SMQ_ARTIFACT_ABI 2

typedef struct {
  const char *name;
  int32_t elementType;
  int32_t rank;
  const int64_t *shape;
  uint64_t byteSize;
} SmqArtifactTensor;

/* What the runtime gives the model's code (memref descriptors by pointer,
 * as MLIR's C interface passes them). */
typedef struct {
  uint32_t abi;
  uint32_t count; /* function pointers that follow */
  void (*matmulF32)(void *a, void *b, void *c);
  void (*batchMatmulF32)(void *a, void *b, void *c);
  void (*matmulPanelsF32)(void *a, void *panels, void *bias, void *c);
  void (*qmatmulPackedF32)(void *a, void *codes, void *scales, void *zeros,
                           void *params, void *c);
  void (*memrefCopy)(int64_t elementSize, void *src, void *dst);
  /* count >= 6 */
  void (*matmulPanelsGeluF32)(void *a, void *panels, void *bias, void *c);
  /* count >= 7 */
  void (*parallelRows)(void (*fn)(void *ctx, int64_t begin, int64_t end),
                       void *ctx, int64_t n);
  /* count >= 8 */
  void (*indexError)(int64_t site, int64_t index, int64_t dim);
  /* count >= 10 */
  void (*attentionF32)(void *q, void *k, void *v, void *positions,
                       void *params, void *window, void *out);
  void (*kvPlaceF32)(void *past, void *fresh, void *positions, void *params,
                     void *out);
  /* count >= 19: the device runtime (GpuRuntime.h) that GPU libraries'
   * host code calls, MLIR's gpu-to-llvm ABI. */
  void *(*gpuModuleLoad)(void *data, size_t size);
  void (*gpuModuleUnload)(void *module);
  void *(*gpuModuleGetFunction)(void *module, const char *name);
  void (*gpuLaunchKernel)(void *function, intptr_t gx, intptr_t gy,
                          intptr_t gz, intptr_t bx, intptr_t by, intptr_t bz,
                          int32_t sharedBytes, void *stream, void **params,
                          void **extra, size_t paramCount);
  void *(*gpuStreamCreate)(void);
  void (*gpuStreamDestroy)(void *stream);
  void (*gpuStreamSynchronize)(void *stream);
  void *(*gpuMemAlloc)(uint64_t bytes, void *stream,
                       SMQ_ARTIFACT_BOOL hostShared);
  void (*gpuMemFree)(void *ptr, void *stream);
  /* count >= 21: CPU libraries' temporaries (smq_rt_buffer_alloc/free of
   * Runtime.h), kept across calls. */
  void *(*bufferAlloc)(uint64_t bytes);
  void (*bufferFree)(void *ptr);
} SmqArtifactImports;

/* SmqArtifact.device: what the library's code runs on. */
#define SMQ_ARTIFACT_CPU 0
#define SMQ_ARTIFACT_VULKAN 1 /* SPIR-V kernels */
#define SMQ_ARTIFACT_CUDA 2   /* PTX kernels */

typedef struct {
  uint32_t abi;
  /* SMQ_ARTIFACT_CPU, _VULKAN or _CUDA (0 in libraries older than GPU
   * ones, which were all CPU code). */
  uint32_t device;
  const char *producer;
  /* Hash of the weights' names, element types and shapes; the weights
   * file carries the same value. */
  uint64_t weightsKey;
  int32_t numInputs, numWeights, numOutputs, reserved2;
  const SmqArtifactTensor *inputs, *weights, *outputs;
  /* args[i] points to a pointer to the memref descriptor of input i, then
   * weight i, then output i, in that order. */
  void (*entry)(void **args);
  /* A weights file image inside the library (--embed-weights), or null. */
  const unsigned char *embeddedWeights;
  uint64_t embeddedWeightsSize;
  /* GPU libraries only (read only where device is not CPU): loading the
   * kernel modules onto the open device, and unloading them. Static
   * constructors cannot do it: they run at dlopen, before the runtime has
   * opened the device. */
  void (*gpuInit)(void);
  void (*gpuFini)(void);
} SmqArtifact;

typedef const SmqArtifact *(*SmqArtifactEntryFn)(const SmqArtifactImports *);

/* The weights file: a header, a table, then each weight's bytes.
 *   0  char     magic[8] = "SMQWGHT1"
 *   8  uint32   version (2; 1 had another layout of 3-bit codes)
 *  12  uint32   count
 *  16  uint64   weightsKey
 *  24  uint64   dataOffset (a multiple of 4096)
 *  32  uint64   dataSize
 *  40  uint64   checksum of the dataSize bytes at dataOffset
 *  48  uint64   offset[i], size[i] for i < count, relative to dataOffset
 * Weights of 4 KiB or more start on 4 KiB boundaries, smaller ones on 64
 * bytes; the file is exactly dataOffset + dataSize bytes long. */
#define SMQ_WEIGHTS_MAGIC "SMQWGHT1"
#define SMQ_WEIGHTS_VERSION 2
#define SMQ_WEIGHTS_HEADER_BYTES 48

#endif /* SMQ_RUNTIME_ARTIFACT_H */
