// Issue 24, part 2: ip_protocol = "both" against a real dual-stack path in network namespaces
// (tests/support/netns.hpp). The server listens on IPv4 and IPv6; an nftables rule drops IPv6 to
// port 587 while IPv4 passes. The exporter binary runs in the client namespace, where its host
// name resolves to both addresses (the namespace's own hosts file).
//
// Asserted: the ipv6 series fail (connect_timeout) and the ipv4 series succeed, each under its
// ip_family label and nowhere else; the status page and its debug page show both; diagnose
// --ip-protocol both reports each family; and SMTPIPFamilyBlocked's expression, given the series
// this scrape returned, fires for ipv6 in promtool.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

namespace json = boost::json;
using side = netns_pair::side;

constexpr std::uint16_t web_port = 9465;  // inside the client namespace: nothing else is there

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The exposition lines of `metric` whose labels include target="NAME".
std::vector<std::string> lines_of(const std::string& text, const std::string& metric,
                                  const std::string& target) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(metric + "{", 0) == 0 && has(line, "target=\"" + target + "\"")) {
      out.push_back(line);
    }
  }
  return out;
}

class dual_stack : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pair_.ok()) << pair_.error();
    pair_.set_client_hosts({std::string(netns_pair::server_v4) + " mx.dual.test",
                            std::string(netns_pair::server_v6) + " mx.dual.test"});
    // Every address of both families (asyncio binds 0.0.0.0 and :: for an empty host).
    std::uint16_t port = 0;
    peer_ = start_peer_in(pair_, side::server, dir_, "aiosmtpd_server.py",
                          {"--host", "", "--port", "587", "--tls-cert",
                           pki_.valid.chain_file.string(), "--tls-key",
                           pki_.valid.key_file.string()},
                          "aiosmtpd.log", port);
    ASSERT_EQ(port, 587) << peer_->log();
    const std::string error = pair_.nft(side::server,
                                        "table inet smtpx {\n  chain input {\n"
                                        "    type filter hook input priority 0; policy accept;\n"
                                        "    meta nfproto ipv6 tcp dport 587 drop\n  }\n}\n");
    ASSERT_TRUE(error.empty()) << error;
  }

  http_reply get(const std::string& path) {
    http_reply reply;
    EXPECT_TRUE(pair_.run_in(side::client, [&] { reply = http_request(web_port, "GET", path, 5s); }));
    return reply;
  }

  // Declared first: destroyed last, after the processes running inside the namespaces.
  netns_pair pair_;
  temp_dir dir_;
  test_pki pki_;
  std::unique_ptr<child_process> peer_;
};

TEST_F(dual_stack, ipv6_dropped_fails_the_ipv6_series_only_and_the_alert_matches) {
  // mx.test's certificate does not cover mx.dual.test: server_name is the name it covers.
  const std::string config =
      "[defaults]\nehlo_name = \"probe.dual.test\"\ninterval = \"5s\"\ntimeout = \"2s\"\n"
      "[[target]]\nname = \"dual\"\nhost = \"mx.dual.test\"\nport = 587\n"
      "ip_protocol = \"both\"\nlabels = { team = \"mail\" }\n"
      "[target.tls]\nmode = \"starttls\"\nserver_name = \"mx.test\"\nca_file = \"" +
      pki_.root_file.string() +
      "\"\n"
      "[[target]]\nname = \"plain\"\nhost = \"mx.dual.test\"\nport = 587\nip_protocol = \"ip4\"\n"
      "[target.tls]\nmode = \"starttls\"\nserver_name = \"mx.test\"\nca_file = \"" +
      pki_.root_file.string() +
      "\"\n"
      // /probe with a module that asks for both families.
      "[module.dual]\nip_protocol = \"both\"\ntimeout = \"2s\"\n"
      "allowed_hosts = [\"mx.dual.test\"]\nallowed_ports = [587]\n"
      "[module.dual.tls]\nmode = \"starttls\"\nserver_name = \"mx.test\"\nca_file = \"" +
      pki_.root_file.string() + "\"\n";
  const fs::path config_file = dir_.write("smtp_exporter.toml", config);
  child_process exporter(
      pair_.exec_in(side::client, {exporter_binary().string(), "--config.file",
                                   config_file.string(), "--web.listen-address",
                                   "127.0.0.1:" + std::to_string(web_port)}),
      dir_.path() / "exporter.log");

  // Until both families of "dual" and "plain" have a tls result.
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    text = get("/metrics").body;
    if (metric_value(text, "smtp_probe_success",
                     {{"target", "dual"}, {"ip_family", "ipv6"}, {"probe", "tls"}}) &&
        metric_value(text, "smtp_probe_success",
                     {{"target", "dual"}, {"ip_family", "ipv4"}, {"probe", "tls"}}) &&
        metric_value(text, "smtp_probe_success", {{"target", "plain"}, {"probe", "tls"}})) {
      break;
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(exporter.running()) << exporter.log();

  for (const char* probe : {"banner", "tls"}) {
    SCOPED_TRACE(probe);
    EXPECT_EQ(metric_value(text, "smtp_probe_success",
                           {{"target", "dual"}, {"ip_family", "ipv4"}, {"probe", probe}}),
              1.0)
        << text << exporter.log();
    EXPECT_EQ(metric_value(text, "smtp_probe_success",
                           {{"target", "dual"}, {"ip_family", "ipv6"}, {"probe", probe}}),
              0.0);
    EXPECT_EQ(label_value(text, "smtp_probe_result_info",
                          {{"target", "dual"}, {"ip_family", "ipv6"}, {"probe", probe}}, "result"),
              "connect_timeout");
    EXPECT_EQ(metric_value(text, "smtp_probe_success", {{"target", "plain"}, {"probe", probe}}),
              1.0);
  }
  EXPECT_EQ(metric_value(text, "smtp_probe_ip_protocol", {{"target", "dual"}, {"ip_family", "ipv4"}}),
            4.0);
  EXPECT_FALSE(metric_value(text, "smtp_probe_ip_protocol",
                            {{"target", "dual"}, {"ip_family", "ipv6"}}));
  // The label comes right after target, and only for "both": "plain" has none.
  EXPECT_TRUE(has(text, "smtp_probe_success{target=\"dual\",ip_family=\"ipv6\",probe=\"banner\","
                        "team=\"mail\"} 0"))
      << text;
  for (const auto& line : lines_of(text, "smtp_probe_result_info", "plain")) {
    EXPECT_FALSE(has(line, "ip_family")) << line;
  }
  EXPECT_EQ(lines_of(text, "smtp_target_info", "dual").size(), 2u);

  // The status page: one row per family, each linking its own debug page.
  const auto page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(has(page.body, "/probe/debug?target=dual&amp;ip_family=ipv4")) << page.body;
  EXPECT_TRUE(has(page.body, "/probe/debug?target=dual&amp;ip_family=ipv6"));
  EXPECT_TRUE(has(page.body, "<span class=\"family\">ipv6</span>"));
  const auto debug = get("/probe/debug?target=dual&ip_family=ipv6");
  EXPECT_EQ(debug.status, 200);
  EXPECT_TRUE(has(debug.body, "dual (ipv6)")) << debug.body;
  EXPECT_TRUE(has(debug.body, "connect_timeout"));
  EXPECT_EQ(get("/probe/debug?target=dual&ip_family=ipx").status, 400);

  // /probe with the module's "both": one answer, both families' series.
  const auto probed = get("/probe?module=dual&target=mx.dual.test:587");
  EXPECT_EQ(probed.status, 200) << probed.body;
  EXPECT_EQ(label_value(probed.body, "smtp_probe_result_info",
                        {{"target", "mx.dual.test:587"}, {"ip_family", "ipv4"}, {"probe", "tls"}},
                        "result"),
            "success")
      << probed.body;
  EXPECT_EQ(label_value(probed.body, "smtp_probe_result_info",
                        {{"target", "mx.dual.test:587"}, {"ip_family", "ipv6"}, {"probe", "tls"}},
                        "result"),
            "connect_timeout");
  // One HELP and TYPE per family, whatever the number of runs.
  std::size_t helps = 0;
  for (std::size_t at = 0; (at = probed.body.find("# HELP smtp_probe_success ", at)) !=
                           std::string::npos;
       ++at) {
    ++helps;
  }
  EXPECT_EQ(helps, 1u) << probed.body;

  // SMTPIPFamilyBlocked, evaluated by promtool over the series this scrape returned (held for
  // 20 minutes, as a steady state would be).
  std::string series;
  for (const char* metric : {"smtp_probe_success", "smtp_probe_result_info"}) {
    for (const auto& line : lines_of(text, metric, "dual")) {
      const auto close = line.rfind('}');
      const std::string labels = line.substr(0, close);
      const std::string value = line.substr(close + 2);
      series += "      - series: '" + labels + ",job=\"smtp\",instance=\"exp:9465\"}'\n"
                "        values: '" + value + "x20'\n";
    }
  }
  const std::string rules_test =
      "rule_files:\n  - " + (source_dir() / "dashboards/smtp_exporter.rules.yml").string() +
      "\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n" + series +
      "    alert_rule_test:\n"
      "      - eval_time: 15m\n        alertname: SMTPIPFamilyBlocked\n        exp_alerts:\n"
      "          - exp_labels: {severity: warning, job: smtp, instance: \"exp:9465\", "
      "target: dual, ip_family: ipv6, team: mail}\n"
      "            exp_annotations:\n"
      "              summary: \"SMTP endpoint dual fails over ipv6 only\"\n"
      "              description: \"dual fails over ipv6 (banner: connect_timeout) (tls: "
      "connect_timeout) while the other address family works: a client that tries ipv6 first "
      "(most do for IPv6) waits for a timeout or fails. Check that family's route, firewall and "
      "security group (IPv6 rules are often separate), and the host's address record of that "
      "family.\"\n"
      "              runbook_url: \"https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/"
      "runbook.md#smtpipfamilyblocked\"\n";
  const fs::path rules_file = dir_.write("family.rules.test.yml", rules_test);
  auto promtool = run_command({"/usr/bin/promtool", "test", "rules", rules_file.string()},
                              dir_.path(), "promtool", 60s);
  EXPECT_EQ(promtool.status, 0) << promtool.out << promtool.err << rules_test;
}

// diagnose --ip-protocol both: each port once per family, the broken one named.
TEST_F(dual_stack, diagnose_tries_each_family) {
  std::vector<std::string> argv{exporter_binary().string(), "diagnose", "mx.dual.test:587",
                                "--ip-protocol", "both", "--server-name", "mx.test", "--ca-file",
                                pki_.root_file.string(), "--timeout", "2s", "--ehlo-name",
                                "probe.dual.test"};
  auto text = run_command(pair_.exec_in(side::client, argv), dir_.path(), "diagnose", 40s);
  EXPECT_EQ(text.status, 4) << text.out << text.err;
  EXPECT_TRUE(has(text.out, "mx.dual.test:587 (starttls, ipv4)")) << text.out;
  EXPECT_TRUE(has(text.out, "mx.dual.test:587 (starttls, ipv6)"));
  EXPECT_TRUE(has(text.out, "587 (starttls, ipv4)  works (banner, tls)")) << text.out;
  EXPECT_TRUE(has(text.out, "587 (starttls, ipv6)  connect_timeout")) << text.out;

  argv.insert(argv.end(), {"--output", "json"});
  auto r = run_command(pair_.exec_in(side::client, argv), dir_.path(), "diagnose_json", 40s);
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  boost::system::error_code ec;
  auto doc = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;
  const auto& ports = doc.as_object().at("ports").as_array();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].at("ip_family").as_string(), "ipv4");
  EXPECT_EQ(ports[0].at("result").as_string(), "success");
  EXPECT_EQ(ports[0].at("peer_address").as_string(), "192.0.2.2:587");
  EXPECT_EQ(ports[1].at("ip_family").as_string(), "ipv6");
  EXPECT_EQ(ports[1].at("result").as_string(), "connect_timeout");
  EXPECT_TRUE(has(std::string(ports[1].at("detail").as_string()),
                  "no answer from mx.dual.test:587 within 2 s"))
      << ports[1].at("detail");
}

}  // namespace
}  // namespace smtp_test
