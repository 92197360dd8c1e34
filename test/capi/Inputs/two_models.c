/* Two AOT models in one process at once: loads both, runs each on the same
 * input, and writes each model's first output; then destroys the first and
 * runs the second again, which must give the same bytes (the same library
 * may be given twice).
 *   two_models LIB1 WEIGHTS1 LIB2 WEIGHTS2 INPUT.raw OUT1.raw OUT2.raw */
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

int main(int argc, char **argv) {
  SmqModel *models[2] = {NULL, NULL};
  SmqBuffer input = {0}, output[2];
  int64_t ids[128];
  FILE *f;
  int i;
  if (argc != 8)
    return 2;
  f = fopen(argv[5], "rb");
  if (!f || fread(ids, sizeof ids, 1, f) != 1)
    return 1;
  fclose(f);
  input.data = ids;
  input.byteSize = sizeof ids;
  for (i = 0; i < 2; ++i)
    if (check(smqModelLoad(argv[1 + 2 * i], argv[2 + 2 * i], &models[i]),
              "load"))
      return 1;
  for (i = 0; i < 2; ++i) {
    output[i].data = NULL;
    output[i].byteSize = 0;
    output[i].type = (SmqElementType)0;
    output[i].rank = 0;
    output[i].shape = NULL;
    if (check(smqModelRun(models[i], &input, 1, &output[i], 1), "run"))
      return 1;
  }
  for (i = 0; i < 2; ++i) {
    f = fopen(argv[6 + i], "wb");
    if (!f || fwrite(output[i].data, 1, output[i].byteSize, f) !=
                  output[i].byteSize)
      return 1;
    fclose(f);
  }
  smqModelDestroy(models[0]);
  {
    SmqBuffer again = {0};
    if (check(smqModelRun(models[1], &input, 1, &again, 1), "run again"))
      return 1;
    if (again.byteSize != output[1].byteSize ||
        memcmp(again.data, output[1].data, again.byteSize) != 0) {
      fprintf(stderr, "the second model changed once the first was gone\n");
      return 1;
    }
    smqFree(again.data);
  }
  smqModelDestroy(models[1]);
  for (i = 0; i < 2; ++i)
    smqFree(output[i].data);
  printf("two models ran\n");
  return 0;
}
