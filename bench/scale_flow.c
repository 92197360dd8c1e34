/* Calibrates and quantizes a large token model end to end through the
 * compiler C API, in one process, and reports the wall time of each step
 * and the peak anonymous memory (RssAnon, sampled every 20 ms), which
 * leaves out the memory-mapped external weights:
 *
 *   smq-bench-scale MODEL.onnx TEXT NUM_SEQS OUT.onnx [QUANTIZE_OPTIONS]
 *
 * Windows of 128 bytes of TEXT are the calibration sequences; calibration
 * keeps the windows only (sequential quantization needs nothing else), the
 * quantization options default to "method=gptq bits=4 group-size=64
 * lambda=0", and the result is written as ONNX with MatMulNBits and
 * external data. Progress goes to stderr. See bench/scale.sh. */
#include <smq-c/Compiler.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int sampling = 1;
static long peakAnonKb = 0;

static long rssAnonKb(void) {
  char line[256];
  long kb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

static void *sampler(void *unused) {
  (void)unused;
  while (sampling) {
    long kb = rssAnonKb();
    if (kb > peakAnonKb)
      peakAnonKb = kb;
    usleep(20000);
  }
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void onProgress(void *user, const char *task, size_t done,
                       size_t total, const char *item, double seconds) {
  (void)user;
  if (!task) {
    fprintf(stderr, "%s\n", item);
    return;
  }
  fprintf(stderr, "%s %zu/%zu %s, %.1f s, ETA %.1f s, RssAnon %ld MB\n", task,
          done, total, item, seconds,
          done ? seconds / done * (total - done) : 0.0, rssAnonKb() / 1024);
}

static int check(SmqStatus *status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "%s: %s\n", what, smqStatusMessage(status));
  smqStatusDestroy(status);
  return 1;
}

int main(int argc, char **argv) {
  SmqCompiler *compiler = NULL;
  SmqModule *module = NULL;
  SmqStatistics *stats = NULL;
  SmqCalibrationOptions calib = smqCalibrationOptionsDefault();
  SmqOnnxExportOptions onnx;
  const int64_t dims[2] = {1, 128};
  SmqInputShape shape;
  const char *options = "method=gptq bits=4 group-size=64 lambda=0";
  size_t seqs, i;
  unsigned char *text;
  int64_t *tokens;
  double t0, tImport, tCalibrate, tQuantize, tExport;
  pthread_t thread;
  FILE *f;
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s MODEL.onnx TEXT NUM_SEQS OUT.onnx "
                    "[QUANTIZE_OPTIONS]\n", argv[0]);
    return 2;
  }
  if (argc == 6)
    options = argv[5];
  seqs = (size_t)atoi(argv[3]);
  text = malloc(seqs * 128);
  tokens = malloc(seqs * 128 * sizeof *tokens);
  f = fopen(argv[2], "rb");
  if (!f || fread(text, 1, seqs * 128, f) != seqs * 128) {
    fprintf(stderr, "%s: cannot read %zu bytes\n", argv[2], seqs * 128);
    return 1;
  }
  fclose(f);
  for (i = 0; i < seqs * 128; ++i)
    tokens[i] = text[i];
  pthread_create(&thread, NULL, sampler, NULL);

  t0 = now();
  if (check(smqCompilerCreate(&compiler), "create") ||
      check(smqCompilerSetProgress(compiler, onProgress, NULL), "progress"))
    return 1;
  /* The input's name: make_decoder.py's models take input_ids. */
  shape.name = "input_ids";
  shape.rank = 2;
  shape.dims = dims;
  if (check(smqCompilerImportOnnx(compiler, argv[1], &shape, 1, &module),
            "import"))
    return 1;
  tImport = now();
  calib.windowsOnly = 1;
  if (check(smqModuleCalibrate(module, tokens, seqs, 128, &calib, &stats),
            "calibrate"))
    return 1;
  tCalibrate = now();
  if (check(smqModuleQuantize(module, options, stats), "quantize"))
    return 1;
  tQuantize = now();
  memset(&onnx, 0, sizeof onnx);
  onnx.form = SMQ_ONNX_MATMULNBITS;
  onnx.externalData = SMQ_EXTERNAL_DATA_ALWAYS;
  if (check(smqModuleExportOnnx(module, argv[4], &onnx), "export"))
    return 1;
  tExport = now();
  sampling = 0;
  pthread_join(thread, NULL);
  printf("import %.1f s, calibrate (windows) %.1f s, quantize %.1f s, "
         "export %.1f s, total %.1f s\n",
         tImport - t0, tCalibrate - tImport, tQuantize - tCalibrate,
         tExport - tQuantize, tExport - t0);
  printf("peak RssAnon %ld MB\n", peakAnonKb / 1024);
  smqStatisticsDestroy(stats);
  smqModuleDestroy(module);
  smqCompilerDestroy(compiler);
  free(text);
  free(tokens);
  return 0;
}
