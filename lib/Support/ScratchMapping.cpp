//===- ScratchMapping.cpp - large results kept in an unnamed file ---------===//
#include "smq/Support/ScratchMapping.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace smq {

ScratchMapping::~ScratchMapping() {
  munmap(const_cast<char *>(bytes), length);
}

std::unique_ptr<ScratchMapping> mapScratchCopy(const void *bytes,
                                               size_t size) {
#ifdef O_TMPFILE
  if (size == 0)
    return nullptr;
  const char *dir = std::getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  int fd = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return nullptr;
  const char *from = static_cast<const char *>(bytes);
  for (size_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd, from + done, size - done, done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) { // a full disk: the caller keeps the bytes in memory
      ::close(fd);
      return nullptr;
    }
    done += static_cast<size_t>(n);
  }
  void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    return nullptr;
  return std::make_unique<ScratchMapping>(static_cast<const char *>(map),
                                          size);
#else
  (void)bytes;
  (void)size;
  return nullptr;
#endif
}

} // namespace smq
