// Issue 24, part 1: blocked ports as they really happen. Real nftables rules between the exporter
// (`smtp_exporter diagnose` run inside a client namespace) and an SMTP peer (aiosmtpd inside a
// server namespace), joined by a veth pair (tests/support/netns.hpp). Each case asserts the
// failure reason, the detail's words, diagnose's advice and exit status (its JSON output).
//
// Addresses are the test's own hosts: 192.0.2.0/24 and 2001:db8:24::/64 inside namespaces it made
// and deletes; nothing else is reached. Needs root and nftables (scripts/install-deps.sh --test).
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

namespace json = boost::json;
using side = netns_pair::side;

const std::string v4_target = std::string(netns_pair::server_v4) + ":587";
const std::string v6_target = "[" + std::string(netns_pair::server_v6) + "]:587";

// An inet table with one chain at `hook` ("input", "output") holding `rules`.
std::string ruleset(const std::string& hook, const std::string& rules) {
  return "table inet smtpx {\n  chain " + hook + " {\n    type filter hook " + hook +
         " priority 0; policy accept;\n    " + rules + "\n  }\n}\n";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

std::string joined(const json::value& array) {
  std::string out;
  if (!array.is_array()) return out;
  for (const auto& line : array.as_array()) out += str(line) + "\n";
  return out;
}

class firewall : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pair_.ok()) << "cannot make the network namespaces (root, iproute2?): "
                            << pair_.error();
  }

  // A leaf for both server addresses with many names: its chain is the handshake's large packet
  // (about 3 KB), signed by the test PKI's intermediate.
  void make_large_chain() {
    cert_spec spec;
    spec.common_name = "mx.firewall.test";
    for (int i = 0; i < 60; ++i) {
      spec.dns_names.push_back("relay-" + std::to_string(i) + ".mx.firewall.test");
    }
    spec.ip_addresses = {netns_pair::server_v4, netns_pair::server_v6};
    spec.not_before = pki_.now - test_pki::day;
    spec.not_after = pki_.now + 90 * test_pki::day;
    leaf_key_ = make_key();
    leaf_ = make_certificate(spec, leaf_key_, &pki_.intermediate, pki_.intermediate_key);
    chain_file_ = dir_.path() / "large.chain.pem";
    key_file_ = dir_.path() / "large.key.pem";
    write_pem(chain_file_, {&leaf_, &pki_.intermediate});
    write_key(key_file_, leaf_key_);
  }

  // aiosmtpd in the server namespace on `host`:`port`, STARTTLS with the large chain; extra
  // arguments (AUTH) appended.
  void start_server(const std::string& host, std::uint16_t port,
                    std::vector<std::string> extra = {}) {
    if (chain_file_.empty()) make_large_chain();
    std::vector<std::string> args{"--host", host, "--port", std::to_string(port), "--tls-cert",
                                  chain_file_.string(), "--tls-key", key_file_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::uint16_t ready = 0;
    peer_ = start_peer_in(pair_, side::server, dir_, "aiosmtpd_server.py", args,
                          "aiosmtpd" + std::to_string(++peers_) + ".log", ready);
    ASSERT_EQ(ready, port) << peer_->log();
  }

  void block(const std::string& hook, const std::string& rules, side where = side::server) {
    const std::string error = pair_.nft(where, ruleset(hook, rules));
    ASSERT_TRUE(error.empty()) << error;
  }

  // `smtp_exporter diagnose TARGET ARGS --output json` in the client namespace.
  json::object diagnose(const std::string& target, std::vector<std::string> args,
                        int expected_status) {
    std::vector<std::string> argv{exporter_binary().string(), "diagnose", target, "--ehlo-name",
                                  "probe.firewall.test", "--output", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(pair_.exec_in(side::client, argv), dir_.path(),
                         "diagnose" + std::to_string(++runs_), 40s);
    EXPECT_EQ(r.status, expected_status)
        << r.out << r.err << "\nserver ruleset:\n" << pair_.ruleset(side::server);
    boost::system::error_code ec;
    auto doc = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.out << r.err;
    if (ec || !doc.is_object() || !doc.as_object().contains("ports")) return {};
    return doc.as_object().at("ports").as_array().at(0).as_object();
  }

  std::vector<std::string> tls_args(const std::string& timeout = "3s") const {
    return {"--ca-file", pki_.root_file.string(), "--timeout", timeout};
  }

  // Declared first: destroyed last, after every process that runs inside the namespaces.
  netns_pair pair_;
  temp_dir dir_;
  test_pki pki_;
  key_pair leaf_key_;
  certificate leaf_;
  fs::path chain_file_, key_file_;
  std::unique_ptr<child_process> peer_;
  int peers_ = 0;
  int runs_ = 0;
};

// The fixture works: without rules, both families pass STARTTLS with the large chain. Every
// blocked case below runs against this same server, which is up all along.
TEST_F(firewall, without_rules_both_families_pass) {
  start_server(netns_pair::server_v4, 587);
  auto v4 = diagnose(v4_target, tls_args(), 0);
  EXPECT_EQ(str(v4["result"]), "success") << v4["detail"];
  EXPECT_EQ(str(v4["peer_address"]), v4_target);
  EXPECT_GE(v4["tls_facts"].as_object()["chain_length"].to_number<int>(), 2);

  start_server("::", 587);  // a second server, for IPv6 (the first is bound to the IPv4 address)
  auto v6 = diagnose(v6_target, tls_args(), 0);
  EXPECT_EQ(str(v6["result"]), "success") << v6["detail"];
  EXPECT_EQ(str(v6["peer_address"]), v6_target);
}

// A security group that drops the SYN: connect_timeout, and the advice is about the firewall and
// the security group, not the server.
TEST_F(firewall, dropped_syn_is_connect_timeout_and_the_advice_names_the_security_group) {
  start_server(netns_pair::server_v4, 587);
  block("input", "tcp dport 587 drop");
  auto p = diagnose(v4_target, tls_args("2s"), 4);
  EXPECT_EQ(str(p["result"]), "connect_timeout");
  EXPECT_EQ(str(p["class"]), "connect");
  EXPECT_TRUE(has(str(p["detail"]),
                  "connect: no answer from 192.0.2.2:587 within 2 s (SYN dropped: a firewall, or "
                  "a blocked port)"))
      << p["detail"];
  const std::string advice = joined(p["advice"]);
  EXPECT_TRUE(has(advice, "security group")) << advice;
  EXPECT_TRUE(has(advice, "firewall must not drop port 587")) << advice;
  EXPECT_TRUE(has(str(p["headline"]), "security group, firewall or provider"));
}

// `reject with tcp reset` while the server is up: refused, exactly as if nothing listened; the
// detail and the advice say that a firewall looks the same.
TEST_F(firewall, tcp_reset_is_connect_refused_and_says_a_firewall_looks_the_same) {
  start_server(netns_pair::server_v4, 587);
  block("input", "tcp dport 587 reject with tcp reset");
  auto p = diagnose(v4_target, tls_args(), 4);
  EXPECT_EQ(str(p["result"]), "connect_refused");
  EXPECT_TRUE(has(str(p["detail"]), "192.0.2.2:587 refused the connection (nothing listens "
                                    "there, or a firewall rejects it: the two look the same)"))
      << p["detail"];
  EXPECT_TRUE(has(joined(p["advice"]), "from here the two look exactly the same"))
      << p["advice"];
}

// One ICMP answer of a firewall rule: over which family, the rule, and what the detail must say
// (the sender included).
struct icmp_case {
  const char* name;
  bool v6;
  const char* rule;
  const char* detail;
};

void PrintTo(const icmp_case& c, std::ostream* os) { *os << c.name; }

class firewall_prohibited : public firewall, public ::testing::WithParamInterface<icmp_case> {};

// `reject with icmpx admin-prohibited`: a firewall said no. Over IPv4 the kernel reports it as
// EHOSTUNREACH, like a missing route; only the ICMP message tells, and the reason must be
// connect_prohibited, never "server down" or "no route".
TEST_P(firewall_prohibited, is_connect_prohibited_and_never_server_down) {
  const auto& c = GetParam();
  start_server(c.v6 ? "::" : netns_pair::server_v4, 587);
  block("input", c.rule);
  auto p = diagnose(c.v6 ? v6_target : v4_target, tls_args(), 4);
  EXPECT_EQ(str(p["result"]), "connect_prohibited") << p["detail"];
  EXPECT_EQ(str(p["class"]), "connect");
  EXPECT_TRUE(has(str(p["detail"]), c.detail)) << p["detail"];
  EXPECT_TRUE(has(str(p["detail"]), "which says nothing of the server being down")) << p["detail"];
  EXPECT_TRUE(has(str(p["headline"]), "a firewall refused the connection")) << p["headline"];
  const std::string advice = joined(p["advice"]);
  EXPECT_TRUE(has(advice, "this is never \"server down\"")) << advice;
  EXPECT_TRUE(has(advice, "must allow outbound TCP 587")) << advice;
}

INSTANTIATE_TEST_SUITE_P(
    icmp, firewall_prohibited,
    ::testing::Values(
        icmp_case{"icmpx_v4", false, "tcp dport 587 reject with icmpx type admin-prohibited",
                        "a firewall refused the connection to 192.0.2.2:587 (ICMP communication "
                        "administratively prohibited from 192.0.2.2)"},
        icmp_case{"icmp_host_prohibited_v4", false,
                        "tcp dport 587 reject with icmp type host-prohibited",
                        "(ICMP host administratively prohibited from 192.0.2.2)"},
        icmp_case{"icmpx_v6", true, "tcp dport 587 reject with icmpx type admin-prohibited",
                        "a firewall refused the connection to [2001:db8:24::2]:587 (ICMPv6 "
                        "administratively prohibited from 2001:db8:24::2)"}),
    [](const auto& info) { return std::string(info.param.name); });

class firewall_unreachable : public firewall, public ::testing::WithParamInterface<icmp_case> {};

// ICMP host and network unreachable: connect_unreachable, with the message and its sender named.
TEST_P(firewall_unreachable, is_connect_unreachable_with_the_message_named) {
  const auto& c = GetParam();
  start_server(c.v6 ? "::" : netns_pair::server_v4, 587);
  block("input", c.rule);
  auto p = diagnose(c.v6 ? v6_target : v4_target, tls_args(), 4);
  EXPECT_EQ(str(p["result"]), "connect_unreachable") << p["detail"];
  EXPECT_TRUE(has(str(p["detail"]), c.detail)) << p["detail"];
  EXPECT_TRUE(has(joined(p["advice"]), "ip route get")) << p["advice"];
}

INSTANTIATE_TEST_SUITE_P(
    icmp, firewall_unreachable,
    ::testing::Values(
        icmp_case{"host_unreachable_v4", false,
                         "tcp dport 587 reject with icmp type host-unreachable",
                         "connect: no route to 192.0.2.2:587 (ICMP host unreachable from "
                         "192.0.2.2)"},
        icmp_case{"net_unreachable_v4", false,
                         "tcp dport 587 reject with icmp type net-unreachable",
                         "(ICMP network unreachable from 192.0.2.2)"},
        icmp_case{"addr_unreachable_v6", true,
                         "tcp dport 587 reject with icmpv6 type addr-unreachable",
                         "(ICMPv6 address unreachable from 2001:db8:24::2)"},
        icmp_case{"no_route_v6", true, "tcp dport 587 reject with icmpv6 type no-route",
                         "(ICMPv6 no route to destination from 2001:db8:24::2)"}),
    [](const auto& info) { return std::string(info.param.name); });

struct stall_case {
  const char* name;
  const char* hook;
  const char* rule;
};

void PrintTo(const stall_case& c, std::ostream* os) { *os << c.name; }

class firewall_tls_stall : public firewall, public ::testing::WithParamInterface<stall_case> {};

// A middlebox that lets TCP and the SMTP dialogue through but not TLS: the ClientHello's records
// dropped after STARTTLS, or every packet over 1,280 bytes (an MTU black hole: the server's
// certificate chain is the first large packet). tls_timeout, with the stage in the detail.
TEST_P(firewall_tls_stall, is_tls_timeout_naming_the_handshake) {
  const auto& c = GetParam();
  start_server(netns_pair::server_v4, 587);
  block(c.hook, c.rule);
  auto p = diagnose(v4_target, tls_args("3s"), 6);
  EXPECT_EQ(str(p["result"]), "tls_timeout") << p["detail"];
  EXPECT_EQ(str(p["class"]), "tls");
  EXPECT_TRUE(has(str(p["detail"]), "tls handshake: no answer from 192.0.2.2:587 within 3 s (the "
                                    "TLS handshake stalled"))
      << p["detail"];
  // The dialogue before TLS went through: connect, greeting, EHLO and STARTTLS's 220.
  std::vector<std::string> ok_steps;
  for (const auto& s : p["steps"].as_array()) {
    if (s.as_object().at("ok").as_bool()) ok_steps.push_back(str(s.as_object().at("phase")));
  }
  EXPECT_EQ(ok_steps, (std::vector<std::string>{"resolve", "connect", "banner", "ehlo",
                                                "starttls"}));
  EXPECT_TRUE(has(joined(p["advice"]), "MTU black hole")) << p["advice"];
}

INSTANTIATE_TEST_SUITE_P(
    middlebox, firewall_tls_stall,
    ::testing::Values(
        // A TLS handshake record (0x16, version 0x03..) from the client: the ClientHello.
        stall_case{"tls_records_dropped", "input", "tcp dport 587 @ih,0,16 0x1603 drop"},
        stall_case{"mtu_black_hole", "output", "tcp sport 587 meta length > 1280 drop"}),
    [](const auto& info) { return std::string(info.param.name); });

// A middlebox that strips STARTTLS from the EHLO reply (a downgrade): the tls probe fails, never
// passes, and AUTH is never sent in clear although the server offers it there. The peer's log is
// the witness; a control run with --tls none --allow-plaintext shows the log does record AUTH.
TEST_F(firewall, starttls_stripped_on_the_path_fails_tls_and_sends_no_auth_in_clear) {
  const fs::path password = dir_.path() / "password";
  std::ofstream(password) << "s3cr3t-Pa55word\n";
  start_server("127.0.0.1", 2587,
               {"--auth-user", "alice", "--auth-password-file", password.string()});
  std::uint16_t proxy_port = 0;
  auto proxy = start_peer_in(pair_, side::server, dir_, "starttls_strip_proxy.py",
                             {"--host", netns_pair::server_v4, "--port", "587", "--upstream",
                              "127.0.0.1:2587"},
                             "proxy.log", proxy_port);
  ASSERT_EQ(proxy_port, 587) << proxy->log();

  auto p = diagnose(v4_target,
                    {"--ca-file", pki_.root_file.string(), "--timeout", "3s", "--username",
                     "alice", "--password-file", password.string()},
                    6);
  EXPECT_EQ(str(p["result"]), "starttls_unsupported") << p["detail"];
  EXPECT_EQ(str(p["probes"].as_object()["tls"].as_object()["result"]), "starttls_unsupported");
  EXPECT_EQ(str(p["probes"].as_object()["auth"].as_object()["result"]), "starttls_unsupported");
  EXPECT_TRUE(has(joined(p["advice"]), "Something on the path may strip it")) << p["advice"];
  EXPECT_TRUE(has(proxy->log(), "* stripped STARTTLS")) << proxy->log();
  EXPECT_FALSE(has(joined(p["transcript"]), "C: AUTH")) << p["transcript"];
  EXPECT_FALSE(has(peer_->log(), ">> b'AUTH")) << peer_->log();

  // Control: the same path with TLS off and plain text allowed does send AUTH, and the log shows
  // it, so the check above can see one.
  auto control = diagnose(v4_target,
                          {"--tls", "none", "--allow-plaintext", "--timeout", "3s", "--username",
                           "alice", "--password-file", password.string()},
                          0);
  EXPECT_EQ(str(control["result"]), "success") << control["detail"];
  EXPECT_TRUE(has(peer_->log(), "user=b'alice': success")) << peer_->log();
}

}  // namespace
}  // namespace smtp_test
