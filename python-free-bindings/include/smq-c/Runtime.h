/*===- smq-c/Runtime.h - run SMQ's ahead-of-time models from C ---*- C -*-===*
 *
 * The C99 API of libsmq_runtime: load a model that `smq-compile` made (a
 * shared library plus, unless embedded, a weights file), ask for its
 * signature, and run it on caller-owned or runtime-allocated buffers. No
 * LLVM, MLIR or C++ exceptions cross this boundary. docs/CAPI.md has a
 * complete example.
 *
 * Conventions (those of MLIR's C API): opaque handles made by a create or
 * load call and released by the matching destroy call; functions that can
 * fail return an SmqStatus*, NULL on success, which the caller destroys;
 * strings are NUL-terminated UTF-8 owned by the object they came from.
 *
 * Thread safety: loading, destroying and querying different models may
 * happen on any threads at once. smqModelRun may be called from any thread;
 * runs are serialised process-wide (the kernels share one thread pool, whose
 * size smqSetNumThreads sets). Using a model during or after its
 * smqModelDestroy, or a status after smqStatusDestroy, is undefined.
 *
 *===---------------------------------------------------------------------===*/
#ifndef SMQ_C_RUNTIME_H
#define SMQ_C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The API version this header describes; smqRuntimeApiVersion() is the
 * library's. A library runs models and callers of its own major version. */
#define SMQ_RUNTIME_API_VERSION 1
int smqRuntimeApiVersion(void);
/* "smq-runtime <version>", static storage. */
const char *smqRuntimeVersionString(void);

/*--- Status -------------------------------------------------------------*/

typedef struct SmqStatus SmqStatus;
/* The message of a failed call ("" for NULL, which means success). */
const char *smqStatusMessage(const SmqStatus *status);
void smqStatusDestroy(SmqStatus *status);

/*--- Tensors ------------------------------------------------------------*/

typedef enum {
  SMQ_ELEMENT_F32 = 1,
  SMQ_ELEMENT_F16 = 2,
  SMQ_ELEMENT_F64 = 3,
  SMQ_ELEMENT_I8 = 4,
  SMQ_ELEMENT_U8 = 5,
  SMQ_ELEMENT_I16 = 6,
  SMQ_ELEMENT_U16 = 7,
  SMQ_ELEMENT_I32 = 8,
  SMQ_ELEMENT_U32 = 9,
  SMQ_ELEMENT_I64 = 10,
  SMQ_ELEMENT_U64 = 11,
  SMQ_ELEMENT_BOOL = 12 /* one byte per element */
} SmqElementType;

/* Bytes per element; 0 for an unknown type. */
size_t smqElementSize(SmqElementType type);

/* What a model takes or gives: dims are >= 0 (version 1 models have static
 * shapes; -1 is reserved for dynamic ones). Strings and arrays belong to
 * the model. */
typedef struct {
  const char *name;
  SmqElementType type;
  size_t rank;
  const int64_t *shape;
} SmqTensorInfo;

/* A buffer passed to smqModelRun: row-major and contiguous. type, rank and
 * shape describe what the caller believes it holds; when given (type
 * nonzero, shape non-NULL) they are checked against the model's and a
 * mismatch is an error naming the tensor. Zero-initialise what you do not
 * set: SmqBuffer b = {0}; */
typedef struct {
  void *data;
  size_t byteSize;
  SmqElementType type; /* 0: not checked */
  size_t rank;
  const int64_t *shape; /* NULL: not checked */
} SmqBuffer;

/*--- Models -------------------------------------------------------------*/

typedef struct SmqModel SmqModel;

/* Loads the model in `library` (made by smq-compile) with its weights from
 * `weights` (NULL if they are embedded in the library). The library's entry
 * symbol is <prefix>_smq_model_v1, where prefix is NAME of libNAME.so (what
 * smq-compile uses unless given --prefix). The weights file is memory
 * mapped and checked (format, version, size, checksum, and that it belongs
 * to this model) before anything runs. */
SmqStatus *smqModelLoad(const char *library, const char *weights,
                        SmqModel **model);
/* The same with an explicit prefix. */
SmqStatus *smqModelLoadWithPrefix(const char *library, const char *weights,
                                  const char *prefix, SmqModel **model);
/* Where a model's code runs. A library is compiled for one device
 * (smq-compile --device cpu|vulkan|cuda): its kernels are x86-64 code,
 * SPIR-V or PTX. */
typedef enum {
  SMQ_DEVICE_DEFAULT = 0, /* in SmqLoadOptions: the library's own */
  SMQ_DEVICE_CPU = 1,
  SMQ_DEVICE_VULKAN = 2, /* any Vulkan 1.2 compute device */
  SMQ_DEVICE_CUDA = 3    /* an NVIDIA GPU through the driver, libcuda.so.1 */
} SmqDevice;

/* Options of smqModelLoadWithOptions. Zero-initialise what you do not
 * set: SmqLoadOptions o = {0}; */
typedef struct {
  /* 0, or sizeof(SmqLoadOptions) as the caller's header has it: later
   * versions add fields after these and read them only when this says the
   * caller has them. */
  size_t structSize;
  /* The entry symbol's prefix; NULL: NAME of libNAME.so. */
  const char *prefix;
  /* The device the caller means to run on: DEFAULT, or the library's own
   * (anything else is an error naming both). */
  SmqDevice device;
  /* Which device of that kind: 0 for the default one (for Vulkan,
   * SMQ_VULKAN_DEVICE=N where set, else the first), n > 0 for the n-th,
   * counting from 1. A process uses one GPU device: loading a model for
   * another one than is open already is an error. */
  int deviceOrdinal;
} SmqLoadOptions;

/* smqModelLoad with options (NULL: all defaults). A GPU library opens its
 * device here (the runtime loads libvulkan.so.1 or libcuda.so.1 then;
 * neither is needed by CPU models), loads its kernels, and copies its
 * weights to the device once; a missing driver or device, or a device out
 * of memory, is an error and no model is made. Runs then stage inputs and
 * outputs through device buffers that live as long as the model. */
SmqStatus *smqModelLoadWithOptions(const char *library, const char *weights,
                                   const SmqLoadOptions *options,
                                   SmqModel **model);
/* The device the model runs on (never DEFAULT for a loaded model), and its
 * name: "cpu", or the GPU's as its driver gives it. */
SmqDevice smqModelDevice(const SmqModel *model);
const char *smqModelDeviceName(const SmqModel *model);

/* Releases the model, its mapping and its library. NULL is ignored. */
void smqModelDestroy(SmqModel *model);

size_t smqModelNumInputs(const SmqModel *model);
size_t smqModelNumOutputs(const SmqModel *model);
/* Fills *info for input/output `index`. */
SmqStatus *smqModelInputInfo(const SmqModel *model, size_t index,
                             SmqTensorInfo *info);
SmqStatus *smqModelOutputInfo(const SmqModel *model, size_t index,
                              SmqTensorInfo *info);

/* Runs the model. inputs[i] holds input i (byteSize at least its size);
 * they are only read (borrowed for the call). For each output i:
 *  - outputs[i].data != NULL: the caller's buffer (byteSize at least the
 *    output's size), written in place, possibly while inputs are still
 *    read: it must overlap no input and no other output (an error);
 *  - outputs[i].data == NULL: the runtime allocates it and sets data and
 *    byteSize; the caller owns it and releases it with smqFree.
 * On failure nothing is allocated for the caller and no output is partly
 * written by a model that did not run. */
SmqStatus *smqModelRun(SmqModel *model, const SmqBuffer *inputs,
                       size_t numInputs, SmqBuffer *outputs,
                       size_t numOutputs);
/* Releases a buffer smqModelRun allocated. NULL is ignored. */
void smqFree(void *data);

/* Threads the kernels use, for every model in the process (default 1).
 * Results are bit-identical for any thread count. */
void smqSetNumThreads(int threads);
int smqGetNumThreads(void);

#ifdef __cplusplus
}
#endif

#endif /* SMQ_C_RUNTIME_H */
