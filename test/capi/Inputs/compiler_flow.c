/* The whole flow through the compiler C API, in process: import an ONNX
 * token model, calibrate on the first SEQS windows of 128 bytes of a text,
 * quantize (W4 g64 GPTQ, lambda=auto), export ONNX, compile to a library, then load it
 * with the runtime API and run one input.
 *   compiler_flow MODEL.onnx CALIB.txt SEQS INPUT.raw OUTDIR
 * writes OUTDIR/c.stats, OUTDIR/q.mlir, OUTDIR/q.onnx (MatMulNBits),
 * OUTDIR/libflow.so (+ flow.weights) and OUTDIR/logits.raw. Also checks that misuse comes back as statuses. */
#include <smq-c/Compiler.h>
#include <smq-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(SmqStatus *status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "%s: %s\n", what, smqStatusMessage(status));
  smqStatusDestroy(status);
  return 1;
}

static void expectFailure(SmqStatus *status, const char *what) {
  printf("%s: %s\n", what, status ? smqStatusMessage(status)
                                  : "UNEXPECTED SUCCESS");
  smqStatusDestroy(status);
}

/* What the progress callback saw: steps per task, the last of each, and
 * one-off messages. */
static size_t calibrateSteps, calibrateLast, calibrateTotal, stageSteps,
    stageLast, stageTotal, notes;
static void onProgress(void *userData, const char *task, size_t done,
                       size_t total, const char *item, double seconds) {
  (void)userData;
  (void)item;
  (void)seconds;
  if (!task) {
    ++notes;
  } else if (strcmp(task, "calibrate: sequence") == 0) {
    ++calibrateSteps;
    calibrateLast = done;
    calibrateTotal = total;
  } else if (strcmp(task, "quantize: sequential stage") == 0) {
    ++stageSteps;
    stageLast = done;
    stageTotal = total;
  }
}

static char *join(const char *dir, const char *file) {
  char *p = malloc(strlen(dir) + strlen(file) + 2);
  sprintf(p, "%s/%s", dir, file);
  return p;
}

int main(int argc, char **argv) {
  SmqCompiler *compiler = NULL;
  SmqModule *module = NULL, *missing = NULL;
  SmqStatistics *stats = NULL;
  SmqModel *model = NULL;
  SmqCompileOptions compile;
  SmqCalibrationOptions calib = smqCalibrationOptionsDefault();
  const int64_t dims[2] = {1, 128};
  SmqInputShape shape;
  int64_t *tokens, ids[128];
  size_t seqs, i;
  unsigned char *text;
  SmqBuffer input = {0}, output = {0};
  FILE *f;
  SmqOnnxExportOptions exportOptions;
  char *statsPath, *mlirPath, *libPath, *logitsPath, *onnxPath;
  if (argc != 6)
    return 2;
  seqs = (size_t)atoi(argv[3]);
  statsPath = join(argv[5], "c.stats");
  mlirPath = join(argv[5], "q.mlir");
  libPath = join(argv[5], "libflow.so");
  logitsPath = join(argv[5], "logits.raw");
  onnxPath = join(argv[5], "q.onnx");
  if (smqCompilerApiVersion() != SMQ_COMPILER_API_VERSION)
    return 1;
  if (check(smqCompilerCreate(&compiler), "create"))
    return 1;
  expectFailure(smqCompilerSetProgress(NULL, onProgress, NULL),
                "progress without compiler");
  if (check(smqCompilerSetProgress(compiler, onProgress, NULL), "progress"))
    return 1;

  expectFailure(smqCompilerImportOnnx(compiler, "/nonexistent.onnx", NULL, 0,
                                      &missing),
                "missing model");
  shape.name = "input_ids";
  shape.rank = 2;
  shape.dims = dims;
  if (check(smqCompilerImportOnnx(compiler, argv[1], &shape, 1, &module),
            "import"))
    return 1;

  text = malloc(seqs * 128);
  tokens = malloc(seqs * 128 * sizeof *tokens);
  f = fopen(argv[2], "rb");
  if (!text || !tokens || !f || fread(text, 1, seqs * 128, f) != seqs * 128)
    return 1;
  fclose(f);
  for (i = 0; i < seqs * 128; ++i)
    tokens[i] = text[i];
  expectFailure(smqModuleCalibrate(module, tokens, 0, 128, &calib, &stats),
                "no tokens");
  if (check(smqModuleCalibrate(module, tokens, seqs, 128, &calib, &stats),
            "calibrate") ||
      check(smqStatisticsWrite(stats, statsPath), "write statistics"))
    return 1;
  expectFailure(smqModuleQuantize(module, "bits=9 method=gptq", stats),
                "bad bits");
  expectFailure(smqModuleQuantize(module, "method=gptq stats=x", stats),
                "stats in options");
  if (check(smqModuleQuantize(module, "method=gptq bits=4 group-size=64",
                              stats),
            "quantize"))
    return 1;
  printf("progress: calibrate %zu steps (last %zu/%zu), sequential %zu "
         "stages (last %zu/%zu), %zu notes\n",
         calibrateSteps, calibrateLast, calibrateTotal, stageSteps, stageLast,
         stageTotal, notes);
  if (check(smqCompilerSetProgress(compiler, NULL, NULL), "progress off") ||
      check(smqModuleWrite(module, mlirPath), "write module"))
    return 1;
  exportOptions.form = SMQ_ONNX_MATMULNBITS;
  exportOptions.source = NULL;
  exportOptions.widen3Bit = 0;
  exportOptions.accuracyLevel = 7;
  exportOptions.externalData = SMQ_EXTERNAL_DATA_AUTO;
  expectFailure(smqModuleExportOnnx(module, onnxPath, &exportOptions),
                "bad accuracy level");
  if (check(smqModuleExportOnnx(module, onnxPath, NULL), "export onnx"))
    return 1;
  memset(&compile, 0, sizeof compile);
  compile.device = "tpu";
  expectFailure(smqModuleCompileLibrary(module, libPath, &compile),
                "bad device");
  compile.device = NULL;
  compile.targetCpu = "native";
  if (check(smqModuleCompileLibrary(module, libPath, &compile), "compile"))
    return 1;
  smqStatisticsDestroy(stats);
  smqModuleDestroy(module);
  smqCompilerDestroy(compiler);

  /* The artifact, through the runtime API. */
  f = fopen(argv[4], "rb");
  if (!f || fread(ids, sizeof ids, 1, f) != 1)
    return 1;
  fclose(f);
  if (check(smqModelLoad(libPath, NULL, &model), "load without weights") == 0)
    return 1; /* must fail: the weights are in a file */
  {
    char *weights = join(argv[5], "flow.weights");
    if (check(smqModelLoad(libPath, weights, &model), "load"))
      return 1;
    free(weights);
  }
  input.data = ids;
  input.byteSize = sizeof ids;
  output.data = NULL;
  output.byteSize = 0;
  if (check(smqModelRun(model, &input, 1, &output, 1), "run"))
    return 1;
  f = fopen(logitsPath, "wb");
  if (!f || fwrite(output.data, 1, output.byteSize, f) != output.byteSize)
    return 1;
  fclose(f);
  printf("flow: %zu sequences, wrote %zu bytes of logits\n", seqs,
         output.byteSize);
  smqFree(output.data);
  smqModelDestroy(model);
  free(text);
  free(tokens);
  free(statsPath);
  free(mlirPath);
  free(libPath);
  free(logitsPath);
  free(onnxPath);
  return 0;
}
