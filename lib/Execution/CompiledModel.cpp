//===- CompiledModel.cpp - JIT compilation and calls ----------------------===//
//
// The entry function's C interface takes one memref descriptor pointer per
// argument: graph inputs, then weights (smq-externalize-weights appends
// them), then outputs (buffer-results-to-out-params appends them). A
// descriptor of rank R is {allocated, aligned, offset, sizes[R],
// strides[R]}, all 8-byte fields, so it is built here as an int64 array.
//
//===----------------------------------------------------------------------===//

#include "smq/Execution/CompiledModel.h"
#include "smq/Execution/MemoryEstimate.h"

#include "smq/Conversion/Passes.h"
#include "smq/Runtime/GpuRuntime.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "smq/Execution/ObjectCache.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Signals.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <cstring>
#include <cmath>
#include <unistd.h>

using namespace mlir;
using namespace mlir::smq;

std::optional<::smq::DType> mlir::smq::dtypeOf(Type t) {
  using ::smq::DType;
  if (t.isF16())
    return DType::F16;
  if (t.isF32())
    return DType::F32;
  if (t.isF64())
    return DType::F64;
  if (auto it = dyn_cast<IntegerType>(t)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 1: return DType::Bool;
    case 8: return u ? DType::U8 : DType::I8;
    case 16: return u ? DType::U16 : DType::I16;
    case 32: return u ? DType::U32 : DType::I32;
    case 64: return u ? DType::U64 : DType::I64;
    }
  }
  return std::nullopt;
}

namespace {

/// Appends a memref descriptor for a contiguous row-major buffer to `flat`
/// and returns where it starts.
size_t appendDescriptor(std::vector<int64_t> &flat, const void *data,
                        ArrayRef<int64_t> shape) {
  size_t at = flat.size();
  auto ptr = reinterpret_cast<int64_t>(data);
  flat.push_back(ptr);
  flat.push_back(ptr);
  flat.push_back(0);
  flat.insert(flat.end(), shape.begin(), shape.end());
  size_t strides = flat.size();
  flat.resize(strides + shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    flat[strides + i] = stride;
    stride *= shape[i];
  }
  return at;
}

/// Makes `buffers[i]` a device buffer of `bytes` unless it is one already
/// (a model's sizes are fixed, so the first call's allocation serves every
/// later one); else false with the runtime's reason in `reason`.
bool stage(std::vector<void *> &buffers, size_t i, size_t bytes,
           std::string &reason) {
  if (buffers.size() <= i)
    buffers.resize(i + 1, nullptr);
  char text[512];
  if (!buffers[i] &&
      !(buffers[i] = smq_gpu_alloc_buffer(bytes, text, sizeof text))) {
    reason = text;
    return false;
  }
  return true;
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

FailureOr<TensorSpec> specOf(func::FuncOp func, Type type, StringRef name) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !t.hasStaticShape()) {
    (void)(func.emitError() << "'" << name
                            << "' has a dynamic shape; compile with static "
                               "input shapes (--input-shape)");
    return failure();
  }
  auto dtype = dtypeOf(t.getElementType());
  if (!dtype) {
    (void)(func.emitError() << "'" << name << "' has unsupported element type "
                            << t.getElementType());
    return failure();
  }
  return TensorSpec{name.str(), std::vector<int64_t>(t.getShape()), *dtype};
}

/// The runtime functions compiled code calls, by the names it calls them.
llvm::orc::SymbolMap runtimeSymbols(llvm::orc::MangleAndInterner interner) {
  llvm::orc::SymbolMap map;
  auto add = [&](const char *name, void *fn) {
    map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                           llvm::JITSymbolFlags::Exported};
  };
  add("_mlir_ciface_smq_rt_matmul_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_matmul_f32));
  add("_mlir_ciface_smq_rt_batch_matmul_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_batch_matmul_f32));
  add("_mlir_ciface_smq_rt_matmul_panels_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_matmul_panels_f32));
  add("_mlir_ciface_smq_rt_matmul_panels_gelu_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_matmul_panels_gelu_f32));
  add("_mlir_ciface_smq_rt_qmatmul_packed_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_qmatmul_packed_f32));
  add("_mlir_ciface_smq_rt_attention_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_attention_f32));
  add("_mlir_ciface_smq_rt_kv_place_f32",
      reinterpret_cast<void *>(&_mlir_ciface_smq_rt_kv_place_f32));
  add("memrefCopy", reinterpret_cast<void *>(&memrefCopy));
  // memref.alloc and memref.dealloc of the CPU pipeline's code.
  add("_mlir_memref_to_llvm_alloc",
      reinterpret_cast<void *>(&smq_rt_buffer_alloc));
  add("_mlir_memref_to_llvm_free", reinterpret_cast<void *>(&smq_rt_buffer_free));
  add("smq_rt_parallel_rows", reinterpret_cast<void *>(&smq_rt_parallel_rows));
  add("smq_rt_index_error", reinterpret_cast<void *>(&smq_rt_index_error));
  // GPU models' host code (MLIR's gpu-to-llvm ABI, GpuRuntime.h).
  add("mgpuModuleLoad", reinterpret_cast<void *>(&mgpuModuleLoad));
  add("mgpuModuleLoadJIT", reinterpret_cast<void *>(&mgpuModuleLoadJIT));
  add("mgpuModuleUnload", reinterpret_cast<void *>(&mgpuModuleUnload));
  add("mgpuModuleGetFunction",
      reinterpret_cast<void *>(&mgpuModuleGetFunction));
  add("mgpuLaunchKernel", reinterpret_cast<void *>(&mgpuLaunchKernel));
  add("mgpuStreamCreate", reinterpret_cast<void *>(&mgpuStreamCreate));
  add("mgpuStreamDestroy", reinterpret_cast<void *>(&mgpuStreamDestroy));
  add("mgpuStreamSynchronize",
      reinterpret_cast<void *>(&mgpuStreamSynchronize));
  add("mgpuMemAlloc", reinterpret_cast<void *>(&mgpuMemAlloc));
  add("mgpuMemFree", reinterpret_cast<void *>(&mgpuMemFree));
  return map;
}

/// Gives every function defined in `m` the CPU and features of `tm`: the
/// optimiser and the code generator then build for that CPU whatever
/// target machine runs them (the JIT's code generator targets the host).
void targetFunctions(llvm::Module &m, const llvm::TargetMachine &tm) {
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    f.addFnAttr("target-features", tm.getTargetFeatureString());
  }
}

/// Folds the entry function into its C interface wrapper
/// (`_mlir_ciface_<entry>`), the only way it is called. The entry takes
/// every weight and input as an expanded memref descriptor, thousands of
/// scalars for a large model; the wrapper's call of it put them all on the
/// stack in one block, and LLVM's SelectionDAG spent tens of seconds on
/// those stores (quadratic alias checks). Inlined, the wrapper's loads feed
/// the body directly, and nothing calls with that many arguments.
void inlineEntryIntoInterface(llvm::Module &m, llvm::StringRef entry) {
  llvm::Function *body = m.getFunction(entry);
  llvm::Function *wrapper = m.getFunction(("_mlir_ciface_" + entry).str());
  if (!body || !wrapper || body->isDeclaration() || wrapper->isDeclaration())
    return;
  body->removeFnAttr(llvm::Attribute::NoInline);
  body->addFnAttr(llvm::Attribute::AlwaysInline);
  body->setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// GPU models load their kernel modules from static constructors
/// (llvm.global_ctors, as MLIR's offloading translation emits them), which
/// must run after the device is open and which this JIT does not run. They
/// become two functions the loader calls: smq_gpu_init (the constructors,
/// by priority) and smq_gpu_fini (the destructors).
void exposeGpuConstructors(llvm::Module &m) {
  const std::pair<const char *, const char *> lists[] = {
      {"llvm.global_ctors", "smq_gpu_init"},
      {"llvm.global_dtors", "smq_gpu_fini"}};
  for (auto [listName, fnName] : lists) {
    llvm::GlobalVariable *list = m.getNamedGlobal(listName);
    if (!list)
      continue;
    std::vector<std::pair<uint64_t, llvm::Function *>> entries;
    if (auto *array =
            llvm::dyn_cast_or_null<llvm::ConstantArray>(list->getInitializer()))
      for (llvm::Value *op : array->operands()) {
        auto *entry = llvm::dyn_cast<llvm::ConstantStruct>(op);
        if (!entry || entry->getNumOperands() < 2)
          continue;
        auto *prio = llvm::dyn_cast<llvm::ConstantInt>(entry->getOperand(0));
        auto *fn = llvm::dyn_cast<llvm::Function>(entry->getOperand(1));
        if (prio && fn)
          entries.push_back({prio->getZExtValue(), fn});
      }
    std::stable_sort(entries.begin(), entries.end(),
                     [](auto &a, auto &b) { return a.first < b.first; });
    list->eraseFromParent();
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(m.getContext()),
                                         false);
    auto *fn = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                      fnName, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(m.getContext(), "", fn));
    for (auto &[prio, callee] : entries)
      b.CreateCall(callee);
    b.CreateRetVoid();
  }
}

/// What both the JIT's and the AOT's code generation do to the translated
/// module before optimising it: the target's CPU on every function (when
/// there is a target), the entry folded into its C interface, and a GPU
/// model's module constructors made into smq_gpu_init/fini, which the
/// loader calls once the device is open.
void prepareForCodegen(llvm::Module &m, const llvm::TargetMachine *tm,
                       llvm::StringRef entry) {
  if (tm)
    targetFunctions(m, *tm);
  inlineEntryIntoInterface(m, entry);
  exposeGpuConstructors(m);
}

/// Object code for a module lowered to the LLVM dialect, with MLIR's packed
/// entry wrappers (`_mlir_<name>`), as MLIR's ExecutionEngine compiles it.
llvm::Expected<std::string> compileObject(ModuleOp module,
                                          const CompileOptions &options,
                                          llvm::TargetMachine *tm) {
  ExecutionEngineOptions engineOptions;
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm);
  // The engine's code generator targets the host; the functions' own
  // target attributes override it, so the code is what `tm` describes (a
  // forced lower level's CPU) through optimisation and code generation.
  std::function<llvm::Error(llvm::Module *)> transformer =
      [&optimize, &options, tm](llvm::Module *m) -> llvm::Error {
    prepareForCodegen(*m, tm, options.entry);
    return optimize(m);
  };
  // A function_ref: `transformer` outlives the engine's use of it.
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = options.optLevel >= 3
                                         ? llvm::CodeGenOptLevel::Aggressive
                                         : llvm::CodeGenOptLevel::Default;
  engineOptions.enableObjectDump = true;
  // This engine only compiles: its code is dumped as an object and loaded
  // by the model (load), never run. Its perf listener would write a
  // jitdump into ~/.debug or $TMPDIR/.debug on every compile (megabytes
  // of litter outside anything SMQ owns) for code that never runs.
  engineOptions.enablePerfNotificationListener = false;
  engineOptions.enableGDBNotificationListener = false;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return engine.takeError();
  (*engine)->registerSymbols(runtimeSymbols);
  // ORC compiles on first lookup.
  auto entry = (*engine)->lookupPacked("_mlir_ciface_" + options.entry);
  if (!entry)
    return entry.takeError();
  llvm::SmallString<128> path;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("smq-model", "o", fd, path))
    return llvm::errorCodeToError(ec);
  ::close(fd);
  // A tool stopped by SIGINT or SIGTERM meanwhile (smq-sweep stopping its
  // stages, say) removes it too, through LLVM's signal handlers.
  llvm::sys::RemoveFileOnSignal(path);
  (*engine)->dumpToObjectFile(path);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  llvm::sys::fs::remove(path);
  llvm::sys::DontRemoveFileOnSignal(path);
  if (!buffer)
    return llvm::errorCodeToError(buffer.getError());
  return (*buffer)->getBuffer().str();
}

void initializeNativeTarget() {
  static bool ready = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)ready;
}

/// With SMQ_CPU_ISA below what the host has, generated code is built for
/// that level's generic CPU as well, not for the host: a forced "avx2" run
/// then executes the code an AVX2-only machine would get, not AVX-512 code
/// beside AVX2 kernels. At the host's own level, the host CPU is the
/// target, tuning included.
void targetIsaLevel(llvm::orc::JITTargetMachineBuilder &builder) {
  int best = SMQ_ISA_BASELINE;
  for (int isa = SMQ_ISA_BASELINE; isa < SMQ_ISA_COUNT; ++isa)
    if (smq_rt_isa_supported(isa))
      best = isa;
  int level = smq_rt_cpu_isa();
  if (level >= best)
    return;
  const char *cpu = "x86-64";
  std::vector<std::string> features;
  switch (level) {
  case SMQ_ISA_AVX2:
    cpu = "x86-64-v3";
    break;
  case SMQ_ISA_AVXVNNI:
    cpu = "x86-64-v3";
    features.push_back("+avxvnni");
    break;
  case SMQ_ISA_AVX512:
    cpu = "x86-64-v4";
    break;
  case SMQ_ISA_AVX512VNNI:
    cpu = "x86-64-v4";
    features.push_back("+avx512vnni");
    break;
  default:
    break;
  }
  builder.setCPU(cpu);
  builder.getFeatures() = llvm::SubtargetFeatures();
  builder.addFeatures(features);
}

} // namespace

bool CompiledModel::load(llvm::StringRef object, const std::string &entryName,
                         std::string *why) {
  auto fail = [&](llvm::Error err) {
    *why = llvm::toString(std::move(err));
    return false;
  };
  auto created = llvm::orc::LLJITBuilder().create();
  if (!created)
    return fail(created.takeError());
  std::unique_ptr<llvm::orc::LLJIT> loaded = std::move(*created);
  llvm::orc::JITDylib &lib = loaded->getMainJITDylib();
  // libm and libc (expf, malloc, memcpy) from this process.
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      loaded->getDataLayout().getGlobalPrefix());
  if (!process)
    return fail(process.takeError());
  lib.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner interner(loaded->getExecutionSession(),
                                        loaded->getDataLayout());
  if (llvm::Error err = lib.define(llvm::orc::absoluteSymbols(runtimeSymbols(interner))))
    return fail(std::move(err));
  if (llvm::Error err = loaded->addObjectFile(
          llvm::MemoryBuffer::getMemBufferCopy(object, "smq-model")))
    return fail(std::move(err));
  auto fn = loaded->lookup("_mlir__mlir_ciface_" + entryName);
  if (!fn)
    return fail(fn.takeError());
  entryFn = fn->toPtr<void (*)(void **)>();
  // A GPU model's kernels load now, onto the device opened before.
  if (auto init = loaded->lookup("smq_gpu_init")) {
    init->toPtr<void (*)()>()();
    if (auto fini = loaded->lookup("smq_gpu_fini"))
      gpuFini = fini->toPtr<void (*)()>();
    else
      llvm::consumeError(fini.takeError());
    char text[512];
    if (smq_gpu_take_error(text, sizeof text)) {
      *why = std::string("loading the model's GPU kernels: ") + text;
      jit = std::move(loaded);
      return false;
    }
  } else {
    llvm::consumeError(init.takeError());
  }
  jit = std::move(loaded);
  return true;
}

/// The CPU pipeline's options for `options`.
static void setPipelineOptions(const CompileOptions &options,
                               CpuPipelineOptions &pipeline) {
  // GPU kernels decode quantized weights themselves: no CPU packing.
  pipeline.useRuntimeMatmul = options.runtimeMatmul && options.device == "cpu";
  pipeline.parallelRows = options.parallelRows;
  pipeline.outlineLoopNests = options.outlineLoopNests;
  pipeline.indexChecks = options.indexChecks;
  pipeline.attentionKernel = options.attentionKernel;
  pipeline.zeroPresentTail = options.zeroPresentTail;
  pipeline.quantizedActivations = options.quantizedActivations;
}

LogicalResult mlir::smq::packWeights(ModuleOp module,
                                     const CompileOptions &options) {
  CpuPipelineOptions pipelineOptions;
  setPipelineOptions(options, pipelineOptions);
  PassManager pm(module.getContext());
  buildWeightPackingStages(pm, pipelineOptions);
  return pm.run(module);
}

FailureOr<ModelSignature>
mlir::smq::lowerModel(ModuleOp module, const CompileOptions &options) {
  MLIRContext *ctx = module.getContext();
  // Weights become arguments first (after quantized codes are packed), so
  // that the signature can be read off with their blobs before lowering
  // erases the names; then the rest of the pipeline runs.
  bool gpu = options.device != "cpu";
  if (gpu && options.device != "vulkan" && options.device != "cuda") {
    emitError(module.getLoc()) << "unknown device '" << options.device
                               << "' (cpu, vulkan or cuda)";
    return failure();
  }
  CpuPipelineOptions pipelineOptions;
  setPipelineOptions(options, pipelineOptions);
  {
    PassManager pm(ctx);
    buildWeightArgumentStages(pm, pipelineOptions);
    if (failed(pm.run(module)))
      return failure();
  }
  auto func = module.lookupSymbol<func::FuncOp>(options.entry);
  if (!func || func.isExternal()) {
    emitError(module.getLoc()) << "no entry function '" << options.entry << "'";
    return failure();
  }
  // Refused up front, before minutes of compiling end in a failed malloc.
  MemoryEstimate memory = estimateRunMemory(func);
  if (memory.peakBytes > memoryLimit(options.maxMemoryBytes)) {
    emitError(module.getLoc())
        << "a run of this model needs about " << formatBytes(memory.peakBytes)
        << " of tensors at its peak (the largest, "
        << formatBytes(memory.largestBytes) << ", is " << memory.largest
        << "), " << describeMemoryLimit(options.maxMemoryBytes);
    return failure();
  }
  ModelSignature signature;
  // Inputs by name; weights by blob key, whose bytes stay owned by the
  // context's resource manager.
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    Type type = func.getArgument(i).getType();
    if (auto key = func.getArgAttrOfType<StringAttr>(i, kWeightArgAttr)) {
      auto spec = specOf(func, type, key.getValue());
      if (failed(spec))
        return failure();
      auto *entry = DenseResourceElementsHandle::getManagerInterface(ctx)
                        .getBlobManager()
                        .lookup(key.getValue());
      AsmResourceBlob *blob = entry ? entry->getBlob() : nullptr;
      if (!blob) {
        func.emitError() << "weight '" << key.getValue() << "' has no data";
        return failure();
      }
      signature.weights.push_back(*spec);
      signature.weightBytes.push_back(blob->getData());
      continue;
    }
    auto name = func.getArgAttrOfType<StringAttr>(i, "smq.name");
    auto spec = specOf(func, type, name ? name.getValue()
                                        : StringRef("arg" + std::to_string(i)));
    if (failed(spec))
      return failure();
    signature.inputs.push_back(*spec);
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<StringAttr>(i, "smq.name");
    auto spec = specOf(func, func.getResultTypes()[i],
                       name ? name.getValue()
                            : StringRef("output" + std::to_string(i)));
    if (failed(spec))
      return failure();
    signature.outputs.push_back(*spec);
  }
  func->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
  // Names have been read; LLVM IR has no place for them.
  func.removeArgAttrsAttr();
  func.removeResAttrsAttr();

  {
    PassManager pm(ctx);
    if (gpu) {
      GpuPipelineOptions gpuOptions;
      gpuOptions.target = options.device == "vulkan" ? "spirv" : "nvvm";
      if (failed(buildGpuPipeline(pm, gpuOptions)))
        return failure();
    } else {
      buildCpuLoweringStages(pm, pipelineOptions);
    }
    if (failed(pm.run(module)))
      return failure();
  }
  return signature;
}

std::unique_ptr<CompiledModel>
CompiledModel::compile(ModuleOp module, const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  initializeNativeTarget();
  MLIRContext *ctx = module.getContext();
  std::unique_ptr<CompiledModel> model(new CompiledModel());
  model->entry = options.entry;
  if (options.device == "vulkan" || options.device == "cuda") {
    char why[512];
    if (smq_gpu_open(options.device == "vulkan" ? SMQ_GPU_VULKAN
                                                : SMQ_GPU_CUDA,
                     why, sizeof why) != 0) {
      emitError(module.getLoc()) << "--device " << options.device << ": "
                                 << why;
      return nullptr;
    }
    model->onDevice = true;
  }
  FailureOr<ModelSignature> signature = lowerModel(module, options);
  if (failed(signature))
    return nullptr;
  model->inputSpecs = signature->inputs;
  if (auto sites = module->getAttrOfType<ArrayAttr>("smq.index_sites"))
    for (Attribute site : sites)
      if (auto text = dyn_cast<StringAttr>(site))
        model->indexSites.push_back(text.str());
  model->outputSpecs = signature->outputs;
  for (size_t i = 0; i < signature->weights.size(); ++i)
    model->weights.push_back({signature->weightBytes[i].data(),
                              signature->weights[i].shape,
                              signature->weightBytes[i].size()});

  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  // Optimise for this machine: without a target machine, LLVM's vectorizer
  // costs loops for a generic x86-64 and leaves AVX unused.
  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  std::unique_ptr<llvm::TargetMachine> tm;
  if (tmBuilder && !options.targetCpu.empty()) {
    tmBuilder->setCPU(options.targetCpu);
    tmBuilder->getFeatures() = llvm::SubtargetFeatures();
  } else if (tmBuilder) {
    targetIsaLevel(*tmBuilder);
  }
  if (tmBuilder) {
    auto created = tmBuilder->createTargetMachine();
    if (created)
      tm = std::move(*created);
    else
      llvm::consumeError(created.takeError());
  } else {
    llvm::consumeError(tmBuilder.takeError());
  }

  // The object code depends on the lowered module (no weights: they are
  // arguments), the host and the optimisation level.
  ObjectCache cache = ObjectCache::fromEnvironment();
  std::string key;
  if (cache.enabled()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os, OpPrintingFlags().enableDebugInfo(false));
    std::string target =
        tm ? (tm->getTargetTriple().str() + " " + tm->getTargetCPU().str() +
              " " + tm->getTargetFeatureString().str())
           : std::string("no-target-machine");
    target += " O" + std::to_string(options.optLevel);
    key = ObjectCache::key(text, target);
  }
  std::string note;
  std::optional<std::string> object =
      cache.enabled() ? cache.lookup(key, &note) : std::nullopt;
  if (!note.empty())
    emitWarning(module.getLoc()) << note;
  if (object) {
    if (model->load(*object, options.entry, &note)) {
      model->cached = true;
    } else {
      emitWarning(module.getLoc())
          << "compile cache entry for this model could not be loaded (" << note
          << "); rebuilt";
      object.reset();
    }
  }
  if (!object) {
    auto compiled = compileObject(module, options, tm.get());
    if (!compiled) {
      emitError(module.getLoc())
          << "JIT compilation failed: " << llvm::toString(compiled.takeError());
      return nullptr;
    }
    if (!model->load(*compiled, options.entry, &note)) {
      emitError(module.getLoc()) << "JIT compilation failed: " << note;
      return nullptr;
    }
    if (cache.enabled() && !cache.store(key, *compiled, &note))
      emitWarning(module.getLoc()) << note;
  }
  // Weights go onto the device once.
  if (model->onDevice) {
    for (size_t i = 0; i < model->weights.size(); ++i) {
      const Weight &w = model->weights[i];
      std::string why;
      if (!stage(model->deviceWeights, i, w.bytes, why)) {
        emitError(module.getLoc()) << "uploading weights to the device: "
                                   << why;
        return nullptr;
      }
      std::memcpy(model->deviceWeights[i], w.data, w.bytes);
    }
  }
  smq_rt_tune_allocator();
  model->seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  return model;
}

CompiledModel::~CompiledModel() {
  // The blocks its calls kept go back to the heap.
  smq_rt_buffer_trim();
  if (gpuFini)
    gpuFini();
  for (void *b : deviceWeights)
    smq_gpu_free(b);
  for (void *b : deviceInputs)
    smq_gpu_free(b);
  for (void *b : deviceOutputs)
    smq_gpu_free(b);
}


bool CompiledModel::run(const std::vector<const ::smq::HostArray *> &inputs,
                        std::vector<::smq::HostArray> &outputs,
                        std::string *why,
                        const std::vector<int> *outputInInput) {
  if (inputs.size() != inputSpecs.size()) {
    *why = "the model takes " + std::to_string(inputSpecs.size()) +
           " inputs, got " + std::to_string(inputs.size());
    return false;
  }
  // The input an output shares its bytes with, or -1.
  auto sharedInput = [&](size_t i) -> int {
    if (!outputInInput || i >= outputInInput->size())
      return -1;
    int j = (*outputInInput)[i];
    return j >= 0 && size_t(j) < inputs.size() ? j : -1;
  };
  for (size_t i = 0; i < outputSpecs.size(); ++i)
    if (int j = sharedInput(i); j >= 0 &&
        (onDevice || inputSpecs[j].dtype != outputSpecs[i].dtype ||
         inputSpecs[j].shape != outputSpecs[i].shape)) {
      *why = "output '" + outputSpecs[i].name + "' cannot be written into "
             "input '" + inputSpecs[j].name + "'" +
             (onDevice ? " on a GPU" : ": their types or shapes differ");
      return false;
    }
  // The descriptors in one flat buffer, and the argument arrays, kept
  // from call to call on this thread: once warm, a call (a decode step)
  // allocates nothing here. A decoder has hundreds of weights, and a
  // vector per descriptor cost thousands of mallocs a token.
  auto stageOrSay = [&](std::vector<void *> &buffers, size_t i,
                        size_t bytes) {
    std::string reason;
    if (stage(buffers, i, bytes, reason))
      return true;
    *why = "device buffer of " + std::to_string(bytes) + " bytes: " + reason;
    return false;
  };
  thread_local std::vector<int64_t> flat;
  thread_local std::vector<size_t> offsets;
  thread_local std::vector<void *> descPtrs, args;
  flat.clear();
  offsets.clear();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec &spec = inputSpecs[i];
    const ::smq::HostArray &a = *inputs[i];
    if (a.dtype != spec.dtype || a.shape != spec.shape) {
      *why = "input '" + spec.name + "' must be " +
             ::smq::dtypeName(spec.dtype) + shapeString(spec.shape) +
             ", got " + ::smq::dtypeName(a.dtype) + shapeString(a.shape);
      return false;
    }
    const void *data = a.bytes.data();
    // A GPU model reads its inputs from device buffers, kept across calls.
    if (onDevice) {
      if (!stageOrSay(deviceInputs, i, a.bytes.size()))
        return false;
      std::memcpy(deviceInputs[i], a.bytes.data(), a.bytes.size());
      data = deviceInputs[i];
    }
    offsets.push_back(appendDescriptor(flat, data, a.shape));
  }
  for (size_t i = 0; i < weights.size(); ++i)
    offsets.push_back(appendDescriptor(
        flat, onDevice ? deviceWeights[i] : weights[i].data, weights[i].shape));
  outputs.resize(outputSpecs.size());
  for (size_t i = 0; i < outputSpecs.size(); ++i) {
    ::smq::HostArray &o = outputs[i];
    o.dtype = outputSpecs[i].dtype;
    o.shape = outputSpecs[i].shape;
    if (int j = sharedInput(i); j >= 0) {
      o.bytes.clear();
      offsets.push_back(appendDescriptor(flat, inputs[j]->bytes.data(),
                                         o.shape));
      continue;
    }
    // The model writes every element of its results: an output array of
    // the right size (a caller's, reused across calls) is not cleared.
    o.bytes.resize(o.numElements() * ::smq::dtypeSize(o.dtype));
    void *data = o.bytes.data();
    if (onDevice) {
      if (!stageOrSay(deviceOutputs, i, o.bytes.size()))
        return false;
      data = deviceOutputs[i];
    }
    offsets.push_back(appendDescriptor(flat, data, o.shape));
  }
  // Pointers into `flat` only now that it has stopped growing.
  descPtrs.resize(offsets.size());
  args.resize(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    descPtrs[i] = flat.data() + offsets[i];
    args[i] = &descPtrs[i];
  }
  int64_t site, index, dim;
  smq_rt_take_index_error(&site, &index, &dim);
  entryFn(args.data());
  if (onDevice) {
    char text[512];
    if (smq_gpu_take_error(text, sizeof text)) {
      *why = std::string("on the GPU: ") + text + "; the outputs are not valid";
      return false;
    }
    for (size_t i = 0; i < outputs.size(); ++i)
      std::memcpy(outputs[i].bytes.data(), deviceOutputs[i],
                  outputs[i].bytes.size());
  }
  if (smq_rt_take_index_error(&site, &index, &dim)) {
    *why = "index " + std::to_string(index) + " is out of range for a dim of " +
           std::to_string(dim) + " in " +
           (site >= 0 && site < int64_t(indexSites.size())
                ? indexSites[site]
                : "index check " + std::to_string(site)) +
           "; the outputs are not valid";
    return false;
  }
  return true;
}

FailureOr<std::string>
mlir::smq::emitRelocatableObject(ModuleOp module,
                                 const CompileOptions &options) {
  initializeNativeTarget();
  MLIRContext *ctx = module.getContext();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    emitError(module.getLoc()) << "no LLVM target for " << triple.str()
                               << ": " << error;
    return failure();
  }
  std::string cpu = options.targetCpu.empty() ? "x86-64" : options.targetCpu;
  std::string features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures host;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      host.AddFeature(f.first(), f.second);
    features = host.getString();
  }
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_,
      llvm::CodeModel::Small,
      options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                            : llvm::CodeGenOptLevel::Default));
  if (!tm || !tm->getMCSubtargetInfo()->isCPUStringValid(cpu)) {
    emitError(module.getLoc()) << "unknown target CPU '" << cpu
                               << "' (LLVM names such as x86-64, x86-64-v3, "
                                  "skylake-avx512, or native)";
    return failure();
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    emitError(module.getLoc()) << "translation to LLVM IR failed";
    return failure();
  }
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  // A GPU model's kernels load when the runtime has opened the device
  // (SmqArtifact::gpuInit), not when the library is opened.
  prepareForCodegen(*llvmModule, tm.get(), options.entry);
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    emitError(module.getLoc()) << "LLVM optimisation failed: "
                               << llvm::toString(std::move(err));
    return failure();
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    emitError(module.getLoc()) << "LLVM cannot emit object code for " << cpu;
    return failure();
  }
  codegen.run(*llvmModule);
  return std::string(buffer.begin(), buffer.end());
}
