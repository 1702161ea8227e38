// diagnose's planning, with plain values: no network, no secret read.
#include "exporter/cli/diagnose_plan.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

plan planned(const diagnose_options& o) {
  plan p;
  std::string error;
  EXPECT_TRUE(make_plan(o, p, error)) << error;
  return p;
}

// A config file in the temp directory, removed at the end of the test.
class temp_config {
 public:
  explicit temp_config(const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("diagnose_plan_" + std::to_string(::getpid()) + ".toml")) {
    std::ofstream(path_) << text;
  }
  ~temp_config() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string refusal(const diagnose_options& o) {
  plan p;
  std::string error;
  EXPECT_FALSE(make_plan(o, p, error));
  return error;
}

TEST(diagnose_plan, a_provider_tries_every_port_with_its_mode) {
  diagnose_options o;
  o.target = "gmail";
  const plan p = planned(o);
  EXPECT_EQ(p.source, "provider");
  EXPECT_EQ(p.target.host, "smtp.gmail.com");
  ASSERT_GE(p.ports.size(), 2u);
  EXPECT_EQ(p.ports[0].port, 587);
  EXPECT_EQ(p.ports[0].mode, config::tls_mode::starttls);
  EXPECT_EQ(p.tls_context, nullptr) << "loading TLS files is the running side's job";
}

TEST(diagnose_plan, an_address_takes_its_mode_from_the_port) {
  diagnose_options o;
  o.target = "[::1]:465";
  const plan p = planned(o);
  EXPECT_EQ(p.target.host, "::1");
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].mode, config::tls_mode::implicit);
}

TEST(diagnose_plan, due_probes_follow_the_stages) {
  diagnose_options o;
  o.target = "127.0.0.1:25";
  o.tls = "none";
  o.username = "me@example.com";
  o.password_env = "UNSET_IN_THIS_TEST";
  o.rcpt_to = "ops@example.net";
  const plan p = planned(o);
  ASSERT_TRUE(p.target.envelope);
  EXPECT_EQ(p.target.envelope->mail_from, "me@example.com") << "the username, an address";
  const auto due = probes_due(p, p.ports[0]);
  EXPECT_TRUE(due[static_cast<std::size_t>(probes::probe_kind::banner)]);
  EXPECT_FALSE(due[static_cast<std::size_t>(probes::probe_kind::tls)]) << "plain text";
  EXPECT_TRUE(due[static_cast<std::size_t>(probes::probe_kind::auth)]);
  EXPECT_TRUE(due[static_cast<std::size_t>(probes::probe_kind::envelope)]);
}

TEST(diagnose_plan, envelope_flags_are_checked) {
  diagnose_options o;
  o.target = "127.0.0.1:25";
  o.mail_from = "me@example.com";
  EXPECT_EQ(refusal(o), "--mail-from needs --rcpt-to (the envelope probe sends both, never DATA)");
  o.rcpt_to = "ops@example.net> SIZE=1";
  EXPECT_EQ(refusal(o), "--rcpt-to: must be printable ASCII without spaces or angle brackets");
  o.mail_from.clear();
  o.rcpt_to = "ops@example.net";
  EXPECT_EQ(refusal(o), "--rcpt-to needs --mail-from (the username is not an address)");
}

TEST(diagnose_plan, usage_errors) {
  diagnose_options o;
  o.target = "nowhere";
  EXPECT_NE(refusal(o).find("not a provider"), std::string::npos);
  o.target = "127.0.0.1:0";
  EXPECT_NE(refusal(o).find("bad port"), std::string::npos);
  o.target = "127.0.0.1:25";
  o.timeout = "soon";
  EXPECT_NE(refusal(o).find("--timeout"), std::string::npos);
}

TEST(diagnose_plan, deliver_to_plans_the_delivery_probe_and_its_read_back) {
  diagnose_options o;
  o.target = "127.0.0.1:587";
  o.mail_from = "app@example.com";
  o.deliver_to = "probe@example.net";
  o.imap = "127.0.0.1:143";
  o.imap_password_env = "UNSET_IN_THIS_TEST";
  const plan p = planned(o);
  ASSERT_TRUE(p.target.delivery);
  EXPECT_EQ(p.target.delivery->to, "probe@example.net");
  EXPECT_EQ(p.target.delivery->from, "app@example.com");
  EXPECT_EQ(p.target.delivery->imap.host, "127.0.0.1");
  EXPECT_EQ(p.target.delivery->imap.port, 143);
  EXPECT_EQ(p.target.delivery->imap.tls, config::tls_mode::starttls) << "143 is STARTTLS";
  EXPECT_EQ(p.target.delivery->imap.auth.username, "probe@example.net") << "the mailbox's own";
  EXPECT_TRUE(probes_due(p, p.ports[0])[static_cast<std::size_t>(probes::probe_kind::delivery)]);

  o.imap = "imap.example.net";
  o.imap_username = "someone";
  o.delivery_deadline = "2m";
  const plan q = planned(o);
  EXPECT_EQ(q.target.delivery->imap.port, 993);
  EXPECT_EQ(q.target.delivery->imap.tls, config::tls_mode::implicit);
  EXPECT_EQ(q.target.delivery->imap.auth.username, "someone");
  EXPECT_EQ(q.target.delivery->deadline, std::chrono::minutes(2));
}

TEST(diagnose_plan, deliver_to_is_checked) {
  diagnose_options o;
  o.target = "127.0.0.1:587";
  o.mail_from = "app@example.com";
  o.deliver_to = "probe@example.net";
  EXPECT_NE(refusal(o).find("--imap HOST[:PORT]"), std::string::npos);
  o.imap = "127.0.0.1";
  EXPECT_NE(refusal(o).find("--imap-password-file"), std::string::npos) << "a secret is needed";
  o.imap_password_file = "/nonexistent/pw";
  o.imap_tls = "none";
  EXPECT_NE(refusal(o).find("--imap-tls"), std::string::npos) << "no IMAP login in clear";
  o.imap_tls = "";
  o.delivery_deadline = "2h";
  EXPECT_NE(refusal(o).find("--delivery-deadline"), std::string::npos);
  o.delivery_deadline = "";
  o.deliver_to = "not an address";
  EXPECT_NE(refusal(o).find("--deliver-to"), std::string::npos);
  o.deliver_to = "probe@example.net";
  o.ports = {587, 465};
  EXPECT_NE(refusal(o).find("one --port"), std::string::npos) << "one message, not one per port";
  o.ports = {};
  o.mail_from = "";
  EXPECT_NE(refusal(o).find("--mail-from"), std::string::npos);

  diagnose_options alone;
  alone.target = "127.0.0.1:587";
  alone.imap = "127.0.0.1";
  EXPECT_NE(refusal(alone).find("--deliver-to"), std::string::npos) << "--imap alone is a mistake";
}

TEST(diagnose_plan, a_config_target_with_delivery_sends_nothing_unless_asked) {
  temp_config file(R"([[target]]
name = "app"
host = "127.0.0.1"
port = 587
probes = ["banner", "delivery"]
[target.delivery]
from = "app@example.com"
to = "probe@example.net"
[target.delivery.imap]
host = "127.0.0.1"
[target.delivery.imap.auth]
username = "probe@example.net"
password_env = "UNSET_IN_THIS_TEST"
)");
  diagnose_options o;
  o.target = "app";
  o.config_file = file.path();
  const plan p = planned(o);
  EXPECT_FALSE(p.target.delivery) << "sending mail is an explicit opt-in: --deliver-to";
  EXPECT_FALSE(probes_due(p, p.ports[0])[static_cast<std::size_t>(probes::probe_kind::delivery)]);

  o.deliver_to = "other@example.net";
  const plan q = planned(o);
  ASSERT_TRUE(q.target.delivery);
  EXPECT_EQ(q.target.delivery->to, "other@example.net");
  EXPECT_EQ(q.target.delivery->from, "app@example.com");
  EXPECT_EQ(q.target.delivery->imap.auth.password_env, "UNSET_IN_THIS_TEST") << "the config's IMAP";
}

// Issue 24: --ip-protocol both (or a config target's "both") tries each port once per family.
TEST(diagnose_plan, both_families_try_each_port_once_per_family) {
  diagnose_options o;
  o.target = "gmail";
  o.ip_protocol = "both";
  const plan p = planned(o);
  ASSERT_GE(p.ports.size(), 4u);
  ASSERT_EQ(p.ports.size() % 2, 0u);
  EXPECT_EQ(p.ports[0].port, 587);
  EXPECT_EQ(p.ports[0].family, config::ip_family::ipv4);
  EXPECT_EQ(p.ports[1].port, 587);
  EXPECT_EQ(p.ports[1].family, config::ip_family::ipv6);
  const auto t = port_target(p, p.ports[1]);
  EXPECT_EQ(t.ip_protocol, "ip6");
  EXPECT_EQ(t.family, config::ip_family::ipv6);

  o.ip_protocol = "ip6";
  const plan single = planned(o);
  EXPECT_EQ(single.ports[0].family, config::ip_family::none) << "one family: no split";
  EXPECT_EQ(port_target(single, single.ports[0]).ip_protocol, "ip6");

  o.ip_protocol = "ipv6";
  EXPECT_NE(refusal(o).find("--ip-protocol: want any, ip4, ip6 or both"), std::string::npos);

  temp_config file(R"([[target]]
name = "dual"
host = "127.0.0.1"
port = 587
ip_protocol = "both"
)");
  diagnose_options c;
  c.target = "dual";
  c.config_file = file.path();
  const plan q = planned(c);
  ASSERT_EQ(q.ports.size(), 2u) << "the config target's \"both\"";
  EXPECT_EQ(q.ports[1].family, config::ip_family::ipv6);

  c.mail_from = "app@example.com";
  c.deliver_to = "probe@example.net";
  c.imap = "127.0.0.1";
  c.imap_password_env = "UNSET_IN_THIS_TEST";
  EXPECT_NE(refusal(c).find("not both"), std::string::npos) << "one message, not one per family";
}

}  // namespace
}  // namespace smtp_exporter::exporter
