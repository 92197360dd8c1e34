/* Runs a one-input model made by smq-compile through the C API:
 *   run_model LIB WEIGHTS|- INPUT.raw OUTPUT.raw [THREADS [DEVICE [NUMBER]]]
 * (DEVICE: cpu, vulkan or cuda, checked against the library's; NUMBER:
 * which device of that kind, from 1) prints the device and the signature, reads the input's raw bytes, writes the first
 * output's raw bytes (runtime-allocated) and the others' sizes. The example
 * of docs/CAPI.md. */
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

static void printInfo(const char *kind, const SmqTensorInfo *info) {
  size_t d;
  printf("%s %s type %d shape", kind, info->name, (int)info->type);
  for (d = 0; d < info->rank; ++d)
    printf("%s%lld", d ? "x" : " ", (long long)info->shape[d]);
  printf("\n");
}

int main(int argc, char **argv) {
  SmqModel *model = NULL;
  SmqLoadOptions options = {0};
  SmqTensorInfo info, inputInfo;
  SmqBuffer input = {0}, *outputs;
  size_t i, numOutputs, bytes = 1;
  FILE *f;
  int rc = 1;
  if (argc < 5) {
    fprintf(stderr, "usage: run_model LIB WEIGHTS|- INPUT.raw OUTPUT.raw "
                    "[THREADS [DEVICE [NUMBER]]]\n");
    return 2;
  }
  if (smqRuntimeApiVersion() != SMQ_RUNTIME_API_VERSION) {
    fprintf(stderr, "runtime API %d, header %d\n", smqRuntimeApiVersion(),
            SMQ_RUNTIME_API_VERSION);
    return 1;
  }
  if (argc > 5)
    smqSetNumThreads(atoi(argv[5]));
  if (argc > 6)
    options.device = !strcmp(argv[6], "cpu")      ? SMQ_DEVICE_CPU
                     : !strcmp(argv[6], "vulkan") ? SMQ_DEVICE_VULKAN
                     : !strcmp(argv[6], "cuda")   ? SMQ_DEVICE_CUDA
                                                  : (SmqDevice)99;
  if (argc > 7)
    options.deviceOrdinal = atoi(argv[7]);
  if (check(smqModelLoadWithOptions(argv[1],
                                    strcmp(argv[2], "-") ? argv[2] : NULL,
                                    &options, &model),
            "load"))
    return 1;
  printf("device %d %s\n", (int)smqModelDevice(model),
         smqModelDeviceName(model));
  if (smqModelNumInputs(model) != 1) {
    fprintf(stderr, "expected a one-input model\n");
    goto done;
  }
  if (check(smqModelInputInfo(model, 0, &info), "input info"))
    goto done;
  printInfo("input", &info);
  inputInfo = info;
  bytes = smqElementSize(info.type);
  for (i = 0; i < info.rank; ++i)
    bytes *= (size_t)info.shape[i];
  numOutputs = smqModelNumOutputs(model);
  for (i = 0; i < numOutputs; ++i) {
    if (check(smqModelOutputInfo(model, i, &info), "output info"))
      goto done;
    printInfo("output", &info);
  }

  input.byteSize = bytes;
  input.data = malloc(bytes);
  /* Say what the buffer holds: the runtime checks it. */
  input.type = inputInfo.type;
  input.rank = inputInfo.rank;
  input.shape = inputInfo.shape;
  f = fopen(argv[3], "rb");
  if (!input.data || !f || fread(input.data, 1, bytes, f) != bytes) {
    fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, argv[3]);
    if (f)
      fclose(f);
    free(input.data);
    goto done;
  }
  fclose(f);
  outputs = calloc(numOutputs, sizeof *outputs); /* data NULL: allocated */
  if (!outputs || check(smqModelRun(model, &input, 1, outputs, numOutputs),
                        "run")) {
    free(outputs);
    free(input.data);
    goto done;
  }
  f = fopen(argv[4], "wb");
  if (f && fwrite(outputs[0].data, 1, outputs[0].byteSize, f) ==
               outputs[0].byteSize) {
    printf("wrote %zu bytes\n", outputs[0].byteSize);
    rc = 0;
  }
  if (f)
    fclose(f);
  for (i = 0; i < numOutputs; ++i)
    smqFree(outputs[i].data);
  free(outputs);
  free(input.data);
done:
  smqModelDestroy(model);
  return rc;
}
