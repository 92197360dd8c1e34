//===- Paths.cpp ----------------------------------------------------------===//
#include "smq/Support/Paths.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace smq {

std::optional<std::string> resolveContainedPath(const std::string &baseDir,
                                                const std::string &relative,
                                                std::string *why) {
  if (relative.empty()) {
    *why = "empty location";
    return std::nullopt;
  }
  if (relative.find('\0') != std::string::npos) {
    *why = "location contains a NUL byte";
    return std::nullopt;
  }
  fs::path rel(relative);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory()) {
    *why = "location '" + relative + "' is absolute; it must be relative to "
           "the model's folder";
    return std::nullopt;
  }
  for (const fs::path &part : rel)
    if (part == "..") {
      *why = "location '" + relative + "' escapes the model's folder";
      return std::nullopt;
    }
  std::error_code ec;
  fs::path base = fs::canonical(baseDir.empty() ? "." : baseDir, ec);
  if (ec) {
    *why = "cannot resolve the model's folder '" + baseDir + "'";
    return std::nullopt;
  }
  fs::path full = fs::canonical(base / rel, ec);
  if (ec) {
    *why = "external data file '" + relative + "' does not exist";
    return std::nullopt;
  }
  // A symlink inside the folder may still point outside it.
  auto b = base.begin(), f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *b != *f) {
      *why = "location '" + relative +
             "' resolves outside the model's folder (through a symlink)";
      return std::nullopt;
    }
  if (!fs::is_regular_file(full, ec)) {
    *why = "external data '" + relative + "' is not a regular file";
    return std::nullopt;
  }
  return full.string();
}

std::string parentFolder(const std::string &file) {
  fs::path parent = fs::path(file).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

} // namespace smq
