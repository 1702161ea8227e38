// diagnose, running: the checks that need this machine (secrets readable, TLS files loaded), then
// one SMTP session per port with the exporter's own session code, each step reported as it ends.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "exporter/views/advice.hpp"
#include "exporter/cli/diagnose_plan.hpp"
#include "exporter/views/display.hpp"
#include "exporter/schedule/delivery_readback.hpp"
#include "probes/dns/resolver.hpp"
#include "probes/smtp/session.hpp"

namespace smtp_exporter::exporter {

// --deliver-to: the read-back of the message the session's delivery probe sent.
struct delivery_step {
  bool ran = false;             // the server accepted the message and the read-back ran
  probes::delivery_sent sent;
  readback_report report;       // exporter/schedule/delivery_readback.hpp
  probes::verdict verdict;      // the delivery probe's final verdict
};

// One port's run, as it happened.
struct port_run {
  port_plan port;
  std::vector<probes::session_event> events;
  probes::session_result result;
  delivery_step delivery;
  display::failure failure;  // the first failing probe; reason none when every probe passed
  failure_class cls = failure_class::none;
  bool passed() const { return failure.reason == probes::failure_reason::none; }
};

// Reads the secret once (a typo in its path is this machine's problem: said before connecting
// anywhere) and loads the TLS context; false with `error` set.
bool prepare_plan(plan& p, std::string& error);

// The token step of a target with [auth.oauth2]: one request to the token endpoint, timed.
struct token_step {
  bool ran = false;
  bool ok = false;
  std::string flow;       // "refresh_token", "client_credentials", "service_account"
  std::string endpoint;   // the token endpoint's host
  double seconds = 0;
  std::int64_t expires_in_seconds = 0;  // ok
  std::string error;      // the error class (token_error_name); empty when ok
  std::string detail;     // describe() of the failure; never a secret
};
// Fetches the plan's token once (p.token is set for the sessions); `live` gets the line
// "token: refresh_token grant at login.microsoftonline.com -> ok in 180 ms, expires in 59 min".
token_step fetch_token(boost::asio::io_context& io, plan& p, std::ostream* live);

// Runs one session on `port`; `live`, when set, gets each step as it completes. With
// --deliver-to, a message the server accepted is then read back (run.delivery), and a read-back
// that did not find it in the Inbox becomes the delivery probe's failure.
port_run run_port(boost::asio::io_context& io, probes::dns_resolver& resolver, plan& p,
                  const port_plan& port, std::ostream* live);

}  // namespace smtp_exporter::exporter
