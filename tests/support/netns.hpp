// Test support: two network namespaces joined by a veth pair, for real firewall rules between the
// exporter and an SMTP peer (issue 24). The "client" side runs the exporter (the binary through
// `ip netns exec`, or a function on a thread that entered the namespace); the "server" side runs
// the peer; nftables rules are loaded into either side.
//
// Addresses are the test's own hosts inside namespaces it made: IPv4 from TEST-NET-1
// (192.0.2.0/24, RFC 5737) and IPv6 from the documentation prefix (2001:db8::/32, RFC 3849).
// Nothing here reaches outside the namespaces: each has only its loopback and its end of the veth.
//
// Names are unique per pair (the process id and a counter), and the namespaces, the veth between
// them and /etc/netns/NAME (the hosts file `ip netns exec` lays over /etc/hosts) are deleted on
// destruction, so also when the test fails; pairs left by a process that was killed are deleted by
// the next pair made.
//
// Needs root, iproute2 and nftables (scripts/install-deps.sh --test).
// Thread-safety: none; one pair per test, used from the test's thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/harness.hpp"

namespace smtp_test {

class netns_pair {
 public:
  enum class side { client, server };

  static constexpr const char* client_v4 = "192.0.2.1";
  static constexpr const char* server_v4 = "192.0.2.2";
  static constexpr const char* client_v6 = "2001:db8:24::1";
  static constexpr const char* server_v6 = "2001:db8:24::2";

  netns_pair();
  ~netns_pair();
  netns_pair(const netns_pair&) = delete;
  netns_pair& operator=(const netns_pair&) = delete;

  // False when the namespaces could not be made (not root, no iproute2); error() says why.
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& name(side s) const { return s == side::client ? client_ : server_; }

  // Loads an nftables ruleset (the text `nft -f` reads) into one side. Its error text on failure,
  // empty on success.
  std::string nft(side s, const std::string& ruleset) const;
  // The ruleset of one side, as `nft list ruleset` prints it (for failure messages).
  std::string ruleset(side s) const;
  // Lines for the client side's hosts file (`ip netns exec` shows it as /etc/hosts there), e.g.
  // "192.0.2.2 mx.test". Call before starting what reads it.
  void set_client_hosts(const std::vector<std::string>& lines) const;

  // `argv` run inside one side: {"/usr/sbin/ip", "netns", "exec", NAME, argv...}.
  std::vector<std::string> exec_in(side s, std::vector<std::string> argv) const;
  // Runs `fn` on a thread that has entered one side's network namespace (sockets it opens live
  // there), and waits for it. False when the namespace could not be entered.
  bool run_in(side s, const std::function<void()>& fn) const;

 private:
  std::string client_, server_;
  std::string error_;
};

// A peer from tests/peers/ started inside a namespace (Debian's /usr/bin/python3), stdout's
// "READY <port>" awaited. `port` is 0 when it did not start.
std::unique_ptr<child_process> start_peer_in(const netns_pair& pair, netns_pair::side side,
                                             const temp_dir& dir, const std::string& script,
                                             const std::vector<std::string>& args,
                                             const std::string& log_name, std::uint16_t& port);

}  // namespace smtp_test
