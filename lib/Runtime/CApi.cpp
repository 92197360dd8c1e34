//===- CApi.cpp - smq-c/Runtime.h: AOT models from C ----------------------===//
//
// Loads libraries made by smq-compile (dlopen, RTLD_LOCAL), maps and checks
// their weights files, and runs them with memref descriptors built from the
// caller's buffers. Every entry point catches everything: no exception
// crosses the C boundary.
//
//===----------------------------------------------------------------------===//
#include "smq-c/Runtime.h"

#include "smq/Runtime/Artifact.h"
#include "smq/Runtime/GpuRuntime.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Runtime/Status.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <memory>
#include <new>
#include <string>
#include <vector>

struct SmqModel {
  void *library = nullptr;
  const SmqArtifact *artifact = nullptr;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  /// Each weight's bytes, in the mapping or the library, or on the device.
  std::vector<const unsigned char *> weights;
  /// SMQ_ARTIFACT_CPU, _VULKAN or _CUDA, and the device's name.
  uint32_t device = SMQ_ARTIFACT_CPU;
  std::string deviceName = "cpu";
  /// A GPU model's kernels are loaded (its gpuFini is due), and its device
  /// buffers: the weights, copied once, and each input and output, staged
  /// through on every run.
  bool kernelsLoaded = false;
  std::vector<void *> deviceWeights, deviceInputs, deviceOutputs;
};

namespace {

SmqStatus *fail(std::string message) {
  try {
    return new SmqStatus{std::move(message)};
  } catch (...) {
    // Out of memory for the message itself: a static status would have to
    // outlive smqStatusDestroy; abort is the only honest answer left.
    std::abort();
  }
}

SmqStatus *failOutOfMemory() { return fail("out of memory"); }

std::string describe(const SmqArtifactTensor &t) {
  std::string s = "'" + std::string(t.name ? t.name : "?") + "' [";
  for (int32_t d = 0; d < t.rank; ++d)
    s += (d ? "x" : "") + std::to_string(t.shape[d]);
  return s + "]";
}

const SmqArtifactImports &imports() {
  static const SmqArtifactImports table = {
      SMQ_ARTIFACT_ABI,
      21,
      [](void *a, void *b, void *c) {
        _mlir_ciface_smq_rt_matmul_f32(static_cast<SmqMemRef2F32 *>(a),
                                       static_cast<SmqMemRef2F32 *>(b),
                                       static_cast<SmqMemRef2F32 *>(c));
      },
      [](void *a, void *b, void *c) {
        _mlir_ciface_smq_rt_batch_matmul_f32(static_cast<SmqMemRef3F32 *>(a),
                                             static_cast<SmqMemRef3F32 *>(b),
                                             static_cast<SmqMemRef3F32 *>(c));
      },
      [](void *a, void *p, void *bias, void *c) {
        _mlir_ciface_smq_rt_matmul_panels_f32(
            static_cast<SmqMemRef2F32 *>(a), static_cast<SmqMemRef3F32 *>(p),
            static_cast<SmqMemRef1F32 *>(bias),
            static_cast<SmqMemRef2F32 *>(c));
      },
      [](void *a, void *codes, void *scales, void *zeros, void *params,
         void *c) {
        _mlir_ciface_smq_rt_qmatmul_packed_f32(
            static_cast<SmqMemRef2F32 *>(a), static_cast<SmqMemRef2U8 *>(codes),
            static_cast<SmqMemRef2F32 *>(scales),
            static_cast<SmqMemRef2F32 *>(zeros),
            static_cast<SmqMemRef1I64 *>(params),
            static_cast<SmqMemRef2F32 *>(c));
      },
      [](int64_t size, void *src, void *dst) {
        memrefCopy(size, static_cast<SmqUnrankedMemRef *>(src),
                   static_cast<SmqUnrankedMemRef *>(dst));
      },
      [](void *a, void *p, void *bias, void *c) {
        _mlir_ciface_smq_rt_matmul_panels_gelu_f32(
            static_cast<SmqMemRef2F32 *>(a), static_cast<SmqMemRef3F32 *>(p),
            static_cast<SmqMemRef1F32 *>(bias),
            static_cast<SmqMemRef2F32 *>(c));
      },
      smq_rt_parallel_rows,
      smq_rt_index_error,
      [](void *q, void *k, void *v, void *positions, void *params,
         void *window, void *out) {
        _mlir_ciface_smq_rt_attention_f32(
            static_cast<SmqMemRef4F32 *>(q), static_cast<SmqMemRef4F32 *>(k),
            static_cast<SmqMemRef4F32 *>(v),
            static_cast<SmqMemRef2I64 *>(positions),
            static_cast<SmqMemRef1F32 *>(params),
            static_cast<SmqMemRef1I64 *>(window),
            static_cast<SmqMemRef4F32 *>(out));
      },
      [](void *past, void *fresh, void *positions, void *params, void *out) {
        _mlir_ciface_smq_rt_kv_place_f32(
            static_cast<SmqMemRef4F32 *>(past),
            static_cast<SmqMemRef4F32 *>(fresh),
            static_cast<SmqMemRef2I64 *>(positions),
            static_cast<SmqMemRef1I64 *>(params),
            static_cast<SmqMemRef4F32 *>(out));
      },
      mgpuModuleLoad,
      mgpuModuleUnload,
      mgpuModuleGetFunction,
      mgpuLaunchKernel,
      mgpuStreamCreate,
      mgpuStreamDestroy,
      mgpuStreamSynchronize,
      mgpuMemAlloc,
      mgpuMemFree,
      smq_rt_buffer_alloc,
      smq_rt_buffer_free,
  };
  return table;
}

std::mutex &runMutex() {
  static std::mutex m;
  return m;
}

const char *deviceWord(uint32_t device) {
  switch (device) {
  case SMQ_ARTIFACT_CPU: return "cpu";
  case SMQ_ARTIFACT_VULKAN: return "vulkan";
  case SMQ_ARTIFACT_CUDA: return "cuda";
  }
  return "an unknown device";
}

/// A device buffer of `bytes` in `out`, or the device's reason why not.
bool deviceBuffer(uint64_t bytes, void *&out, std::string &why) {
  char text[512];
  out = smq_gpu_alloc_buffer(bytes, text, sizeof text);
  if (!out)
    why = text;
  return out != nullptr;
}

/// How many loaded models share each GPU library (by dlopen handle; under
/// the run lock). dlopen gives a library loaded twice one copy of its
/// globals, where its kernel modules' handles live, so its kernels load
/// with the first model and unload with the last.
std::map<void *, int> &gpuLibraryUsers() {
  static std::map<void *, int> users;
  return users;
}

/// Opens a GPU model's device (`ordinal` as SmqLoadOptions has it), loads
/// its kernels, copies its weights there and makes its staging buffers.
/// Holds the run lock: the device's pending error is process-wide.
SmqStatus *openOnDevice(SmqModel &m, const std::string &library,
                        int ordinal) {
  const SmqArtifact &a = *m.artifact;
  std::lock_guard<std::mutex> lock(runMutex());
  char text[512];
  int kind = a.device == SMQ_ARTIFACT_VULKAN ? SMQ_GPU_VULKAN : SMQ_GPU_CUDA;
  if (smq_gpu_open_device(kind, ordinal - 1, text, sizeof text) != 0)
    return fail(library + ": the model runs on " + deviceWord(a.device) +
                (ordinal > 0 ? " (device number " + std::to_string(ordinal) +
                                   ", counting from 1)"
                             : std::string()) +
                ", which cannot be opened: " + text);
  m.deviceName = smq_gpu_device_name();
  m.kernelsLoaded = true;
  if (gpuLibraryUsers()[m.library]++ == 0)
    a.gpuInit();
  if (smq_gpu_take_error(text, sizeof text))
    return fail(library + ": loading the model's kernels onto " +
                m.deviceName + ": " + text);
  std::string why;
  m.deviceWeights.assign(a.numWeights, nullptr);
  for (int32_t i = 0; i < a.numWeights; ++i) {
    if (!deviceBuffer(a.weights[i].byteSize, m.deviceWeights[i], why))
      return fail(library + ": copying weight " + describe(a.weights[i]) +
                  " to " + m.deviceName + ": " + why);
    std::memcpy(m.deviceWeights[i], m.weights[i], a.weights[i].byteSize);
  }
  m.deviceInputs.assign(a.numInputs, nullptr);
  for (int32_t i = 0; i < a.numInputs; ++i)
    if (!deviceBuffer(a.inputs[i].byteSize, m.deviceInputs[i], why))
      return fail(library + ": a device buffer for input " +
                  describe(a.inputs[i]) + ": " + why);
  m.deviceOutputs.assign(a.numOutputs, nullptr);
  for (int32_t i = 0; i < a.numOutputs; ++i)
    if (!deviceBuffer(a.outputs[i].byteSize, m.deviceOutputs[i], why))
      return fail(library + ": a device buffer for output " +
                  describe(a.outputs[i]) + ": " + why);
  // The device has the weights: the host's copy is not needed any more.
  for (int32_t i = 0; i < a.numWeights; ++i)
    m.weights[i] = static_cast<const unsigned char *>(m.deviceWeights[i]);
  if (m.mapping) {
    munmap(m.mapping, m.mappingSize);
    m.mapping = nullptr;
  }
  return nullptr;
}


uint64_t readU64(const unsigned char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

/// Checks a weights file image against the model and records each
/// weight's address. `where` names the file for messages.
SmqStatus *bindWeights(SmqModel &m, const unsigned char *image, size_t size,
                       const std::string &where) {
  const SmqArtifact &a = *m.artifact;
  if (size < SMQ_WEIGHTS_HEADER_BYTES ||
      std::memcmp(image, SMQ_WEIGHTS_MAGIC, 8) != 0)
    return fail(where + ": not an SMQ weights file");
  uint32_t version, count;
  std::memcpy(&version, image + 8, 4);
  std::memcpy(&count, image + 12, 4);
  if (version != SMQ_WEIGHTS_VERSION)
    return fail(where + ": weights file version " + std::to_string(version) +
                ", this runtime reads version " +
                std::to_string(SMQ_WEIGHTS_VERSION));
  uint64_t key = readU64(image + 16), dataOffset = readU64(image + 24),
           dataSize = readU64(image + 32), checksum = readU64(image + 40);
  if (key != a.weightsKey || count != static_cast<uint32_t>(a.numWeights))
    return fail(where + ": these weights belong to another model (" +
                std::to_string(count) + " weights, key " +
                std::to_string(key) + "; the library expects " +
                std::to_string(a.numWeights) + ", key " +
                std::to_string(a.weightsKey) + ")");
  uint64_t tableEnd = SMQ_WEIGHTS_HEADER_BYTES + 16ull * count;
  if (dataOffset < tableEnd || dataOffset > size ||
      dataSize != size - dataOffset)
    return fail(where + ": truncated or padded weights file (" +
                std::to_string(size) + " bytes; the header says " +
                std::to_string(dataOffset) + " + " + std::to_string(dataSize) +
                ")");
  if (smq_rt_checksum64(image + dataOffset, dataSize) != checksum)
    return fail(where + ": weights file is damaged (checksum mismatch)");
  m.weights.clear();
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t off = readU64(image + SMQ_WEIGHTS_HEADER_BYTES + 16 * i),
             bytes = readU64(image + SMQ_WEIGHTS_HEADER_BYTES + 16 * i + 8);
    const SmqArtifactTensor &w = a.weights[i];
    if (bytes != w.byteSize || off > dataSize || bytes > dataSize - off)
      return fail(where + ": weight " + describe(w) + " has " +
                  std::to_string(bytes) + " bytes at offset " +
                  std::to_string(off) + "; the model needs " +
                  std::to_string(w.byteSize));
    if ((dataOffset + off) % 64 != 0)
      return fail(where + ": weight " + describe(w) + " is misaligned");
    m.weights.push_back(image + dataOffset + off);
  }
  return nullptr;
}

/// Whether `path` is a whole x86-64 ELF shared object: dlopen maps the
/// segments its headers describe, and touching a segment that a truncated
/// file does not back raises SIGBUS instead of returning an error.
bool wholeSharedObject(const char *path, std::string *why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = std::strerror(errno);
    return false;
  }
  struct stat st;
  Elf64_Ehdr eh;
  bool ok = fstat(fd, &st) == 0 &&
            pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh);
  uint64_t size = ok ? static_cast<uint64_t>(st.st_size) : 0;
  if (!ok || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
      eh.e_type != ET_DYN) {
    *why = "not an x86-64 ELF shared library";
    close(fd);
    return false;
  }
  uint64_t phEnd = eh.e_phoff + uint64_t(eh.e_phnum) * eh.e_phentsize;
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || phEnd > size ||
      eh.e_shoff + uint64_t(eh.e_shnum) * eh.e_shentsize > size) {
    *why = "truncated ELF file";
    close(fd);
    return false;
  }
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, eh.e_phoff + i * sizeof ph) !=
            static_cast<ssize_t>(sizeof ph) ||
        ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
      *why = "truncated ELF file (a segment lies past its end)";
      close(fd);
      return false;
    }
  }
  close(fd);
  return true;
}

SmqStatus *load(const char *library, const char *weights,
                const SmqLoadOptions &options, SmqModel **out) {
  const char *prefix = options.prefix;
  if (!out)
    return fail("smqModelLoad: model must not be NULL");
  *out = nullptr;
  if (!library)
    return fail("smqModelLoad: library path must not be NULL");
  std::string name;
  if (prefix) {
    name = prefix;
  } else {
    // libNAME.so -> NAME
    std::string base = library;
    size_t slash = base.rfind('/');
    if (slash != std::string::npos)
      base = base.substr(slash + 1);
    if (base.rfind("lib", 0) == 0)
      base = base.substr(3);
    size_t dot = base.find('.');
    name = base.substr(0, dot);
  }
  // SMQ_CPU_ISA=<level> forces a kernel level, as for the tools.
  char isaError[256];
  if (smq_rt_select_isa_from_env(isaError, sizeof isaError) != 0)
    return fail(isaError);
  std::string symbol = name + "_smq_model_v1";
  std::string why;
  if (!wholeSharedObject(library, &why))
    return fail(std::string(library) + ": cannot load the model library (" +
                why + ")");
  // A bare file name is a file here, not a name for the library search.
  std::string path = library;
  if (path.find('/') == std::string::npos)
    path = "./" + path;
  std::unique_ptr<SmqModel> m(new SmqModel());
  dlerror();
  m->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m->library) {
    const char *why = dlerror();
    return fail(std::string(library) + ": cannot load the model library (" +
                (why ? why : "unknown reason") + ")");
  }
  auto entry = reinterpret_cast<SmqArtifactEntryFn>(
      dlsym(m->library, symbol.c_str()));
  if (!entry) {
    dlclose(m->library);
    return fail(std::string(library) + ": no symbol " + symbol +
                " (not made by smq-compile, or made with another --prefix)");
  }
  m->artifact = entry(&imports());
  const SmqArtifact *a = m->artifact;
  if (!a || a->abi != SMQ_ARTIFACT_ABI) {
    dlclose(m->library);
    return fail(std::string(library) + ": model ABI " +
                std::to_string(a ? a->abi : 0) + ", this runtime reads ABI " +
                std::to_string(SMQ_ARTIFACT_ABI));
  }
  // The artifact lives in the library: read what the messages need before
  // closing it.
  const uint32_t own = a->device;
  std::string wrongDevice;
  bool known = options.device >= SMQ_DEVICE_CPU &&
               options.device <= SMQ_DEVICE_CUDA;
  if (own > SMQ_ARTIFACT_CUDA)
    wrongDevice = "the model is for device " + std::to_string(own) +
                  ", which this runtime does not know";
  // SmqDevice counts from CPU = 1; the artifact's from CPU = 0.
  else if (options.device != SMQ_DEVICE_DEFAULT &&
           static_cast<uint32_t>(options.device) != own + 1)
    wrongDevice =
        std::string("compiled for ") + deviceWord(own) + ", asked to run on " +
        (known ? std::string(deviceWord(options.device - 1)) +
                     " (smq-compile --device " +
                     deviceWord(options.device - 1) + " makes a library for it)"
               : "device " + std::to_string(options.device) +
                     ", which is not an SmqDevice");
  else if (options.deviceOrdinal < 0 ||
           (own == SMQ_ARTIFACT_CPU && options.deviceOrdinal > 1))
    wrongDevice = std::string("no ") + deviceWord(own) + " device number " +
                  std::to_string(options.deviceOrdinal);
  if (!wrongDevice.empty()) {
    dlclose(m->library);
    return fail(std::string(library) + ": " + wrongDevice);
  }
  m->device = a->device;
  SmqStatus *status = nullptr;
  if (a->embeddedWeights) {
    if (weights) {
      dlclose(m->library);
      return fail(std::string(library) +
                  ": the weights are embedded; pass NULL as the weights path");
    }
    status = bindWeights(*m, a->embeddedWeights, a->embeddedWeightsSize,
                         library);
  } else if (!weights) {
    dlclose(m->library);
    return fail(std::string(library) +
                ": the model needs a weights file (smq-compile --weights)");
  } else {
    int fd = open(weights, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
      if (fd >= 0)
        close(fd);
      dlclose(m->library);
      return fail(std::string(weights) + ": cannot open (" +
                  std::strerror(errno) + ")");
    }
    m->mappingSize = static_cast<size_t>(st.st_size);
    if (m->mappingSize > 0)
      m->mapping =
          mmap(nullptr, m->mappingSize, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->mapping == MAP_FAILED || m->mappingSize == 0) {
      m->mapping = nullptr;
      dlclose(m->library);
      return fail(std::string(weights) + ": cannot map (" +
                  (m->mappingSize ? std::strerror(errno) : "empty file") + ")");
    }
    status = bindWeights(*m, static_cast<const unsigned char *>(m->mapping),
                         m->mappingSize, weights);
  }
  if (!status && m->device != SMQ_ARTIFACT_CPU)
    status = openOnDevice(*m, library, options.deviceOrdinal);
  if (status) {
    smqModelDestroy(m.release());
    return status;
  }
  smq_rt_tune_allocator();
  *out = m.release();
  return nullptr;
}

/// A memref descriptor (allocated, aligned, offset, sizes, strides) of a
/// contiguous row-major buffer.
void describeBuffer(std::vector<int64_t> &d, const void *data,
                    const SmqArtifactTensor &t) {
  auto ptr = reinterpret_cast<int64_t>(data);
  d.assign({ptr, ptr, 0});
  d.insert(d.end(), t.shape, t.shape + t.rank);
  std::vector<int64_t> strides(t.rank, 1);
  for (int32_t i = t.rank - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * t.shape[i + 1];
  d.insert(d.end(), strides.begin(), strides.end());
}

SmqStatus *info(const SmqArtifactTensor *tensors, int32_t count, size_t index,
                SmqTensorInfo *out, const char *what) {
  if (!out)
    return fail(std::string(what) + ": info must not be NULL");
  if (index >= static_cast<size_t>(count))
    return fail(std::string(what) + ": index " + std::to_string(index) +
                " out of range (the model has " + std::to_string(count) + ")");
  const SmqArtifactTensor &t = tensors[index];
  out->name = t.name;
  out->type = static_cast<SmqElementType>(t.elementType);
  out->rank = static_cast<size_t>(t.rank);
  out->shape = t.shape;
  return nullptr;
}

} // namespace

extern "C" {

int smqRuntimeApiVersion(void) { return SMQ_RUNTIME_API_VERSION; }

const char *smqRuntimeVersionString(void) { return "smq-runtime 0.1.0"; }

const char *smqStatusMessage(const SmqStatus *status) {
  return status ? status->message.c_str() : "";
}

void smqStatusDestroy(SmqStatus *status) { delete status; }

size_t smqElementSize(SmqElementType type) {
  switch (type) {
  case SMQ_ELEMENT_F32: case SMQ_ELEMENT_I32: case SMQ_ELEMENT_U32:
    return 4;
  case SMQ_ELEMENT_F16: case SMQ_ELEMENT_I16: case SMQ_ELEMENT_U16:
    return 2;
  case SMQ_ELEMENT_F64: case SMQ_ELEMENT_I64: case SMQ_ELEMENT_U64:
    return 8;
  case SMQ_ELEMENT_I8: case SMQ_ELEMENT_U8: case SMQ_ELEMENT_BOOL:
    return 1;
  }
  return 0;
}

SmqStatus *smqModelLoad(const char *library, const char *weights,
                        SmqModel **model) {
  try {
    return load(library, weights, SmqLoadOptions{}, model);
  } catch (const std::bad_alloc &) {
    return failOutOfMemory();
  } catch (...) {
    return fail("smqModelLoad: unexpected error");
  }
}

SmqStatus *smqModelLoadWithPrefix(const char *library, const char *weights,
                                  const char *prefix, SmqModel **model) {
  try {
    if (!prefix)
      return fail("smqModelLoadWithPrefix: prefix must not be NULL");
    SmqLoadOptions options{};
    options.prefix = prefix;
    return load(library, weights, options, model);
  } catch (const std::bad_alloc &) {
    return failOutOfMemory();
  } catch (...) {
    return fail("smqModelLoadWithPrefix: unexpected error");
  }
}

SmqStatus *smqModelLoadWithOptions(const char *library, const char *weights,
                                   const SmqLoadOptions *options,
                                   SmqModel **model) {
  try {
    if (options && options->structSize != 0 &&
        options->structSize < sizeof(SmqLoadOptions))
      return fail("smqModelLoadWithOptions: structSize " +
                  std::to_string(options->structSize) +
                  " is smaller than this API's SmqLoadOptions (" +
                  std::to_string(sizeof(SmqLoadOptions)) + ")");
    return load(library, weights, options ? *options : SmqLoadOptions{},
                model);
  } catch (const std::bad_alloc &) {
    return failOutOfMemory();
  } catch (...) {
    return fail("smqModelLoadWithOptions: unexpected error");
  }
}

SmqDevice smqModelDevice(const SmqModel *model) {
  return model ? static_cast<SmqDevice>(model->device + 1) : SMQ_DEVICE_DEFAULT;
}

const char *smqModelDeviceName(const SmqModel *model) {
  return model ? model->deviceName.c_str() : "";
}

void smqModelDestroy(SmqModel *model) {
  if (!model)
    return;
  if (model->device != SMQ_ARTIFACT_CPU) {
    std::lock_guard<std::mutex> lock(runMutex());
    if (model->kernelsLoaded && --gpuLibraryUsers()[model->library] == 0) {
      gpuLibraryUsers().erase(model->library);
      model->artifact->gpuFini();
    }
    for (auto *buffers :
         {&model->deviceWeights, &model->deviceInputs, &model->deviceOutputs})
      for (void *b : *buffers)
        smq_gpu_free(b);
    // What unloading reported concerns no run.
    smq_gpu_take_error(nullptr, 0);
  }
  // The blocks its runs kept go back to the heap.
  smq_rt_buffer_trim();
  if (model->mapping)
    munmap(model->mapping, model->mappingSize);
  if (model->library)
    dlclose(model->library);
  delete model;
}

size_t smqModelNumInputs(const SmqModel *model) {
  return model ? static_cast<size_t>(model->artifact->numInputs) : 0;
}

size_t smqModelNumOutputs(const SmqModel *model) {
  return model ? static_cast<size_t>(model->artifact->numOutputs) : 0;
}

SmqStatus *smqModelInputInfo(const SmqModel *model, size_t index,
                             SmqTensorInfo *out) {
  if (!model)
    return fail("smqModelInputInfo: model must not be NULL");
  return info(model->artifact->inputs, model->artifact->numInputs, index, out,
              "smqModelInputInfo");
}

SmqStatus *smqModelOutputInfo(const SmqModel *model, size_t index,
                              SmqTensorInfo *out) {
  if (!model)
    return fail("smqModelOutputInfo: model must not be NULL");
  return info(model->artifact->outputs, model->artifact->numOutputs, index,
              out, "smqModelOutputInfo");
}

SmqStatus *smqModelRun(SmqModel *model, const SmqBuffer *inputs,
                       size_t numInputs, SmqBuffer *outputs,
                       size_t numOutputs) {
  try {
    if (!model)
      return fail("smqModelRun: model must not be NULL");
    const SmqArtifact &a = *model->artifact;
    if (numInputs != static_cast<size_t>(a.numInputs) ||
        numOutputs != static_cast<size_t>(a.numOutputs))
      return fail("smqModelRun: the model takes " +
                  std::to_string(a.numInputs) + " inputs and " +
                  std::to_string(a.numOutputs) + " outputs, got " +
                  std::to_string(numInputs) + " and " +
                  std::to_string(numOutputs));
    if ((numInputs && !inputs) || (numOutputs && !outputs))
      return fail("smqModelRun: inputs and outputs must not be NULL");
    // What the caller says a buffer holds must be what the model takes.
    auto mismatch = [](const char *kind, const SmqArtifactTensor &t,
                       const SmqBuffer &b) -> std::string {
      if (b.type != 0 && b.type != t.elementType)
        return std::string(kind) + " " + describe(t) + " has element type " +
               std::to_string(t.elementType) + ", the buffer says " +
               std::to_string(static_cast<int>(b.type));
      if (b.shape) {
        bool same = b.rank == static_cast<size_t>(t.rank);
        for (size_t d = 0; same && d < b.rank; ++d)
          same = b.shape[d] == t.shape[d];
        if (!same) {
          std::string s = "[";
          for (size_t d = 0; d < b.rank; ++d)
            s += (d ? "x" : "") + std::to_string(b.shape[d]);
          return std::string(kind) + " " + describe(t) +
                 " has another shape than the buffer's " + s + "]";
        }
      }
      return std::string();
    };
    for (size_t i = 0; i < numInputs; ++i) {
      const SmqArtifactTensor &t = a.inputs[i];
      if (!inputs[i].data)
        return fail("smqModelRun: input " + describe(t) + " has no data");
      std::string why = mismatch("input", t, inputs[i]);
      if (!why.empty())
        return fail("smqModelRun: " + why);
      if (inputs[i].byteSize < t.byteSize)
        return fail("smqModelRun: input " + describe(t) + " needs " +
                    std::to_string(t.byteSize) + " bytes, got " +
                    std::to_string(inputs[i].byteSize));
    }
    for (size_t i = 0; i < numOutputs; ++i) {
      const SmqArtifactTensor &t = a.outputs[i];
      std::string why = mismatch("output", t, outputs[i]);
      if (!why.empty())
        return fail("smqModelRun: " + why);
      if (outputs[i].data && outputs[i].byteSize < t.byteSize)
        return fail("smqModelRun: output " + describe(t) + " needs " +
                    std::to_string(t.byteSize) + " bytes, got " +
                    std::to_string(outputs[i].byteSize));
      // The compiled code writes results in place as it goes, while it
      // still reads its inputs: an output must not share their bytes.
      if (!outputs[i].data)
        continue;
      auto begin = reinterpret_cast<uintptr_t>(outputs[i].data);
      uintptr_t end = begin + t.byteSize;
      for (size_t j = 0; j < numInputs; ++j) {
        auto in = reinterpret_cast<uintptr_t>(inputs[j].data);
        if (begin < in + a.inputs[j].byteSize && in < end)
          return fail("smqModelRun: output " + describe(t) +
                      " overlaps input " + describe(a.inputs[j]) +
                      "; outputs need buffers of their own");
      }
      for (size_t j = 0; j < i; ++j) {
        auto other = reinterpret_cast<uintptr_t>(outputs[j].data);
        if (other && begin < other + a.outputs[j].byteSize && other < end)
          return fail("smqModelRun: output " + describe(t) +
                      " overlaps output " + describe(a.outputs[j]) +
                      "; outputs need buffers of their own");
      }
    }
    // Everything checked: only now allocate for the caller.
    std::vector<void *> allocated(numOutputs, nullptr);
    for (size_t i = 0; i < numOutputs; ++i) {
      if (outputs[i].data)
        continue;
      size_t bytes = a.outputs[i].byteSize;
      allocated[i] = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
      if (!allocated[i]) {
        for (void *p : allocated)
          std::free(p);
        return failOutOfMemory();
      }
    }
    // A GPU model reads and writes its own device buffers.
    bool gpu = model->device != SMQ_ARTIFACT_CPU;
    std::vector<std::vector<int64_t>> descs(numInputs + a.numWeights +
                                            numOutputs);
    size_t k = 0;
    for (size_t i = 0; i < numInputs; ++i)
      describeBuffer(descs[k++], gpu ? model->deviceInputs[i] : inputs[i].data,
                     a.inputs[i]);
    for (int32_t i = 0; i < a.numWeights; ++i)
      describeBuffer(descs[k++], model->weights[i], a.weights[i]);
    for (size_t i = 0; i < numOutputs; ++i)
      describeBuffer(descs[k++],
                     gpu                ? model->deviceOutputs[i]
                     : outputs[i].data ? outputs[i].data
                                       : allocated[i],
                     a.outputs[i]);
    std::vector<void *> pointers(descs.size()), args(descs.size());
    for (size_t i = 0; i < descs.size(); ++i) {
      pointers[i] = descs[i].data();
      args[i] = &pointers[i];
    }
    int64_t site, badIndex, dim;
    bool badInput, gpuFailed = false;
    char gpuError[512];
    {
      std::lock_guard<std::mutex> lock(runMutex());
      for (size_t i = 0; gpu && i < numInputs; ++i)
        std::memcpy(model->deviceInputs[i], inputs[i].data,
                    a.inputs[i].byteSize);
      smq_rt_take_index_error(&site, &badIndex, &dim);
      a.entry(args.data());
      badInput = smq_rt_take_index_error(&site, &badIndex, &dim);
      if (gpu)
        gpuFailed = smq_gpu_take_error(gpuError, sizeof gpuError);
      // Only a run that went through gives the caller its outputs.
      for (size_t i = 0; gpu && !badInput && !gpuFailed && i < numOutputs;
           ++i)
        std::memcpy(outputs[i].data ? outputs[i].data : allocated[i],
                    model->deviceOutputs[i], a.outputs[i].byteSize);
    }
    if (gpuFailed) {
      for (void *p : allocated)
        std::free(p);
      return fail("smqModelRun: on " + model->deviceName + ": " + gpuError +
                  "; the outputs are not valid");
    }
    if (badInput) {
      for (void *p : allocated)
        std::free(p);
      return fail("smqModelRun: index " + std::to_string(badIndex) +
                  " is out of range for a dim of " + std::to_string(dim) +
                  " (index check " + std::to_string(site) +
                  " of the model: a Gather or ScatterND); the outputs are "
                  "not valid");
    }
    for (size_t i = 0; i < numOutputs; ++i)
      if (allocated[i]) {
        outputs[i].data = allocated[i];
        outputs[i].byteSize = a.outputs[i].byteSize;
        outputs[i].type = static_cast<SmqElementType>(a.outputs[i].elementType);
        outputs[i].rank = static_cast<size_t>(a.outputs[i].rank);
        outputs[i].shape = a.outputs[i].shape;
      }
    return nullptr;
  } catch (const std::bad_alloc &) {
    return failOutOfMemory();
  } catch (...) {
    return fail("smqModelRun: unexpected error");
  }
}

void smqFree(void *data) { std::free(data); }

void smqSetNumThreads(int threads) { smq_rt_set_num_threads(threads); }

int smqGetNumThreads(void) { return smq_rt_get_num_threads(); }

} // extern "C"
