#include "tests/support/dovecot.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

namespace smtp_test {

namespace {

using clock = std::chrono::steady_clock;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

// True once 127.0.0.1:port accepts and sends a line starting with `greeting` within `timeout`.
bool greets(std::uint16_t port, const std::string& greeting, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  auto deadline = clock::now() + timeout;
  std::string got;
  bool ok = false;
  while (clock::now() < deadline && got.size() < greeting.size()) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count()))) <= 0) break;
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ok = got.compare(0, greeting.size(), greeting) == 0;
  close(fd);
  return ok;
}

void chown_tree(const fs::path& p, uid_t uid, gid_t gid) {
  if (chown(p.c_str(), uid, gid) != 0) return;
  if (!fs::is_directory(p)) return;
  for (const auto& e : fs::recursive_directory_iterator(p)) chown(e.path().c_str(), uid, gid);
}

}  // namespace

bool dovecot_server::available() {
  return geteuid() == 0 && access("/usr/sbin/dovecot", X_OK) == 0 &&
         access("/usr/lib/dovecot/lmtp", X_OK) == 0 &&
         fs::exists("/usr/lib/dovecot/modules/lib90_sieve_plugin.so") &&
         access("/usr/bin/swaks", X_OK) == 0 && getpwnam("dovecot") != nullptr &&
         getpwnam("dovenull") != nullptr;
}

dovecot_server::dovecot_server(const temp_dir& dir, const fs::path& chain, const fs::path& key,
                               dovecot_options options)
    : options_(std::move(options)) {
  static std::atomic<int> counter{0};
  dir_ = dir.path() / ("dovecot" + std::to_string(++counter));
  const passwd* pw = getpwnam("dovecot");
  if (!pw) {
    start_log_ = "no user dovecot\n";
    return;
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  fs::create_directories(dir_ / "run");
  fs::create_directories(dir_ / "state");
  fs::create_directories(dir_ / "mail");
  fs::create_directories(dir_ / "sieve");
  // Mail processes run as `dovecot`: they must reach the directory and own the mail and sieve.
  for (auto p = dir_; p != p.root_path() && p != p.parent_path(); p = p.parent_path()) {
    if (p == fs::temp_directory_path()) break;
    fs::permissions(p, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
  }
  // Dovecot reads the key as root before dropping privileges; a copy keeps the PKI's file as is.
  fs::copy_file(chain, dir_ / "cert.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(key, dir_ / "key.pem", fs::copy_options::overwrite_existing);
  write_file(dir_ / "users", options_.user + ":{PLAIN}" + options_.password + "::::::\n");
  std::string sieve = "require [\"fileinto\", \"envelope\"];\n";
  std::string extra_config;
  auto rule = [&](const std::string& sender, const std::string& mailbox) {
    sieve += "if anyof (envelope :is \"from\" \"" + sender + "\", address :is \"from\" \"" +
             sender + "\") {\n  fileinto \"" + mailbox + "\";\n  stop;\n}\n";
  };
  rule(options_.junk_sender, "Junk");
  for (const auto& [mailbox, sender] : options_.extra_mailboxes) {
    rule(sender, mailbox);
    extra_config += "  mailbox \"" + mailbox + "\" {\n    auto = create\n  }\n";
  }
  write_file(dir_ / "sieve" / "default.sieve", sieve);
  chown_tree(dir_ / "mail", uid, gid);
  chown_tree(dir_ / "sieve", uid, gid);

  const std::string d = dir_.string();
  for (int attempt = 1; attempt <= 3 && !started_; ++attempt) {
    imap_port_ = unused_port();
    imaps_port_ = unused_port();
    lmtp_port_ = unused_port();
    if (imap_port_ == imaps_port_ || imaps_port_ == lmtp_port_ || imap_port_ == lmtp_port_)
      continue;
    write_file(dir_ / "dovecot.conf",
               "# Written by tests/support/dovecot.cpp: a loopback test peer.\n"
               "base_dir = " + d + "/run\n"
               "state_dir = " + d + "/state\n"
               "log_path = " + d + "/dovecot.log\n"
               "info_log_path = " + d + "/dovecot.log\n"
               "protocols = imap lmtp\n"
               "listen = 127.0.0.1\n"
               "ssl = yes\n"
               "ssl_cert = <" + d + "/cert.pem\n"
               "ssl_key = <" + d + "/key.pem\n"
               "ssl_min_protocol = TLSv1.2\n"
               "disable_plaintext_auth = yes\n"
               // XOAUTH2 and OAUTHBEARER with a passwd-file passdb: Dovecot checks the bearer
               // token as the password (tests give the token the endpoint will issue).
               "auth_mechanisms = plain login xoauth2 oauthbearer\n"
               "first_valid_uid = " + std::to_string(uid) + "\n"
               "mail_location = maildir:" + d + "/mail/%u\n"
               "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u " +
                   d + "/users\n}\n"
               "userdb {\n  driver = static\n  args = uid=dovecot gid=dovecot home=" + d +
                   "/mail/%u\n}\n"
               "namespace inbox {\n  inbox = yes\n  separator = /\n"
               "  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n  }\n" +
                   extra_config + "}\n"
               "service imap-login {\n"
               "  inet_listener imap {\n    address = 127.0.0.1\n    port = " +
                   std::to_string(imap_port_) + "\n  }\n"
               "  inet_listener imaps {\n    address = 127.0.0.1\n    port = " +
                   std::to_string(imaps_port_) + "\n    ssl = yes\n  }\n}\n"
               "service lmtp {\n  unix_listener lmtp {\n    mode = 0600\n  }\n"
               "  inet_listener lmtp {\n    address = 127.0.0.1\n    port = " +
                   std::to_string(lmtp_port_) + "\n  }\n}\n"
               "service stats {\n  unix_listener stats-reader {\n    mode = 0600\n  }\n"
               "  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n"
               "protocol lmtp {\n  mail_plugins = sieve\n  postmaster_address = postmaster@mx.test\n}\n"
               "plugin {\n  sieve = file:" + d + "/sieve/user;active=" + d +
                   "/sieve/user/active.sieve\n  sieve_default = " + d + "/sieve/default.sieve\n"
                   "  sieve_default_name = default\n}\n");
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/sbin/dovecot", "-F", "-c", (dir_ / "dovecot.conf").string()},
        dir_ / ("dovecot_start" + std::to_string(attempt) + ".log"));
    auto deadline = clock::now() + 15s;
    while (clock::now() < deadline && process_->running()) {
      if (greets(imap_port_, "* OK", 1s) && greets(lmtp_port_, "220 ", 1s)) {
        started_ = true;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    start_log_ += "=== start attempt " + std::to_string(attempt) + ": " +
                  (started_ ? "ready" : "not ready") + "\n" + process_->log();
    if (!started_) {
      process_->terminate();
      if (read_file(dir_ / "dovecot.log").find("Address already in use") == std::string::npos)
        break;  // only a port taken meanwhile is worth another attempt
    }
  }
}

dovecot_server::~dovecot_server() {
  if (process_) process_->terminate(10s);
}

std::string dovecot_server::log() const {
  return start_log_ + "=== " + (dir_ / "dovecot.log").string() + "\n" +
         read_file(dir_ / "dovecot.log");
}

bool dovecot_server::deliver_lmtp(const std::string& from, const std::string& message,
                                  std::string* transcript) const {
  static std::atomic<int> counter{0};
  const std::string n = std::to_string(++counter);
  auto data = dir_ / ("lmtp_message" + n + ".eml");
  write_file(data, message);
  child_process swaks({"/usr/bin/swaks", "--server", "127.0.0.1:" + std::to_string(lmtp_port_),
                       "--protocol", "LMTP", "--from", from, "--to", options_.user, "--data",
                       "@" + data.string(), "--timeout", "10"},
                      dir_ / ("lmtp_swaks" + n + ".log"));
  auto status = swaks.wait_exit(20s);
  if (!status) swaks.terminate();
  if (transcript) *transcript = swaks.log();
  return status == 0;
}

std::size_t dovecot_server::count_messages(const std::string& mailbox) const {
  auto box = dir_ / "mail" / options_.user;
  // Maildir++: a folder is ".Name", its children ".Name.Child" (the separator "/" becomes ".").
  std::string folder = mailbox;
  for (auto& c : folder)
    if (c == '/') c = '.';
  if (mailbox != "INBOX") box /= "." + folder;
  std::size_t n = 0;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(box / sub, ec))
      if (e.is_regular_file()) ++n;
  }
  return n;
}

}  // namespace smtp_test
