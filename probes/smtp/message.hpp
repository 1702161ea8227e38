// The delivery probe's message (issue 21): one small text message the probe sends with DATA and
// later finds again over IMAP by its probe header. Pure functions, unit-tested.
//
// The message carries Date, Message-ID, From, To, a Subject naming the exporter and the target, the
// header `X-SMTP-Exporter-Probe: <probe id>` that the read-back searches for, MIME-Version and a
// short text/plain body; it stays under 1 KiB (providers treat large automated messages with more
// suspicion, and the probe has nothing to say). Lines end in CRLF; no line starts with "." (the
// body is fixed text), and the end-of-data line is not part of it.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace smtp_exporter::probes {

inline constexpr std::string_view probe_header_name = "X-SMTP-Exporter-Probe";
inline constexpr std::size_t max_probe_message_bytes = 1024;

struct probe_message {
  std::string from;         // address, no angle brackets
  std::string to;
  std::string target;       // the target's name, for the subject
  std::string probe_id;     // unique per message: "<target>-<unix seconds>-<random hex>"
  std::string message_id;   // "<probe_id@domain-of-from>"
  std::chrono::system_clock::time_point date;
};

// A fresh id for `target` at `now`: the target's name reduced to [A-Za-z0-9._-] (at most 40
// characters), the Unix seconds and 64 random bits in hex.
std::string make_probe_id(std::string_view target, std::chrono::system_clock::time_point now);

// "<probe_id@domain of from>" (localhost when `from` has no domain).
std::string make_message_id(std::string_view probe_id, std::string_view from);

// The message's text (headers, blank line, body), each line ending in CRLF. Header values built
// from config strings are reduced to printable ASCII without CR or LF, so no value can inject a
// header or end the message.
std::string compose_probe_message(const probe_message& m);

// RFC 5322 date-time in UTC: "Mon, 07 Dec 2026 13:45:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace smtp_exporter::probes
