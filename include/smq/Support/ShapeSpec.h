//===- ShapeSpec.h - parsing "name=1x128" shape overrides -------*- C++ -*-===//
#ifndef SMQ_SUPPORT_SHAPESPEC_H
#define SMQ_SUPPORT_SHAPESPEC_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smq {

/// Upper bound on any dim or element count SMQ accepts. Larger values in a
/// model are treated as corrupt rather than attempted.
constexpr int64_t kMaxElements = int64_t(1) << 40;

struct ShapeSpec {
  std::string name;
  std::vector<int64_t> dims;
};

/// Parses "name=1x128" (an empty dim list, "name=", is a scalar). Returns
/// nullopt and sets `why` on malformed text, negative or absurd dims.
std::optional<ShapeSpec> parseShapeSpec(const std::string &text,
                                        std::string *why);

/// The element count of `dims`, or nullopt if it overflows kMaxElements or
/// a dim is negative.
std::optional<int64_t> elementCount(const std::vector<int64_t> &dims);

} // namespace smq

#endif // SMQ_SUPPORT_SHAPESPEC_H
