/* Misuse and bad files through the C API: every case must come back as a
 * status with a message, never a crash.
 *   capi_errors LIB WEIGHTS TRUNCATED_WEIGHTS DAMAGED_WEIGHTS OTHER_WEIGHTS
 *               TRUNCATED_LIB */
#include <smq-c/Runtime.h>

#include <stdio.h>
#include <stdlib.h>

static int failures;

static void expectFailure(const char *what, SmqStatus *status) {
  if (!status) {
    printf("%s: UNEXPECTED SUCCESS\n", what);
    ++failures;
    return;
  }
  printf("%s: %s\n", what, smqStatusMessage(status));
  smqStatusDestroy(status);
}

int main(int argc, char **argv) {
  SmqModel *model = NULL;
  SmqTensorInfo info;
  SmqBuffer in = {0}, out = {0}, tooSmall = {0};
  const int64_t wrongShape[2] = {1, 64};
  SmqStatus *status;
  float small[4];
  if (argc != 7)
    return 2;
  expectFailure("null out", smqModelLoad(argv[1], argv[2], NULL));
  expectFailure("null library", smqModelLoad(NULL, argv[2], &model));
  expectFailure("missing library",
                smqModelLoad("/nonexistent/libx.so", argv[2], &model));
  expectFailure("truncated library", smqModelLoad(argv[6], argv[2], &model));
  expectFailure("wrong prefix",
                smqModelLoadWithPrefix(argv[1], argv[2], "other", &model));
  expectFailure("no weights", smqModelLoad(argv[1], NULL, &model));
  expectFailure("missing weights",
                smqModelLoad(argv[1], "/nonexistent/x.weights", &model));
  expectFailure("truncated weights", smqModelLoad(argv[1], argv[3], &model));
  expectFailure("damaged weights", smqModelLoad(argv[1], argv[4], &model));
  expectFailure("other model's weights",
                smqModelLoad(argv[1], argv[5], &model));
  expectFailure("library as weights", smqModelLoad(argv[1], argv[1], &model));
  {
    SmqLoadOptions options = {0};
    options.deviceOrdinal = -1;
    expectFailure("negative device number",
                  smqModelLoadWithOptions(argv[1], argv[2], &options, &model));
    options.deviceOrdinal = 2;
    expectFailure("second cpu",
                  smqModelLoadWithOptions(argv[1], argv[2], &options, &model));
    options.deviceOrdinal = 0;
    options.device = SMQ_DEVICE_CUDA;
    expectFailure("cuda for a cpu library",
                  smqModelLoadWithOptions(argv[1], argv[2], &options, &model));
  }
  if (model) {
    printf("a failed load set the model\n");
    return 1;
  }

  printf("null model's device: %d '%s'\n", (int)smqModelDevice(NULL),
         smqModelDeviceName(NULL));
  /* NULL options: the defaults. */
  status = smqModelLoadWithOptions(argv[1], argv[2], NULL, &model);
  if (status) {
    printf("load: %s\n", smqStatusMessage(status));
    return 1;
  }
  printf("device: %d '%s'\n", (int)smqModelDevice(model),
         smqModelDeviceName(model));
  expectFailure("null info", smqModelInputInfo(model, 0, NULL));
  expectFailure("input index", smqModelInputInfo(model, 7, &info));
  expectFailure("output index", smqModelOutputInfo(model, 7, &info));
  expectFailure("null model run", smqModelRun(NULL, NULL, 0, NULL, 0));
  expectFailure("input count", smqModelRun(model, NULL, 0, NULL, 0));
  in.data = NULL;
  in.byteSize = 1024;
  out.data = NULL;
  out.byteSize = 0;
  expectFailure("null input data", smqModelRun(model, &in, 1, &out, 1));
  if (out.data) {
    printf("a failed run allocated an output\n");
    return 1;
  }
  in.data = small;
  in.byteSize = sizeof small;
  expectFailure("input too small", smqModelRun(model, &in, 1, &out, 1));
  in.data = calloc(1, 1 << 16);
  in.byteSize = 1 << 16;
  tooSmall.data = small;
  tooSmall.byteSize = sizeof small;
  expectFailure("output too small", smqModelRun(model, &in, 1, &tooSmall, 1));
  in.type = SMQ_ELEMENT_I32;
  expectFailure("input type", smqModelRun(model, &in, 1, &out, 1));
  in.type = SMQ_ELEMENT_I64;
  in.rank = 2;
  in.shape = wrongShape;
  expectFailure("input shape", smqModelRun(model, &in, 1, &out, 1));
  in.shape = NULL;
  tooSmall.data = in.data; /* the input's bytes, said to be the logits' */
  tooSmall.byteSize = 1 << 17;
  expectFailure("output overlaps input",
                smqModelRun(model, &in, 1, &tooSmall, 1));
  out.type = SMQ_ELEMENT_F16;
  expectFailure("output type", smqModelRun(model, &in, 1, &out, 1));
  if (out.data) {
    printf("a failed run allocated an output\n");
    return 1;
  }
  printf("status of success: '%s'\n", smqStatusMessage(NULL));
  free(in.data);
  smqModelDestroy(model);
  smqModelDestroy(NULL);
  smqStatusDestroy(NULL);
  printf("%d unexpected successes\n", failures);
  return failures != 0;
}
