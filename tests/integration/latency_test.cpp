// Phase timings are the server's latency, not a TCP artefact (issue 12). A scripted peer that
// keeps Nagle's algorithm on, as postfix does, delays one reply by exactly 30 ms: the phase must
// read 30 ms, not the ~40 ms a delayed ACK would make it. Against postfix (TLS 1.3, tickets on)
// the greeting and the post-TLS EHLO must be fast. Sessions run in-process (run_session) so that
// several runs are cheap; the metrics export phase_seconds as is.
//
// Machine load (other builds on the same two cores) makes a phase slower, so the upper bound is
// checked on the fastest of several runs: 36 ms (the delayed-ACK artefact makes it >= 40 ms;
// 32 ms failed once, at 33.2 ms, on a clean-clone run beside two other builds).
// The lower bound, 28 ms, is checked on the median: the peer starts its 30 ms when its side of
// the handshake ends, the client starts the banner phase after its own post-handshake work
// (certificate facts), so a loaded client can read slightly less than 30 ms with implicit TLS.
#include <gtest/gtest.h>

#include <algorithm>

#include "probes/smtp/session.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/in_process.hpp"
#include "tests/support/postfix.hpp"

namespace smtp_test {
namespace {

namespace probes = smtp_exporter::probes;

constexpr int runs_per_case = 11;

struct measured {
  std::vector<double> ms;  // of the phase, one per successful run
  std::string failures;
  double fastest() const { return ms.empty() ? -1 : *std::min_element(ms.begin(), ms.end()); }
  double median() const {
    auto v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? -1 : v[v.size() / 2];
  }
  std::string all() const {
    std::string s;
    for (double v : ms) s += std::to_string(v) + " ";
    return s + failures;
  }
};

// Runs `runs_per_case` sessions (banner + tls) and collects `which` phase of each.
measured run_sessions(std::uint16_t port, probes::transport mode, const test_pki& pki,
                      probes::phase which, const std::string& server_name = "mx.test") {
  std::string error;
  auto context = probes::make_client_context({pki.root_file.string(), "", ""}, error);
  EXPECT_TRUE(context) << error;
  measured m;
  if (!context) return m;
  probes::session_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.mode = mode;
  o.server_name = server_name;
  o.timeout = std::chrono::seconds(10);
  o.due = {true, true, false};
  o.tls_context = context;
  for (int i = 0; i < runs_per_case; ++i) {
    auto result = run_in_process(o);
    if (!result) {
      m.failures += "[run " + std::to_string(i) + " did not finish] ";
      continue;
    }
    const auto& r = *result;
    if (r.outcome(probes::probe_kind::tls).reason != probes::failure_reason::none) {
      m.failures += "[run " + std::to_string(i) + ": " + r.detail + "] ";
      continue;
    }
    m.ms.push_back(r.phase_seconds[static_cast<std::size_t>(which)] * 1000.0);
  }
  return m;
}

struct delayed_case {
  const char* name;
  const char* script;
  probes::transport mode;
  std::vector<std::string> flags;  // fake_smtp.py TLS options
  probes::phase delayed;
};

void PrintTo(const delayed_case& c, std::ostream* os) { *os << c.name; }

class server_delay : public ::testing::TestWithParam<delayed_case> {};

TEST_P(server_delay, phase_reads_the_servers_30_ms) {
  const auto& c = GetParam();
  temp_dir dir;
  test_pki pki;
  std::vector<std::string> flags{"--tls-cert", pki.valid.chain_file.string(), "--tls-key",
                                 pki.valid.key_file.string(), "--nagle"};
  flags.insert(flags.end(), c.flags.begin(), c.flags.end());
  if (c.mode == probes::transport::implicit_tls) flags.push_back("--implicit-tls");
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir, c.script, port, flags);
  ASSERT_NE(port, 0) << peer->log();
  auto m = run_sessions(port, c.mode, pki, c.delayed);
  ASSERT_EQ(m.ms.size(), static_cast<std::size_t>(runs_per_case)) << m.all() << peer->log();
  EXPECT_GE(m.median(), 28.0) << "runs (ms): " << m.all();
  EXPECT_LE(m.fastest(), 36.0) << "runs (ms): " << m.all();
}

INSTANTIATE_TEST_SUITE_P(
    peers, server_delay,
    ::testing::Values(
        delayed_case{"starttls_tls13_tickets", "starttls_ehlo_30ms", probes::transport::starttls,
                     {}, probes::phase::ehlo},
        delayed_case{"starttls_tls13_no_tickets", "starttls_ehlo_30ms",
                     probes::transport::starttls, {"--tls-tickets", "0"}, probes::phase::ehlo},
        delayed_case{"starttls_tls12", "starttls_ehlo_30ms", probes::transport::starttls,
                     {"--tls-max-version", "TLSv1_2"}, probes::phase::ehlo},
        delayed_case{"implicit_tls13_tickets", "greeting_30ms", probes::transport::implicit_tls,
                     {}, probes::phase::banner},
        delayed_case{"implicit_tls13_no_tickets", "greeting_30ms",
                     probes::transport::implicit_tls, {"--tls-tickets", "0"},
                     probes::phase::banner},
        delayed_case{"implicit_tls12", "greeting_30ms", probes::transport::implicit_tls,
                     {"--tls-max-version", "TLSv1_2"}, probes::phase::banner}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(postfix_latency, tls13_greeting_and_ehlo_under_5_ms) {
  if (!postfix_peer::available()) GTEST_SKIP() << "needs root and Debian's postfix";
  temp_dir dir;
  test_pki pki;
  postfix_peer postfix(dir, pki.valid.chain_file, pki.valid.key_file);
  ASSERT_TRUE(postfix.started()) << postfix.log();
  // Without the fix these read ~42 ms on every run: 5 ms leaves room for a loaded machine.
  auto ehlo = run_sessions(postfix.starttls_port(), probes::transport::starttls, pki,
                           probes::phase::ehlo);
  ASSERT_EQ(ehlo.ms.size(), static_cast<std::size_t>(runs_per_case)) << ehlo.all();
  EXPECT_LT(ehlo.fastest(), 5.0) << "ehlo after STARTTLS (ms): " << ehlo.all();
  auto banner = run_sessions(postfix.implicit_port(), probes::transport::implicit_tls, pki,
                             probes::phase::banner);
  ASSERT_EQ(banner.ms.size(), static_cast<std::size_t>(runs_per_case)) << banner.all();
  EXPECT_LT(banner.fastest(), 5.0) << "implicit-TLS greeting (ms): " << banner.all();
}

}  // namespace
}  // namespace smtp_test
