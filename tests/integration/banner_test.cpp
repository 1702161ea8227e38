// The banner probe end to end: the real smtp_exporter binary probes real (aiosmtpd) and scripted
// SMTP peers on loopback; every assertion reads a real /metrics scrape.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

std::string target_toml(const std::string& name, const std::string& host, std::uint16_t port,
                        const std::string& extra = "", const std::string& tls = "none",
                        const std::string& probes = R"(["banner"])") {
  return "[[target]]\nname = \"" + name + "\"\nhost = \"" + host + "\"\nport = " +
         std::to_string(port) + "\ntls = \"" + tls + "\"\nprobes = " + probes + "\n" + extra +
         "\n";
}

const std::string fast_defaults =
    "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\nehlo_name = \"probe.test\"\n\n";

using labels = std::map<std::string, std::string>;

double reply_code(const std::string& text, const std::string& target) {
  return metric_value(text, "smtp_reply_code", {{"target", target}, {"probe", "banner"}})
      .value_or(-1);
}

class banner_probe : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(banner_probe, aiosmtpd_success_with_capabilities) {
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir_, fast_defaults + target_toml("aiosmtpd", "127.0.0.1", port));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"aiosmtpd"}, "banner");
  EXPECT_EQ(probe_result(text, "aiosmtpd", "banner"), "success") << text;
  EXPECT_EQ(reply_code(text, "aiosmtpd"), 220);
  EXPECT_EQ(metric_value(text, "smtp_probe_success", {{"target", "aiosmtpd"}, {"probe", "banner"}}), 1);
  for (const char* ext : {"SIZE", "8BITMIME", "SMTPUTF8", "HELP"}) {
    EXPECT_EQ(metric_value(text, "smtp_ehlo_extension_info", {{"target", "aiosmtpd"}, {"extension", ext}}), 1)
        << ext;
  }
  EXPECT_FALSE(metric_value(text, "smtp_ehlo_extension_info", {{"target", "aiosmtpd"}, {"extension", "STARTTLS"}}));
  for (const char* phase : {"resolve", "connect", "banner", "ehlo", "quit"}) {
    auto v = metric_value(text, "smtp_probe_phase_duration_seconds", {{"target", "aiosmtpd"}, {"phase", phase}});
    ASSERT_TRUE(v) << phase;
    EXPECT_GE(*v, 0);
  }
  EXPECT_FALSE(metric_value(text, "smtp_probe_phase_duration_seconds", {{"target", "aiosmtpd"}, {"phase", "starttls"}}));
  EXPECT_EQ(metric_value(text, "smtp_probe_ip_protocol", {{"target", "aiosmtpd"}}), 4);
}

TEST_F(banner_probe, localhost_name_resolves) {
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port);
  ASSERT_NE(port, 0);
  exporter_process exporter(dir_, fast_defaults + target_toml("byname", "localhost", port));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"byname"}, "banner");
  EXPECT_EQ(probe_result(text, "byname", "banner"), "success") << text;
}

struct scripted_case {
  const char* script;
  const char* result;
  int code;
};
// A failing case reads as its script, not as the struct's bytes.
void PrintTo(const scripted_case& c, std::ostream* os) { *os << c.script; }

class scripted_banner : public banner_probe, public ::testing::WithParamInterface<scripted_case> {};

TEST_P(scripted_banner, reports_reason_and_reply_code) {
  const auto& c = GetParam();
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, c.script, port);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir_, fast_defaults + target_toml("peer", "127.0.0.1", port));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"peer"}, "banner");
  EXPECT_EQ(probe_result(text, "peer", "banner"), c.result) << text << "\n" << exporter.process().log();
  EXPECT_EQ(reply_code(text, "peer"), c.code);
  bool ok = std::string(c.result) == "success";
  EXPECT_EQ(metric_value(text, "smtp_probe_success", {{"target", "peer"}, {"probe", "banner"}}), ok ? 1 : 0);
  if (!ok) {
    EXPECT_GE(metric_value(text, "smtp_probe_failures_total",
                           {{"target", "peer"}, {"probe", "banner"}, {"reason", c.result}})
                  .value_or(0),
              1);
  }
}

INSTANTIATE_TEST_SUITE_P(
    scripts, scripted_banner,
    ::testing::Values(scripted_case{"multiline_greeting", "success", 220},
                      scripted_case{"greeting_554", "banner_rejected", 554},
                      scripted_case{"greeting_421", "banner_tempfail", 421},
                      scripted_case{"tarpit", "banner_timeout", 0},
                      scripted_case{"close_mid_reply", "connection_closed", 0},
                      scripted_case{"ehlo_rejected_helo_ok", "success", 220},
                      scripted_case{"ehlo_and_helo_rejected", "ehlo_rejected", 550},
                      scripted_case{"garbage_greeting", "protocol_error", 0}),
    [](const auto& info) { return std::string(info.param.script); });

TEST_F(banner_probe, rejected_greeting_ends_the_run_without_waiting_for_the_timeout) {
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, "greeting_554", port);
  ASSERT_NE(port, 0);
  // A prober that waited out its timeout on a 554 (as blackbox_exporter does) would report ~5 s.
  exporter_process exporter(
      dir_, "[defaults]\ninterval = \"5s\"\ntimeout = \"5s\"\n\n" +
                target_toml("blocked", "127.0.0.1", port, "", "starttls", R"(["banner", "tls"])"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return metric_value(t, "smtp_probe_duration_seconds", {{"target", "blocked"}}).has_value();
  }, 20s);
  auto duration = metric_value(text, "smtp_probe_duration_seconds", {{"target", "blocked"}});
  ASSERT_TRUE(duration) << text;
  EXPECT_LT(*duration, 2.5);
  EXPECT_EQ(probe_result(text, "blocked", "banner"), "banner_rejected");
  // The later probe of the same run carries the same reason.
  EXPECT_EQ(label_value(text, "smtp_probe_result_info", {{"target", "blocked"}, {"probe", "tls"}}, "result"),
            "banner_rejected");
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "blocked"}, {"probe", "tls"}}), 554);
}

TEST_F(banner_probe, refused_port) {
  auto port = unused_port();
  exporter_process exporter(dir_, fast_defaults + target_toml("refused", "127.0.0.1", port));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"refused"}, "banner");
  EXPECT_EQ(probe_result(text, "refused", "banner"), "connect_refused") << text;
  EXPECT_EQ(reply_code(text, "refused"), 0);
  EXPECT_FALSE(metric_value(text, "smtp_probe_ip_protocol", {{"target", "refused"}}));
}

TEST_F(banner_probe, ip_protocol_restricts_the_addresses_tried) {
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port);  // IPv4 loopback only
  ASSERT_NE(port, 0);
  exporter_process exporter(
      dir_, fast_defaults + target_toml("v4", "127.0.0.1", port, "ip_protocol = \"ip4\"") +
                target_toml("v6-of-a-v4-literal", "127.0.0.1", port, "ip_protocol = \"ip6\""));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"v4", "v6-of-a-v4-literal"}, "banner");
  EXPECT_EQ(probe_result(text, "v4", "banner"), "success") << text;
  EXPECT_EQ(metric_value(text, "smtp_probe_ip_protocol", {{"target", "v4"}}), 4);
  EXPECT_EQ(probe_result(text, "v6-of-a-v4-literal", "banner"), "resolve_failed");
}

TEST_F(banner_probe, ipv6_loopback) {
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port, {"--host", "::1"});
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir_, fast_defaults + target_toml("v6", "::1", port));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"v6"}, "banner");
  EXPECT_EQ(probe_result(text, "v6", "banner"), "success") << text;
  EXPECT_EQ(metric_value(text, "smtp_probe_ip_protocol", {{"target", "v6"}}), 6);
}

TEST_F(banner_probe, dropped_syns_are_a_connect_timeout) {
  blackhole_listener blackhole;
  exporter_process exporter(dir_, fast_defaults + target_toml("blocked", "127.0.0.1", blackhole.port()));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"blocked"}, "banner");
  EXPECT_EQ(probe_result(text, "blocked", "banner"), "connect_timeout") << text;
  EXPECT_EQ(reply_code(text, "blocked"), 0);
  auto duration = metric_value(text, "smtp_probe_duration_seconds", {{"target", "blocked"}});
  ASSERT_TRUE(duration);
  EXPECT_LT(*duration, 3.0);  // the 1 s timeout bounds the run
}

TEST_F(banner_probe, unresolvable_host) {
  exporter_process exporter(dir_, fast_defaults + target_toml("nodns", "no-such-host.invalid", 25));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"nodns"}, "banner");
  EXPECT_EQ(probe_result(text, "nodns", "banner"), "resolve_failed") << text;
}

TEST_F(banner_probe, pending_until_the_first_run) {
  // With a one-hour interval the first run is, by its name's offset, minutes away.
  exporter_process exporter(
      dir_, "[defaults]\ninterval = \"1h\"\ntimeout = \"1s\"\n\n" +
                target_toml("later", "127.0.0.1", unused_port(), "labels = { team = \"mail\" }"));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape();
  EXPECT_EQ(metric_value(text, "smtp_probe_result_info",
                         {{"target", "later"}, {"probe", "banner"}, {"result", "pending"}, {"team", "mail"}}),
            1)
      << text;
  EXPECT_FALSE(metric_value(text, "smtp_probe_success", {{"target", "later"}}));
  EXPECT_FALSE(metric_value(text, "smtp_probe_last_run_timestamp_seconds", {{"target", "later"}}));
  EXPECT_EQ(metric_value(text, "smtp_probe_runs_total", {{"target", "later"}, {"probe", "banner"}}), 0);
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 1);
}

}  // namespace
}  // namespace smtp_test
