//===- Progress.h - how long work says how far it has got ------*- C++ -*-===//
//
// Libraries report progress to a listener and print nothing themselves; the
// tool (or the C API's caller) decides what the user sees. Plain C++, so
// that every layer can use it.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_PROGRESS_H
#define SMQ_SUPPORT_PROGRESS_H

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace smq {

class ProgressListener {
public:
  virtual ~ProgressListener() = default;
  /// Unit `done` of the `total` that `task` has ("quantize: layer",
  /// "calibrate: sequence") is finished; `item` says which, or how big it
  /// was; `elapsedSeconds` since the task began.
  virtual void step(std::string_view task, size_t done, size_t total,
                    std::string_view item, double elapsedSeconds) = 0;
  /// A line worth reading once ("quantize: lambda=auto picked 0.25").
  virtual void note(std::string_view message) = 0;
};

/// "<task> i/N <item>, T s, ETA E s" on stderr, one line per step, or one
/// line rewritten in place on a terminal; notes as lines of their own.
class StderrProgress : public ProgressListener {
public:
  StderrProgress();
  void step(std::string_view task, size_t done, size_t total,
            std::string_view item, double elapsedSeconds) override;
  void note(std::string_view message) override;

private:
  bool tty;
  /// A step's line is on the terminal, not yet ended.
  bool open = false;
};

/// Times one task for a listener, which may be null (then nothing is
/// reported).
class ProgressTask {
public:
  ProgressTask(ProgressListener *listener, std::string task, size_t total);
  /// One more unit done.
  void step(std::string_view item);

private:
  ProgressListener *listener;
  std::string task;
  size_t total, done = 0;
  std::chrono::steady_clock::time_point start;
};

} // namespace smq

#endif // SMQ_SUPPORT_PROGRESS_H
