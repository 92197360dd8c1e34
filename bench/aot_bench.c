/* Load-to-first-result and run time of an AOT model through the C API:
 *   smq-bench-aot LIB WEIGHTS|- INPUT.raw REPS [THREADS]
 * prints "load L ms first F ms; ms per pass: min / median / max" where L
 * is smqModelLoad (map and check the weights, dlopen) and F the first run
 * after it. */
#define _POSIX_C_SOURCE 199309L
#include <smq-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  SmqModel *model = NULL;
  SmqStatus *status;
  SmqTensorInfo info;
  SmqBuffer input = {0}, *outputs;
  size_t i, bytes, numOutputs;
  int reps, r;
  double t0, load, first, *ms;
  FILE *f;
  if (argc < 5) {
    fprintf(stderr, "usage: smq-bench-aot LIB WEIGHTS|- INPUT.raw REPS "
                    "[THREADS]\n");
    return 2;
  }
  reps = atoi(argv[4]);
  if (reps < 1)
    reps = 1;
  if (argc > 5)
    smqSetNumThreads(atoi(argv[5]));
  t0 = now();
  status = smqModelLoad(argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &model);
  load = now() - t0;
  if (status) {
    fprintf(stderr, "%s\n", smqStatusMessage(status));
    smqStatusDestroy(status);
    return 1;
  }
  smqModelInputInfo(model, 0, &info);
  bytes = smqElementSize(info.type);
  for (i = 0; i < info.rank; ++i)
    bytes *= (size_t)info.shape[i];
  input.data = malloc(bytes);
  input.byteSize = bytes;
  f = fopen(argv[3], "rb");
  if (!input.data || !f || fread(input.data, 1, bytes, f) != bytes) {
    fprintf(stderr, "cannot read %s\n", argv[3]);
    return 1;
  }
  fclose(f);
  numOutputs = smqModelNumOutputs(model);
  outputs = calloc(numOutputs, sizeof *outputs);
  t0 = now();
  status = smqModelRun(model, &input, 1, outputs, numOutputs);
  first = now() - t0;
  if (status) {
    fprintf(stderr, "%s\n", smqStatusMessage(status));
    return 1;
  }
  ms = malloc(sizeof *ms * (size_t)reps);
  for (r = 0; r < 3; ++r)
    smqModelRun(model, &input, 1, outputs, numOutputs);
  for (r = 0; r < reps; ++r) {
    t0 = now();
    smqModelRun(model, &input, 1, outputs, numOutputs);
    ms[r] = now() - t0;
  }
  qsort(ms, (size_t)reps, sizeof *ms, cmp);
  printf("load %.1f ms first %.1f ms; ms per pass: min %.3f median %.3f max "
         "%.3f\n", load, first, ms[0], ms[reps / 2], ms[reps - 1]);
  for (i = 0; i < numOutputs; ++i)
    smqFree(outputs[i].data);
  free(outputs);
  free(ms);
  free(input.data);
  smqModelDestroy(model);
  return 0;
}
