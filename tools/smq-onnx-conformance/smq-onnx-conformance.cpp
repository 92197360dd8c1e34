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

#include "ModelLoading.h"

#include "smq/Execution/CompiledModel.h"
#include "smq/Import/Onnx/OnnxImporter.h"
#include "smq/Import/Onnx/TensorFile.h"

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
#include <cmath>
#include <set>

using namespace llvm;
namespace fs = std::filesystem;

static cl::opt<std::string> testDir(cl::Positional, cl::Required,
                                    cl::desc("<node test directory>"));
static cl::opt<double> minPassRate("min-pass-rate",
                                   cl::desc("Fail below this pass rate"),
                                   cl::init(0.98));
static cl::opt<bool> verbose("verbose", cl::desc("Print every test"));
static cl::opt<bool> execute(
    "execute",
    cl::desc("Also compile and run each imported test and compare its "
             "outputs with ONNX's (rtol 1e-3, atol 1e-7)"));
static cl::list<std::string> expectedFailures(
    "expected-failures",
    cl::desc("File of 'test_name: reason' lines for tests known to fail "
             "(may be given more than once: the lists add up)"));
static cl::opt<std::string>
    device("device",
           cl::desc("--execute on: cpu, vulkan or cuda (see docs/Gpu.md)"),
           cl::init("cpu"));

namespace {

struct Row {
  int passed = 0, failed = 0;
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
/// Imports `modelPath`, binding `bound` inputs, with graph inputs shaped
/// like `inputs`; with --execute, also runs it on `inputs` and compares
/// with `expected`. Returns the first error.
bool importModel(const std::string &modelPath,
                 const std::set<std::string> &dynamicInputs,
                 const std::map<std::string, std::string> &bound,
                 const std::map<std::string, smq::HostArray> &inputs,
                 const std::vector<smq::HostArray> &expected,
                 std::string &firstError) {
  mlir::MLIRContext context;
  context.disableMultithreading();
  smq::tools::registerCompilerDialects(context);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (firstError.empty() &&
        d.getSeverity() == mlir::DiagnosticSeverity::Error)
      firstError = d.str();
    return mlir::success();
  });
  mlir::smq::OnnxImportOptions options;
  options.boundInputs = bound;
  // Specialise dims the model leaves dynamic to the test data's.
  for (const auto &[name, array] : inputs)
    if (dynamicInputs.count(name))
      options.inputShapes[name] = array.shape;
  auto module = mlir::smq::importOnnxFile(modelPath, &context, options);
  if (!module)
    return false;
  if (!execute)
    return true;
  mlir::smq::CompileOptions compileOptions;
  compileOptions.optLevel = 1;
  compileOptions.device = device;
  auto model = mlir::smq::CompiledModel::compile(*module, compileOptions);
  if (!model) {
    if (firstError.empty())
      firstError = "compilation failed";
    return false;
  }
  std::vector<const smq::HostArray *> ordered;
  for (const auto &spec : model->inputs()) {
    auto it = inputs.find(spec.name);
    if (it == inputs.end()) {
      firstError = "no test data for input '" + spec.name + "'";
      return false;
    }
    ordered.push_back(&it->second);
  }
  std::vector<smq::HostArray> outputs;
  std::string why;
  if (!model->run(ordered, outputs, &why)) {
    firstError = why;
    return false;
  }
  if (outputs.size() != expected.size()) {
    firstError = "produced " + std::to_string(outputs.size()) +
                 " outputs, expected " + std::to_string(expected.size());
    return false;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const smq::HostArray &a = outputs[i], &e = expected[i];
    if (a.shape != e.shape || a.dtype != e.dtype) {
      firstError = "output " + std::to_string(i) + " has the wrong shape or type";
      return false;
    }
    for (int64_t k = 0; k < a.numElements(); ++k) {
      double x = a.at(k), y = e.at(k);
      if (std::isnan(x) && std::isnan(y))
        continue;
      if (x == y)
        continue;
      if (!(std::fabs(x - y) <= 1e-7 + 1e-3 * std::fabs(y))) {
        firstError = "output " + std::to_string(i) + " element " +
                     std::to_string(k) + " is " + std::to_string(x) +
                     ", expected " + std::to_string(y);
        return false;
      }
    }
  }
  return true;
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
  int passed = 0, failed = 0, boundCount = 0, unexpected = 0;
  std::map<std::string, std::string> xfails;
  std::vector<std::string> expectedFailed;
  for (const std::string &listPath : expectedFailures) {
    std::ifstream in(listPath);
    if (!in) {
      errs() << "smq-onnx-conformance: cannot read " << listPath << "\n";
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#')
        continue;
      size_t colon = line.find(':');
      std::string test = line.substr(0, colon);
      xfails[test] = colon == std::string::npos ? "" : line.substr(colon + 2);
    }
  }
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
    // Test data: inputs by graph input order, outputs by output order.
    std::map<std::string, smq::HostArray> inputs;
    std::vector<smq::HostArray> expected;
    std::string dataError;
    fs::path data = dir / "test_data_set_0";
    for (int i = 0; i < model.graph().input_size(); ++i) {
      fs::path f = data / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(f))
        continue;
      auto a = smq::readOnnxTensorFile(f.string(), &dataError);
      if (a)
        inputs[model.graph().input(i).name()] = std::move(*a);
    }
    for (int i = 0; i < model.graph().output_size(); ++i) {
      auto a = smq::readOnnxTensorFile(
          (data / ("output_" + std::to_string(i) + ".pb")).string(),
          &dataError);
      if (a)
        expected.push_back(std::move(*a));
    }
    std::set<std::string> dynamicInputs;
    for (const auto &vi : model.graph().input())
      for (const auto &d : vi.type().tensor_type().shape().dim())
        if (!d.has_dim_value())
          dynamicInputs.insert(vi.name());
    std::string firstError;
    bool ok = importModel(modelPath, dynamicInputs, {}, inputs, expected,
                          firstError);
    bool needsConstants =
        firstError.find("compile-time integer constant") != std::string::npos ||
        firstError.find("dynamic shape") != std::string::npos;
    if (!ok && needsConstants) {
      // SMQ compiles static shapes and needs axes, split sizes and shape
      // operands at compile time. Node tests feed them as inputs; bind the
      // integer and scalar inputs to the test's values, as a user would
      // with --bind-input.
      std::map<std::string, std::string> bound;
      const auto &graphInputs = model.graph().input();
      for (int i = 0; i < graphInputs.size(); ++i)
        if (isIntegerType(graphInputs[i].type().tensor_type().elem_type()) ||
            (graphInputs[i].type().tensor_type().has_shape() &&
             graphInputs[i].type().tensor_type().shape().dim_size() == 0)) {
          bound[graphInputs[i].name()] =
              (data / ("input_" + std::to_string(i) + ".pb")).string();
          inputs.erase(graphInputs[i].name());
        }
      firstError.clear();
      ok = importModel(modelPath, dynamicInputs, bound, inputs, expected,
                       firstError);
      if (ok)
        ++boundCount;
    }
    std::string name = dir.filename().string();
    auto xf = xfails.find(name);
    if (xf != xfails.end()) {
      if (ok) {
        failures.push_back(name + ": passes but is listed as an expected "
                                  "failure (" + xf->second + ")");
        ++unexpected;
      } else {
        expectedFailed.push_back(name + ": " + xf->second);
      }
    } else if (!ok) {
      ++unexpected;
    }
    (ok ? rows[key].passed : rows[key].failed)++;
    (ok ? passed : failed)++;
    if (!ok && xf == xfails.end())
      failures.push_back(name + ": " + firstError);
    if (verbose)
      outs() << (ok ? "PASS " : "FAIL ") << dir.filename().string() << "\n";
  }

  outs() << (execute ? "ONNX node tests: import, compile, run and compare\n"
                     : "ONNX node tests: import into smq\n");
  outs() << format("%-24s %8s %8s\n", "op", "passed", "total");
  for (const auto &[op, row] : rows)
    outs() << format("%-24s %8d %8d\n", op.c_str(), row.passed,
                     row.passed + row.failed);
  for (const auto &[why, count] : skipped)
    outs() << "out of scope: " << count << " tests (" << why << ")\n";
  for (const auto &[what, count] : skippedOps)
    outs() << "  old-opset tests of a supported op: " << count << " " << what
           << "\n";
  for (const std::string &f : expectedFailed)
    outs() << "expected failure " << f << "\n";
  for (const std::string &f : failures)
    outs() << "FAILED " << f << "\n";
  outs() << "passed with integer or scalar inputs bound to the test's values: "
         << boundCount << "\n";
  int total = passed + failed;
  double rate = total ? static_cast<double>(passed) / total : 0.0;
  outs() << format("%s pass rate: %d/%d = %.2f%%\n",
                   execute ? "execution" : "import", passed, total,
                   100.0 * rate);
  if (unexpected)
    outs() << unexpected << " unexpected results\n";
  if (total == 0 || rate < minPassRate || unexpected) {
    outs() << format("below the required %.2f%%\n", 100.0 * minPassRate);
    return 1;
  }
  return 0;
}
