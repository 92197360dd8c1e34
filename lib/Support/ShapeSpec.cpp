//===- ShapeSpec.cpp ------------------------------------------------------===//
#include "smq/Support/ShapeSpec.h"

namespace smq {

std::optional<ShapeSpec> parseShapeSpec(const std::string &text,
                                        std::string *why) {
  size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0) {
    *why = "expected NAME=DIMxDIM..., got '" + text + "'";
    return std::nullopt;
  }
  ShapeSpec spec;
  spec.name = text.substr(0, eq);
  std::string dims = text.substr(eq + 1);
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t x = dims.find('x', pos);
    std::string part =
        dims.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    if (part.empty() || part.size() > 18 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      *why = "bad dim '" + part + "' in '" + text + "'";
      return std::nullopt;
    }
    spec.dims.push_back(std::stoll(part));
    if (x == std::string::npos)
      break;
    pos = x + 1;
    if (pos == dims.size()) {
      *why = "trailing 'x' in '" + text + "'";
      return std::nullopt;
    }
  }
  if (!elementCount(spec.dims)) {
    *why = "shape in '" + text + "' is absurdly large";
    return std::nullopt;
  }
  return spec;
}

std::optional<int64_t> elementCount(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || d > kMaxElements)
      return std::nullopt;
    if (d != 0 && n > kMaxElements / d)
      return std::nullopt;
    n *= d;
  }
  return n;
}

} // namespace smq
