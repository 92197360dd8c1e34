//===- ProgressTest.cpp - progress reporting --------------------*- C++ -*-===//
#include "smq/Support/Progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

struct Recorded : smq::ProgressListener {
  std::vector<std::string> lines;
  void step(std::string_view task, size_t done, size_t total,
            std::string_view item, double elapsed) override {
    EXPECT_GE(elapsed, 0.0);
    lines.push_back(std::string(task) + " " + std::to_string(done) + "/" +
                    std::to_string(total) + " " + std::string(item));
  }
  void note(std::string_view message) override {
    lines.push_back("note " + std::string(message));
  }
};

TEST(Progress, TaskCountsItsSteps) {
  Recorded listener;
  smq::ProgressTask task(&listener, "quantize: layer", 2);
  task.step("q");
  task.step("k");
  ASSERT_EQ(listener.lines.size(), 2u);
  EXPECT_EQ(listener.lines[0], "quantize: layer 1/2 q");
  EXPECT_EQ(listener.lines[1], "quantize: layer 2/2 k");
}

TEST(Progress, NullListenerReportsNothing) {
  smq::ProgressTask task(nullptr, "calibrate: sequence", 3);
  task.step("(1 layer)"); // must not crash
}

TEST(Progress, StderrFormat) {
  smq::StderrProgress progress;
  testing::internal::CaptureStderr();
  progress.step("calibrate: sequence", 1, 4, "(2 layers)", 2.0);
  progress.note("done");
  std::string out = testing::internal::GetCapturedStderr();
  // Not a terminal under the test runner: one line per step; ETA = 2 s
  // per unit times 3 left.
  EXPECT_EQ(out, "calibrate: sequence 1/4 (2 layers), 2.0 s, ETA 6.0 s\n"
                 "done\n");
}

} // namespace
