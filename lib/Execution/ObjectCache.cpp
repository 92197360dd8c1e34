//===- ObjectCache.cpp - compiled models kept between runs ----------------===//
//
// An entry is one file, <key>.smqobj:
//   "SMQOBJ01"  8 bytes of magic (the format's version)
//   key         64 hex digits, as in the file's name
//   size        8 bytes, little-endian: the object code's length
//   sha256      32 bytes of the object code
//   object      the object code
//
//===----------------------------------------------------------------------===//
#include "smq/Execution/ObjectCache.h"

#include "smq/Support/AtomicFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

using namespace mlir::smq;
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[9] = "SMQOBJ01";
constexpr size_t kKeyLength = 64, kHeader = 8 + kKeyLength + 8 + 32;

std::string hexSha256(llvm::StringRef data) {
  std::array<uint8_t, 32> digest = llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(data.bytes_begin(), data.bytes_end()));
  return llvm::toHex(digest, /*LowerCase=*/true);
}

const char *env(const char *name) {
  const char *v = std::getenv(name);
  return v && *v ? v : nullptr;
}

} // namespace

ObjectCache ObjectCache::fromEnvironment() {
  ObjectCache cache;
  if (const char *mode = env("SMQ_CACHE"))
    if (llvm::StringRef(mode).equals_insensitive("off") ||
        llvm::StringRef(mode) == "0")
      return cache;
  if (const char *d = env("SMQ_CACHE_DIR"))
    cache.dir = d;
  else if (const char *x = env("XDG_CACHE_HOME"))
    cache.dir = std::string(x) + "/smq";
  else if (const char *h = env("HOME"))
    cache.dir = std::string(h) + "/.cache/smq";
  uint64_t mb = 256;
  if (const char *m = env("SMQ_CACHE_MAX_MB"))
    mb = std::strtoull(m, nullptr, 10);
  cache.maxBytes = mb << 20;
  return cache;
}

std::string ObjectCache::key(llvm::StringRef moduleText,
                             llvm::StringRef target) {
  std::string all = std::string(kMagic) + "\n" + target.str() + "\n" +
                    moduleText.str();
  return hexSha256(all);
}

std::string ObjectCache::pathOf(const std::string &key) const {
  return dir + "/" + key + ".smqobj";
}

std::optional<std::string> ObjectCache::lookup(const std::string &key,
                                               std::string *note) const {
  if (!enabled())
    return std::nullopt;
  std::string path = pathOf(key);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  auto reject = [&](const char *why) -> std::optional<std::string> {
    *note = "compile cache entry " + path + " " + why + "; rebuilt";
    std::error_code ec;
    fs::remove(path, ec);
    return std::nullopt;
  };
  if (bytes.size() < kHeader || bytes.compare(0, 8, kMagic) != 0)
    return reject("has no valid header");
  if (bytes.compare(8, kKeyLength, key) != 0)
    return reject("belongs to another model");
  uint64_t size = 0;
  for (int i = 7; i >= 0; --i)
    size = size << 8 | static_cast<uint8_t>(bytes[8 + kKeyLength + i]);
  if (size != bytes.size() - kHeader)
    return reject("is truncated or padded");
  std::string object = bytes.substr(kHeader);
  std::array<uint8_t, 32> digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(object.data()), object.size()));
  if (std::memcmp(digest.data(), bytes.data() + 8 + kKeyLength + 8, 32) != 0)
    return reject("is corrupt (checksum mismatch)");
  // Recently used entries are the last to be trimmed.
  std::error_code ec;
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
  return object;
}

bool ObjectCache::store(const std::string &key, llvm::StringRef object,
                        std::string *note) const {
  if (!enabled())
    return false;
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string header(kMagic, 8);
  header += key;
  for (int i = 0; i < 8; ++i)
    header += static_cast<char>((uint64_t(object.size()) >> (8 * i)) & 0xff);
  std::array<uint8_t, 32> digest = llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(object.bytes_begin(), object.bytes_end()));
  header.append(reinterpret_cast<const char *>(digest.data()), 32);
  std::string why;
  if (!::smq::writeFileAtomically(
          pathOf(key),
          [&](std::ostream &os) {
            os.write(header.data(), header.size());
            os.write(object.data(), object.size());
            return bool(os);
          },
          &why)) {
    *note = "compile cache: " + why;
    return false;
  }
  trim();
  return true;
}

void ObjectCache::trim() const {
  struct Entry {
    fs::path path;
    fs::file_time_type time;
    uintmax_t size;
  };
  std::vector<Entry> entries;
  uintmax_t total = 0;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".smqobj")
      continue;
    std::error_code e1, e2;
    Entry entry{e.path(), e.last_write_time(e1), e.file_size(e2)};
    if (e1 || e2)
      continue;
    total += entry.size;
    entries.push_back(entry);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry &a, const Entry &b) { return a.time < b.time; });
  for (const Entry &e : entries) {
    if (total <= maxBytes)
      break;
    std::error_code rm;
    if (fs::remove(e.path, rm))
      total -= e.size;
  }
}
