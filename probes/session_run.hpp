// Internal to probes/: the state of one SMTP session as it moves through its stages. The
// stages live in three files, one per probe's own work: session.cpp (resolve, connect, greeting,
// EHLO, QUIT: the banner probe), session_tls.cpp (STARTTLS, handshake, verification) and
// session_auth.cpp (AUTH).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "probes/session.hpp"
#include "probes/smtp_connection.hpp"

namespace smtp_exporter::probes::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;


inline constexpr std::size_t max_greeting_chars = 200;
inline constexpr std::size_t max_transcript_lines = 100;
inline constexpr std::size_t max_transcript_line = 300;
// A polite QUIT must not hold a failed session open: the reason is already known.
inline constexpr auto quit_grace = std::chrono::seconds(2);

inline double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

inline std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// "STARTTLS SIZE PIPELINING AUTH(PLAIN LOGIN)": the capabilities the exporter understands.
inline std::string describe(const capabilities& caps) {
  std::string out;
  for (std::size_t i = 0; i < extension_count; ++i) {
    auto e = static_cast<extension>(i);
    if (!caps.has(e)) continue;
    if (!out.empty()) out += ' ';
    out += to_string(e);
    if (e == extension::auth) {
      std::string mechs;
      for (std::size_t m = 0; m < auth_mechanism_count; ++m) {
        auto mech = static_cast<auth_mechanism>(m);
        if (!caps.has(mech)) continue;
        if (!mechs.empty()) mechs += ' ';
        mechs += to_string(mech);
      }
      out += "(" + mechs + ")";
    }
  }
  return out.empty() ? std::string("no extensions") : out;
}

// The run's state as it moves through the stages. Probes are decided in order; a failure decides
// every probe that is due and not decided yet.
class session_run {
 public:
  session_run(const session_options& options, dns_resolver& resolver);

  asio::awaitable<session_result> run();

 private:
  bool due(probe_kind p) const { return options_.due[static_cast<std::size_t>(p)]; }
  bool needs_tls() const;

  // Bookkeeping (session.cpp).
  // Fails every due, undecided probe from `first` on.
  void fail(probe_kind first, failure_reason reason, int reply_code, std::string detail);
  void succeed(probe_kind p, int reply_code);
  // Reason for an I/O error in the phase that was running.
  failure_reason io_failure(phase p, const error_code& ec) const;
  std::string io_detail(phase p, const error_code& ec) const;
  void note(std::string line);  // transcript
  void note_reply(const smtp_reply& reply);
  // Records a phase's duration and tells an interested caller (diagnose) at once.
  void phase_done(phase p, clock::time_point started, bool ok, std::string summary);
  // Reads one reply; false after recording the failure.
  asio::awaitable<bool> read_reply_in(phase p, probe_kind probe, smtp_reply& reply);
  asio::awaitable<bool> command(phase p, probe_kind probe, std::string_view line,
                                smtp_reply& reply);

  // The banner probe and the session's frame (session.cpp).
  asio::awaitable<void> execute();
  asio::awaitable<bool> ehlo(probe_kind probe);
  asio::awaitable<void> quit();

  // The tls probe (session_tls.cpp).
  asio::awaitable<bool> starttls();
  asio::awaitable<bool> tls_handshake(probe_kind probe);
  bool check_verification();

  // The auth probe (session_auth.cpp): AUTH as the sending application would, never mail.
  asio::awaitable<bool> authenticate();
  bool offered(sasl_mechanism m) const;

  const session_options& options_;
  dns_resolver& resolver_;
  session_result result_;
  std::array<bool, probe_kind_count> decided_{};
  std::shared_ptr<smtp_connection> connection_;
  clock::time_point start_;
  clock::time_point deadline_;
  int tls_reply_code_ = 0;
};

}  // namespace smtp_exporter::probes::detail
