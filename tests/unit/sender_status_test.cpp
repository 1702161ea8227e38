// The sender-readiness kind's pure parts: families (series and labels from a status), the page
// section (escaped, unknown for errors, the providers' requirements), and is_sender_error.
#include <gtest/gtest.h>

#include "exporter/sender/evaluate.hpp"
#include "exporter/sender/metrics.hpp"
#include "exporter/sender/page.hpp"

namespace smtp_exporter::exporter {
namespace {

sender_status sample() {
  sender_status s;
  s.enabled = true;
  s.domains = {"good.test", "bad.test"};
  s.egress_ips = {"192.0.2.10"};
  s.reverse_dns.push_back({"192.0.2.10", "mismatch", "<script>x</script>.test", "no A back", 1});
  s.spf.push_back({"good.test", "192.0.2.10", "pass", "ip4 matched", "ip4:192.0.2.0/24", 0, 1});
  s.spf.push_back({"bad.test", "192.0.2.10", "temperror", "timeout asking TXT bad.test", "", 0, 1});
  dmarc_entry present;
  present.domain = "good.test";
  present.result = "present";
  present.policy = "quarantine";
  present.pct = 50;
  present.rua = true;
  s.dmarc.push_back(present);
  dmarc_entry failed;
  failed.domain = "bad.test";
  failed.result = "timeout";
  s.dmarc.push_back(failed);
  s.last_run_timestamp = {1, 1, 1};
  s.errors_total[{"spf", "temperror"}] = 2;
  s.queries_network = 7;
  s.queries_cache = 3;
  return s;
}

const prometheus::MetricFamily* family(const std::vector<prometheus::MetricFamily>& fs,
                                       const std::string& name) {
  for (const auto& f : fs) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(sender_status, families_follow_the_metric_contract) {
  EXPECT_TRUE(sender_families(sender_status{}).empty()) << "off: nothing exported";
  const auto fs = sender_families(sample());
  const auto* policy = family(fs, "smtp_sender_domain_dmarc_policy_info");
  ASSERT_NE(policy, nullptr);
  ASSERT_EQ(policy->metric.size(), 1u) << "no policy series for a failed lookup";
  EXPECT_EQ(policy->metric[0].label[1].value, "quarantine");
  const auto* pct = family(fs, "smtp_sender_domain_dmarc_pct");
  ASSERT_NE(pct, nullptr);
  EXPECT_EQ(pct->metric[0].gauge.value, 50);
  const auto* spf = family(fs, "smtp_sender_domain_spf_result_info");
  ASSERT_NE(spf, nullptr);
  EXPECT_EQ(spf->metric.size(), 2u);
  const auto* queries = family(fs, "smtp_sender_dns_queries_total");
  ASSERT_NE(queries, nullptr);
  EXPECT_EQ(queries->metric[0].counter.value, 7);
  EXPECT_EQ(queries->metric[1].counter.value, 3);
  const auto* errors = family(fs, "smtp_sender_check_errors_total");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ(errors->metric[0].counter.value, 2);
}

TEST(sender_status, page_escapes_and_says_unknown_for_errors) {
  const auto html = render_sender_section(sample());
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"state\">unknown</td><td>SPF</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("p=quarantine pct=50 rua"), std::string::npos) << html;
  EXPECT_NE(html.find("does not resolve back to 192.0.2.10"), std::string::npos);
  EXPECT_TRUE(render_sender_section(sender_status{}).empty());
}

TEST(sender_status, errors_are_never_verdicts) {
  EXPECT_TRUE(is_sender_error(sender_check::spf, "temperror"));
  EXPECT_FALSE(is_sender_error(sender_check::spf, "fail"));
  EXPECT_FALSE(is_sender_error(sender_check::spf, "permerror"));
  EXPECT_TRUE(is_sender_error(sender_check::reverse_dns, "timeout"));
  EXPECT_FALSE(is_sender_error(sender_check::reverse_dns, "no_ptr"));
  EXPECT_TRUE(is_sender_error(sender_check::dmarc, "servfail"));
  EXPECT_FALSE(is_sender_error(sender_check::dmarc, "absent"));
  spf_entry e{"d.test", "192.0.2.1", "none", "", "", 0, 0};
  EXPECT_NE(spf_advice(e).find("publishes no SPF record"), std::string::npos);
  e.result = "pass";
  EXPECT_TRUE(spf_advice(e).empty());
}

}  // namespace
}  // namespace smtp_exporter::exporter
