//===- smq-opt.cpp - the SMQ optimizer driver -----------------------------===//
//
// mlir-opt with the smq dialect and SMQ's passes and pipelines registered,
// and the execution interface that lambda=auto runs candidates through.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"
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
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "SMQ optimizer driver\n", registry));
}
