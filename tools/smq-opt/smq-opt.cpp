//===- smq-opt.cpp - the SMQ optimizer driver -----------------------------===//
//
// mlir-opt with the smq dialect and SMQ's passes and pipelines registered,
// the execution interface that lambda=auto runs candidates through, and a
// progress listener that prints the passes' progress on stderr.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"
#include "smq/Dialect/Smq/IR/SmqDialect.h"
#include "smq/Support/Progress.h"
#include "smq/Execution/Registration.h"
#include "smq/Transforms/Passes.h"

#include "mlir/InitAllPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/StringRef.h"

#include <vector>

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::smq::registerSmqTransformsPasses();
  mlir::smq::registerSmqConversionPasses();
  mlir::smq::registerCpuPipeline();
  mlir::smq::registerGpuPipeline();
  mlir::DialectRegistry registry;
  mlir::smq::registerCompilerDialects(registry);
  registry.addExtension(
      +[](mlir::MLIRContext *, mlir::smq::SmqDialect *dialect) {
        static ::smq::StderrProgress progress;
        dialect->setProgressListener(&progress);
      });
  // An error names the op at fault; printing the whole module under it as
  // well ("see current operation") buries the message for any real model.
  // Off by default here; --mlir-print-op-on-diagnostic turns it back on (a
  // later occurrence on the command line wins).
  std::vector<char *> args(argv, argv + argc);
  static char quietOps[] = "--mlir-print-op-on-diagnostic=false";
  bool given = false;
  for (int i = 1; i < argc; ++i)
    given |= llvm::StringRef(argv[i]).contains("mlir-print-op-on-diagnostic");
  if (!given)
    args.insert(args.begin() + 1, quietOps);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      static_cast<int>(args.size()), args.data(), "SMQ optimizer driver\n",
      registry));
}
