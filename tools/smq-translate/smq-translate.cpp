//===- smq-translate.cpp - translations into and out of SMQ IR ------------===//
//
//   smq-translate --import-onnx model.onnx [--input-shape name=1x128 ...]
//                 [-o model.mlir] [--emit-bytecode]
//   smq-translate --export-onnx q.mlir -o q.onnx [--source model.onnx]
//                 [--form matmulnbits|qdq] [--widen-3bit]
//                 [--accuracy-level N] [--external-data auto|always|never]
//
// The output is written only if the whole translation succeeds.
//
//===----------------------------------------------------------------------===//

#include "ToolDiagnostics.h"

#include "smq/Export/OnnxExporter.h"
#include "smq/Import/Onnx/OnnxImporter.h"
#include "smq/Support/AtomicFile.h"
#include "smq/Support/ShapeSpec.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_os_ostream.h"

#include <chrono>

using namespace llvm;

static cl::OptionCategory category("smq-translate options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<input file>"),
                                      cl::cat(category));
static cl::opt<bool> importOnnx(
    "import-onnx",
    cl::desc("Import an ONNX model (.onnx, or ONNX text syntax in .onnxtxt)"),
    cl::cat(category));
static cl::opt<bool> exportOnnx(
    "export-onnx",
    cl::desc("Export an SMQ-quantized module (.mlir) as ONNX: the source "
             "model with each quantized weight in ONNX Runtime's form"),
    cl::cat(category));
static cl::opt<std::string> sourceModel(
    "source",
    cl::desc("--export-onnx: the ONNX model the module was imported from "
             "(default: the one it records)"),
    cl::value_desc("model.onnx"), cl::cat(category));
static cl::opt<mlir::smq::OnnxExportForm> exportForm(
    "form", cl::desc("--export-onnx: how quantized weights are written"),
    cl::values(clEnumValN(mlir::smq::OnnxExportForm::MatMulNBits,
                          "matmulnbits",
                          "com.microsoft::MatMulNBits (bits 2, 4, 8)"),
               clEnumValN(mlir::smq::OnnxExportForm::Qdq, "qdq",
                          "blocked DequantizeLinear (opset 21, int4/uint4, "
                          "int8/uint8), then the original op")),
    cl::init(mlir::smq::OnnxExportForm::MatMulNBits), cl::cat(category));
static cl::opt<bool> widen3Bit(
    "widen-3bit",
    cl::desc("--export-onnx: write 3-bit weights as 4-bit codes (same "
             "values) instead of refusing them"),
    cl::cat(category));
static cl::opt<int> accuracyLevel(
    "accuracy-level",
    cl::desc("--export-onnx: MatMulNBits accuracy_level (0: f32, exact; 4: "
             "int8 activations)"),
    cl::init(0), cl::cat(category));
static cl::opt<mlir::smq::ExternalData> externalData(
    "external-data",
    cl::desc("--export-onnx: weights in OUTPUT.data beside the model"),
    cl::values(clEnumValN(mlir::smq::ExternalData::Auto, "auto",
                          "if the source had external data or the weights "
                          "pass 1 GiB"),
               clEnumValN(mlir::smq::ExternalData::Always, "always", ""),
               clEnumValN(mlir::smq::ExternalData::Never, "never", "")),
    cl::init(mlir::smq::ExternalData::Auto), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(category));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Specialise a graph input's shape: NAME=DIMxDIM..."),
                cl::value_desc("name=1x128"), cl::cat(category));
static cl::list<std::string> boundInputs(
    "bind-input",
    cl::desc("Make a graph input a constant read from an ONNX TensorProto "
             "file: NAME=FILE.pb"),
    cl::value_desc("name=file.pb"), cl::cat(category));
static cl::opt<std::string> entryName("entry-name",
                                      cl::desc("Name of the entry function"),
                                      cl::init("main"), cl::cat(category));
static cl::opt<bool> emitBytecode("emit-bytecode",
                                  cl::desc("Write MLIR bytecode, not text"),
                                  cl::cat(category));
static cl::opt<bool> reportTime(
    "report-time", cl::desc("Print the import and write times to stderr"),
    cl::cat(category));

static int runExport() {
  if (outputFile == "-") {
    errs() << "smq-translate: --export-onnx needs an output file (-o)\n";
    return 2;
  }
  if (accuracyLevel < 0 || accuracyLevel > 4) {
    errs() << "smq-translate: --accuracy-level must be 0 to 4\n";
    return 2;
  }
  mlir::DialectRegistry registry;
  mlir::smq::registerImportDialects(registry);
  mlir::MLIRContext context(registry);
  context.disableMultithreading();
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(inputFile, &context);
  if (!module)
    return 1;
  mlir::smq::OnnxExportOptions options;
  options.form = exportForm;
  options.source = sourceModel;
  options.widen3Bit = widen3Bit;
  options.accuracyLevel = accuracyLevel;
  options.externalData = externalData;
  return failed(mlir::smq::exportOnnx(*module, outputFile, options)) ? 1 : 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ translation tool\n");

  if (importOnnx == exportOnnx) {
    errs() << "smq-translate: choose one translation (--import-onnx or "
              "--export-onnx)\n";
    return 2;
  }
  if (exportOnnx)
    return runExport();

  mlir::smq::OnnxImportOptions options;
  options.entryName = entryName;
  for (const std::string &spec : inputShapes) {
    std::string why;
    auto parsed = smq::parseShapeSpec(spec, &why);
    if (!parsed) {
      errs() << "smq-translate: --input-shape: " << why << "\n";
      return 2;
    }
    options.inputShapes[parsed->name] = parsed->dims;
  }

  for (const std::string &spec : boundInputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      errs() << "smq-translate: --bind-input expects NAME=FILE, got '" << spec
             << "'\n";
      return 2;
    }
    options.boundInputs[spec.substr(0, eq)] = spec.substr(eq + 1);
  }

  mlir::MLIRContext context;
  context.disableMultithreading();
  smq::tools::ToolDiagnosticHandler diagnostics(&context);

  auto t0 = std::chrono::steady_clock::now();
  auto module = mlir::smq::importOnnxFile(inputFile, &context, options);
  auto t1 = std::chrono::steady_clock::now();
  if (!module)
    return 1;

  std::string why;
  bool ok = smq::writeFileAtomically(
      outputFile,
      [&](std::ostream &stream) {
        raw_os_ostream os(stream);
        if (emitBytecode)
          return succeeded(mlir::writeBytecodeToFile(*module, os));
        module->print(os);
        return true;
      },
      &why);
  auto t2 = std::chrono::steady_clock::now();
  if (!ok) {
    errs() << "smq-translate: " << why << "\n";
    return 1;
  }
  if (reportTime) {
    auto ms = [](auto d) {
      return std::chrono::duration<double, std::milli>(d).count();
    };
    errs() << "import: " << format("%.1f", ms(t1 - t0))
           << " ms, write: " << format("%.1f", ms(t2 - t1)) << " ms\n";
  }
  return 0;
}
