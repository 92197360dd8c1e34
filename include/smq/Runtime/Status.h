//===- Status.h - SmqStatus, shared by the runtime and compiler C APIs -*- C++ -*-===//
#ifndef SMQ_RUNTIME_STATUS_H
#define SMQ_RUNTIME_STATUS_H

#include <string>

/// The object behind smq-c's SmqStatus handles.
struct SmqStatus {
  std::string message;
};

#endif // SMQ_RUNTIME_STATUS_H
