// The delivery probe's read-back (issue 21): where did the tagged message land? Polls the mailbox
// over IMAP (imap_client) until the message with the probe's header is seen in INBOX or in the
// Junk mailbox, or the deadline passes; then reads its Authentication-Results and deletes it.
//
// Cadence: the first search 1 s after the start, then every 2, 4, 8 s, at most every 15 s (two
// UID SEARCHes a poll: INBOX, then Junk; libcurl keeps one logged-in connection). So the latency,
// measured from the server's 250 after the message to the search that first found it, is an upper
// bound: it is late by at most the gap before that search (1 s early on, 15 s at most).
//
// No IDLE: libcurl's IMAP has none (probes/imap/client.hpp).
//
// An IMAP failure (connect, TLS, login, a NO, a timeout) ends the read-back with `imap_failed`:
// the message's fate is then unknown, never "not delivered".
//
// Thread-safety: none; run on the client's executor (the exporter's loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "probes/imap/auth_results.hpp"
#include "probes/imap/client.hpp"
#include "probes/core/verdicts.hpp"

namespace smtp_exporter::probes::imap {

inline constexpr std::string_view probe_header = "X-SMTP-Exporter-Probe";

struct readback_options {
  imap_options imap;
  // Searched when no mailbox has the \Junk special-use flag.
  std::vector<std::string> junk_folders{"Junk", "Spam", "[Gmail]/Spam", "Junk E-mail"};
  // The authserv-id whose Authentication-Results is believed; empty: the IMAP host's domain
  // (trusted_authserv_id_for). Compared case-insensitively; a subdomain of it matches too.
  std::string trusted_authserv_id;
  bool delete_after = true;
  std::chrono::milliseconds first_poll{1000};
  std::chrono::milliseconds max_poll{15000};
};

enum class readback_outcome : std::uint8_t { inbox, junk, not_found, imap_failed };
std::string_view to_string(readback_outcome o);  // "inbox", "junk", "not_found", "imap_failed"

struct readback_result {
  readback_outcome outcome = readback_outcome::not_found;
  std::string mailbox;        // where it was found
  double seen_at = 0;         // Unix seconds of the search that found it
  double latency_seconds = -1;  // seen_at - accepted_at (an upper bound; see the top)
  // The top Authentication-Results whose authserv-id is trusted; nullopt when none is.
  std::optional<auth_results> verdict;
  std::size_t untrusted_headers = 0;  // Authentication-Results headers of other authserv-ids
  imap_status imap;          // the failure, with outcome imap_failed
  std::size_t polls = 0;
  bool deleted = false;
  // Seconds of each step (negative when it did not run): connect, TLS, login and LIST; the polls
  // until found or the deadline; the header FETCH; the delete.
  double login_seconds = -1, search_seconds = -1, fetch_seconds = -1, delete_seconds = -1;
  bool ok() const { return outcome == readback_outcome::inbox; }
};

// Waits for the message whose probe header is `probe_id` until `deadline`.
boost::asio::awaitable<readback_result> read_back(boost::asio::any_io_executor executor,
                                                  readback_options options, std::string probe_id,
                                                  double accepted_at,
                                                  std::chrono::steady_clock::time_point deadline);

// The verdict of a read-back (probes/core/verdicts.hpp on_readback): the delivery probe's final
// reason, with the mailbox, the deadline or the IMAP error in its detail.
verdict readback_verdict(const readback_result& result);

// Deletes the probe's messages (any probe id) that arrived before `older_than` in INBOX and the
// Junk mailbox: left behind by a crash or a run that ended before finding its message. Returns how
// many it deleted.
boost::asio::awaitable<imap_result<std::size_t>> remove_stale(
    boost::asio::any_io_executor executor, readback_options options,
    std::chrono::system_clock::time_point older_than, std::chrono::steady_clock::time_point deadline);

// The default trusted authserv-id: the IMAP host without its first label ("imap.example.com" ->
// "example.com"); the host itself when it has fewer than three labels or is an IP literal.
std::string trusted_authserv_id_for(std::string_view imap_host);

// The first (top) header whose authserv-id is `trusted` or a subdomain of it; nullopt if none.
std::optional<auth_results> trusted_verdict(const std::vector<std::string>& header_values,
                                            std::string_view trusted, std::size_t* untrusted);

}  // namespace smtp_exporter::probes::imap
