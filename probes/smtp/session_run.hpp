// Internal to probes/: the state of one SMTP session as it moves through its stages, and what a
// stage is. The frame (running the table, bookkeeping, commands, EHLO, QUIT) is session.cpp; each
// stage is one file, probes/smtp/stage_<name>.cpp, registered by its line in common/probe_list.hpp
// (probes/smtp/stages.hpp lists what else a new stage touches).
//
// A stage describes what it saw and asks probes/core/verdicts.hpp what that means; it never picks a
// failure_reason itself.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "probes/smtp/session.hpp"
#include "probes/smtp/connection.hpp"
#include "probes/smtp/stages.hpp"
#include "probes/core/verdicts.hpp"

namespace smtp_exporter::probes::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

inline constexpr std::size_t max_greeting_chars = 200;
inline constexpr std::size_t max_transcript_lines = 100;
inline constexpr std::size_t max_transcript_line = 300;
inline constexpr std::size_t max_reply_summary = 120;
// A polite QUIT must not hold a failed session open: the reason is already known.
inline constexpr auto quit_grace = std::chrono::seconds(2);

inline double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

// "STARTTLS SIZE PIPELINING AUTH(PLAIN LOGIN)": the capabilities the exporter understands.
std::string describe(const capabilities& caps);

class session_run;

// One row of the stage table.
struct stage {
  stage_info info;
  // Whether the stage runs in this session (its probe or a later one is due, and it applies).
  bool (*wanted)(const session_run& run);
  // Runs the stage; false when the session must end (the failure is already recorded).
  asio::awaitable<bool> (*run)(session_run& run);
};

// The run's state as it moves through the stages. Probes are decided in order; a failure decides
// every probe that is due and not decided yet. Members are open to the stages (internal type).
class session_run {
 public:
  session_run(const session_options& options, dns_resolver& resolver);

  asio::awaitable<session_result> run();

  bool due(probe_kind p) const { return options.due[static_cast<std::size_t>(p)]; }
  // `p` or a later probe is due: an earlier stage runs for the sake of a later one.
  bool due_from(probe_kind p) const;

  // Records `v` (a failure) for every due, undecided probe from `first` on.
  void fail(probe_kind first, verdict v);
  // Records `v` (a success) for `p`.
  void succeed(probe_kind p, const verdict& v);
  // The exporter's own refusal to send what the operator protects (credentials, the envelope):
  // over plain text without allow_plaintext (`without_tls`), or over TLS whose certificate was
  // not verified without allow_unverified_credentials (`unverified`). True after recording it
  // for `probe` on.
  bool withhold(probe_kind probe, refusal without_tls, refusal unverified);
  // A failed read or write in phase `p`: the verdict, noted in the transcript; the connection is
  // then unusable (no QUIT).
  verdict io_failed(phase p, const error_code& ec);

  void note(std::string line);  // transcript
  void note_reply(const smtp_reply& reply);
  // Records a phase's duration and tells an interested caller (diagnose) at once.
  void phase_done(phase p, clock::time_point started, bool ok, std::string summary);
  // Reads one reply; false after recording an I/O failure for `probe` on.
  asio::awaitable<bool> read_reply_in(phase p, probe_kind probe, smtp_reply& reply);
  // Sends `line` (redacted in the transcript during AUTH) and reads the reply.
  asio::awaitable<bool> command(phase p, probe_kind probe, std::string_view line,
                                smtp_reply& reply);
  // A command whose reply decides nothing (RSET, QUIT): sent and its reply noted, no failure
  // recorded; false when the write or the read failed.
  asio::awaitable<bool> courtesy(std::string_view line, smtp_reply& reply);
  // EHLO, or HELO when EHLO is refused; false after recording the failure for `probe` on.
  asio::awaitable<bool> ehlo(probe_kind probe);
  // The peer as details name it: the connected address, or host:port before connecting.
  std::string peer() const;
  std::string reply_summary(const smtp_reply& reply) const;

  const session_options& options;
  dns_resolver& resolver;
  session_result result;
  std::array<bool, probe_kind_count> decided{};
  std::shared_ptr<smtp_connection> connection;
  bool connection_usable = false;  // connected, and no I/O failure since: QUIT is worth sending
  clock::time_point start;
  clock::time_point deadline;
  int tls_reply_code = 0;  // the reply that decides the tls probe (STARTTLS, or the greeting)

 private:
  asio::awaitable<void> quit();
};

// Shared by the banner stage (implicit TLS) and the tls stage (after STARTTLS): stage_tls.cpp.
asio::awaitable<bool> tls_handshake(session_run& run, probe_kind probe);

}  // namespace smtp_exporter::probes::detail
