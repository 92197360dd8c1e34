//===- TokenData.h - token windows from text or token files -----*- C++ -*-===//
#ifndef SMQ_TOOLS_COMMON_TOKENDATA_H
#define SMQ_TOOLS_COMMON_TOKENDATA_H

#include "smq/Support/Random.h"
#include "smq/Support/Unigram.h"

#include "llvm/Support/CommandLine.h"

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

/// The command-line options every tool that reads token data takes:
/// --text/--byte-tokens or --tokens, and --seq-len.
struct TokenOptions {
  explicit TokenOptions(llvm::cl::OptionCategory &category);
  TokenSource source() const;

  llvm::cl::opt<std::string> text;
  llvm::cl::opt<bool> byteTokens;
  llvm::cl::opt<std::string> tokens;
  llvm::cl::opt<int64_t> seqLen;
};

/// Non-overlapping windows of `seqLen` tokens. Prints a diagnostic to
/// stderr and returns nullopt on bad input.
std::optional<std::vector<std::vector<int64_t>>>
loadTokenWindows(const TokenSource &source);

/// Neighbours of token windows (smq/Support/Unigram.h).
using ::smq::Unigram;

} // namespace smq::tools

#endif // SMQ_TOOLS_COMMON_TOKENDATA_H
