//===- Compiler.cpp - smq-c/Compiler.h: the SMQ flow from C ---------------===//
//
// Thin: every step is the library code the tools run (the ONNX importer,
// mlir::smq::calibrate, the smq-quantize-weights pass, writeAotLibrary).
// MLIR's diagnostics are collected into the returned status; no exception
// crosses the C boundary.
//
//===----------------------------------------------------------------------===//
#include "smq-c/Compiler.h"

#include "smq/Execution/AotLibrary.h"
#include "smq/Execution/Calibration.h"
#include "smq/Execution/Registration.h"
#include "smq/Export/OnnxExporter.h"
#include "smq/Import/Onnx/OnnxImporter.h"
#include "smq/Quant/Statistics.h"
#include "smq/Runtime/Status.h"
#include "smq/Dialect/Smq/IR/SmqDialect.h"
#include "smq/Support/AtomicFile.h"
#include "smq/Support/Progress.h"
#include "smq/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <new>

#include <unistd.h>

/// Passes the library's progress on to a C callback.
class CallbackProgress : public smq::ProgressListener {
public:
  SmqProgressCallback callback = nullptr;
  void *userData = nullptr;
  void step(std::string_view task, size_t done, size_t total,
            std::string_view item, double elapsedSeconds) override {
    std::string t(task), i(item);
    callback(userData, t.c_str(), done, total, i.c_str(), elapsedSeconds);
  }
  void note(std::string_view message) override {
    std::string m(message);
    callback(userData, nullptr, 0, 0, m.c_str(), 0.0);
  }
};

struct SmqCompiler {
  mlir::MLIRContext context;
  CallbackProgress progress;
  /// The listener, or null when no callback is set.
  smq::ProgressListener *listener() {
    return progress.callback ? &progress : nullptr;
  }
};

struct SmqModule {
  SmqCompiler *compiler;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

struct SmqStatistics {
  smq::quant::StatisticsFile stats;
};

namespace {

SmqStatus *fail(std::string message) {
  return new SmqStatus{std::move(message)};
}

/// Collects the errors MLIR reports while it lives.
class Diagnostics {
public:
  explicit Diagnostics(mlir::MLIRContext &context)
      : handler(&context, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() != mlir::DiagnosticSeverity::Error)
            return mlir::success();
          std::string text;
          llvm::raw_string_ostream os(text);
          if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(d.getLocation()))
            os << file.getFilename().getValue() << ": ";
          os << d;
          if (!messages.empty())
            messages += "\n";
          messages += text;
          return mlir::success();
        }) {}
  /// `what`, then the diagnostics, as a status.
  SmqStatus *fail(const std::string &what) const {
    return ::fail(messages.empty() ? what : what + ":\n" + messages);
  }

private:
  std::string messages;
  mlir::ScopedDiagnosticHandler handler;
};

template <typename F> SmqStatus *guarded(const char *what, F f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return fail(std::string(what) + ": out of memory");
  } catch (...) {
    return fail(std::string(what) + ": unexpected error");
  }
}

SmqModule *wrap(SmqCompiler *compiler, mlir::OwningOpRef<mlir::ModuleOp> m) {
  return new SmqModule{compiler, std::move(m)};
}

} // namespace

extern "C" {

int smqCompilerApiVersion(void) { return SMQ_COMPILER_API_VERSION; }

SmqStatus *smqCompilerCreate(SmqCompiler **out) {
  return guarded("smqCompilerCreate", [&]() -> SmqStatus * {
    if (!out)
      return fail("smqCompilerCreate: compiler must not be NULL");
    static bool passes = [] {
      mlir::smq::registerSmqTransformsPasses();
      return true;
    }();
    (void)passes;
    auto compiler = std::make_unique<SmqCompiler>();
    mlir::DialectRegistry registry;
    mlir::smq::registerCompilerDialects(registry);
    compiler->context.appendDialectRegistry(registry);
    *out = compiler.release();
    return nullptr;
  });
}

void smqCompilerDestroy(SmqCompiler *compiler) { delete compiler; }

SmqStatus *smqCompilerSetProgress(SmqCompiler *compiler,
                                  SmqProgressCallback callback,
                                  void *userData) {
  return guarded("smqCompilerSetProgress", [&]() -> SmqStatus * {
    if (!compiler)
      return fail("smqCompilerSetProgress: compiler must not be NULL");
    compiler->progress.callback = callback;
    compiler->progress.userData = userData;
    compiler->context.getOrLoadDialect<mlir::smq::SmqDialect>()
        ->setProgressListener(compiler->listener());
    return nullptr;
  });
}

SmqStatus *smqCompilerImportOnnx(SmqCompiler *compiler, const char *path,
                                 const SmqInputShape *shapes,
                                 size_t numShapes, SmqModule **out) {
  return guarded("smqCompilerImportOnnx", [&]() -> SmqStatus * {
    if (!compiler || !path || !out || (numShapes && !shapes))
      return fail("smqCompilerImportOnnx: compiler, path and module must "
                  "not be NULL");
    *out = nullptr;
    mlir::smq::OnnxImportOptions options;
    for (size_t i = 0; i < numShapes; ++i) {
      if (!shapes[i].name || (shapes[i].rank && !shapes[i].dims))
        return fail("smqCompilerImportOnnx: input shape " + std::to_string(i) +
                    " has no name or dims");
      options.inputShapes[shapes[i].name] = std::vector<int64_t>(
          shapes[i].dims, shapes[i].dims + shapes[i].rank);
    }
    Diagnostics diagnostics(compiler->context);
    auto module = mlir::smq::importOnnxFile(path, &compiler->context, options);
    if (!module)
      return diagnostics.fail(std::string(path) + ": import failed");
    *out = wrap(compiler, std::move(module));
    return nullptr;
  });
}

SmqStatus *smqCompilerLoadModule(SmqCompiler *compiler, const char *path,
                                 SmqModule **out) {
  return guarded("smqCompilerLoadModule", [&]() -> SmqStatus * {
    if (!compiler || !path || !out)
      return fail("smqCompilerLoadModule: compiler, path and module must not "
                  "be NULL");
    *out = nullptr;
    Diagnostics diagnostics(compiler->context);
    auto module =
        mlir::parseSourceFile<mlir::ModuleOp>(path, &compiler->context);
    if (!module)
      return diagnostics.fail(std::string(path) + ": cannot read the module");
    *out = wrap(compiler, std::move(module));
    return nullptr;
  });
}

void smqModuleDestroy(SmqModule *module) { delete module; }

SmqStatus *smqModuleWrite(const SmqModule *module, const char *path) {
  return guarded("smqModuleWrite", [&]() -> SmqStatus * {
    if (!module || !path)
      return fail("smqModuleWrite: module and path must not be NULL");
    std::string why;
    bool ok = smq::writeFileAtomically(
        path,
        [&](std::ostream &os) {
          std::string text;
          llvm::raw_string_ostream ts(text);
          module->module.get().print(ts);
          os << text;
          return true;
        },
        &why);
    return ok ? nullptr : fail("smqModuleWrite: " + why);
  });
}

SmqCalibrationOptions smqCalibrationOptionsDefault(void) {
  SmqCalibrationOptions o;
  o.seed = 0;
  o.diagonal = 0;
  o.holdout = 8;
  o.windowsOnly = 0;
  return o;
}

SmqStatus *smqModuleCalibrate(const SmqModule *module, const int64_t *tokens,
                              size_t numSequences, size_t seqLen,
                              const SmqCalibrationOptions *options,
                              SmqStatistics **out) {
  return guarded("smqModuleCalibrate", [&]() -> SmqStatus * {
    if (!module || !out || (numSequences && !tokens))
      return fail("smqModuleCalibrate: module, tokens and statistics must "
                  "not be NULL");
    *out = nullptr;
    if (numSequences == 0 || seqLen == 0)
      return fail("smqModuleCalibrate: no tokens (" +
                  std::to_string(numSequences) + " sequences of " +
                  std::to_string(seqLen) + ")");
    std::vector<std::vector<int64_t>> windows(numSequences);
    for (size_t s = 0; s < numSequences; ++s)
      windows[s].assign(tokens + s * seqLen, tokens + (s + 1) * seqLen);
    SmqCalibrationOptions o =
        options ? *options : smqCalibrationOptionsDefault();
    mlir::smq::CalibrationOptions copt;
    copt.seed = o.seed;
    copt.diagonal = o.diagonal != 0;
    copt.holdout = o.holdout;
    copt.progress = module->compiler->listener();
    copt.windowsOnly = o.windowsOnly != 0;
    mlir::MLIRContext &context = module->compiler->context;
    Diagnostics diagnostics(context);
    // Calibration lowers what it runs: a copy, so the module stays as is.
    mlir::OwningOpRef<mlir::ModuleOp> copy = module->module.get().clone();
    std::string why;
    auto stats = mlir::smq::calibrate(*copy, windows, copt, &why);
    if (mlir::failed(stats))
      return diagnostics.fail("smqModuleCalibrate: " +
                              (why.empty() ? std::string("failed") : why));
    stats->provenance = "smq-c calibrate num-seqs=" +
                        std::to_string(numSequences) +
                        " seq-len=" + std::to_string(seqLen) +
                        " seed=" + std::to_string(o.seed) +
                        " stats=" + (o.diagonal ? "diag" : "full") +
                        " holdout=" + std::to_string(o.holdout);
    *out = new SmqStatistics{std::move(*stats)};
    return nullptr;
  });
}

SmqStatus *smqStatisticsWrite(const SmqStatistics *statistics,
                              const char *path) {
  return guarded("smqStatisticsWrite", [&]() -> SmqStatus * {
    if (!statistics || !path)
      return fail("smqStatisticsWrite: statistics and path must not be NULL");
    std::string why;
    if (!smq::quant::writeStatistics(path, statistics->stats, &why))
      return fail("smqStatisticsWrite: " + why);
    return nullptr;
  });
}

void smqStatisticsDestroy(SmqStatistics *statistics) { delete statistics; }

SmqStatus *smqModuleQuantize(SmqModule *module, const char *options,
                             const SmqStatistics *statistics) {
  return guarded("smqModuleQuantize", [&]() -> SmqStatus * {
    if (!module || !options)
      return fail("smqModuleQuantize: module and options must not be NULL");
    std::string opts = options;
    if (opts.find('{') != std::string::npos ||
        opts.find('}') != std::string::npos ||
        opts.find("stats=") != std::string::npos)
      return fail("smqModuleQuantize: options are the pass's key=value "
                  "pairs, without braces or stats= (pass statistics)");
    llvm::SmallString<128> statsPath;
    if (statistics) {
      int fd;
      if (llvm::sys::fs::createTemporaryFile("smq-c", "stats", fd, statsPath))
        return fail("smqModuleQuantize: cannot create a temporary file");
      ::close(fd);
      std::string why;
      if (!smq::quant::writeStatistics(std::string(statsPath),
                                       statistics->stats, &why)) {
        llvm::sys::fs::remove(statsPath);
        return fail("smqModuleQuantize: " + why);
      }
      opts += " stats=" + std::string(statsPath);
    }
    mlir::MLIRContext &context = module->compiler->context;
    Diagnostics diagnostics(context);
    auto pm = mlir::PassManager::on<mlir::ModuleOp>(&context);
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    bool parsed = mlir::succeeded(mlir::parsePassPipeline(
        "smq-quantize-weights{" + opts + "}", pm, errorStream));
    // The pass works on a copy: a failure leaves the module as it was.
    mlir::OwningOpRef<mlir::ModuleOp> copy = module->module.get().clone();
    bool ran = parsed && mlir::succeeded(pm.run(*copy));
    if (!statsPath.empty())
      llvm::sys::fs::remove(statsPath);
    if (!parsed)
      return fail("smqModuleQuantize: bad options '" + std::string(options) +
                  "': " + error);
    if (!ran)
      return diagnostics.fail("smqModuleQuantize: quantization failed");
    module->module = std::move(copy);
    return nullptr;
  });
}

SmqStatus *smqModuleCompileLibrary(const SmqModule *module,
                                   const char *libraryPath,
                                   const SmqCompileOptions *options) {
  return guarded("smqModuleCompileLibrary", [&]() -> SmqStatus * {
    if (!module || !libraryPath)
      return fail("smqModuleCompileLibrary: module and library path must "
                  "not be NULL");
    mlir::smq::AotOptions aot;
    aot.libraryPath = libraryPath;
    if (options) {
      if (options->weightsPath)
        aot.weightsPath = options->weightsPath;
      aot.embedWeights = options->embedWeights != 0;
      if (options->targetCpu)
        aot.compile.targetCpu = options->targetCpu;
      if (options->prefix)
        aot.prefix = options->prefix;
      if (options->cc)
        aot.cc = options->cc;
      if (options->device) {
        std::string device = options->device;
        if (device != "cpu" && device != "vulkan" && device != "cuda")
          return fail("smqModuleCompileLibrary: device must be cpu, vulkan "
                      "or cuda, not '" + device + "'");
        aot.compile.device = device;
      }
    }
    mlir::MLIRContext &context = module->compiler->context;
    Diagnostics diagnostics(context);
    mlir::OwningOpRef<mlir::ModuleOp> copy = module->module.get().clone();
    std::string why;
    if (mlir::failed(mlir::smq::writeAotLibrary(*copy, aot, &why)))
      return diagnostics.fail("smqModuleCompileLibrary: " +
                              (why.empty() ? std::string(libraryPath) : why));
    return nullptr;
  });
}

SmqStatus *smqModuleExportOnnx(const SmqModule *module, const char *path,
                               const SmqOnnxExportOptions *options) {
  return guarded("smqModuleExportOnnx", [&]() -> SmqStatus * {
    if (!module || !path)
      return fail("smqModuleExportOnnx: module and path must not be NULL");
    mlir::smq::OnnxExportOptions o;
    if (options) {
      if (options->form != SMQ_ONNX_MATMULNBITS && options->form != SMQ_ONNX_QDQ)
        return fail("smqModuleExportOnnx: unknown form " +
                    std::to_string(options->form));
      if (options->accuracyLevel < 0 || options->accuracyLevel > 4)
        return fail("smqModuleExportOnnx: accuracyLevel must be 0 to 4, not " +
                    std::to_string(options->accuracyLevel));
      if (options->externalData < SMQ_EXTERNAL_DATA_AUTO ||
          options->externalData > SMQ_EXTERNAL_DATA_NEVER)
        return fail("smqModuleExportOnnx: unknown externalData " +
                    std::to_string(options->externalData));
      o.form = options->form == SMQ_ONNX_QDQ ? mlir::smq::OnnxExportForm::Qdq
                                             : mlir::smq::OnnxExportForm::MatMulNBits;
      if (options->source)
        o.source = options->source;
      o.widen3Bit = options->widen3Bit != 0;
      o.accuracyLevel = options->accuracyLevel;
      o.externalData =
          options->externalData == SMQ_EXTERNAL_DATA_ALWAYS
              ? mlir::smq::ExternalData::Always
              : options->externalData == SMQ_EXTERNAL_DATA_NEVER
                    ? mlir::smq::ExternalData::Never
                    : mlir::smq::ExternalData::Auto;
    }
    mlir::MLIRContext &context = module->compiler->context;
    Diagnostics diagnostics(context);
    if (mlir::failed(mlir::smq::exportOnnx(module->module.get(), path, o)))
      return diagnostics.fail("smqModuleExportOnnx: " + std::string(path));
    return nullptr;
  });
}

} // extern "C"
