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

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::smq::registerSmqTransformsPasses();
  mlir::smq::registerSmqConversionPasses();
  mlir::smq::registerCpuPipeline();
  mlir::DialectRegistry registry;
  mlir::smq::registerCompilerDialects(registry);
  registry.addExtension(
      +[](mlir::MLIRContext *, mlir::smq::SmqDialect *dialect) {
        static ::smq::StderrProgress progress;
        dialect->setProgressListener(&progress);
      });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "SMQ optimizer driver\n", registry));
}
