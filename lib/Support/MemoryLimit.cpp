//===- MemoryLimit.cpp - how much memory the tools may ask for ------------===//
#include "smq/Support/MemoryLimit.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace smq {

uint64_t defaultMemoryLimit() {
  if (const char *env = std::getenv("SMQ_MAX_MEMORY"))
    if (auto bytes = parseByteSize(env))
      return *bytes;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) *
                                     static_cast<uint64_t>(page)
                               : UINT64_MAX;
}

uint64_t memoryLimit(uint64_t explicitBytes) {
  return explicitBytes ? explicitBytes : defaultMemoryLimit();
}

std::string describeMemoryLimit(uint64_t explicitBytes) {
  return "more than the limit of " + formatBytes(memoryLimit(explicitBytes)) +
         (explicitBytes                   ? " (--max-memory)"
          : std::getenv("SMQ_MAX_MEMORY") ? " (SMQ_MAX_MEMORY)"
                                          : " (this machine's memory; "
                                            "--max-memory or SMQ_MAX_MEMORY "
                                            "set another)");
}

namespace {
std::string trim(const std::string &s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
    ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
    --e;
  return s.substr(b, e - b);
}
} // namespace

std::optional<uint64_t> parseByteSize(const std::string &input) {
  std::string text = trim(input);
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) ||
          text[digits] == '.'))
    ++digits;
  if (digits == 0)
    return std::nullopt;
  std::string number = text.substr(0, digits);
  char *end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !(value > 0))
    return std::nullopt;
  std::string unit = trim(text.substr(digits));
  double scale = 1;
  if (!unit.empty() && unit != "B") {
    const char *units = "KMGT";
    const char *at =
        std::strchr(units, std::toupper(static_cast<unsigned char>(unit[0])));
    std::string rest = unit.substr(1);
    if (!at || *at == '\0' || !(rest.empty() || rest == "B" || rest == "iB"))
      return std::nullopt;
    scale = std::pow(1024.0, static_cast<double>(at - units + 1));
  }
  double bytes = value * scale;
  if (bytes >= 1.8e19 || bytes < 1)
    return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::string formatBytes(uint64_t bytes) {
  const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", v, units[u]);
  return buffer;
}

void releaseFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

} // namespace smq
