//===- MemoryLimit.h - how much memory the tools may ask for ----*- C++ -*-===//
//
// The limit every tool holds its large allocations to (a model's run, the
// calibration statistics, reading a statistics file): --max-memory where a
// tool takes it, else SMQ_MAX_MEMORY, else the machine's physical memory.
// Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_MEMORYLIMIT_H
#define SMQ_SUPPORT_MEMORYLIMIT_H

#include <cstdint>
#include <optional>
#include <string>

namespace smq {

/// SMQ_MAX_MEMORY if set (a size as parseByteSize reads it), else the
/// machine's physical memory.
uint64_t defaultMemoryLimit();

/// `explicitBytes` (--max-memory) if not 0, else defaultMemoryLimit().
uint64_t memoryLimit(uint64_t explicitBytes);

/// "more than the limit of 8.0 GiB (--max-memory)": the limit and where it
/// came from, for a refusal.
std::string describeMemoryLimit(uint64_t explicitBytes);

/// "1073741824", "512M", "8G", "1.5GiB", "64K": bytes (K, M, G, T are
/// powers of 1024, with or without "iB"/"B"). Nullopt for anything else,
/// zero or negative.
std::optional<uint64_t> parseByteSize(const std::string &text);

/// "37.3 GiB", "512.0 MiB", "4.0 KiB", "12 bytes".
std::string formatBytes(uint64_t bytes);

/// Gives the pages of memory freed so far back to the system (glibc keeps
/// freed blocks below its mmap threshold in its heaps, where a long run of
/// allocations of many sizes leaves hundreds of MB free but resident).
/// For the points where a long step has just freed much: between the
/// stages of sequential quantization. Does nothing off glibc.
void releaseFreedMemory();

} // namespace smq

#endif // SMQ_SUPPORT_MEMORYLIMIT_H
