//===- ObjectCache.h - compiled models kept between runs --------*- C++ -*-===//
//
// Lowering a model to LLVM IR takes a fraction of a second; LLVM's
// optimisation and code generation take seconds. The cache keeps the
// object code of each compiled model, keyed on the lowered module's text
// (weights are arguments, so it holds no weight values), the host CPU and
// its features, the JIT's optimisation level and the cache format. smq-eval,
// smq-sweep's stages and lambda=auto's candidates then skip LLVM when they
// compile a model they compiled before.
//
// Where: $SMQ_CACHE_DIR, else $XDG_CACHE_HOME/smq, else ~/.cache/smq; one
// file per model, safe to delete at any time. SMQ_CACHE=off turns it off.
// Size: at most $SMQ_CACHE_MAX_MB (default 256) MiB; the least recently used
// entries go first. Each entry carries its key, its length and a SHA-256 of
// its object code: an entry that does not match is deleted and rebuilt,
// never executed.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_OBJECTCACHE_H
#define SMQ_EXECUTION_OBJECTCACHE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::smq {

class ObjectCache {
public:
  /// The cache the environment asks for; disabled() if SMQ_CACHE=off or no
  /// directory can be found.
  static ObjectCache fromEnvironment();

  bool enabled() const { return !dir.empty(); }
  const std::string &directory() const { return dir; }

  /// The key of a lowered module's text and everything else that decides
  /// its object code.
  static std::string key(llvm::StringRef moduleText, llvm::StringRef target);

  /// The object code stored under `key`, if an intact entry exists. A
  /// damaged or mismatched entry is deleted, and `note` says why.
  std::optional<std::string> lookup(const std::string &key,
                                    std::string *note) const;

  /// Stores `object` under `key` (atomically), then trims the cache to its
  /// size bound. Failure only costs the next run a compile: it returns
  /// false with `note` set.
  bool store(const std::string &key, llvm::StringRef object,
             std::string *note) const;

private:
  std::string pathOf(const std::string &key) const;
  void trim() const;

  std::string dir;
  uint64_t maxBytes = 0;
};

} // namespace mlir::smq

#endif // SMQ_EXECUTION_OBJECTCACHE_H
