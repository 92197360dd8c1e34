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
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace {
/// The output and its temporary, for the fatal error handler.
std::string output, temporary;

/// MLIR's driver writes through an output stream that reports a failed
/// write (a full disk) as a fatal error when it closes: say which file,
/// and that the old one stands, instead of "LLVM ERROR". Any other fatal
/// error also leaves no temporary behind.
void fatalError(void *, const char *reason, bool) {
  if (!temporary.empty() && temporary != "-")
    std::remove(temporary.c_str());
  if (!output.empty() &&
      llvm::StringRef(reason).starts_with("IO failure on output stream")) {
    llvm::errs() << "smq-opt: failed to write '" << output << "': " << reason
                 << "; the previous file, if any, is unchanged\n";
  } else {
    llvm::errs() << "smq-opt: error: " << reason << "\n";
  }
  llvm::errs().flush();
  std::_Exit(1);
}
} // namespace

int main(int argc, char **argv) {
  llvm::install_fatal_error_handler(fatalError);
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
  // The output (-o FILE) is written to a temporary beside FILE and renamed
  // into place only once the whole run succeeded, as every SMQ tool writes:
  // a failure or a kill never leaves FILE half written or removes it.
  std::string outputArg;
  std::vector<char *> passed{args[0]};
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg(args[i]), value;
    bool isOutput = arg.consume_front("-o=") || arg.consume_front("--o=");
    if (isOutput)
      value = arg;
    else if ((arg == "-o" || arg == "--o") && i + 1 < args.size())
      isOutput = true, value = args[++i];
    if (!isOutput) {
      passed.push_back(args[i]);
      continue;
    }
    output = value == "-" ? "" : value.str();
    temporary =
        output.empty() ? "-" : output + ".tmp-" + std::to_string(getpid());
    outputArg = "-o=" + temporary;
  }
  if (!outputArg.empty())
    passed.push_back(outputArg.data());
  args = passed;
  int status = mlir::asMainReturnCode(mlir::MlirOptMain(
      static_cast<int>(args.size()), args.data(), "SMQ optimizer driver\n",
      registry));
  if (!output.empty()) {
    if (status == 0 && std::rename(temporary.c_str(), output.c_str()) != 0) {
      llvm::errs() << "smq-opt: cannot move the output into place at '"
                   << output << "': " << std::strerror(errno) << "\n";
      status = 1;
    }
    std::remove(temporary.c_str());
  }
  return status;
}
