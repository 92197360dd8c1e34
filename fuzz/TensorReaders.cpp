//===- TensorReaders.cpp - libFuzzer target: .npy and TensorProto files ---===//
//
// The same bytes go to both readers the tools take tensors through
// (--input x.npy, and ONNX test data's input_0.pb).
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"

#include "smq/Import/Onnx/TensorFile.h"
#include "smq/Support/HostArray.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  smq::fuzz::MemoryFile file(data, size);
  std::string why;
  // A read array must be as large as its shape says.
  if (auto a = smq::readNpy(file.name(), &why))
    if (a->bytes.size() != static_cast<size_t>(a->numElements()) *
                               smq::dtypeSize(a->dtype))
      __builtin_trap();
  if (auto a = smq::readOnnxTensorFile(file.name(), &why))
    if (a->bytes.size() != static_cast<size_t>(a->numElements()) *
                               smq::dtypeSize(a->dtype))
      __builtin_trap();
  return 0;
}
