// diagnose's planning, with plain values: no network, no secret read.
#include "exporter/cli/diagnose_plan.hpp"

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

plan planned(const diagnose_options& o) {
  plan p;
  std::string error;
  EXPECT_TRUE(make_plan(o, p, error)) << error;
  return p;
}

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

}  // namespace
}  // namespace smtp_exporter::exporter
