//===- Vulkan.cpp - the Vulkan compute backend ----------------------------===//
//
// libvulkan.so.1 is opened at run time and every entry point is looked up
// through vkGetInstanceProcAddr / vkGetDeviceProcAddr, so SMQ builds with
// the Vulkan headers only. Buffers live in host-visible, coherent memory
// (device-local too where the device has such a type), mapped for the
// host. A kernel's buffers are bound as storage buffers 0..N-1 of
// descriptor set 0, as MLIR's SPIR-V lowering numbers them; each launch is
// recorded, submitted and waited for.
//
//===----------------------------------------------------------------------===//

#include "Backend.h"

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace smq::gpu {
namespace {

std::string vkError(const std::string &what, VkResult r) {
  return what + " failed (VkResult " + std::to_string(r) + ")";
}

struct Kernel {
  VkShaderModule module = VK_NULL_HANDLE;
  std::string entry;
  size_t bindings = 0;
  VkDescriptorSetLayout setLayout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
};

struct Module {
  VkShaderModule shader = VK_NULL_HANDLE;
  /// By entry name: the host code asks for a kernel before every launch,
  /// and each is built (pipeline, descriptor set) once.
  std::map<std::string, std::unique_ptr<Kernel>> kernels;
};

struct Allocation {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t size = 0;
};

class Vulkan final : public Backend {
public:
  ~Vulkan() override;
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
  bool buildPipeline(Kernel &k, size_t bindings);

  void *library = nullptr;
  std::string deviceName;
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice dev = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queueFamily = 0;
  uint32_t memoryType = 0;
  VkPhysicalDeviceLimits limits{};
  VkCommandPool commandPool = VK_NULL_HANDLE;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  std::mutex mutex;
  std::map<uintptr_t, Allocation> allocations; // by mapped address

#define SMQ_VK_FUNCTIONS(X)                                                    \
  X(vkDestroyInstance) X(vkEnumeratePhysicalDevices)                           \
  X(vkGetPhysicalDeviceProperties) X(vkGetPhysicalDeviceFeatures2)             \
  X(vkGetPhysicalDeviceQueueFamilyProperties)                                  \
  X(vkGetPhysicalDeviceMemoryProperties) X(vkCreateDevice)                     \
  X(vkGetDeviceProcAddr)
#define SMQ_VK_DEVICE_FUNCTIONS(X)                                             \
  X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkDeviceWaitIdle) X(vkCreateBuffer) \
  X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements) X(vkAllocateMemory)      \
  X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory)                         \
  X(vkCreateShaderModule) X(vkDestroyShaderModule)                             \
  X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout)               \
  X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout)                         \
  X(vkCreateComputePipelines) X(vkDestroyPipeline)                             \
  X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool)                         \
  X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)                        \
  X(vkCreateCommandPool) X(vkDestroyCommandPool)                               \
  X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer) X(vkEndCommandBuffer)    \
  X(vkResetCommandBuffer) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets)      \
  X(vkCmdDispatch) X(vkCmdPipelineBarrier) X(vkQueueSubmit) X(vkCreateFence)   \
  X(vkDestroyFence) X(vkWaitForFences) X(vkResetFences)
#define SMQ_VK_DECLARE(f) PFN_##f f = nullptr;
  SMQ_VK_FUNCTIONS(SMQ_VK_DECLARE)
  SMQ_VK_DEVICE_FUNCTIONS(SMQ_VK_DECLARE)
#undef SMQ_VK_DECLARE
};

bool Vulkan::open(int wanted, std::string &why) {
  library = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    why = "no Vulkan loader (libvulkan.so.1 could not be opened: " +
          std::string(dlerror()) +
          "); install a Vulkan driver, e.g. Debian's mesa-vulkan-drivers";
    return false;
  }
  auto getInstanceProc = reinterpret_cast<PFN_vkGetInstanceProcAddr>(
      dlsym(library, "vkGetInstanceProcAddr"));
  if (!getInstanceProc) {
    why = "libvulkan.so.1 has no vkGetInstanceProcAddr";
    return false;
  }
  auto createInstance = reinterpret_cast<PFN_vkCreateInstance>(
      getInstanceProc(VK_NULL_HANDLE, "vkCreateInstance"));
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "smq";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ici{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ici.pApplicationInfo = &app;
  if (!createInstance) {
    why = "libvulkan.so.1 has no vkCreateInstance";
    return false;
  }
  if (VkResult r = createInstance(&ici, nullptr, &instance); r != VK_SUCCESS) {
    why = vkError("vkCreateInstance", r) + ": no usable Vulkan driver";
    return false;
  }
#define SMQ_VK_LOAD(f)                                                         \
  f = reinterpret_cast<PFN_##f>(getInstanceProc(instance, #f));                \
  if (!f) {                                                                    \
    why = "the Vulkan loader has no " #f;                                      \
    return false;                                                              \
  }
  SMQ_VK_FUNCTIONS(SMQ_VK_LOAD)
#undef SMQ_VK_LOAD

  uint32_t count = 0;
  vkEnumeratePhysicalDevices(instance, &count, nullptr);
  if (count == 0) {
    why = "no Vulkan device (install a driver, e.g. Debian's "
          "mesa-vulkan-drivers for the lavapipe CPU device)";
    return false;
  }
  std::vector<VkPhysicalDevice> devices(count);
  vkEnumeratePhysicalDevices(instance, &count, devices.data());
  uint32_t index = 0;
  if (wanted >= 0) {
    if (wanted >= int64_t(count)) {
      why = "no Vulkan device " + std::to_string(wanted) +
            " (the indices are 0 to " + std::to_string(count - 1) + ")";
      return false;
    }
    index = uint32_t(wanted);
  } else if (const char *pick = std::getenv("SMQ_VULKAN_DEVICE")) {
    char *end = nullptr;
    long v = std::strtol(pick, &end, 10);
    if (!*pick || *end || v < 0 || v >= long(count)) {
      why = "SMQ_VULKAN_DEVICE=" + std::string(pick) + " is not a device "
            "index (0 to " + std::to_string(count - 1) + ")";
      return false;
    }
    index = uint32_t(v);
  }
  physical = devices[index];
  ordinal = int(index);
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(physical, &props);
  deviceName = props.deviceName;
  limits = props.limits;

  // What the SPIR-V the pipeline emits declares: Int64, Int16, Int8 and
  // 8-bit storage buffer access.
  VkPhysicalDeviceVulkan12Features v12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features v11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  v11.pNext = &v12;
  VkPhysicalDeviceFeatures2 features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &v11;
  vkGetPhysicalDeviceFeatures2(physical, &features);
  std::string missing;
  if (!features.features.shaderInt64)
    missing += " shaderInt64";
  if (!features.features.shaderInt16)
    missing += " shaderInt16";
  if (!v12.shaderInt8)
    missing += " shaderInt8";
  if (!v12.storageBuffer8BitAccess)
    missing += " storageBuffer8BitAccess";
  if (!missing.empty()) {
    why = "Vulkan device '" + deviceName + "' lacks" + missing;
    return false;
  }
  VkPhysicalDeviceVulkan12Features enable12{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  enable12.shaderInt8 = VK_TRUE;
  enable12.storageBuffer8BitAccess = VK_TRUE;
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  enable.pNext = &enable12;
  enable.features.shaderInt64 = VK_TRUE;
  enable.features.shaderInt16 = VK_TRUE;
  // Optional: kernels of models with float64, float16 or 16-bit tensors.
  enable.features.shaderFloat64 = features.features.shaderFloat64;
  enable12.shaderFloat16 = v12.shaderFloat16;
  VkPhysicalDeviceVulkan11Features enable11{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  enable11.storageBuffer16BitAccess = v11.storageBuffer16BitAccess;
  enable12.pNext = &enable11;

  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, nullptr);
  std::vector<VkQueueFamilyProperties> fams(families);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, fams.data());
  bool found = false;
  for (uint32_t i = 0; i < families && !found; ++i)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      queueFamily = i;
      found = true;
    }
  if (!found) {
    why = "Vulkan device '" + deviceName + "' has no compute queue";
    return false;
  }
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical, &mem);
  const VkMemoryPropertyFlags shared = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int best = -1;
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
    if ((f & shared) != shared)
      continue;
    if (best < 0 || (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
      best = int(i);
    if (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)
      break;
  }
  if (best < 0) {
    why = "Vulkan device '" + deviceName +
          "' has no host-visible, coherent memory";
    return false;
  }
  memoryType = uint32_t(best);

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = queueFamily;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &enable;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  if (VkResult r = vkCreateDevice(physical, &dci, nullptr, &dev);
      r != VK_SUCCESS) {
    why = vkError("vkCreateDevice", r) + " on '" + deviceName + "'";
    return false;
  }
#define SMQ_VK_LOAD(f)                                                         \
  f = reinterpret_cast<PFN_##f>(vkGetDeviceProcAddr(dev, #f));                 \
  if (!f) {                                                                    \
    why = "the Vulkan device has no " #f;                                      \
    return false;                                                              \
  }
  SMQ_VK_DEVICE_FUNCTIONS(SMQ_VK_LOAD)
#undef SMQ_VK_LOAD
  vkGetDeviceQueue(dev, queueFamily, 0, &queue);
  VkCommandPoolCreateInfo cpci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  cpci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  cpci.queueFamilyIndex = queueFamily;
  VkCommandBufferAllocateInfo cbai{
      VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  cbai.commandBufferCount = 1;
  cbai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if (vkCreateCommandPool(dev, &cpci, nullptr, &commandPool) != VK_SUCCESS ||
      (cbai.commandPool = commandPool,
       vkAllocateCommandBuffers(dev, &cbai, &commands) != VK_SUCCESS) ||
      vkCreateFence(dev, &fci, nullptr, &fence) != VK_SUCCESS) {
    why = "could not create a command buffer on '" + deviceName + "'";
    return false;
  }
  return true;
}

Vulkan::~Vulkan() {
  if (dev) {
    vkDeviceWaitIdle(dev);
    for (auto &[addr, a] : allocations) {
      vkDestroyBuffer(dev, a.buffer, nullptr);
      vkFreeMemory(dev, a.memory, nullptr);
    }
    if (fence)
      vkDestroyFence(dev, fence, nullptr);
    if (commandPool)
      vkDestroyCommandPool(dev, commandPool, nullptr);
    vkDestroyDevice(dev, nullptr);
  }
  if (instance && vkDestroyInstance)
    vkDestroyInstance(instance, nullptr);
  // The loader stays: drivers may have registered exit handlers.
}

void *Vulkan::alloc(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  Allocation a;
  // Storage buffers cannot be empty; sizes round up to 16 bytes.
  a.size = bytes;
  uint64_t size = std::max<uint64_t>(16, (bytes + 15) & ~uint64_t(15));
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
              VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (VkResult r = vkCreateBuffer(dev, &bci, nullptr, &a.buffer);
      r != VK_SUCCESS) {
    fail(vkError("vkCreateBuffer of " + std::to_string(bytes) + " bytes", r));
    return nullptr;
  }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev, a.buffer, &req);
  if (!(req.memoryTypeBits & (1u << memoryType))) {
    vkDestroyBuffer(dev, a.buffer, nullptr);
    fail("Vulkan buffers cannot live in host-visible memory on '" +
         deviceName + "'");
    return nullptr;
  }
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = memoryType;
  void *mapped = nullptr;
  VkResult r = vkAllocateMemory(dev, &mai, nullptr, &a.memory);
  if (r == VK_SUCCESS)
    r = vkBindBufferMemory(dev, a.buffer, a.memory, 0);
  if (r == VK_SUCCESS)
    r = vkMapMemory(dev, a.memory, 0, VK_WHOLE_SIZE, 0, &mapped);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(dev, a.buffer, nullptr);
    if (a.memory)
      vkFreeMemory(dev, a.memory, nullptr);
    fail(std::string(r == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
                             r == VK_ERROR_OUT_OF_HOST_MEMORY
                         ? "out of device memory: "
                         : "") +
         vkError("allocating " + std::to_string(bytes) + " bytes", r) +
         " on '" + deviceName + "'");
    return nullptr;
  }
  allocations[reinterpret_cast<uintptr_t>(mapped)] = a;
  return mapped;
}

void Vulkan::free(void *ptr) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == allocations.end()) {
    fail("freeing a pointer that is not a Vulkan buffer of this runtime");
    return;
  }
  vkDestroyBuffer(dev, it->second.buffer, nullptr);
  vkFreeMemory(dev, it->second.memory, nullptr);
  allocations.erase(it);
}

void *Vulkan::loadModule(const void *data, size_t size) {
  if (size == 0 || size % 4 != 0) {
    fail("a Vulkan kernel module must be SPIR-V (a multiple of 4 bytes), "
         "got " + std::to_string(size) + " bytes; was the model compiled "
         "for target=nvvm?");
    return nullptr;
  }
  auto m = std::make_unique<Module>();
  VkShaderModuleCreateInfo smci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smci.codeSize = size;
  smci.pCode = static_cast<const uint32_t *>(data);
  if (VkResult r = vkCreateShaderModule(dev, &smci, nullptr, &m->shader);
      r != VK_SUCCESS) {
    fail(vkError("vkCreateShaderModule", r));
    return nullptr;
  }
  return m.release();
}

void Vulkan::unloadModule(void *handle) {
  std::unique_ptr<Module> m(static_cast<Module *>(handle));
  for (auto &[name, k] : m->kernels) {
    if (k->pipeline)
      vkDestroyPipeline(dev, k->pipeline, nullptr);
    if (k->layout)
      vkDestroyPipelineLayout(dev, k->layout, nullptr);
    if (k->setLayout)
      vkDestroyDescriptorSetLayout(dev, k->setLayout, nullptr);
    if (k->pool)
      vkDestroyDescriptorPool(dev, k->pool, nullptr);
  }
  vkDestroyShaderModule(dev, m->shader, nullptr);
}

void *Vulkan::function(void *handle, const char *name) {
  auto *m = static_cast<Module *>(handle);
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Kernel> &k = m->kernels[name];
  if (!k) {
    k = std::make_unique<Kernel>();
    k->module = m->shader;
    k->entry = name;
  }
  return k.get();
}

/// The pipeline, descriptor layout and set of a kernel with `n` storage
/// buffers, made at its first launch (the count comes with the launch).
bool Vulkan::buildPipeline(Kernel &k, size_t n) {
  std::vector<VkDescriptorSetLayoutBinding> bindings(n);
  for (size_t i = 0; i < n; ++i) {
    bindings[i] = {};
    bindings[i].binding = uint32_t(i);
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dslci{
      VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dslci.bindingCount = uint32_t(n);
  dslci.pBindings = bindings.data();
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &k.setLayout;
  VkComputePipelineCreateInfo cpci{
      VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpci.stage.module = k.module;
  cpci.stage.pName = k.entry.c_str();
  VkDescriptorPoolSize poolSize{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                uint32_t(std::max<size_t>(n, 1))};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpci.maxSets = 1;
  dpci.poolSizeCount = 1;
  dpci.pPoolSizes = &poolSize;
  VkResult r = vkCreateDescriptorSetLayout(dev, &dslci, nullptr, &k.setLayout);
  if (r == VK_SUCCESS)
    r = vkCreatePipelineLayout(dev, &plci, nullptr, &k.layout);
  if (r == VK_SUCCESS) {
    cpci.layout = k.layout;
    r = vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, nullptr,
                                 &k.pipeline);
  }
  if (r == VK_SUCCESS)
    r = vkCreateDescriptorPool(dev, &dpci, nullptr, &k.pool);
  if (r == VK_SUCCESS) {
    VkDescriptorSetAllocateInfo dsai{
        VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    dsai.descriptorPool = k.pool;
    dsai.descriptorSetCount = 1;
    dsai.pSetLayouts = &k.setLayout;
    r = vkAllocateDescriptorSets(dev, &dsai, &k.set);
  }
  if (r != VK_SUCCESS) {
    fail(vkError("creating the pipeline of kernel '" + k.entry + "'",
                 r));
    return false;
  }
  k.bindings = n;
  return true;
}

void Vulkan::launch(void *function, const int64_t grid[3],
                    const int64_t block[3], int32_t sharedBytes,
                    void **params, size_t paramCount) {
  std::lock_guard<std::mutex> lock(mutex);
  auto &k = *static_cast<Kernel *>(function);
  if (paramCount % 2 != 0) {
    fail("kernel '" + k.entry + "': Vulkan launches take (buffer, size) "
         "pairs; compile for target=spirv");
    return;
  }
  for (int d = 0; d < 3; ++d)
    if (grid[d] < 1 || grid[d] > int64_t(limits.maxComputeWorkGroupCount[d])) {
      fail("kernel '" + k.entry + "': " + std::to_string(grid[d]) +
           " workgroups along dim " + std::to_string(d) + " (the device's "
           "limit is " + std::to_string(limits.maxComputeWorkGroupCount[d]) +
           ")");
      return;
    }
  (void)block;
  (void)sharedBytes;
  size_t n = paramCount / 2;
  if (!k.pipeline && !buildPipeline(k, n))
    return;
  if (k.bindings != n) {
    fail("kernel '" + k.entry + "' launched with " + std::to_string(n) +
         " buffers, first with " + std::to_string(k.bindings));
    return;
  }
  std::vector<VkDescriptorBufferInfo> infos(n);
  std::vector<VkWriteDescriptorSet> writes(n);
  for (size_t i = 0; i < n; ++i) {
    auto ptr = reinterpret_cast<uintptr_t>(*static_cast<void **>(params[2 * i]));
    auto size = *static_cast<int64_t *>(params[2 * i + 1]);
    // The allocation holding [ptr, ptr + size).
    auto it = allocations.upper_bound(ptr);
    if (it == allocations.begin() ||
        (--it, ptr + uint64_t(size) > it->first + it->second.size)) {
      fail("kernel '" + k.entry + "': argument " + std::to_string(i) +
           " is not (inside) a buffer of this runtime");
      return;
    }
    uint64_t offset = ptr - it->first;
    if (offset % limits.minStorageBufferOffsetAlignment != 0) {
      fail("kernel '" + k.entry + "': argument " + std::to_string(i) +
           " starts " + std::to_string(offset) + " bytes into its buffer, "
           "not a multiple of the device's storage buffer alignment");
      return;
    }
    infos[i] = {it->second.buffer, offset,
                size > 0 ? VkDeviceSize(size) : VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = k.set;
    writes[i].dstBinding = uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(dev, uint32_t(n), writes.data(), 0, nullptr);
  vkResetCommandBuffer(commands, 0);
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkBeginCommandBuffer(commands, &begin);
  vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline);
  vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout,
                          0, 1, &k.set, 0, nullptr);
  vkCmdDispatch(commands, uint32_t(grid[0]), uint32_t(grid[1]),
                uint32_t(grid[2]));
  // The host code reads what the kernel wrote as soon as this returns.
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr,
                       0, nullptr);
  vkEndCommandBuffer(commands);
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  VkResult r = vkQueueSubmit(queue, 1, &submit, fence);
  if (r == VK_SUCCESS)
    r = vkWaitForFences(dev, 1, &fence, VK_TRUE, UINT64_MAX);
  vkResetFences(dev, 1, &fence);
  if (r != VK_SUCCESS)
    fail(vkError("running kernel '" + k.entry + "'", r));
}

} // namespace

std::unique_ptr<Backend> openVulkan(int index, std::string &why) {
  auto v = std::make_unique<Vulkan>();
  if (!v->open(index, why))
    return nullptr;
  return v;
}

} // namespace smq::gpu
