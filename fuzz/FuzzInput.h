//===- FuzzInput.h - libFuzzer's bytes as a file the readers open ---*- C++ -*-===//
//
// SMQ's readers take paths (they map or stream files, and resolve external
// data next to them), so each target hands them its input as a file: an
// in-memory one (memfd) where nothing else is read, or `name` in a private
// directory where a model's external data would be looked up.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_FUZZ_FUZZINPUT_H
#define SMQ_FUZZ_FUZZINPUT_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace smq::fuzz {

/// The bytes as /proc/self/fd/N of an in-memory file, closed on
/// destruction.
class MemoryFile {
public:
  MemoryFile(const uint8_t *data, size_t size) {
    fd = memfd_create("smq-fuzz", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != static_cast<ssize_t>(size)) {
      std::perror("smq-fuzz: memfd");
      std::abort();
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemoryFile() { close(fd); }
  const std::string &name() const { return path; }

private:
  int fd = -1;
  std::string path;
};

/// The bytes as `name` in a directory of this process's own, which holds
/// nothing else (so a model's external data is never found, or escapes it).
inline std::string writeInPrivateDir(const uint8_t *data, size_t size,
                                     const char *name) {
  // SMQ_FUZZ_DIR (scripts/fuzz.sh sets one per target) keeps the path,
  // and so what the importer does with it, the same from run to run.
  static std::string dir = [] {
    const char *fixed = std::getenv("SMQ_FUZZ_DIR");
    const char *tmp = std::getenv("TMPDIR");
    std::string d = fixed && *fixed
                        ? std::string(fixed)
                        : std::string(tmp && *tmp ? tmp : "/tmp") +
                              "/smq-fuzz-" + std::to_string(getpid());
    std::system(("mkdir -p '" + d + "/empty'").c_str());
    return d + "/empty";
  }();
  std::string path = dir + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) {
    std::perror("smq-fuzz: write");
    std::abort();
  }
  return path;
}

} // namespace smq::fuzz

#endif // SMQ_FUZZ_FUZZINPUT_H
