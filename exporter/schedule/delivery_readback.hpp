// The delivery probe's second half (issue 21): after a session whose message the server accepted,
// the read-back over IMAP (probes/imap/readback.hpp) runs on the loop, apart from the sessions
// (it may take the whole `deadline`, minutes, while the target's other probes go on), and its
// verdict ends the delivery probe's run in the status store. At most one per target at a time.
//
// Before looking for its own message it deletes the probe's messages older than the deadline
// (left by a crash, or late arrivals of a message already reported not_delivered).
//
// Thread-safety: run on the scheduler's executor.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"
#include "exporter/schedule/session_options.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/core/result.hpp"
#include "probes/core/verdicts.hpp"
#include "probes/imap/readback.hpp"

namespace smtp_exporter::exporter {

struct readback_request {
  std::shared_ptr<const config::target> target;  // with [target.delivery]
  std::shared_ptr<boost::asio::ssl::context> imap_tls;  // the IMAP server's trust store
  oauth_binding imap_token;  // [target.delivery.imap.auth.oauth2], if any
  probes::delivery_sent sent;
  // Cleared when the read-back ends, whatever ends it: the scheduler's "one at a time" flag.
  std::shared_ptr<bool> running;
};

boost::asio::awaitable<void> run_delivery_readback(readback_request request, status_store& store);

// The pieces of a read-back, shared with `diagnose --deliver-to` (exporter/cli/diagnose_run.cpp).
//
// Everything the read-back needs from [target.delivery] but the login secret.
probes::imap::readback_options readback_options_for(
    const config::delivery_settings& d, std::shared_ptr<boost::asio::ssl::context> imap_tls);
// Puts the login secret into `o`: the token source, or the password read off the loop. A verdict
// (credentials_unavailable, imap_tls_failed) when it cannot; nullopt when `o` is ready.
boost::asio::awaitable<std::optional<probes::verdict>> attach_imap_secret(
    const config::delivery_settings& d, const oauth_binding& token,
    probes::imap::readback_options& o);

struct readback_report {
  std::size_t stale_removed = 0;     // the probe's messages older than the deadline, deleted first
  probes::imap::readback_result result;
  delivery_outcome outcome;          // the verdict and the facts the status store keeps
};
// Removes stale probe messages, then waits for `sent` until the deadline (d.deadline after now).
boost::asio::awaitable<readback_report> read_back_delivery(const config::delivery_settings& d,
                                                           probes::imap::readback_options o,
                                                           probes::delivery_sent sent);

// The key of a target's IMAP trust store and token binding in the maps prepare_config fills
// ("imap:" + the target's name: no target name starts a key that way by accident, since the maps
// are per kind of resource).
std::string imap_resource_key(const std::string& target_name);

}  // namespace smtp_exporter::exporter
