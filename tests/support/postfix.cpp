#include "tests/support/postfix.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>

namespace smtp_test {

namespace {

fs::path script() { return source_dir() / "tests/peers/postfix_peer.sh"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

bool postfix_peer::available() {
  return geteuid() == 0 && access("/usr/sbin/postfix", X_OK) == 0 &&
         access("/usr/lib/postfix/sbin/master", X_OK) == 0 && fs::exists(script());
}

postfix_peer::postfix_peer(const temp_dir& dir, const fs::path& chain, const fs::path& key,
                           std::optional<sasl_options> sasl, const std::string& hostname,
                           const std::string& accept_rcpt,
                           std::optional<lmtp_relay_options> relay) {
  static std::atomic<int> counter{0};
  const std::string id = std::to_string(++counter);
  dir_ = dir.path() / ("postfix" + id);

  // A free port can be taken between unused_port() and postfix's bind: try again on new ports.
  for (int attempt = 1; attempt <= 3 && !started_; ++attempt) {
    std::uint16_t p1 = unused_port();
    std::uint16_t p2 = unused_port();
    if (p1 == 0 || p2 == 0 || p1 == p2) continue;
    std::vector<std::string> argv{"/bin/bash",       script().string(),
                                  "start",           dir_.string(),
                                  "--cert",          fs::absolute(chain).string(),
                                  "--key",           fs::absolute(key).string(),
                                  "--starttls-port", std::to_string(p1),
                                  "--implicit-port", std::to_string(p2),
                                  "--hostname",      hostname};
    if (sasl) {
      argv.insert(argv.end(), {"--sasl-user", sasl->user, "--sasl-password", sasl->password});
      if (!sasl->realm.empty()) argv.insert(argv.end(), {"--sasl-realm", sasl->realm});
    }
    if (!accept_rcpt.empty()) argv.insert(argv.end(), {"--accept-rcpt", accept_rcpt});
    if (relay) {
      argv.insert(argv.end(), {"--lmtp-port", std::to_string(relay->lmtp_port), "--relay-domain",
                               relay->domain});
      if (!relay->prepend_header.empty())
        argv.insert(argv.end(), {"--prepend-header", relay->prepend_header});
      if (!relay->hold_sender.empty())
        argv.insert(argv.end(), {"--hold-sender", relay->hold_sender});
    }
    auto log_file =
        dir.path() / ("postfix" + id + "_start" + std::to_string(attempt) + ".log");
    child_process proc(argv, log_file);
    // The script has its own 20 s deadline for the greetings, after postfix's start-up.
    std::uint16_t ready = proc.wait_ready(40s);
    auto status = proc.wait_exit(ready ? 10s : 5s);
    if (!status) proc.terminate();
    start_log_ += "=== start attempt " + std::to_string(attempt) + " (ports " + std::to_string(p1) +
                  ", " + std::to_string(p2) + "): exit " +
                  (status ? std::to_string(*status) : std::string("none (killed)")) + "\n" +
                  proc.log();
    if (ready == p1 && status == 0) {
      started_ = true;
      starttls_port_ = p1;
      implicit_port_ = p2;
    } else if (status != 3) {
      break;  // 3: a port was taken meanwhile. Anything else (bad certificate or key, not root,
              // postfix missing) another attempt cannot fix.
    }
  }
}

postfix_peer::~postfix_peer() { stop(); }

bool postfix_peer::stop() {
  if (stopped_) return true;
  stopped_ = true;
  if (!fs::exists(dir_)) return true;
  child_process proc({"/bin/bash", script().string(), "stop", dir_.string()},
                     dir_.parent_path() / (dir_.filename().string() + "_stop.log"));
  auto status = proc.wait_exit(30s);
  if (!status) proc.terminate();
  start_log_ += "=== stop: exit " + (status ? std::to_string(*status) : std::string("none")) +
                "\n" + proc.log();
  return status == 0;
}

bool postfix_peer::release_held() {
  child_process proc({"/bin/bash", script().string(), "release", dir_.string()},
                     dir_.parent_path() / (dir_.filename().string() + "_release.log"));
  auto status = proc.wait_exit(30s);
  if (!status) proc.terminate();
  start_log_ += "=== release: exit " + (status ? std::to_string(*status) : std::string("none")) +
                "\n" + proc.log();
  return status == 0;
}

std::size_t postfix_peer::accepted_messages() const {
  const std::string text = read_file(dir_ / "maillog");
  std::size_t count = 0;
  for (auto at = text.find("cleanup"); at != std::string::npos; at = text.find("cleanup", at + 1)) {
    const auto eol = text.find('\n', at);
    if (text.substr(at, eol - at).find(": message-id=") != std::string::npos) ++count;
  }
  return count;
}

std::string postfix_peer::log() const {
  return start_log_ + "=== " + (dir_ / "maillog").string() + "\n" + read_file(dir_ / "maillog");
}

}  // namespace smtp_test
