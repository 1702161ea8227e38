// One SMTP session against one target, running the probes that are due, in the order the sending
// application itself would: banner (greeting, EHLO), then tls (STARTTLS or implicit TLS, handshake,
// verification, EHLO again), then auth, then envelope (MAIL FROM, RCPT TO, RSET; never DATA).
// The stages are a table (probes/smtp/stages.hpp), one file each. One connection per run: providers
// rate-limit and blacklist eager clients.
//
// When a stage fails, every later probe of the run fails with the same reason: auth "failed" because
// the port is blocked is the truth an alert should carry.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "probes/oauth/token_cache.hpp"
#include "probes/smtp/credentials.hpp"
#include "probes/dns/resolver.hpp"
#include "probes/smtp/sasl.hpp"
#include "probes/core/result.hpp"

namespace smtp_exporter::probes {

enum class transport : std::uint8_t { plain, starttls, implicit_tls };

struct auth_options {
  credential_source credentials;             // read at every probe: rotated secrets are picked up
  std::optional<sasl_mechanism> mechanism;   // nullopt: the strongest the server offers
  // [auth.oauth2] (issue 20): the shared, self-refreshing token of this credential set. When set,
  // the stage asks it for a token (never a request per probe: see probes/oauth/token_cache.hpp)
  // instead of reading `credentials`' secret; `credentials.username` is still the SASL user.
  std::shared_ptr<oauth::token_source> token;
  // Why the token source could not be made (a secret file unreadable at load): the stage fails
  // with credentials_unavailable and this text. Never a secret.
  std::string token_setup_error;
};

// The envelope probe: MAIL FROM:<mail_from>, RCPT TO:<rcpt_to>, RSET. Never DATA or BDAT.
struct envelope_options {
  std::string mail_from;  // validated address, no angle brackets
  std::string rcpt_to;
};

// The delivery probe's sending half (issue 21): MAIL FROM, RCPT TO, DATA, one small tagged
// message (probes/smtp/message.hpp), its final ".". Opt-in: only a target with [target.delivery].
struct delivery_options {
  std::string mail_from;  // validated address, no angle brackets
  std::string rcpt_to;    // a mailbox the operator owns
  std::string target;     // the target's name, for the subject and the probe id
};

// A phase that ended, as it ended: for `diagnose`, which prints each step as it completes.
struct session_event {
  phase step;
  bool ok = true;
  double seconds = 0;
  std::string summary;  // one human line: addresses, the greeting, capabilities, TLS facts…
};

struct session_options {
  std::string host;
  std::uint16_t port = 25;
  transport mode = transport::starttls;
  std::string ehlo_name = "localhost";
  std::chrono::milliseconds timeout{10000};  // hard deadline for the whole session
  int ip_protocol = 0;  // 4 or 6: connect only to addresses of that family; 0: any, in DNS order
  std::array<bool, probe_kind_count> due{};  // indexed by probe_kind
  // TLS: SNI and host name check use server_name, or host when empty.
  std::string server_name;
  int min_tls_version = 0;  // OpenSSL's TLS1_2_VERSION etc.; 0 = the context's default
  bool insecure_skip_verify = false;
  // Context with the trust store (system or ca_file) and client certificate.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::optional<auth_options> auth;  // required for the auth probe
  std::optional<envelope_options> envelope;  // required for the envelope probe
  std::optional<delivery_options> delivery;  // required for the delivery probe
  // Credentials, envelope and message cross a connection without TLS only with allow_plaintext, and a TLS
  // connection whose certificate was not verified (insecure_skip_verify) only with
  // allow_unverified_credentials.
  bool allow_plaintext = false;
  bool allow_unverified_credentials = false;
  // Optional: only resolved addresses for which this holds are connected to; none left fails
  // as resolve_failed. (/probe's allowed_cidrs: checked on the addresses the session itself
  // resolved, so DNS rebinding cannot widen them.)
  std::function<bool(const boost::asio::ip::address&)> address_allowed;
  std::function<void(const session_event&)> on_event;  // optional
};

// Runs on the caller's executor; never throws for network or protocol failures.
boost::asio::awaitable<session_result> run_session(const session_options& options,
                                                   dns_resolver& resolver);

}  // namespace smtp_exporter::probes
