//===- smq-compile.cpp - ahead-of-time shared libraries of models ---------===//
//
//   smq-compile model.{onnx,mlir} -o libNAME.so
//               [--weights NAME.weights | --embed-weights]
//               [--target-cpu CPU] [--prefix P] [--input-shape name=1x128]
//
// Lowers the model as the JIT does, emits position-independent object code
// for --target-cpu (default x86-64: any x86-64 CPU; the runtime's kernels
// dispatch by CPU either way), and links it with a generated C file (the
// model's description and the table of runtime kernels, Artifact.h) into a
// shared library that needs only libc and libm. Weights go to a separate,
// checksummed, page-aligned file that the runtime memory-maps, unless
// --embed-weights puts that same image inside the library. The only
// exported symbol is <prefix>_smq_model_v1 (prefix: NAME of libNAME.so).
// Outputs appear only once complete.
//
//===----------------------------------------------------------------------===//

#include "ModelLoading.h"
#include "ToolDiagnostics.h"

#include "smq/Execution/CompiledModel.h"
#include "smq/Runtime/Runtime.h"
#include "smq/Support/ShapeSpec.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <fstream>
#include <sstream>

using namespace llvm;

namespace {
#include "ArtifactHeader.inc"
} // namespace

static cl::OptionCategory category("smq-compile options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
                                      cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("The shared library to write"),
                                       cl::value_desc("libNAME.so"),
                                       cl::cat(category));
static cl::opt<std::string>
    weightsPath("weights",
                cl::desc("The weights file to write (default: NAME.weights "
                         "beside the library)"),
                cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> embedWeights(
    "embed-weights",
    cl::desc("Put the weights inside the library instead of a file"),
    cl::cat(category));
static cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("CPU the generated code is for: x86-64 (default, any x86-64), "
             "x86-64-v3, skylake-avx512, native, ... The kernels dispatch "
             "at run time regardless"),
    cl::init("x86-64"), cl::cat(category));
static cl::opt<std::string>
    prefix("prefix",
           cl::desc("Prefix of the exported symbol <prefix>_smq_model_v1 "
                    "(default: NAME of libNAME.so)"),
           cl::cat(category));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Specialise a graph input's shape: NAME=DIMxDIM..."),
                cl::value_desc("name=1x128"), cl::cat(category));
static cl::opt<std::string> compilerDriver(
    "cc", cl::desc("C compiler that links the library (default: cc)"),
    cl::init("cc"), cl::cat(category));
static cl::opt<unsigned> optLevel("opt-level",
                                  cl::desc("LLVM optimisation level (0-3)"),
                                  cl::init(2), cl::cat(category));

namespace {

int elementCode(smq::DType t) {
  using smq::DType;
  switch (t) {
  case DType::F32: return 1;
  case DType::F16: return 2;
  case DType::F64: return 3;
  case DType::I8: return 4;
  case DType::U8: return 5;
  case DType::I16: return 6;
  case DType::U16: return 7;
  case DType::I32: return 8;
  case DType::U32: return 9;
  case DType::I64: return 10;
  case DType::U64: return 11;
  case DType::Bool: return 12;
  }
  return 0;
}

uint64_t byteSize(const mlir::smq::TensorSpec &t) {
  uint64_t n = smq::dtypeSize(t.dtype);
  for (int64_t d : t.shape)
    n *= static_cast<uint64_t>(d);
  return n;
}

/// FNV-1a over the weights' names, element types and shapes: what ties a
/// weights file to its library.
uint64_t weightsKey(const std::vector<mlir::smq::TensorSpec> &weights) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&](const void *p, size_t n) {
    const unsigned char *b = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < n; ++i)
      h = (h ^ b[i]) * 1099511628211ull;
  };
  uint64_t count = weights.size();
  add(&count, 8);
  for (const auto &w : weights) {
    add(w.name.data(), w.name.size() + 1);
    int code = elementCode(w.dtype);
    add(&code, sizeof code);
    uint64_t rank = w.shape.size();
    add(&rank, 8);
    add(w.shape.data(), w.shape.size() * 8);
  }
  return h;
}

void putU32(std::string &s, size_t at, uint32_t v) { std::memcpy(&s[at], &v, 4); }
void putU64(std::string &s, size_t at, uint64_t v) { std::memcpy(&s[at], &v, 8); }

/// The weights file image of Artifact.h.
std::string weightsImage(const mlir::smq::ModelSignature &sig, uint64_t key) {
  size_t count = sig.weights.size();
  size_t tableEnd = 48 + 16 * count;
  size_t dataOffset = (tableEnd + 4095) / 4096 * 4096;
  std::vector<uint64_t> offsets(count);
  uint64_t dataSize = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t bytes = sig.weightBytes[i].size();
    uint64_t align = bytes >= 4096 ? 4096 : 64;
    dataSize = (dataSize + align - 1) / align * align;
    offsets[i] = dataSize;
    dataSize += bytes;
  }
  std::string image(dataOffset + dataSize, '\0');
  std::memcpy(&image[0], "SMQWGHT1", 8);
  putU32(image, 8, 1);
  putU32(image, 12, static_cast<uint32_t>(count));
  putU64(image, 16, key);
  putU64(image, 24, dataOffset);
  putU64(image, 32, dataSize);
  for (size_t i = 0; i < count; ++i) {
    putU64(image, 48 + 16 * i, offsets[i]);
    putU64(image, 48 + 16 * i + 8, sig.weightBytes[i].size());
    std::memcpy(&image[dataOffset + offsets[i]], sig.weightBytes[i].data(),
                sig.weightBytes[i].size());
  }
  putU64(image, 40, smq_rt_checksum64(image.data() + dataOffset, dataSize));
  return image;
}

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 32 || c > 126) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void tensorTable(std::ostringstream &c, const std::string &name,
                 const std::vector<mlir::smq::TensorSpec> &tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    c << "static const int64_t " << name << "_shape" << i << "[] = {";
    for (int64_t d : tensors[i].shape)
      c << d << ", ";
    c << "0};\n";
  }
  c << "static const SmqArtifactTensor " << name << "[] = {\n";
  for (size_t i = 0; i < tensors.size(); ++i)
    c << "  {" << cString(tensors[i].name) << ", "
      << elementCode(tensors[i].dtype) << ", " << tensors[i].shape.size()
      << ", " << name << "_shape" << i << ", " << byteSize(tensors[i])
      << "ull},\n";
  if (tensors.empty())
    c << "  {0, 0, 0, 0, 0}\n";
  c << "};\n";
}

/// The C side of the library: Artifact.h, the kernels' stubs (forwarding
/// through the table the runtime hands over), the packed entry and the
/// description.
std::string generateC(const mlir::smq::ModelSignature &sig, uint64_t key,
                      const std::string &symbol, const std::string &entry,
                      const std::string &embedded) {
  size_t args = sig.inputs.size() + sig.weights.size() + sig.outputs.size();
  std::ostringstream c;
  c << "/* Generated by smq-compile. */\n#include <stddef.h>\n"
    << kArtifactHeader << "\n"
    << "#define HIDDEN __attribute__((visibility(\"hidden\")))\n"
    << "static const SmqArtifactImports *rt;\n"
    << "HIDDEN void _mlir_ciface_smq_rt_matmul_f32(void *a, void *b, void *c)"
       " { rt->matmulF32(a, b, c); }\n"
    << "HIDDEN void _mlir_ciface_smq_rt_batch_matmul_f32(void *a, void *b, "
       "void *c) { rt->batchMatmulF32(a, b, c); }\n"
    << "HIDDEN void _mlir_ciface_smq_rt_matmul_panels_f32(void *a, void *p, "
       "void *b, void *c) { rt->matmulPanelsF32(a, p, b, c); }\n"
    << "HIDDEN void _mlir_ciface_smq_rt_qmatmul_packed_f32(void *a, void *q, "
       "void *s, void *z, void *p, void *c) { rt->qmatmulPackedF32(a, q, s, "
       "z, p, c); }\n"
    << "HIDDEN void memrefCopy(int64_t n, void *s, void *d) { "
       "rt->memrefCopy(n, s, d); }\n"
    << "void _mlir_ciface_" << entry << "(";
  for (size_t i = 0; i < args; ++i)
    c << (i ? ", " : "") << "void *";
  c << ");\nstatic void entry(void **args) {\n  _mlir_ciface_" << entry
    << "(";
  for (size_t i = 0; i < args; ++i)
    c << (i ? ", " : "") << "*(void **)args[" << i << "]";
  c << ");\n}\n";
  tensorTable(c, "inputs", sig.inputs);
  tensorTable(c, "weights", sig.weights);
  tensorTable(c, "outputs", sig.outputs);
  if (!embedded.empty())
    c << "extern const unsigned char smq_embedded_weights[] HIDDEN;\n"
      << "extern const unsigned char smq_embedded_weights_end[] HIDDEN;\n"
      << "__asm__(\".section .rodata.smq_weights,\\\"a\\\"\\n"
      << ".balign 4096\\n.globl smq_embedded_weights\\n"
      << ".hidden smq_embedded_weights\\nsmq_embedded_weights:\\n"
      << ".incbin \\\"" << embedded << "\\\"\\n"
      << ".globl smq_embedded_weights_end\\n"
      << ".hidden smq_embedded_weights_end\\nsmq_embedded_weights_end:\\n"
      << ".previous\");\n";
  c << "static SmqArtifact artifact = {SMQ_ARTIFACT_ABI, 0, "
    << cString("smq-compile 0.1.0") << ", " << key << "ull, "
    << sig.inputs.size() << ", " << sig.weights.size() << ", "
    << sig.outputs.size() << ", 0, inputs, weights, outputs, entry, 0, 0};\n"
    << "__attribute__((visibility(\"default\"))) const SmqArtifact *"
    << symbol << "(const SmqArtifactImports *imports) {\n"
    << "  if (!imports || imports->abi != SMQ_ARTIFACT_ABI || imports->count "
       "< 5)\n    return 0;\n  rt = imports;\n";
  if (!embedded.empty())
    c << "  artifact.embeddedWeights = smq_embedded_weights;\n"
      << "  artifact.embeddedWeightsSize = (uint64_t)(smq_embedded_weights_end"
         " - smq_embedded_weights);\n";
  c << "  return &artifact;\n}\n";
  return c.str();
}

bool writeFile(const std::string &path, const std::string &data,
               std::string *why) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) {
    *why = "cannot write " + path;
    return false;
  }
  return true;
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_')
      return false;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  smq::tools::KernelOptions kernelOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "SMQ ahead-of-time compiler\n");
  if (!kernelOptions.apply("smq-compile"))
    return 1;

  // libNAME.so -> NAME: the default prefix and weights file name.
  std::string base = sys::path::filename(outputPath).str();
  std::string name = base;
  if (name.rfind("lib", 0) == 0)
    name = name.substr(3);
  name = name.substr(0, name.find('.'));
  std::string symbolPrefix = prefix.empty() ? name : prefix.getValue();
  if (!isIdentifier(symbolPrefix)) {
    errs() << "smq-compile: the symbol prefix '" << symbolPrefix
           << "' is not a C identifier; name the library libNAME.so with NAME "
              "of letters, digits and _, or pass --prefix\n";
    return 2;
  }
  if (embedWeights && !weightsPath.empty()) {
    errs() << "smq-compile: --weights and --embed-weights exclude each "
              "other\n";
    return 2;
  }
  std::string weightsOut = weightsPath;
  if (!embedWeights && weightsOut.empty()) {
    SmallString<256> p(sys::path::parent_path(outputPath));
    sys::path::append(p, name + ".weights");
    weightsOut = std::string(p);
  }

  std::map<std::string, std::vector<int64_t>> shapes;
  for (const std::string &spec : inputShapes) {
    std::string why;
    auto parsed = smq::parseShapeSpec(spec, &why);
    if (!parsed) {
      errs() << "smq-compile: --input-shape: " << why << "\n";
      return 2;
    }
    shapes[parsed->name] = parsed->dims;
  }

  mlir::MLIRContext context;
  smq::tools::registerCompilerDialects(context);
  smq::tools::ToolDiagnosticHandler diagnostics(&context);
  auto module = smq::tools::loadModel(modelPath, context, shapes);
  if (!module)
    return 1;
  mlir::smq::CompileOptions options;
  options.quantizedActivations = kernelOptions.quantizedActivations();
  options.optLevel = std::min(3u, optLevel.getValue());
  options.targetCpu = targetCpu;
  auto signature = mlir::smq::lowerModel(*module, options);
  if (mlir::failed(signature))
    return 1;
  auto object = mlir::smq::emitRelocatableObject(*module, options);
  if (mlir::failed(object))
    return 1;

  // Everything is built in a scratch folder and renamed into place last.
  SmallString<256> scratch;
  if (std::error_code ec =
          sys::fs::createUniqueDirectory("smq-compile", scratch)) {
    errs() << "smq-compile: cannot create a scratch folder: " << ec.message()
           << "\n";
    return 1;
  }
  auto cleanup = [&] { sys::fs::remove_directories(scratch); };
  auto inScratch = [&](StringRef file) {
    SmallString<256> p(scratch);
    sys::path::append(p, file);
    return std::string(p);
  };
  uint64_t key = weightsKey(signature->weights);
  std::string image = weightsImage(*signature, key);
  std::string why;
  std::string objectFile = inScratch("model.o"), cFile = inScratch("model.c"),
              mapFile = inScratch("exports.map"),
              weightsFile = inScratch("model.weights"),
              libraryFile = inScratch(base);
  std::string symbol = symbolPrefix + "_smq_model_v1";
  if (!writeFile(objectFile, *object, &why) ||
      !writeFile(weightsFile, image, &why) ||
      !writeFile(cFile,
                 generateC(*signature, key, symbol, "main",
                           embedWeights ? weightsFile : std::string()),
                 &why) ||
      !writeFile(mapFile, "{ global: " + symbol + "; local: *; };\n", &why)) {
    errs() << "smq-compile: " << why << "\n";
    cleanup();
    return 1;
  }

  auto cc = sys::findProgramByName(compilerDriver);
  if (!cc) {
    errs() << "smq-compile: no C compiler '" << compilerDriver
           << "' on PATH (needed to link the library; --cc chooses one)\n";
    cleanup();
    return 1;
  }
  std::string versionScript = "-Wl,--version-script=" + mapFile;
  SmallVector<StringRef> ccArgs = {*cc,        "-shared", "-fPIC", "-O2",
                                   "-std=c99", "-o",      libraryFile,
                                   cFile,      objectFile, versionScript,
                                   "-Wl,--no-undefined", "-Wl,-z,noexecstack",
                                   "-lm"};
  std::string ccErrors = inScratch("cc.log");
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(ccErrors),
                                          StringRef(ccErrors)};
  int rc = sys::ExecuteAndWait(*cc, ccArgs, std::nullopt, redirects);
  if (rc != 0) {
    auto log = MemoryBuffer::getFile(ccErrors);
    errs() << "smq-compile: linking " << outputPath << " with " << *cc
           << " failed:\n"
           << (log ? (*log)->getBuffer() : StringRef("(no output)")) << "\n";
    cleanup();
    return 1;
  }
  // The weights first: a library never appears without its weights.
  if (!embedWeights) {
    if (std::error_code ec = sys::fs::copy_file(weightsFile, weightsOut + ".tmp");
        ec || sys::fs::rename(weightsOut + ".tmp", weightsOut)) {
      errs() << "smq-compile: cannot write " << weightsOut << "\n";
      sys::fs::remove(weightsOut + ".tmp");
      cleanup();
      return 1;
    }
  }
  if (std::error_code ec = sys::fs::copy_file(libraryFile, outputPath + ".tmp");
      ec || sys::fs::rename(outputPath + ".tmp", outputPath)) {
    errs() << "smq-compile: cannot write " << outputPath << "\n";
    sys::fs::remove(outputPath + ".tmp");
    cleanup();
    return 1;
  }
  cleanup();
  errs() << "smq-compile: wrote " << outputPath;
  if (!embedWeights)
    errs() << " and " << weightsOut << " (" << image.size() << " bytes)";
  errs() << "; entry " << symbol << "\n";
  return 0;
}
