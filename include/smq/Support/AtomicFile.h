//===- AtomicFile.h - all-or-nothing output files ---------------*- C++ -*-===//
//
// Tools never leave a half-written output: they write a temporary file next
// to the destination and rename it into place only once everything
// succeeded.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_ATOMICFILE_H
#define SMQ_SUPPORT_ATOMICFILE_H

#include <functional>
#include <ostream>
#include <string>

namespace smq {

/// Calls `write` with a stream to a temporary file beside `path`. If it
/// returns true and the data reaches the disk, renames the temporary over
/// `path`; otherwise removes it and leaves `path` untouched. Returns false
/// and sets `why` on any failure. A `path` of "-" writes to stdout.
bool writeFileAtomically(const std::string &path,
                         const std::function<bool(std::ostream &)> &write,
                         std::string *why);

} // namespace smq

#endif // SMQ_SUPPORT_ATOMICFILE_H
