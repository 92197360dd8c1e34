//===- AtomicFile.cpp -----------------------------------------------------===//
#include "smq/Support/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace smq {

bool writeFileAtomically(const std::string &path,
                         const std::function<bool(std::ostream &)> &write,
                         std::string *why) {
  if (path == "-") {
    bool ok = write(std::cout);
    std::cout.flush();
    if (!ok || !std::cout) {
      *why = "failed to write to stdout";
      return false;
    }
    return true;
  }
  std::string tmpl = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    *why = "cannot create a temporary file beside '" + path + "'";
    return false;
  }
  // mkstemp creates 0600; give the output the permissions a plain open would.
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  bool ok = false;
  errno = 0;
  {
    std::ofstream out(tmpl, std::ios::binary | std::ios::trunc);
    ok = out && write(out);
    out.flush();
    ok = ok && static_cast<bool>(out);
    out.close();
    ok = ok && static_cast<bool>(out);
  }
  // Why, where the system said (a full disk: "No space left on device").
  auto cause = [](int error) {
    return error ? std::string(": ") + std::strerror(error) : std::string();
  };
  if (!ok) {
    int error = errno;
    std::remove(tmpl.c_str());
    *why = "failed to write '" + path + "'" + cause(error) +
           "; the previous file, if any, is unchanged";
    return false;
  }
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    int error = errno;
    std::remove(tmpl.c_str());
    *why = "cannot move the output into place at '" + path + "'" +
           cause(error);
    return false;
  }
  return true;
}

} // namespace smq
