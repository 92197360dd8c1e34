//===- Paths.h - confining file references to a folder ----------*- C++ -*-===//
//
// ONNX external data names files relative to the model. A hostile model can
// name "../../etc/passwd" or an absolute path, or reach out through a
// symlink; resolveContainedPath refuses all three.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_PATHS_H
#define SMQ_SUPPORT_PATHS_H

#include <optional>
#include <string>

namespace smq {

/// Resolves `relative` against `baseDir`. Returns the canonical path if it
/// names an existing file inside `baseDir` (after following symlinks);
/// otherwise returns nullopt and sets `why`.
std::optional<std::string> resolveContainedPath(const std::string &baseDir,
                                                const std::string &relative,
                                                std::string *why);

/// The folder holding `file` ("." for a bare file name).
std::string parentFolder(const std::string &file);

} // namespace smq

#endif // SMQ_SUPPORT_PATHS_H
