//===- smq-onnx-conformance.cpp - ONNX backend node tests against SMQ -----===//
//
//   smq-onnx-conformance DIR [--min-pass-rate 0.98] [--verbose]
//
// Walks ONNX's backend node tests (DIR/test_*/model.onnx). A test is in
// scope when every node is an ai.onnx op SMQ has an import rule for, at an
// opset SMQ accepts, and its values use element types SMQ represents. Each
// in-scope model is imported and verified; the tool prints a per-op table
// and fails if the pass rate is below --min-pass-rate.
//
//===----------------------------------------------------------------------===//

#include "smq/Import/Onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace llvm;
namespace fs = std::filesystem;

static cl::opt<std::string> testDir(cl::Positional, cl::Required,
                                    cl::desc("<node test directory>"));
static cl::opt<double> minPassRate("min-pass-rate",
                                   cl::desc("Fail below this pass rate"),
                                   cl::init(0.98));
static cl::opt<bool> verbose("verbose", cl::desc("Print every test"));

namespace {

struct Row {
  int passed = 0, failed = 0, boundCount = 0;
};

bool supportedElementType(int32_t t) {
  using TP = onnx::TensorProto;
  switch (t) {
  case TP::FLOAT: case TP::DOUBLE: case TP::FLOAT16: case TP::BFLOAT16:
  case TP::BOOL: case TP::INT8: case TP::INT16: case TP::INT32:
  case TP::INT64: case TP::UINT8: case TP::UINT16: case TP::UINT32:
  case TP::UINT64:
    return true;
  default:
    return false;
  }
}

/// Why a model is outside SMQ's scope, or "" if it is in scope.
/// Imports `modelPath`, binding `bound` inputs; returns the first error.
bool importModel(const std::string &modelPath,
                 const std::map<std::string, std::string> &bound,
                 std::string &firstError) {
  mlir::MLIRContext context;
  context.disableMultithreading();
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (firstError.empty())
      firstError = d.str();
    return mlir::success();
  });
  mlir::smq::OnnxImportOptions options;
  options.boundInputs = bound;
  return static_cast<bool>(
      mlir::smq::importOnnxFile(modelPath, &context, options));
}

bool isIntegerType(int32_t t) {
  using TP = onnx::TensorProto;
  return t == TP::INT64 || t == TP::INT32;
}

std::string outOfScope(const onnx::ModelProto &model) {
  int64_t opset = 0;
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  if (opset < mlir::smq::kMinOnnxOpset || opset > mlir::smq::kMaxOnnxOpset)
    return "opset " + std::to_string(opset) + " is outside " +
           std::to_string(mlir::smq::kMinOnnxOpset) + "-" +
           std::to_string(mlir::smq::kMaxOnnxOpset);
  for (const auto &node : model.graph().node())
    if (!mlir::smq::isSupportedOnnxOp(node.domain(), node.op_type(), opset))
      return "op " + node.op_type() + " (opset " + std::to_string(opset) +
             ") has no import rule";
  auto checkType = [](const onnx::TypeProto &t) {
    return t.has_tensor_type() &&
           supportedElementType(t.tensor_type().elem_type());
  };
  for (const auto &vi : model.graph().input())
    if (!checkType(vi.type()))
      return "an input is not a tensor of an element type SMQ represents";
  for (const auto &vi : model.graph().output())
    if (!checkType(vi.type()))
      return "an output is not a tensor of an element type SMQ represents";
  for (const auto &node : model.graph().node())
    for (const auto &a : node.attribute())
      if (a.name() == "to" && node.op_type() == "Cast" &&
          !supportedElementType(static_cast<int32_t>(a.i())))
        return "Cast to an element type SMQ does not represent";
  return "";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "ONNX node-test conformance\n");

  std::vector<fs::path> tests;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(testDir.getValue(), ec))
    if (fs::exists(entry.path() / "model.onnx"))
      tests.push_back(entry.path());
  if (ec || tests.empty()) {
    errs() << "smq-onnx-conformance: no node tests under '" << testDir
           << "'\n";
    return 2;
  }
  std::sort(tests.begin(), tests.end());

  std::map<std::string, Row> rows;
  std::map<std::string, int> skipped, skippedOps;
  std::vector<std::string> failures;
  int passed = 0, failed = 0, boundCount = 0;
  for (const fs::path &dir : tests) {
    std::string modelPath = (dir / "model.onnx").string();
    onnx::ModelProto model;
    {
      std::ifstream in(modelPath, std::ios::binary);
      if (!model.ParseFromIstream(&in)) {
        failures.push_back(dir.filename().string() + ": unreadable model");
        ++failed;
        continue;
      }
    }
    std::string why = outOfScope(model);
    if (!why.empty()) {
      std::string category =
          why.rfind("op ", 0) == 0      ? "ops without an import rule"
          : why.rfind("opset ", 0) == 0 ? "opsets outside the supported range"
                                        : "values that are not tensors of "
                                          "SMQ's element types";
      ++skipped[category];
      if (why.rfind("opset ", 0) == 0 && model.graph().node_size() == 1 &&
          mlir::smq::isSupportedOnnxOp("", model.graph().node(0).op_type(),
                                       mlir::smq::kMaxOnnxOpset))
        ++skippedOps[model.graph().node(0).op_type() + " (" + why + ")"];
      continue;
    }
    std::string key = model.graph().node_size() == 1
                          ? model.graph().node(0).op_type()
                          : "(composite graphs)";
    std::string firstError;
    bool ok = importModel(modelPath, {}, firstError);
    if (!ok && firstError.find("compile-time integer constant") !=
                   std::string::npos) {
      // SMQ needs axes, split sizes and the like at compile time. Node tests
      // feed them as inputs; bind the integer inputs to the test's values,
      // as a user would with --bind-input.
      std::map<std::string, std::string> bound;
      const auto &inputs = model.graph().input();
      for (int i = 0; i < inputs.size(); ++i)
        if (isIntegerType(inputs[i].type().tensor_type().elem_type()))
          bound[inputs[i].name()] =
              (dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb"))
                  .string();
      firstError.clear();
      ok = importModel(modelPath, bound, firstError);
      if (ok)
        ++boundCount;
    }
    (ok ? rows[key].passed : rows[key].failed)++;
    (ok ? passed : failed)++;
    if (!ok)
      failures.push_back(dir.filename().string() + ": " + firstError);
    if (verbose)
      outs() << (ok ? "PASS " : "FAIL ") << dir.filename().string() << "\n";
  }

  outs() << "ONNX node tests: import into smq\n";
  outs() << format("%-24s %8s %8s\n", "op", "passed", "total");
  for (const auto &[op, row] : rows)
    outs() << format("%-24s %8d %8d\n", op.c_str(), row.passed,
                     row.passed + row.failed);
  for (const auto &[why, count] : skipped)
    outs() << "out of scope: " << count << " tests (" << why << ")\n";
  for (const auto &[what, count] : skippedOps)
    outs() << "  old-opset tests of a supported op: " << count << " " << what
           << "\n";
  for (const std::string &f : failures)
    outs() << "FAILED " << f << "\n";
  outs() << "passed with integer inputs bound to the test's values: "
         << boundCount << "\n";
  int total = passed + failed;
  double rate = total ? static_cast<double>(passed) / total : 0.0;
  outs() << format("import pass rate: %d/%d = %.2f%%\n", passed, total,
                   100.0 * rate);
  if (total == 0 || rate < minPassRate) {
    outs() << format("below the required %.2f%%\n", 100.0 * minPassRate);
    return 1;
  }
  return 0;
}
