/* Runs a model made by smq-compile with any number of inputs, matched by
 * name:
 *   run_inputs LIB WEIGHTS|- OUTDIR NAME=INPUT.raw... [--threads N]
 * Each input's raw bytes must fill its signature's shape; each output is
 * written, runtime-allocated, to OUTDIR/<output name>.raw. */
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

/* Reads exactly `bytes` bytes of `path` into a new buffer, or NULL. */
static void *readFile(const char *path, size_t bytes) {
  FILE *f = fopen(path, "rb");
  void *data = malloc(bytes ? bytes : 1);
  int ok = f && data && fread(data, 1, bytes, f) == bytes && fgetc(f) == EOF;
  if (f)
    fclose(f);
  if (!ok) {
    fprintf(stderr, "%s does not hold exactly %zu bytes\n", path, bytes);
    free(data);
    return NULL;
  }
  return data;
}

int main(int argc, char **argv) {
  SmqModel *model = NULL;
  SmqBuffer *inputs = NULL, *outputs = NULL;
  SmqTensorInfo *infos = NULL;
  size_t i, d, numInputs = 0, numOutputs = 0;
  int a, rc = 1;
  if (argc < 4) {
    fprintf(stderr, "usage: run_inputs LIB WEIGHTS|- OUTDIR NAME=FILE.raw... "
                    "[--threads N]\n");
    return 2;
  }
  if (check(smqModelLoad(argv[1], strcmp(argv[2], "-") ? argv[2] : NULL,
                         &model),
            "load"))
    return 1;
  numInputs = smqModelNumInputs(model);
  numOutputs = smqModelNumOutputs(model);
  inputs = calloc(numInputs + 1, sizeof *inputs);
  infos = calloc(numInputs + 1, sizeof *infos);
  outputs = calloc(numOutputs + 1, sizeof *outputs);
  if (!inputs || !infos || !outputs)
    goto done;
  for (i = 0; i < numInputs; ++i)
    if (check(smqModelInputInfo(model, i, &infos[i]), "input info"))
      goto done;
  for (a = 4; a < argc; ++a) {
    const char *eq = strchr(argv[a], '=');
    if (!strcmp(argv[a], "--threads") && a + 1 < argc) {
      smqSetNumThreads(atoi(argv[++a]));
      continue;
    }
    for (i = 0; eq && i < numInputs; ++i)
      if (strlen(infos[i].name) == (size_t)(eq - argv[a]) &&
          !strncmp(infos[i].name, argv[a], (size_t)(eq - argv[a])))
        break;
    if (!eq || i == numInputs) {
      fprintf(stderr, "no model input named by '%s'\n", argv[a]);
      goto done;
    }
    inputs[i].byteSize = smqElementSize(infos[i].type);
    for (d = 0; d < infos[i].rank; ++d)
      inputs[i].byteSize *= (size_t)infos[i].shape[d];
    inputs[i].type = infos[i].type;
    inputs[i].rank = infos[i].rank;
    inputs[i].shape = infos[i].shape;
    free(inputs[i].data);
    if (!(inputs[i].data = readFile(eq + 1, inputs[i].byteSize)))
      goto done;
  }
  for (i = 0; i < numInputs; ++i)
    if (!inputs[i].data) {
      fprintf(stderr, "input '%s' not given\n", infos[i].name);
      goto done;
    }
  if (check(smqModelRun(model, inputs, numInputs, outputs, numOutputs), "run"))
    goto done;
  for (i = 0; i < numOutputs; ++i) {
    SmqTensorInfo info;
    char path[4096];
    FILE *f;
    if (check(smqModelOutputInfo(model, i, &info), "output info"))
      goto done;
    snprintf(path, sizeof path, "%s/%s.raw", argv[3], info.name);
    f = fopen(path, "wb");
    if (!f || fwrite(outputs[i].data, 1, outputs[i].byteSize, f) !=
                  outputs[i].byteSize) {
      fprintf(stderr, "cannot write %s\n", path);
      if (f)
        fclose(f);
      goto done;
    }
    fclose(f);
    printf("wrote %s (%zu bytes)\n", path, outputs[i].byteSize);
  }
  rc = 0;
done:
  for (i = 0; outputs && i < numOutputs; ++i)
    smqFree(outputs[i].data);
  for (i = 0; inputs && i < numInputs; ++i)
    free(inputs[i].data);
  free(inputs);
  free(infos);
  free(outputs);
  smqModelDestroy(model);
  return rc;
}
