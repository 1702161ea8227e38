// After SIGTERM the exporter stops in order: the event loop ends, then the worker threads are
// joined. A thread stuck in a system call that never returns (a read from a hung NFS or FUSE
// mount) would make that join, and so the process, wait for ever, and a supervisor that sent
// SIGTERM waits its grace period (Kubernetes: 30 s) before SIGKILL (issue 24, finding 4). The
// watchdog, armed when the stop begins, ends the process with _exit(1) and a log line naming
// the cause once `grace` has passed without an orderly exit.
//
// Thread-safety: arm once, from any thread; the watchdog thread only logs and calls _exit.
#pragma once

#include <chrono>

namespace smtp_exporter::exporter {

void arm_shutdown_watchdog(std::chrono::milliseconds grace);

}  // namespace smtp_exporter::exporter
