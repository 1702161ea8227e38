// How results read to a person, in one place for the status page and `diagnose`: durations, TLS
// modes, phase and probe names, the certificate warning, "the first failing probe" and the
// context the advice needs. Both used to derive these each on their own.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "exporter/views/advice.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/core/result.hpp"

namespace smtp_exporter::exporter::display {

// "0.123 s"
std::string seconds(double s);
// "plain", "STARTTLS", "implicit TLS"
std::string_view tls_mode(config::tls_mode mode);
// A phase as a step of the dialogue: "greeting" (banner), "tls" (tls_handshake), "mail from"…
std::string_view step(probes::phase p);

// A certificate this close to its end is worth a warning before it becomes a failure.
inline constexpr long expiry_warning_days = 14;
enum class expiry { ok, soon, expired };
expiry expiry_of(long days_left);

// The probe that failed first, in session order, and what decided it.
struct failure {
  probes::probe_kind probe = probes::probe_kind::banner;
  probes::failure_reason reason = probes::failure_reason::none;
  int reply_code = 0;
  std::string enhanced_code;
  bool policy_rejected = false;
};
std::optional<failure> first_failure(const target_status& t);        // last published results
std::optional<failure> first_failure(const probes::session_result& r);  // one session

// What the advice needs to know about `t` and its failure, on `port` in `mode`.
advice_context advice_context_for(const config::target& t, std::uint16_t port,
                                  config::tls_mode mode, const failure& f);

}  // namespace smtp_exporter::exporter::display
