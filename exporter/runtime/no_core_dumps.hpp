// The exporter holds mail credentials, OAuth tokens and the web password in memory: a core dump
// (a crash, `gcore`, a debugger attached by another user) would write them to disk. At start the
// process sets its core size limit to 0 and marks itself non-dumpable (PR_SET_DUMPABLE 0), which
// also keeps other non-root users' ptrace and /proc/PID/mem out. Attack review, finding 8.
//
// Thread-safety: call once at start, before other threads exist.
#pragma once

#include <string>

namespace smtp_exporter::exporter {

// Empty on success, else what failed (the exporter goes on and logs it).
std::string disable_core_dumps();

}  // namespace smtp_exporter::exporter
