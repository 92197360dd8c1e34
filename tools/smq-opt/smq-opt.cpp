//===- smq-opt.cpp - the SMQ optimizer driver -----------------------------===//
//
// mlir-opt with the smq dialect and SMQ's passes and pipelines registered.
//
//===----------------------------------------------------------------------===//

#include "smq/Dialect/Smq/IR/SmqDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::smq::SmqDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "SMQ optimizer driver\n", registry));
}
