// Test support: a real postfix on loopback (tests/peers/postfix_peer.sh), one STARTTLS port and
// one implicit-TLS port, optionally with SASL AUTH (PLAIN, LOGIN, CRAM-MD5). It delivers no mail,
// unless told to relay to a Dovecot over LMTP (lmtp_relay_options). Needs root and Debian's
// postfix (scripts/install-deps.sh --test).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/support/harness.hpp"

namespace smtp_test {

struct sasl_options {
  std::string user;
  std::string password;
  std::string realm;  // empty: the hostname (mx.test); clients may send "user" or "user@realm"
};

// Delivery to a Dovecot (tests/support/dovecot.hpp) over LMTP: mail to any address @domain from
// 127.0.0.1 is accepted and handed to 127.0.0.1:lmtp_port; `prepend_header` ("Name: value"),
// when set, is added on top of each message's header.
struct lmtp_relay_options {
  std::uint16_t lmtp_port = 0;
  std::string domain = "mx.test";
  std::string prepend_header;
  // Mail from this address is accepted and held in the queue (never delivered) until
  // postfix_peer::release_held().
  std::string hold_sender;
};

class postfix_peer {
 public:
  // Starts postfix in a new subdirectory of `dir` on two free loopback ports, with `chain`
  // (leaf first, PEM) and `key`. Returns once both ports greet, or after a deadline (then
  // started() is false and log() says why).
  // `accept_rcpt`: one address whose RCPT TO gets 250 (every other gets 554 5.7.1).
  postfix_peer(const temp_dir& dir, const fs::path& chain, const fs::path& key,
               std::optional<sasl_options> sasl = std::nullopt,
               const std::string& hostname = "mx.test", const std::string& accept_rcpt = "",
               std::optional<lmtp_relay_options> relay = std::nullopt);
  // Stops postfix; no process of it remains.
  ~postfix_peer();
  postfix_peer(const postfix_peer&) = delete;
  postfix_peer& operator=(const postfix_peer&) = delete;

  // Root, the postfix package and the peer script: what a test can check to skip.
  static bool available();

  bool started() const { return started_; }
  std::uint16_t starttls_port() const { return starttls_port_; }  // plain, offers STARTTLS
  std::uint16_t implicit_port() const { return implicit_port_; }  // TLS from the first byte
  const fs::path& directory() const { return dir_; }
  // The start script's output and postfix's own log (DIR/maillog).
  std::string log() const;
  // Releases the messages on hold and flushes the queue (lmtp_relay_options::hold_sender); true
  // when postsuper and postqueue succeeded.
  bool release_held();
  // Messages postfix accepted (one `message-id=` line of cleanup per message in its log).
  std::size_t accepted_messages() const;
  // Stops postfix now (the destructor does it otherwise). True if nothing of it remains.
  bool stop();

 private:
  fs::path dir_;
  std::string start_log_;
  bool started_ = false;
  bool stopped_ = false;
  std::uint16_t starttls_port_ = 0;
  std::uint16_t implicit_port_ = 0;
};

}  // namespace smtp_test
