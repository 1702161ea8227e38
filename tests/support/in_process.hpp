// Test support: one SMTP session run in the test's own process (probes::run_session on a fresh
// io_context), for tests that need many runs or the full session_result, not just /metrics.
#pragma once

#include <chrono>
#include <optional>

#include "probes/smtp/session.hpp"

namespace smtp_test {

// nullopt if the session did not end within `limit` (it has its own timeout; this is a backstop).
std::optional<smtp_exporter::probes::session_result> run_in_process(
    const smtp_exporter::probes::session_options& options,
    std::chrono::seconds limit = std::chrono::seconds(15));

}  // namespace smtp_test
