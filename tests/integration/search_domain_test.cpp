// Issue 24, finding 3: every host the exporter resolves is an absolute name. The resolv.conf
// search list (Kubernetes writes one with ndots:5) never applies, so `allowed.test` (or
// `allowed.test.`) can never become `allowed.test.search.test`, a name the allow-list never saw.
// The resolver reads a resolv.conf of the test's own (dns_resolver_options::resolv_conf) and asks
// tests/peers/fake_dns.py, which answers only the search-list name.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "exporter/app/probe_endpoint.hpp"
#include "probes/dns/resolver.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_task.hpp"

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace probes = smtp_exporter::probes;

class search_domains : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto rules = dir_.write(
        "rules.json",
        R"([{"name": "allowed.test.search.test", "type": "A", "answer": ["127.0.0.1"]}])");
    dns_ = start_fake_dns(dir_, rules, dns_port_);
    ASSERT_NE(dns_port_, 0) << "fake_dns.py did not start";
    // ndots:5 as in a Kubernetes pod: a name with fewer dots is tried in the search list first.
    const auto resolv_conf =
        dir_.write("resolv.conf", "search search.test\noptions ndots:5\nnameserver 127.0.0.1\n");
    options_.resolv_conf = resolv_conf.string();
    options_.servers = {"127.0.0.1:" + std::to_string(dns_port_)};
    options_.attempt_timeout = std::chrono::milliseconds(500);
    options_.tries = 1;
  }

  bool search_name_asked() {
    return dns_->log().find("allowed.test.search.test") != std::string::npos;
  }

  temp_dir dir_;
  std::uint16_t dns_port_ = 0;
  std::unique_ptr<child_process> dns_;
  probes::dns_resolver_options options_;
  asio::io_context io_;
};

TEST_F(search_domains, a_host_resolves_as_an_absolute_name) {
  probes::dns_resolver resolver(io_.get_executor(), options_);
  for (const std::string name : {"allowed.test", "allowed.test.", "ALLOWED.test"}) {
    const auto r = run(io_, resolver.resolve(name, 25, std::chrono::steady_clock::now() + 5s));
    std::string got;
    for (const auto& e : r.endpoints) got += e.address().to_string() + " ";
    EXPECT_EQ(r.outcome, probes::resolve_result::status::not_found) << name << " -> " << got;
  }
  // The server was asked for the name itself, never for the search-list name.
  EXPECT_NE(dns_->log().find("QUERY allowed.test A"), std::string::npos) << dns_->log();
  EXPECT_FALSE(search_name_asked()) << dns_->log();
}

// The attack of the finding: a /probe module that allows `allowed.test`, a target written with a
// trailing dot, and a search domain that answers. The session must not reach the server there.
TEST_F(search_domains, a_probe_target_never_reaches_a_search_list_name) {
  std::uint16_t smtp_port = 0;
  auto peer = start_aiosmtpd(dir_, smtp_port);
  ASSERT_NE(smtp_port, 0);
  const auto loaded = smtp_exporter::config::load_string(R"(
[module.m]
tls = "none"
probes = ["banner"]
timeout = "5s"
allowed_hosts = ["allowed.test"]
allowed_ports = [)" + std::to_string(smtp_port) + "]\n",
                                                         "search.toml");
  ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors.front());

  smtp_exporter::exporter::probe_endpoint endpoint(io_.get_executor(), options_);
  endpoint.apply(loaded.config->modules, {});
  for (const std::string target : {"allowed.test.", "allowed.test"}) {
    const std::string with_port = target + ":" + std::to_string(smtp_port);
    const smtp_exporter::exporter::http_request request{
        http::verb::get, "/probe?target=" + with_port + "&module=m", 11};
    const auto response = run(io_, endpoint.handle(request));
    ASSERT_EQ(response.result(), http::status::ok) << response.body().view();
    const std::string body(response.body().view());
    const std::string label = target == "allowed.test." ? "allowed.test:" + std::to_string(smtp_port)
                                                        : with_port;
    EXPECT_EQ(probe_result(body, label, "banner"), "resolve_failed") << body;
  }
  EXPECT_FALSE(search_name_asked()) << dns_->log();
}

}  // namespace
}  // namespace smtp_test
