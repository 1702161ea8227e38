// Test support: a real Dovecot (Debian's dovecot-imapd, -lmtpd, -sieve) on loopback, started by a
// test in its temp dir from a private config: one passwd-file user with a password, Maildir, a
// `Junk` mailbox with the \Junk special-use flag, IMAP (STARTTLS) and IMAPS with the given
// certificate, an LMTP listener, and a sieve script that files one sender's mail into Junk.
// Needs root (Dovecot's master starts as root and runs mail processes as user `dovecot`) and the
// packages (scripts/install-deps.sh --test). No systemd: `dovecot -F` is a child of the test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/harness.hpp"

namespace smtp_test {

struct dovecot_options {
  std::string user = "probe@mx.test";
  std::string password = "imap-password";
  // Mail whose envelope sender or From: is this address is filed into Junk by sieve.
  std::string junk_sender = "spammer@junk.test";
  // More mailboxes (created at login, no special-use), each with the sender sieve files into it,
  // e.g. {"[Gmail]/Spam", "gmail@junk.test"}: names with brackets, a separator or spaces.
  std::vector<std::pair<std::string, std::string>> extra_mailboxes;
};

class dovecot_server {
 public:
  // Starts Dovecot in a new subdirectory of `dir` on three free loopback ports with `chain`
  // (leaf first) and `key`. Returns once IMAP greets, or after a deadline (then started() is
  // false and log() says why).
  dovecot_server(const temp_dir& dir, const fs::path& chain, const fs::path& key,
                 dovecot_options options = {});
  // Stops Dovecot (SIGTERM to its master, which ends its children).
  ~dovecot_server();
  dovecot_server(const dovecot_server&) = delete;
  dovecot_server& operator=(const dovecot_server&) = delete;

  static bool available();

  bool started() const { return started_; }
  std::uint16_t imap_port() const { return imap_port_; }    // plain, STARTTLS
  std::uint16_t imaps_port() const { return imaps_port_; }  // TLS from the first byte
  std::uint16_t lmtp_port() const { return lmtp_port_; }
  const dovecot_options& options() const { return options_; }
  const fs::path& directory() const { return dir_; }
  std::string log() const;
  // The master's process id (its children serve the connections); 0 when not running.
  int master_pid() const { return process_ ? process_->pid() : 0; }

  // Delivers `message` (header and body, CRLF or LF) over LMTP with swaks; true on 250.
  // `transcript` gets swaks' output.
  bool deliver_lmtp(const std::string& from, const std::string& message,
                    std::string* transcript = nullptr) const;
  // Messages in a mailbox's Maildir ("INBOX" or a folder name), counted on disk.
  std::size_t count_messages(const std::string& mailbox) const;

 private:
  fs::path dir_;
  dovecot_options options_;
  std::unique_ptr<child_process> process_;
  std::string start_log_;
  bool started_ = false;
  std::uint16_t imap_port_ = 0, imaps_port_ = 0, lmtp_port_ = 0;
};

}  // namespace smtp_test
