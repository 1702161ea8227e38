// The alert rules and the Grafana dashboards against a real Prometheus: Debian's prometheus server
// scrapes the real smtp_exporter binary, which probes real SMTP servers on loopback (aiosmtpd with
// certificates from the test's PKI, scripted peers, a refused port, dropped SYNs), and loads
// dashboards/smtp_exporter.rules.yml. Through Prometheus' HTTP API the test checks that
//   (a) each alert's expression (its `for` not applied) matches exactly the expected targets, and
//       that the alerts' annotations expand on real data;
//   (b) every PromQL query of both dashboards, with the template variables substituted, runs
//       without error and returns data; a few stat panels return the exact expected value.
// The rules' unit tests (promtool test rules) cover the `for` durations and the annotations' text.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "exporter/views/status_page.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/token_endpoint.hpp"

namespace smtp_test {
namespace {

namespace json = boost::json;
using clock = std::chrono::steady_clock;
using name_set = std::set<std::string>;

const fs::path prometheus_binary = "/usr/bin/prometheus";
const std::string job_name = "smtp_exporter";

// ---------------------------------------------------------------------------------------------
// HTTP and Prometheus' API

using api_result = prometheus_api_result;

std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }
const json::array& result_array(const api_result& r) { return prometheus_result(r); }
std::string label(const json::value& series, const std::string& name) {
  return prometheus_label(series, name);
}
double sample_value(const json::value& series) { return prometheus_value(series); }

// ---------------------------------------------------------------------------------------------
// The situation: one target per alert, and the healthy ones that must not alert.

struct alerting_rule {
  std::string name;
  std::string query;
  json::object labels;
  json::object annotations;
  std::string health;  // "ok", "err" or "unknown" (not evaluated yet)
  std::string last_error;
};

std::vector<alerting_rule> alerting_rules(prometheus_server& prom, std::string& error) {
  std::vector<alerting_rule> out;
  auto r = prom.get("/api/v1/rules?type=alert");
  if (!r.ok) {
    error = r.error;
    return out;
  }
  for (const auto& g : r.data.as_object().at("groups").as_array()) {
    for (const auto& rule : g.as_object().at("rules").as_array()) {
      const auto& o = rule.as_object();
      if (str(o.at("type")) != "alerting") continue;
      alerting_rule a{str(o.at("name")),
                      str(o.at("query")),
                      {},
                      {},
                      o.contains("health") ? str(o.at("health")) : "",
                      o.contains("lastError") ? str(o.at("lastError")) : ""};
      if (o.contains("labels") && o.at("labels").is_object()) a.labels = o.at("labels").as_object();
      if (o.contains("annotations") && o.at("annotations").is_object()) {
        a.annotations = o.at("annotations").as_object();
      }
      out.push_back(std::move(a));
    }
  }
  return out;
}

// What an alert names: the target; an IP and zone for DNSBL alerts on egress IPs; else the
// exporter instance for exporter-wide alerts.
std::string subject_of(const json::object& labels) {
  auto get = [&](const char* name) {
    return labels.contains(name) ? std::string(labels.at(name).as_string()) : std::string();
  };
  if (!get("target").empty()) return get("target");
  // Sender readiness: a domain (DMARC), a domain and an IP (SPF).
  if (!get("domain").empty()) {
    return "domain=" + get("domain") + (get("ip").empty() ? "" : "@" + get("ip"));
  }
  if (!get("ip").empty()) return "ip=" + get("ip") + "@" + get("zone");
  return "instance=" + get("instance");
}

std::string subject(const json::value& series) {
  return subject_of(series.as_object().at("metric").as_object());
}

std::string join(const name_set& s) {
  std::string out = "{";
  for (const auto& n : s) out += (out.size() > 1 ? ", " : "") + n;
  return out + "}";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Dashboards

struct dashboard_query {
  std::string panel;
  std::string type;
  std::string ref;
  std::string expr;
  bool instant = false;
};

void collect_queries(const json::array& panels, std::vector<dashboard_query>& out) {
  for (const auto& pv : panels) {
    const auto& p = pv.as_object();
    std::string title = p.contains("title") ? str(p.at("title")) : "?";
    std::string type = p.contains("type") ? str(p.at("type")) : "?";
    if (p.contains("targets")) {
      for (const auto& tv : p.at("targets").as_array()) {
        const auto& t = tv.as_object();
        if (!t.contains("expr")) continue;
        bool instant =
            t.contains("instant") && t.at("instant").is_bool() && t.at("instant").as_bool();
        bool range = !t.contains("range") || (t.at("range").is_bool() && t.at("range").as_bool());
        out.push_back({title, type, str(t.at("refId")), str(t.at("expr")), instant && !range});
      }
    }
    if (p.contains("panels")) collect_queries(p.at("panels").as_array(), out);  // collapsed rows
  }
}

// Replaces $name, ${name} and ${name:format} from `vars`; an unknown variable is an error, so a new
// dashboard variable must be given a value here.
std::string substitute(const std::string& expr, const std::map<std::string, std::string>& vars,
                       std::string& error) {
  static const std::regex var(R"(\$\{(\w+)(?::\w+)?\}|\$(\w+))");
  std::string out;
  auto begin = std::sregex_iterator(expr.begin(), expr.end(), var);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    std::string name = m[1].matched ? m[1].str() : m[2].str();
    out.append(expr, last, static_cast<std::size_t>(m.position(0)) - last);
    auto v = vars.find(name);
    if (v == vars.end()) {
      error += "unknown variable $" + name + "; ";
      out += m.str(0);
    } else {
      out += v->second;
    }
    last = static_cast<std::size_t>(m.position(0) + m.length(0));
  }
  out.append(expr, last);
  return out;
}

// Grafana's built-in interval variables, at values that suit a 1 s scrape interval and a
// minute of data.
const std::map<std::string, std::string> builtin_vars = {
    {"__rate_interval", "30s"}, {"__interval", "2s"}, {"__interval_ms", "2000"},
    {"__range", "1m"},          {"__range_s", "60"},  {"__range_ms", "60000"},
};

// ---------------------------------------------------------------------------------------------

// STARTTLS is accepted, then the "handshake" gets plain text: OpenSSL fails it.
const std::string handshake_script = R"([
  {"send": "220 hs.test ESMTP\r\n"}, {"expect": "EHLO"},
  {"send": "250-hs.test\r\n250 STARTTLS\r\n"}, {"expect": "STARTTLS"},
  {"send": "220 2.0.0 Ready to start TLS\r\n"}, {"send": "this is not TLS\r\n"}, {"close": true}
])";

// Greets after 6 s: more than SMTPSlowGreeting's 5 s, less than the target's 9 s timeout.
const std::string slow_greeting_script = R"([
  {"sleep": 6}, {"send": "220 slow.test ESMTP\r\n"},
  {"expect": "EHLO"}, {"send": "250 slow.test\r\n"}
])";

std::string target_toml(const std::string& name, std::uint16_t port, const std::string& probes,
                        const std::string& extra = "") {
  return "[[target]]\nname = \"" + name +
         "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) + "\nprobes = " + probes +
         "\n" + extra + "\n";
}

std::string tls_table(const test_pki& pki) {
  return "[target.tls]\nmode = \"starttls\"\nserver_name = \"localhost\"\nca_file = \"" +
         pki.root_file.string() + "\"\n";
}

// [target.auth.oauth2] against a scripted token endpoint (the test PKI's CA).
std::string oauth_table(const test_pki& pki, const token_endpoint& endpoint,
                        const fs::path& refresh_token_file) {
  return "[target.auth]\nusername = \"monitor@mx.test\"\n[target.auth.oauth2]\n"
         "flow = \"refresh_token\"\nclient_id = \"e2e\"\nrefresh_token_file = \"" +
         refresh_token_file.string() + "\"\ntoken_url = \"" + endpoint.url() +
         "\"\nscope = \"https://outlook.office.com/SMTP.Send offline_access\"\nca_file = \"" +
         pki.root_file.string() + "\"\n";
}

std::string auth_table(const fs::path& password_file) {
  return "[target.auth]\nusername = \"monitor@mx.test\"\npassword_file = \"" +
         password_file.string() + "\"\n";
}

TEST(prometheus_e2e, alert_rules_and_dashboard_queries_on_real_scraped_data) {
  ASSERT_TRUE(fs::exists(prometheus_binary))
      << "needs Debian's prometheus package (scripts/install-deps.sh --test)";
  // The delivery panels need a message delivered: postfix hands it to Dovecot over LMTP.
  ASSERT_TRUE(dovecot_server::available() && postfix_peer::available())
      << "needs root, postfix and dovecot (scripts/install-deps.sh --test)";
  temp_dir dir;
  test_pki pki;

  // A leaf that expires in 15 days: inside the warning band (7-21 days), outside the 14-day stat.
  auto renewing_key = make_key();
  cert_spec spec;
  spec.common_name = "mx.test";
  spec.dns_names = {"mx.test", "localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before = pki.now - test_pki::day;
  spec.not_after = pki.now + 15 * test_pki::day;
  auto renewing = make_certificate(spec, renewing_key, &pki.intermediate, pki.intermediate_key);
  write_pem(dir.path() / "renewing.chain.pem", {&renewing, &pki.intermediate});
  write_key(dir.path() / "renewing.key.pem", renewing_key);

  auto secret = dir.write("secret", "s3cret-authorization-code\n");
  auto wrong_secret = dir.write("wrong-secret", "revoked-authorization-code\n");

  // Peers. Each logs to its own file in dir.
  std::vector<std::unique_ptr<child_process>> peers;
  auto aiosmtpd = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  (source_dir() / "tests/peers/aiosmtpd_server.py").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    peers.push_back(std::make_unique<child_process>(argv, dir.path() / ("peer-" + name + ".log")));
    auto port = peers.back()->wait_ready(15s);
    EXPECT_NE(port, 0) << name << ": " << peers.back()->log();
    return port;
  };
  auto scripted = [&](const std::string& name, const std::string& script_json) {
    peers.push_back(std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/python3",
                                 (source_dir() / "tests/peers/fake_smtp.py").string(),
                                 "--script-inline", script_json},
        dir.path() / ("peer-" + name + ".log")));
    auto port = peers.back()->wait_ready(15s);
    EXPECT_NE(port, 0) << name << ": " << peers.back()->log();
    return port;
  };
  auto tls_args = [](const fs::path& chain, const fs::path& key) {
    return std::vector<std::string>{"--tls-cert", chain.string(), "--tls-key", key.string()};
  };

  auto with_auth = tls_args(pki.valid.chain_file, pki.valid.key_file);
  with_auth.insert(with_auth.end(), {"--auth-user", "monitor@mx.test", "--auth-password-file",
                                     secret.string(), "--auth-require-tls"});
  auto healthy_port = aiosmtpd("healthy", with_auth);
  auto expired_port = aiosmtpd("expired", tls_args(pki.expired.chain_file, pki.expired.key_file));
  auto expiring_port =
      aiosmtpd("expiring", tls_args(pki.expiring_soon.chain_file, pki.expiring_soon.key_file));
  auto renewing_port = aiosmtpd(
      "renewing", tls_args(dir.path() / "renewing.chain.pem", dir.path() / "renewing.key.pem"));
  auto notls_port = aiosmtpd("notls", {});
  // OAuth 2.0 (issue 20): one endpoint issuing tokens the peer accepts, one refusing the grant.
  const auto issued = dir.path() / "issued.jsonl";
  std::ofstream(issued).flush();
  token_endpoint token_ok(dir, pki.valid, R"({"mode":"ok","expires_in":3600})", issued);
  token_endpoint token_revoked(dir, pki.valid, R"({"mode":"invalid_grant"})");
  auto with_oauth = tls_args(pki.valid.chain_file, pki.valid.key_file);
  with_oauth.insert(with_oauth.end(), {"--auth-user", "monitor@mx.test", "--oauth-issued",
                                       issued.string(), "--mechanisms", "XOAUTH2,OAUTHBEARER"});
  auto oauth_port = aiosmtpd("oauth", with_oauth);
  const auto refresh_token = dir.write("refresh-token", "e2e-refresh-token\n");
  // Delivery (issue 21): the message goes through postfix to Dovecot, with a trusted
  // Authentication-Results that passes (no delivery alert may fire on a healthy delivery).
  dovecot_server dovecot(dir, pki.valid.chain_file, pki.valid.key_file);
  ASSERT_TRUE(dovecot.started()) << dovecot.log();
  lmtp_relay_options relay;
  relay.lmtp_port = dovecot.lmtp_port();
  relay.prepend_header =
      "Authentication-Results: mx.test; spf=pass smtp.mailfrom=app@sender.test; dkim=pass "
      "header.d=sender.test; dmarc=pass header.from=sender.test";
  postfix_peer postfix(dir, pki.valid.chain_file, pki.valid.key_file, std::nullopt, "mx.test", "",
                       relay);
  ASSERT_TRUE(postfix.started()) << postfix.log();
  const auto imap_password = dir.write("imap-password", dovecot.options().password + "\n");
  const std::string delivery_table =
      "delivery_interval = \"10m\"\n" + tls_table(pki) +
      "[target.delivery]\nfrom = \"app@sender.test\"\nto = \"" + dovecot.options().user +
      "\"\ndeadline = \"20s\"\ntrusted_authserv_id = \"mx.test\"\n"
      "[target.delivery.imap]\nhost = \"127.0.0.1\"\nserver_name = \"localhost\"\nport = " +
      std::to_string(dovecot.imaps_port()) + "\nca_file = \"" + pki.root_file.string() +
      "\"\n[target.delivery.imap.auth]\nusername = \"" + dovecot.options().user +
      "\"\npassword_file = \"" + imap_password.string() + "\"\n";
  std::uint16_t blacklisted_port = 0;
  peers.push_back(start_fake_smtp(dir, "greeting_554", blacklisted_port));
  EXPECT_NE(blacklisted_port, 0) << peers.back()->log();
  auto handshake_port = scripted("handshake", handshake_script);
  auto slow_port = scripted("slow", slow_greeting_script);
  auto refused_port = unused_port();
  blackhole_listener blackhole;
  // DNSBL zones on a scripted DNS server: egress 203.0.113.7 is listed on both zones, .10 gets
  // Spamhaus' "public resolver refused" code, .13 a rewritten answer, .8 is clean; discovery
  // finds 198.51.100.20, then 198.51.100.21 (a change). Only .7 may raise a listing alert.
  const auto dns_rules = [](const std::string& discovered) {
    return R"([
      {"name":"7.113.0.203.block.test","type":"A","answer":["127.0.0.2"]},
      {"name":"7.113.0.203.other.test","type":"A","answer":["127.0.0.3"]},
      {"name":"10.113.0.203.block.test","type":"A","answer":["127.255.255.254"]},
      {"name":"10.113.0.203.other.test","type":"A","answer":["127.255.255.254"]},
      {"name":"13.113.0.203.block.test","type":"A","answer":["192.0.2.1"]},
      {"name":"13.113.0.203.other.test","type":"A","answer":["192.0.2.1"]},
      {"name":"myip.test","type":"A","answer":[")" + discovered + R"("]}])";
  };
  const auto dns_rules_file = dir.write("dnsbl-rules.json", dns_rules("198.51.100.20"));
  std::uint16_t dns_port = 0;
  peers.push_back(start_fake_dns(dir, dns_rules_file, dns_port));
  EXPECT_NE(dns_port, 0) << peers.back()->log();
  const std::string dns_server = "127.0.0.1:" + std::to_string(dns_port);
  // Sender readiness (issue 22) on a zone server of its own (PTR records): every egress IP
  // [dnsbl] knows has a PTR that points back; of [sender]'s own, 192.0.2.20 has none and
  // 192.0.2.30's PTR query times out. ok.test allows all but .20 (-all: fail), soft.test the
  // same with ~all (softfail) and has no DMARC.
  std::string sender_zone = "zonedata:\n";
  int mx = 0;
  for (const char* ip : {"203.0.113.7", "203.0.113.8", "203.0.113.10", "203.0.113.13",
                         "198.51.100.20", "198.51.100.21"}) {
    std::string reversed;
    for (std::string_view rest = ip; !rest.empty();) {
      const auto dot = rest.find('.');
      const auto octet = rest.substr(0, dot);
      reversed = std::string(octet) + (reversed.empty() ? "" : ".") + reversed;
      rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    }
    const std::string name = "mx" + std::string(1, static_cast<char>('a' + mx++)) + ".e2e.test";
    sender_zone += "  " + reversed + ".in-addr.arpa:\n    - PTR: " + name + "\n  " + name +
                   ":\n    - A: " + ip + "\n";
  }
  sender_zone +=
      "  30.2.0.192.in-addr.arpa:\n    - TIMEOUT\n"
      "  ok.test:\n    - TXT: \"v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.0/24 ip4:192.0.2.30 -all\"\n"
      "  _dmarc.ok.test:\n    - TXT: \"v=DMARC1; p=none; pct=50; rua=mailto:reports@ok.test\"\n"
      "  soft.test:\n    - TXT: \"v=spf1 ip4:203.0.113.0/24 ip4:198.51.100.0/24 ip4:192.0.2.30 ~all\"\n";
  const auto sender_zone_file = dir.write("sender-zone.yml", sender_zone);
  peers.push_back(std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/python3",
                               (source_dir() / "tests/peers/zone_dns.py").string(), "--zones",
                               sender_zone_file.string(), "--ports-file",
                               (dir.path() / "sender-zone.ports").string()},
      dir.path() / "sender-zone.log"));
  const auto sender_dns_port = peers.back()->wait_ready(15s);
  EXPECT_NE(sender_dns_port, 0) << peers.back()->log();
  ASSERT_FALSE(HasFailure());

  const std::string tls_probes = R"(["banner", "tls"])";
  const std::string auth_probes = R"(["banner", "tls", "auth"])";
  std::string config =
      "[defaults]\ninterval = \"3s\"\ntimeout = \"2s\"\nehlo_name = \"probe.test\"\n\n" +
      target_toml("healthy", healthy_port, auth_probes, tls_table(pki) + auth_table(secret)) +
      target_toml("badauth", healthy_port, auth_probes, tls_table(pki) + auth_table(wrong_secret)) +
      target_toml("nosecret", healthy_port, auth_probes,
                  tls_table(pki) + auth_table(dir.path() / "no-such-secret")) +
      target_toml("oauth", oauth_port, auth_probes,
                  tls_table(pki) + oauth_table(pki, token_ok, refresh_token)) +
      target_toml("oauthbad", oauth_port, auth_probes,
                  tls_table(pki) + oauth_table(pki, token_revoked, refresh_token)) +
      target_toml("delivery", postfix.starttls_port(), R"(["banner", "tls", "delivery"])",
                  delivery_table) +
      target_toml("expired", expired_port, tls_probes, tls_table(pki)) +
      target_toml("expiring", expiring_port, tls_probes, tls_table(pki)) +
      target_toml("renewing", renewing_port, tls_probes, tls_table(pki)) +
      target_toml("notls", notls_port, tls_probes, tls_table(pki)) +
      target_toml("handshake", handshake_port, tls_probes, tls_table(pki)) +
      target_toml("blacklisted", blacklisted_port, tls_probes,
                  "labels = { team = \"billing\" }\n" + tls_table(pki)) +
      target_toml("slow", slow_port, R"(["banner"])",
                  "tls = \"none\"\ninterval = \"10s\"\ntimeout = \"9s\"\n") +
      target_toml("refused", refused_port, tls_probes) +
      target_toml("blocked", blackhole.port(), tls_probes) +
      "[dnsbl]\nenabled = true\n"
      "egress_ips = [\"203.0.113.7\", \"203.0.113.8\", \"203.0.113.10\", \"203.0.113.13\"]\n"
      "servers = [\"" + dns_server + "\"]\ninterval = \"1m\"\ntimeout = \"1s\"\n"
      "[dnsbl.discovery]\nmethod = \"custom\"\nname = \"myip.test\"\nserver = \"" +
      dns_server + "\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
      "[[dnsbl.zone]]\nname = \"block.test\"\nblocking = true\n"
      "[[dnsbl.zone]]\nname = \"other.test\"\n"
      "[sender]\nenabled = true\ndomains = [\"ok.test\", \"soft.test\"]\n"
      "egress_ips = [\"192.0.2.20\", \"192.0.2.30\"]\nservers = [\"127.0.0.1:" +
      std::to_string(sender_dns_port) + "\"]\ntimeout = \"1s\"\n";
  const name_set all_targets = {"healthy",     "badauth",  "nosecret", "oauth", "oauthbad",
                                "delivery",    "expired",
                                "expiring",    "renewing", "notls",    "handshake",
                                "blacklisted", "slow",     "refused",  "blocked"};

  exporter_process exporter(dir, config);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const std::string instance = "127.0.0.1:" + std::to_string(exporter.port());
  // The egress IP changes once the first one was discovered.
  exporter.scrape_until([](const std::string& t) {
    return t.find("smtp_egress_ip_info{ip=\"198.51.100.20\"") != std::string::npos;
  });
  replace_file(dns_rules_file, dns_rules("198.51.100.21"));
  // The sender checks run again at once for the new egress IP (egress_registry).
  exporter.scrape_until([](const std::string& t) {
    return t.find("smtp_egress_ip_reverse_dns_info{ip=\"198.51.100.21\",result=\"match\"") !=
           std::string::npos;
  }, 30s);

  // Scrapes the exporter and evaluates the repository's rule file, both every second.
  prometheus_server prom(dir, {exporter.port()}, job_name,
                         source_dir() / "dashboards/smtp_exporter.rules.yml");
  ASSERT_TRUE(prom.started()) << prom.log();

  // Wait until Prometheus has scraped a result for every target (none pending, the slow target's
  // greeting timed) over at least 5 scrapes, and has evaluated the rules since.
  {
    auto deadline = clock::now() + 90s;
    std::string last;
    bool ready = false;
    while (clock::now() < deadline) {
      auto targets = prom.query("count(smtp_target_info)");
      auto pending = prom.query("count(smtp_probe_result_info{result=\"pending\"})");
      auto slow = prom.query("smtp_probe_phase_duration_seconds{target=\"slow\",phase=\"banner\"}");
      auto scrapes = prom.query("count_over_time(up{job=\"" + job_name + "\"}[1m])");
      auto chain = prom.query("count(smtp_tls_chain_cert_not_after_timestamp_seconds)");
      // 5 egress IPs (4 configured, 1 discovered after the change) in 2 zones.
      auto dnsbl = prom.query("count(smtp_dnsbl_lookup_result_info) == 10 and on () "
                              "smtp_egress_ip_last_change_timestamp_seconds > 0");
      bool ok = targets.ok && !result_array(targets).empty() &&
                sample_value(result_array(targets)[0]) == static_cast<double>(all_targets.size()) &&
                pending.ok && result_array(pending).empty() && slow.ok &&
                !result_array(slow).empty() && scrapes.ok && !result_array(scrapes).empty() &&
                sample_value(result_array(scrapes)[0]) >= 5 && chain.ok &&
                !result_array(chain).empty() && dnsbl.ok && !result_array(dnsbl).empty();
      last = "targets " + json::serialize(targets.data) + " pending " +
             json::serialize(pending.data) + " slow " + json::serialize(slow.data) + " scrapes " +
             json::serialize(scrapes.data) + " dnsbl " + json::serialize(dnsbl.data) + " " +
             targets.error + pending.error;
      if (ok) {
        ready = true;
        break;
      }
      std::this_thread::sleep_for(500ms);
    }
    ASSERT_TRUE(ready) << "Prometheus never saw every target's result: " << last << "\n"
                       << exporter.scrape() << "\n"
                       << prom.log();
    std::this_thread::sleep_for(3s);  // a few rule evaluations on the complete data
  }

  std::string rules_error;
  auto rules = alerting_rules(prom, rules_error);
  ASSERT_TRUE(rules_error.empty()) << rules_error;
  auto rule_query = [&](const std::string& name) {
    auto it =
        std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == name; });
    if (it != rules.end()) return it->query;
    ADD_FAILURE() << "the rule file has no alert " << name;
    return std::string();
  };

  // ---- (a) every alert expression matches exactly the expected targets ------------------------
  const std::map<std::string, name_set> expected = {
      {"SMTPEndpointDown",
       {"badauth", "nosecret", "oauthbad", "expired", "notls", "handshake", "blacklisted",
        "refused", "blocked"}},
      // Every failing target fails every run: three in a row, so Down and never Flapping.
      {"SMTPEndpointFlapping", {}},
      {"SMTPPortBlocked", {"blocked"}},
      {"SMTPConnectionRefused", {"refused"}},
      // No target here has ip_protocol = "both" (loopback has one path); netns_dual_stack_test
      // and the promtool tests show it firing for the family that fails.
      {"SMTPIPFamilyBlocked", {}},
      {"SMTPPolicyRejected", {"blacklisted"}},
      // No target here runs the envelope probe (tests/integration/envelope_test.cpp does); the
      // promtool tests show this alert firing.
      {"SMTPEnvelopeRejected", {}},
      {"SMTPSlowGreeting", {"slow"}},
      {"SMTPAuthFailing", {"badauth", "oauthbad"}},
      // The one delivery target delivers to the Inbox with spf, dkim and dmarc passing: none of
      // these may fire on it (delivery_readback_test shows the failures; promtool tests fire each).
      {"SMTPDeliveryFailing", {}},
      {"SMTPDeliveryToJunk", {}},
      {"SMTPDeliverySlow", {}},
      {"SMTPDeliveryCheckBroken", {}},
      {"SMTPDMARCFailing", {}},
      // Every token request of oauthbad's credential fails (invalid_grant); oauth's succeeded.
      {"SMTPOAuth2RefreshFailing", {"oauthbad"}},
      {"SMTPAuthCredentialsUnavailable", {"nosecret"}},
      // No peer here says "basic authentication is disabled" (auth_test's auth_535_57139 shows
      // the reason; the promtool tests show this alert firing).
      {"SMTPBasicAuthDisabled", {}},
      // The exporter probes on schedule here; stale results are shown by the promtool tests.
      {"SMTPProbeResultsStale", {}},
      {"SMTPStartTLSMissing", {"notls"}},
      {"SMTPTLSHandshakeFailed", {"handshake"}},
      {"SMTPTLSCertificateInvalid", {"expired"}},
      {"SMTPTLSCertificateExpiringSoon", {"renewing"}},
      {"SMTPTLSCertificateExpiryCritical", {"expiring"}},
      // Empty until the bad reload below.
      {"SMTPExporterConfigReloadFailed", {}},
      {"SMTPExporterOutOfDescriptors", {}},
      // DNSBL: exactly the listed egress IP; the blocking zone pages, the other warns. The
      // 127.255.255.254 and rewritten answers only say that lookups fail.
      {"SMTPEgressIPListedBlocking", {"ip=203.0.113.7@block.test"}},
      {"SMTPEgressIPListed", {"ip=203.0.113.7@other.test"}},
      {"SMTPTargetIPListed", {}},
      {"SMTPDNSBLLookupsFailing",
       {"ip=203.0.113.10@block.test", "ip=203.0.113.10@other.test", "ip=203.0.113.13@block.test",
        "ip=203.0.113.13@other.test"}},
      {"SMTPEgressIPDiscoveryFailing", {}},
      {"SMTPEgressIPChanged", {"instance=" + instance}},
      // Sender readiness: each verdict against the sender once, and the timeout as unknown.
      {"SMTPEgressIPNoReverseDNS", {"ip=192.0.2.20@"}},
      {"SMTPSPFFailsForEgressIP", {"domain=ok.test@192.0.2.20"}},
      {"SMTPSPFNotPassing", {"domain=soft.test@192.0.2.20"}},
      {"SMTPSenderDomainNoDMARC", {"domain=soft.test"}},
      {"SMTPSenderChecksFailing", {"ip=192.0.2.30@"}},
  };
  {
    name_set loaded;
    for (const auto& r : rules) loaded.insert(r.name);
    name_set want;
    for (const auto& [name, _] : expected) want.insert(name);
    EXPECT_EQ(loaded, want) << "every alert of the rule file needs an expectation here";
  }
  auto runbook = slurp(source_dir() / "docs/runbook.md");
  for (const auto& r : rules) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.health, "ok") << r.last_error;
    auto severity = r.labels.contains("severity") ? str(r.labels.at("severity")) : "";
    EXPECT_TRUE(severity == "info" || severity == "warning" || severity == "critical")
        << severity;
    for (const char* key : {"summary", "description", "runbook_url"}) {
      EXPECT_TRUE(r.annotations.contains(key) && !str(r.annotations.at(key)).empty()) << key;
    }
    if (r.annotations.contains("runbook_url")) {
      auto url = str(r.annotations.at("runbook_url"));
      auto anchor = url.substr(url.find('#') + 1);
      std::string lower = r.name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      EXPECT_EQ(anchor, lower) << url;
      EXPECT_NE(runbook.find("\n## " + r.name + "\n"), std::string::npos) << "no runbook section";
    }
  }

  // Results settle over a few runs (e.g. the slow target's first run): compare until they match,
  // then report the last difference.
  std::string mismatch;
  auto deadline = clock::now() + 30s;
  do {
    mismatch.clear();
    for (const auto& r : rules) {
      auto res = prom.query(r.query);
      if (!res.ok) {
        mismatch += r.name + ": query error " + res.error + "\n";
        continue;
      }
      name_set got;
      for (const auto& s : result_array(res)) got.insert(subject(s));
      auto want = expected.count(r.name) ? expected.at(r.name) : name_set{};
      if (got != want) mismatch += r.name + ": got " + join(got) + ", want " + join(want) + "\n";
    }
    if (mismatch.empty()) break;
    std::this_thread::sleep_for(1s);
  } while (clock::now() < deadline);
  EXPECT_TRUE(mismatch.empty()) << mismatch << "\nscrape:\n" << exporter.scrape();

  // The cause alerts keep the target's own labels and name the reason.
  {
    auto res = prom.query(rule_query("SMTPPolicyRejected"));
    ASSERT_TRUE(res.ok) << res.error;
    ASSERT_EQ(result_array(res).size(), 1u);
    EXPECT_EQ(label(result_array(res)[0], "team"), "billing");
    EXPECT_EQ(label(result_array(res)[0], "target"), "blacklisted");
    EXPECT_EQ(label(result_array(res)[0], "job"), job_name);
  }

  // Prometheus holds every expected alert as pending (the `for` durations are minutes; firing for
  // SMTPEndpointDown, which has none) and has
  // expanded its annotations on the real data: no template error, the target named.
  {
    // The rules are evaluated every second: wait for an evaluation that saw the settled data.
    auto active_alerts = [&](const api_result& res) {
      std::map<std::string, name_set> active;
      for (const auto& a : res.data.as_object().at("alerts").as_array()) {
        const auto& labels = a.as_object().at("labels").as_object();
        active[str(labels.at("alertname"))].insert(subject_of(labels));
      }
      for (const auto& [name, _] : expected) active.try_emplace(name);
      return active;
    };
    api_result res;
    deadline = clock::now() + 15s;
    do {
      res = prom.get("/api/v1/alerts");
      ASSERT_TRUE(res.ok) << res.error;
      if (active_alerts(res) == expected) break;
      std::this_thread::sleep_for(500ms);
    } while (clock::now() < deadline);
    auto active = active_alerts(res);
    for (const auto& a : res.data.as_object().at("alerts").as_array()) {
      const auto& o = a.as_object();
      const auto& labels = o.at("labels").as_object();
      auto name = str(labels.at("alertname"));
      auto who = subject_of(labels);
      // SMTPEndpointDown has no `for:` (it counts failed runs instead); the others wait minutes.
      EXPECT_EQ(str(o.at("state")), name == "SMTPEndpointDown" ? "firing" : "pending")
          << name << " " << who;
      for (const auto& [key, value] : o.at("annotations").as_object()) {
        auto text = str(value);
        EXPECT_EQ(text.find("<error"), std::string::npos)
            << name << " " << who << " " << key << ": " << text;
        EXPECT_EQ(text.find("<no value>"), std::string::npos)
            << name << " " << who << " " << key << ": " << text;
        if (key == "description" && labels.contains("target")) {
          EXPECT_NE(text.find(who), std::string::npos) << name << ": " << text;
        }
      }
    }
    for (const auto& [name, want] : expected) {
      EXPECT_EQ(active[name], want) << name << " (active alerts)";
    }
    // The host:port and reply code come from other series through the templates' queries.
    auto description_of = [&](const std::string& alert, const std::string& target) {
      for (const auto& a : res.data.as_object().at("alerts").as_array()) {
        const auto& o = a.as_object();
        const auto& labels = o.at("labels").as_object();
        if (str(labels.at("alertname")) == alert && labels.contains("target") &&
            str(labels.at("target")) == target) {
          return str(o.at("annotations").as_object().at("description"));
        }
      }
      return std::string();
    };
    auto blocked = description_of("SMTPPortBlocked", "blocked");
    EXPECT_NE(blocked.find("(127.0.0.1:" + std::to_string(blackhole.port()) + ")"),
              std::string::npos)
        << blocked;
    auto blacklisted = description_of("SMTPPolicyRejected", "blacklisted");
    EXPECT_NE(blacklisted.find("banner: banner_rejected;"), std::string::npos) << blacklisted;
    EXPECT_NE(blacklisted.find("reply 554 5.7.1"), std::string::npos) << blacklisted;
    auto badauth = description_of("SMTPAuthFailing", "badauth");
    EXPECT_NE(badauth.find("reply 535"), std::string::npos) << badauth;
    EXPECT_EQ(prom.log().find("Expanding alert template failed"), std::string::npos) << prom.log();
    for (const auto& a : res.data.as_object().at("alerts").as_array()) {
      const auto& o = a.as_object();
      if (str(o.at("labels").as_object().at("alertname")) != "SMTPEgressIPListedBlocking") continue;
      auto text = str(o.at("annotations").as_object().at("description"));
      EXPECT_NE(text.find("203.0.113.7, is listed on block.test (return code 127.0.0.2)"),
                std::string::npos)
          << text;
    }
    auto down = description_of("SMTPEndpointDown", "blocked");
    EXPECT_NE(down.find("banner: connect_timeout; tls: connect_timeout;"), std::string::npos)
        << down;
  }

  // ---- (b) every dashboard query runs and returns data ------------------------------------------
  struct dashboard_case {
    std::string file;
    std::map<std::string, std::string> vars;
  };
  const std::vector<dashboard_case> dashboards = {
      // The overview's target variable is multi-value with "All" = ".+".
      {"overview.json", {{"job", job_name}, {"instance", ".+"}, {"target", ".+"}}},
      // The detail dashboard shows one target: the healthy one has TLS, auth and every phase.
      {"target-detail.json", {{"job", job_name}, {"instance", ".+"}, {"target", "healthy"}}},
  };
  // The exceptions, kept small: panels whose data needs a situation the healthy target does not
  // have are run for a target that has it.
  const std::map<std::pair<std::string, std::string>, std::string> target_for_panel = {
      {{"target-detail.json", "Failures by reason"}, "blocked"},  // healthy never fails
      // A 554 5.7.1 greeting: an enhanced code whatever the healthy server's replies carry.
      {{"target-detail.json", "Enhanced status codes"}, "blacklisted"},
      // Token panels: a target with [auth.oauth2]; the errors need the refused grant.
      {{"target-detail.json", "OAuth 2.0 token time left"}, "oauth"},
      {{"target-detail.json", "OAuth 2.0 token requests"}, "oauthbad"},
      // Delivery panels: the one target running the opt-in delivery probe.
      {{"target-detail.json", "Delivery: where the last message landed"}, "delivery"},
      {{"target-detail.json", "Delivery latency"}, "delivery"},
      {{"target-detail.json", "Receiving side's verdict (SPF, DKIM, DMARC)"}, "delivery"},
      {{"target-detail.json", "Delivery messages sent"}, "delivery"},
  };
  // Exact values of the overview's stat panels in this situation.
  const std::map<std::string, double> overview_stats = {
      {"Targets configured", 15},
      {"Targets failing", 9},
      {"Targets pending", 0},
      {"Certificates expiring within 14 days", 2},  // expired, expiring (renewing has 15 days)
      {"Auth failures", 3},                         // badauth, nosecret, oauthbad
      {"Config reload", 1},
  };
  std::set<std::pair<std::string, std::string>> exceptions_used;
  std::set<std::string> stats_seen;
  std::size_t queries_run = 0;
  for (const auto& d : dashboards) {
    SCOPED_TRACE(d.file);
    boost::system::error_code ec;
    auto doc = json::parse(slurp(source_dir() / "dashboards" / d.file), ec);
    ASSERT_FALSE(ec) << ec.message();
    auto vars = d.vars;
    vars.insert(builtin_vars.begin(), builtin_vars.end());

    // The template variables' own queries: label_values(metric{selector}, label).
    for (const auto& v : doc.as_object().at("templating").as_object().at("list").as_array()) {
      const auto& o = v.as_object();
      if (str(o.at("type")) != "query") continue;
      auto name = str(o.at("name"));
      std::string q = o.at("query").is_object() ? str(o.at("query").as_object().at("query"))
                                                : str(o.at("query"));
      std::smatch m;
      static const std::regex label_values(R"(^label_values\((.+),\s*(\w+)\)$)");
      ASSERT_TRUE(std::regex_match(q, m, label_values)) << name << ": " << q;
      std::string error;
      auto selector = substitute(m[1].str(), vars, error);
      EXPECT_TRUE(error.empty()) << error;
      auto res =
          prom.get("/api/v1/label/" + m[2].str() + "/values?match[]=" + smtp_exporter::url_encode(selector));
      ASSERT_TRUE(res.ok) << name << ": " << res.error;
      name_set values;
      for (const auto& x : res.data.as_array()) values.insert(str(x));
      const name_set want = name == "job"        ? name_set{job_name}
                            : name == "instance" ? name_set{instance}
                                                 : all_targets;
      EXPECT_EQ(values, want) << name << ": " << q;
    }

    std::vector<dashboard_query> queries;
    collect_queries(doc.as_object().at("panels").as_array(), queries);
    EXPECT_FALSE(queries.empty());
    for (const auto& q : queries) {
      SCOPED_TRACE(q.panel + " / " + q.ref);
      auto panel_vars = vars;
      auto exception = target_for_panel.find({d.file, q.panel});
      if (exception != target_for_panel.end()) {
        panel_vars["target"] = exception->second;
        exceptions_used.insert(exception->first);
      }
      std::string error;
      auto expr = substitute(q.expr, panel_vars, error);
      EXPECT_TRUE(error.empty()) << error << " in " << q.expr;
      auto res = q.instant ? prom.query(expr) : prom.query_range(expr, 60s, 2s);
      ++queries_run;
      ASSERT_TRUE(res.ok) << expr << ": " << res.error;
      EXPECT_FALSE(result_array(res).empty()) << "no data: " << expr;
      auto stat = overview_stats.find(q.panel);
      if (d.file == "overview.json" && q.type == "stat" && stat != overview_stats.end()) {
        stats_seen.insert(q.panel);
        ASSERT_EQ(result_array(res).size(), 1u) << expr;
        EXPECT_EQ(sample_value(result_array(res)[0]), stat->second) << expr;
      }
    }
  }
  EXPECT_EQ(exceptions_used.size(), target_for_panel.size()) << "an exception names no panel";
  EXPECT_EQ(stats_seen.size(), overview_stats.size()) << "a stat named here is not in the overview";
  EXPECT_GE(queries_run, 30u);

  // ---- a failed reload: the exporter keeps its config, the reload alert matches it ----------
  exporter.rewrite_config("[defaults]\ninterval = \"not a duration\"\n");
  auto reload = http_request(exporter.port(), "POST", "/-/reload");
  EXPECT_EQ(reload.status, 500) << reload.body;
  name_set got;
  deadline = clock::now() + 20s;
  while (clock::now() < deadline) {
    auto res = prom.query(rule_query("SMTPExporterConfigReloadFailed"));
    ASSERT_TRUE(res.ok) << res.error;
    got.clear();
    for (const auto& s : result_array(res)) got.insert(subject(s));
    if (!got.empty()) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(got, name_set{"instance=" + instance});
  // The targets keep probing under the previous config.
  auto targets = prom.query("count(smtp_target_info)");
  ASSERT_TRUE(targets.ok && !result_array(targets).empty());
  EXPECT_EQ(sample_value(result_array(targets)[0]), static_cast<double>(all_targets.size()));
}

}  // namespace
}  // namespace smtp_test
