//===- AotWeights.cpp - libFuzzer target: an AOT model's weights file -----===//
//
// The C API loads the library named by SMQ_FUZZ_LIBRARY (scripts/fuzz.sh
// compiles a small model) with the input as its weights file. The harness
// rewrites the header's checksum to match the bytes, so that mutations get
// past it to the table and the offsets behind it (the checksum itself has
// its own test: test/capi/aot-errors.test).
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"

#include "smq-c/Runtime.h"
#include "smq/Runtime/Artifact.h"
#include "smq/Runtime/Runtime.h"

#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *library = [] {
    const char *l = std::getenv("SMQ_FUZZ_LIBRARY");
    if (!l) {
      std::fprintf(stderr, "smq-fuzz-aot-weights: set SMQ_FUZZ_LIBRARY to "
                           "a library made by smq-compile\n");
      std::exit(2);
    }
    return l;
  }();
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= SMQ_WEIGHTS_HEADER_BYTES) {
    uint64_t offset;
    std::memcpy(&offset, bytes.data() + 24, 8);
    if (offset <= size) {
      uint64_t sum = smq_rt_checksum64(bytes.data() + offset, size - offset);
      std::memcpy(bytes.data() + 40, &sum, 8);
    }
  }
  smq::fuzz::MemoryFile file(bytes.data(), bytes.size());
  SmqModel *model = nullptr;
  SmqStatus *status = smqModelLoad(library, file.name().c_str(), &model);
  if (status) {
    // A failed load leaves no model behind, and says why.
    if (model || !smqStatusMessage(status)[0])
      __builtin_trap();
    smqStatusDestroy(status);
    return 0;
  }
  for (size_t i = 0; i < smqModelNumInputs(model); ++i) {
    SmqTensorInfo info;
    if (SmqStatus *s = smqModelInputInfo(model, i, &info))
      smqStatusDestroy(s);
  }
  smqModelDestroy(model);
  return 0;
}
