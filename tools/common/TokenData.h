//===- TokenData.h - token windows from text or token files -----*- C++ -*-===//
#ifndef SMQ_TOOLS_COMMON_TOKENDATA_H
#define SMQ_TOOLS_COMMON_TOKENDATA_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smq::tools {

struct TokenSource {
  std::string textPath;   // with byteTokens: the file's bytes are tokens
  bool byteTokens = false;
  std::string tokensPath; // or: int64 .npy of shape [N, seqLen]
  int64_t seqLen = 128;
  int64_t maxTokens = 0;  // 0: all
  int64_t maxWindows = 0; // 0: all
};

/// Non-overlapping windows of `seqLen` tokens. Prints a diagnostic to
/// stderr and returns nullopt on bad input.
std::optional<std::vector<std::vector<int64_t>>>
loadTokenWindows(const TokenSource &source);

} // namespace smq::tools

#endif // SMQ_TOOLS_COMMON_TOKENDATA_H
