//===- ScratchMapping.h - large results kept in an unnamed file -*- C++ -*-===//
//
// A copy of bytes in an unnamed temporary file, mapped read-only. Its
// pages belong to the file (RssFile), which the kernel can write out and
// drop under memory pressure, not to the process's anonymous memory. For
// results made once and read later, such as a large model's quantized
// weights, so that they are not all held in memory as they are made.
// Plain C++ (POSIX).
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_SCRATCHMAPPING_H
#define SMQ_SUPPORT_SCRATCHMAPPING_H

#include <cstddef>
#include <memory>

namespace smq {

class ScratchMapping {
public:
  ScratchMapping(const char *data, size_t size) : bytes(data), length(size) {}
  ~ScratchMapping();
  ScratchMapping(const ScratchMapping &) = delete;
  ScratchMapping &operator=(const ScratchMapping &) = delete;
  /// Page-aligned, read-only.
  const char *data() const { return bytes; }
  size_t size() const { return length; }

private:
  const char *bytes;
  size_t length;
};

/// `size` bytes of `bytes` in a file that has no name from the start
/// (O_TMPFILE in $TMPDIR, else /tmp), so nothing is left behind whatever
/// happens to the process. Null if it cannot be made (a file system without
/// O_TMPFILE, a full disk, no such directory, size 0): the caller keeps
/// the bytes in memory instead.
std::unique_ptr<ScratchMapping> mapScratchCopy(const void *bytes,
                                               size_t size);

} // namespace smq

#endif // SMQ_SUPPORT_SCRATCHMAPPING_H
