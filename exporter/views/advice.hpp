// What a failure reason means for the person reading `diagnose` or the status page, and what to
// do about it: the seed's diagnosis checklist (telnet, cloud security group, iptables, OpenSSL and
// the CA store, a blacklisted IP) turned into text per failure reason.
//
// Also the failure classes that `diagnose` turns into exit codes (docs/diagnose.md).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/presets.hpp"
#include "probes/core/result.hpp"

namespace smtp_exporter::exporter {

// The step a failure belongs to; each has its own `diagnose` exit code. Before any SMTP: resolve
// and connect; then one class per stage of probes/smtp/stages.hpp, in stage order, whose name and
// exit code are that stage's row in advice.cpp (a new stage needs no enumerator here: its class is
// class_of_stage(p)). The stage enumerators name the classes of today's stages.
enum class failure_class : std::uint8_t {
  none, resolve, connect, smtp, tls, auth, envelope, delivery
};
// "none", "resolve", "connect", then the stage's class name: "smtp", "tls", "auth", "envelope",
// "delivery"
std::string_view to_string(failure_class c);
constexpr failure_class class_of_stage(probes::probe_kind p) {
  return static_cast<failure_class>(static_cast<std::size_t>(failure_class::smtp) +
                                    static_cast<std::size_t>(p));
}
static_assert(class_of_stage(probes::probe_kind::banner) == failure_class::smtp &&
              class_of_stage(probes::probe_kind::tls) == failure_class::tls &&
              class_of_stage(probes::probe_kind::auth) == failure_class::auth &&
              class_of_stage(probes::probe_kind::envelope) == failure_class::envelope &&
              class_of_stage(probes::probe_kind::delivery) == failure_class::delivery);

// The class of a failure. Most reasons belong to a stage (stage_info::reasons); the generic ones
// (connection_closed, protocol_error, timeout) take the class of the probe that failed first
// with them.
failure_class class_of(probes::failure_reason reason, probes::probe_kind failed_probe);

// `diagnose` exit codes (docs/diagnose.md lists them; scripts branch on them). Each stage's own
// code (5 smtp: greeting, EHLO or the dialogue; 6 tls; 7 auth; 8 envelope) is its row in
// advice.cpp.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int internal_error = 1;
inline constexpr int usage = 2;  // bad flags, unknown target, unreadable config, CA or secret file
inline constexpr int resolve = 3;
inline constexpr int connect = 4;
}  // namespace exit_code
int exit_code_for(failure_class c);

// A few words for a verdict line or a status table cell: "blocked: no answer to the connection
// attempt". Empty for success.
std::string_view headline(probes::failure_reason reason);

// Everything the advice may refer to. Strings are plain text; callers escape for HTML.
struct advice_context {
  probes::failure_reason reason = probes::failure_reason::none;
  std::string host;
  std::uint16_t port = 0;
  config::tls_mode mode = config::tls_mode::starttls;
  std::string server_name;                        // the name the certificate must cover
  const config::provider_preset* provider = nullptr;
  int reply_code = 0;
  std::string enhanced_code;                      // RFC 3463, e.g. "5.7.1"; empty if none
  bool policy_rejected = false;                   // probes::probe_outcome::policy_rejected
  std::string openssl_version;                    // OpenSSL_version(OPENSSL_VERSION)
};

// What to do, most likely cause first, one step per entry. Empty for success. A policy rejection
// (at any stage) leads with the seed's advice: the sending IP may be blacklisted.
std::vector<std::string> advice_for(const advice_context& context);

// The OpenSSL library this process runs with (not the headers it was built against).
std::string openssl_version();

}  // namespace smtp_exporter::exporter
