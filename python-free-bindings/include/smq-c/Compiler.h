/*===- smq-c/Compiler.h - import, calibrate, quantize and compile from C -===*
 *
 * The whole SMQ flow in process, for toolchains without Python or a
 * subprocess: import an ONNX model, calibrate it on token buffers, quantize
 * it with smq-quantize-weights' options, and compile it to the shared
 * library + weights file that smq-c/Runtime.h loads, or export it to ONNX
 * for ONNX Runtime. libsmq_compiler links
 * LLVM and MLIR 22; the runtime does not.
 *
 * Conventions are those of smq-c/Runtime.h: opaque handles, SmqStatus *
 * results (NULL on success) whose messages carry MLIR's diagnostics, and
 * NUL-terminated UTF-8 strings. A compiler and the modules and statistics
 * made from it belong to one thread at a time; different compilers may be
 * used on different threads. Modules and statistics must be destroyed
 * before their compiler.
 *
 *===---------------------------------------------------------------------===*/
#ifndef SMQ_C_COMPILER_H
#define SMQ_C_COMPILER_H

#include <smq-c/Runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMQ_COMPILER_API_VERSION 3
int smqCompilerApiVersion(void);

typedef struct SmqCompiler SmqCompiler;
typedef struct SmqModule SmqModule;
typedef struct SmqStatistics SmqStatistics;

SmqStatus *smqCompilerCreate(SmqCompiler **compiler);
void smqCompilerDestroy(SmqCompiler *compiler);

/* Long work (calibration, sequence by sequence; quantization, layer by
 * layer or stage by stage) reports how far it has got: unit `done` of the
 * `total` that `task` has ("calibrate: sequence", "quantize: sequential
 * stage"), `item` naming it, `elapsedSeconds` since the task began. A
 * one-off message (lambda=auto's choice) comes with `task` NULL and the
 * message in `item`. Called on the thread that called into the compiler;
 * the strings live for the call only. */
typedef void (*SmqProgressCallback)(void *userData, const char *task,
                                    size_t done, size_t total,
                                    const char *item, double elapsedSeconds);
/* Reports the compiler's progress to `callback` (NULL, the default: to
 * nothing; the library never prints). Since version 3. */
SmqStatus *smqCompilerSetProgress(SmqCompiler *compiler,
                                  SmqProgressCallback callback,
                                  void *userData);

/* Specialises a graph input's shape at import: name and dims. */
typedef struct {
  const char *name;
  size_t rank;
  const int64_t *dims;
} SmqInputShape;

/* Imports an ONNX model (.onnx, external data beside it) with the given
 * input shapes (numShapes may be 0). */
SmqStatus *smqCompilerImportOnnx(SmqCompiler *compiler, const char *path,
                                 const SmqInputShape *shapes,
                                 size_t numShapes, SmqModule **module);
/* Reads an smq module (.mlir text or .mlirbc bytecode). */
SmqStatus *smqCompilerLoadModule(SmqCompiler *compiler, const char *path,
                                 SmqModule **module);
void smqModuleDestroy(SmqModule *module);
/* Writes the module as MLIR text, all or nothing. */
SmqStatus *smqModuleWrite(const SmqModule *module, const char *path);

typedef struct {
  uint64_t seed;    /* of the neighbour draws */
  int diagonal;     /* nonzero: diagonal statistics only */
  int64_t holdout;  /* every holdout-th sequence held out (0: none) */
  /* nonzero: run nothing and keep the sequences only (smq-calibrate
   * --stats windows), for sequential quantization of models whose one-shot
   * statistics would not fit in memory. Since version 3. */
  int windowsOnly;
} SmqCalibrationOptions;
/* seed 0, full statistics, holdout 8: smq-calibrate's defaults. */
SmqCalibrationOptions smqCalibrationOptionsDefault(void);

/* Calibrates a token model (one int64 input [1, seqLen]) on numSequences
 * sequences of seqLen token ids at `tokens` (row-major). The module is not
 * changed. */
SmqStatus *smqModuleCalibrate(const SmqModule *module, const int64_t *tokens,
                              size_t numSequences, size_t seqLen,
                              const SmqCalibrationOptions *options,
                              SmqStatistics **statistics);
/* Writes statistics in smq-calibrate's file format. */
SmqStatus *smqStatisticsWrite(const SmqStatistics *statistics,
                              const char *path);
void smqStatisticsDestroy(SmqStatistics *statistics);

/* Quantizes the module's weights in place: `options` as for
 * --smq-quantize-weights ("method=gptq bits=4 group-size=64 lambda=auto",
 * without stats=), `statistics` from smqModuleCalibrate (NULL for methods
 * that need none, such as rtn). */
SmqStatus *smqModuleQuantize(SmqModule *module, const char *options,
                             const SmqStatistics *statistics);

typedef struct {
  const char *weightsPath; /* NULL: NAME.weights beside libNAME.so */
  int embedWeights;        /* nonzero: weights inside the library */
  const char *targetCpu;   /* NULL: "x86-64" */
  const char *prefix;      /* NULL: NAME */
  const char *cc;          /* NULL: "cc" */
  const char *device;      /* NULL: "cpu"; "vulkan" (SPIR-V kernels) or
                              "cuda" (PTX), embedded in the library */
} SmqCompileOptions;

/* Compiles the module (unchanged) into libraryPath (+ weights); the result
 * is what smq-compile writes, loadable with smqModelLoad. */
SmqStatus *smqModuleCompileLibrary(const SmqModule *module,
                                   const char *libraryPath,
                                   const SmqCompileOptions *options);

typedef enum {
  SMQ_ONNX_MATMULNBITS = 0, /* com.microsoft::MatMulNBits (bits 2, 4, 8) */
  SMQ_ONNX_QDQ = 1          /* DequantizeLinear-21 blocked, then the op */
} SmqOnnxForm;

typedef enum {
  SMQ_EXTERNAL_DATA_AUTO = 0, /* if the source had it, or weights > 1 GiB */
  SMQ_EXTERNAL_DATA_ALWAYS = 1,
  SMQ_EXTERNAL_DATA_NEVER = 2
} SmqExternalData;

typedef struct {
  SmqOnnxForm form;
  const char *source;          /* NULL: the ONNX model the module records */
  int widen3Bit;               /* nonzero: 3-bit weights as 4-bit codes */
  int accuracyLevel;           /* MatMulNBits accuracy_level, 0 to 4 */
  SmqExternalData externalData; /* weights in PATH.data beside the model */
} SmqOnnxExportOptions;

/* Writes the quantized module as ONNX, all or nothing: the source model
 * with each quantized weight in ONNX Runtime's form (what
 * `smq-translate --export-onnx` writes). NULL options: MatMulNBits,
 * recorded source, accuracy level 0, automatic external data. */
SmqStatus *smqModuleExportOnnx(const SmqModule *module, const char *path,
                               const SmqOnnxExportOptions *options);

#ifdef __cplusplus
}
#endif

#endif /* SMQ_C_COMPILER_H */
