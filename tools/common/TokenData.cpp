//===- TokenData.cpp ------------------------------------------------------===//
#include "TokenData.h"

#include "smq/Support/HostArray.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace smq::tools {

TokenOptions::TokenOptions(llvm::cl::OptionCategory &category)
    : text("text", llvm::cl::desc("Text whose tokens to use"),
           llvm::cl::value_desc("file"), llvm::cl::cat(category)),
      byteTokens("byte-tokens", llvm::cl::desc("Tokens are the text's bytes"),
                 llvm::cl::cat(category)),
      tokens("tokens",
             llvm::cl::desc("Token ids: int64 .npy of shape [N, seq-len]"),
             llvm::cl::value_desc("file.npy"), llvm::cl::cat(category)),
      seqLen("seq-len", llvm::cl::desc("Window length"), llvm::cl::init(128),
             llvm::cl::cat(category)) {}

TokenSource TokenOptions::source() const {
  TokenSource s;
  s.textPath = text;
  s.byteTokens = byteTokens;
  s.tokensPath = tokens;
  s.seqLen = seqLen;
  return s;
}

std::optional<std::vector<std::vector<int64_t>>>
loadTokenWindows(const TokenSource &src) {
  std::vector<std::vector<int64_t>> windows;
  int64_t seqLen = src.seqLen;
  if (!src.textPath.empty()) {
    if (!src.byteTokens) {
      llvm::errs() << "error: --text needs a tokenizer; only --byte-tokens "
                      "is supported\n";
      return std::nullopt;
    }
    std::ifstream in(src.textPath, std::ios::binary);
    if (!in) {
      llvm::errs() << src.textPath << ": error: cannot open the text\n";
      return std::nullopt;
    }
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (src.maxTokens > 0 && static_cast<int64_t>(text.size()) > src.maxTokens)
      text.resize(src.maxTokens);
    for (size_t at = 0; at + seqLen <= text.size(); at += seqLen) {
      std::vector<int64_t> w;
      for (int64_t i = 0; i < seqLen; ++i)
        w.push_back(static_cast<unsigned char>(text[at + i]));
      windows.push_back(std::move(w));
    }
  } else if (!src.tokensPath.empty()) {
    std::string why;
    auto a = readNpy(src.tokensPath, &why);
    if (!a || a->dtype != DType::I64 || a->shape.size() != 2 ||
        a->shape[1] != seqLen) {
      llvm::errs() << src.tokensPath << ": error: "
                   << (a ? "expected int64 [N, seq-len]" : why) << "\n";
      return std::nullopt;
    }
    int64_t rows = a->shape[0];
    if (src.maxTokens > 0)
      rows = std::min(rows, src.maxTokens / seqLen);
    for (int64_t r = 0; r < rows; ++r)
      windows.emplace_back(a->data<int64_t>() + r * seqLen,
                           a->data<int64_t>() + (r + 1) * seqLen);
  } else {
    llvm::errs() << "error: give --text FILE --byte-tokens or --tokens FILE\n";
    return std::nullopt;
  }
  if (src.maxWindows > 0 && static_cast<int64_t>(windows.size()) > src.maxWindows)
    windows.resize(src.maxWindows);
  if (windows.empty()) {
    llvm::errs() << "error: not one full window of " << seqLen << " tokens\n";
    return std::nullopt;
  }
  return windows;
}

} // namespace smq::tools
