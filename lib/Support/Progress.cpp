//===- Progress.cpp - how long work says how far it has got ---------------===//
#include "smq/Support/Progress.h"

#include <cstdio>
#include <unistd.h>

namespace smq {

StderrProgress::StderrProgress() : tty(isatty(STDERR_FILENO)) {}

void StderrProgress::step(std::string_view task, size_t done, size_t total,
                          std::string_view item, double elapsedSeconds) {
  double eta = done ? elapsedSeconds / done * (total - done) : 0.0;
  std::fprintf(stderr, "%s%.*s %zu/%zu%s%.*s, %.1f s, ETA %.1f s%s",
               tty ? "\r\033[K" : "", static_cast<int>(task.size()),
               task.data(), done, total, item.empty() ? "" : " ",
               static_cast<int>(item.size()), item.data(), elapsedSeconds, eta,
               tty ? "" : "\n");
  open = tty && done < total;
  if (tty && done >= total)
    std::fputc('\n', stderr);
}

void StderrProgress::note(std::string_view message) {
  std::fprintf(stderr, "%s%.*s\n", open ? "\n" : "",
               static_cast<int>(message.size()), message.data());
  open = false;
}

ProgressTask::ProgressTask(ProgressListener *listener, std::string task,
                           size_t total)
    : listener(listener), task(std::move(task)), total(total),
      start(std::chrono::steady_clock::now()) {}

void ProgressTask::step(std::string_view item) {
  ++done;
  if (listener)
    listener->step(task, done, total, item,
                   std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count());
}

} // namespace smq
