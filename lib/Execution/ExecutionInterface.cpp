//===- ExecutionInterface.cpp - token models run for passes ---------------===//
//
// The copy a pass asks to run lives in a context of its own: compiling it
// loads dialects and lowers it in place, which must not happen to the IR
// the pass is working on, and whatever the candidate adds (quantized blobs)
// goes away with it. The copy is the module printed without its resources
// and parsed back; its weights then point at the original blobs' bytes.
//
//===----------------------------------------------------------------------===//

#include "smq/Execution/Registration.h"

#include "smq/Dialect/Smq/IR/SmqDialect.h"
#include "smq/Dialect/Smq/IR/SmqExecutionInterface.h"
#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Execution/CompiledModel.h"
#include "smq/Runtime/PackedLayout.h"
#include "smq/Runtime/Runtime.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include <cstring>

using namespace mlir;
using namespace mlir::smq;

namespace {

/// A module copied into a context of its own and compiled there.
struct JitCopy {
  // Declared first, destroyed last: the module and the code live in it.
  std::unique_ptr<MLIRContext> context;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<CompiledModel> model;

  /// Copies `source` (weights shared), applies `prepare` and compiles.
  LogicalResult make(ModuleOp source,
                     function_ref<LogicalResult(ModuleOp)> prepare,
                     std::string *why);

  LogicalResult replaceWeight(StringRef key, ArrayRef<float> wHat, int64_t n,
                              int64_t k, bool heldAsW, std::string *why) {
    auto &blobs = DenseResourceElementsHandle::getManagerInterface(
                      context.get())
                      .getBlobManager();
    auto blobOf = [&](const std::string &name) -> AsmResourceBlob * {
      auto *entry = blobs.lookup(name);
      return entry ? entry->getBlob() : nullptr;
    };
    if (static_cast<int64_t>(wHat.size()) != n * k) {
      *why = "weight '" + key.str() + "': expected " + std::to_string(n * k) +
             " values";
      return failure();
    }
    // Ŵᵀ (K×N), the layout of an smq.matmul's weight.
    auto transposed = [&] {
      std::vector<float> kn(n * k);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c)
          kn[c * n + r] = wHat[r * k + c];
      return kn;
    };
    // smq-pack-f32-weights stored a matmul weight's panels under this key,
    // in a blob of this context that the code reads on every call.
    AsmResourceBlob *panels = blobOf((key + ".panels").str());
    size_t panelBytes = static_cast<size_t>(::smq::f32PanelCount(n)) * k *
                        ::smq::kF32PanelWidth * sizeof(float);
    if (panels && panels->isMutable() &&
        panels->getData().size() == panelBytes) {
      std::vector<float> kn = transposed();
      smq_rt_pack_f32_panels(
          k, n, kn.data(), n,
          reinterpret_cast<float *>(panels->getMutableData().data()));
      return success();
    }
    // Otherwise (an smq.gemm's B) the weight is read as it is, from the copy
    // ownWeightsOfGemms made: K×N, or N×K when the op holds W itself.
    AsmResourceBlob *plain = blobOf(key.str());
    if (plain && plain->isMutable() &&
        plain->getData().size() == static_cast<size_t>(n * k) * 4) {
      std::vector<float> kn = heldAsW ? std::vector<float>() : transposed();
      std::memcpy(plain->getMutableData().data(),
                  heldAsW ? wHat.data() : kn.data(), n * k * 4);
      return success();
    }
    *why = "weight '" + key.str() + "' is not held in a form this runner can "
           "rewrite (packed panels of an smq.matmul, or an smq.gemm's B)";
    return failure();
  }
};

class JitTokenModel : public TokenModelRunner {
public:
  JitCopy jit;
  int64_t length = 0, vocab = 0;

  int64_t sequenceLength() const override { return length; }
  int64_t vocabulary() const override { return vocab; }

  LogicalResult run(ArrayRef<int64_t> tokens, std::vector<float> &logits,
                    std::string *why) override {
    if (vocab == 0) {
      *why = "expected the first output to be f32 [1, T, V] logits";
      return failure();
    }
    if (static_cast<int64_t>(tokens.size()) != length) {
      *why = "expected " + std::to_string(length) + " tokens, got " +
             std::to_string(tokens.size());
      return failure();
    }
    ::smq::HostArray input;
    input.dtype = ::smq::DType::I64;
    input.shape = {1, length};
    input.bytes.resize(length * 8);
    std::memcpy(input.bytes.data(), tokens.data(), length * 8);
    std::vector<::smq::HostArray> outputs;
    if (!jit.model->run({&input}, outputs, why))
      return failure();
    const ::smq::HostArray &out = outputs.front();
    logits.assign(out.data<float>(), out.data<float>() + length * vocab);
    return success();
  }
};

class JitFunction : public FunctionRunner {
public:
  JitCopy jit;

  LogicalResult run(ArrayRef<const ::smq::HostArray *> inputs,
                    std::vector<::smq::HostArray> &outputs,
                    std::string *why) override {
    return success(jit.model->run(
        std::vector<const ::smq::HostArray *>(inputs.begin(), inputs.end()),
        outputs, why));
  }
  void setKernelThreads(int threads) override {
    smq_rt_set_num_threads(threads);
  }
  LogicalResult replaceWeight(StringRef key, ArrayRef<float> wHat, int64_t n,
                              int64_t k, bool heldAsW,
                              std::string *why) override {
    return jit.replaceWeight(key, wHat, n, k, heldAsW, why);
  }
};

/// Points every weight of `copy` whose blob the parse left empty at the
/// bytes of the same key in `source`'s context.
LogicalResult shareWeights(ModuleOp copy, MLIRContext *source,
                           std::string *why) {
  auto &from = DenseResourceElementsHandle::getManagerInterface(source)
                   .getBlobManager();
  WalkResult walk = copy.walk([&](Operation *op) {
    for (NamedAttribute named : op->getAttrs()) {
      auto attr = dyn_cast<DenseResourceElementsAttr>(named.getValue());
      if (!attr || attr.getRawHandle().getBlob())
        continue;
      StringRef key = attr.getRawHandle().getKey();
      auto *entry = from.lookup(key);
      AsmResourceBlob *blob = entry ? entry->getBlob() : nullptr;
      if (!blob) {
        *why = "weight '" + key.str() + "' has no data";
        return WalkResult::interrupt();
      }
      attr.getRawHandle().getResource()->setBlob(
          UnmanagedAsmResourceBlob::allocateWithAlign(
              blob->getData(), blob->getDataAlignment()));
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

/// Gives every smq.gemm's constant B in `copy` a copy of its bytes that
/// the runner owns, so that replaceWeight can write it (matmul weights get
/// theirs when they are packed).
void ownWeightsOfGemms(ModuleOp copy) {
  copy.walk([&](GemmOp gemm) {
    auto cst = gemm.getB().getDefiningOp<ConstantOp>();
    auto attr = cst ? dyn_cast<DenseResourceElementsAttr>(cst.getValue())
                    : DenseResourceElementsAttr();
    AsmResourceBlob *blob = attr ? attr.getRawHandle().getBlob() : nullptr;
    if (!blob || blob->isMutable())
      return;
    attr.getRawHandle().getResource()->setBlob(
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            blob->getData(), blob->getDataAlignment(), /*dataIsMutable=*/true));
  });
}

LogicalResult JitCopy::make(ModuleOp source,
                            function_ref<LogicalResult(ModuleOp)> prepare,
                            std::string *why) {
  DialectRegistry registry;
  registerCompilerDialects(registry);
  context =
      std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  why->clear();
  ScopedDiagnosticHandler collect(context.get(), [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      *why += (why->empty() ? "" : "; ") + diag.str();
    return success();
  });
  std::string text;
  {
    llvm::raw_string_ostream os(text);
    source->print(os, OpPrintingFlags().enableDebugInfo().elideLargeResourceString(
                          0));
  }
  module = parseSourceString<ModuleOp>(text, ParserConfig(context.get()));
  if (!module) {
    *why = "cannot copy the module: " + *why;
    return failure();
  }
  if (failed(shareWeights(*module, source.getContext(), why)))
    return failure();
  if (prepare && failed(prepare(*module)))
    return failure();
  ownWeightsOfGemms(*module);
  model = CompiledModel::compile(*module, {});
  return success(model != nullptr);
}

class JitExecutionInterface : public SmqExecutionInterface {
public:
  using SmqExecutionInterface::SmqExecutionInterface;

  std::unique_ptr<TokenModelRunner>
  compileTokenModel(ModuleOp module,
                    function_ref<LogicalResult(ModuleOp)> prepare, int threads,
                    std::string *why) const override {
    auto runner = std::make_unique<JitTokenModel>();
    if (failed(runner->jit.make(module, prepare, why)))
      return nullptr;
    const auto &inputs = runner->jit.model->inputs();
    const auto &outputs = runner->jit.model->outputs();
    if (inputs.size() != 1 || inputs[0].dtype != ::smq::DType::I64 ||
        inputs[0].shape.size() != 2 || inputs[0].shape[0] != 1) {
      *why = "expected one int64 [1, T] token input";
      return nullptr;
    }
    runner->length = inputs[0].shape[1];
    // Logits first; vocabulary() is 0 for a model without them.
    if (!outputs.empty() && outputs[0].dtype == ::smq::DType::F32 &&
        outputs[0].shape.size() == 3 && outputs[0].shape[0] == 1 &&
        outputs[0].shape[1] == runner->length)
      runner->vocab = outputs[0].shape[2];
    smq_rt_set_num_threads(threads);
    return runner;
  }

  std::unique_ptr<FunctionRunner> compileFunction(ModuleOp module,
                                                  int threads,
                                                  std::string *why) const override {
    auto runner = std::make_unique<JitFunction>();
    if (failed(runner->jit.make(module, nullptr, why)))
      return nullptr;
    smq_rt_set_num_threads(threads);
    return runner;
  }
};

} // namespace

void mlir::smq::registerExecutionInterface(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, SmqDialect *dialect) {
    dialect->addInterfaces<JitExecutionInterface>();
  });
}

void mlir::smq::registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<SmqDialect>();
  // Builtin, LLVM, and the GPU targets' (gpu, nvvm) for serializing
  // kernels.
  registerAllToLLVMIRTranslations(registry);
  registerExecutionInterface(registry);
}
