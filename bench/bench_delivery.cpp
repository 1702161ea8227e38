// What the delivery probe costs and measures (issue 21), against a real mail system on loopback:
// postfix (STARTTLS) relaying to Dovecot over LMTP, read back over IMAPS from Dovecot.
//
//   bench_delivery [--runs 100]
//
// Each run is what the exporter does for a target with [target.delivery]: one SMTP session
// (banner, STARTTLS, MAIL/RCPT/DATA with the tagged message) and then the read-back (LIST, polls
// of INBOX and Junk, a header FETCH, the delete). Prints the latency distribution (250 -> found),
// the read-back's wall time, this process's CPU per run (user + system, both halves), and how many
// probe messages are left in the mailbox after the runs (goal: 0).
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "probes/imap/readback.hpp"
#include "probes/smtp/session.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"

namespace asio = boost::asio;
namespace probes = smtp_exporter::probes;
namespace imap = smtp_exporter::probes::imap;
using clock_type = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 100;
  if (argc == 3 && std::string(argv[1]) == "--runs") runs = std::atoi(argv[2]);
  if (!smtp_test::dovecot_server::available() || !smtp_test::postfix_peer::available()) {
    std::fprintf(stderr, "needs root, dovecot, postfix and swaks (scripts/install-deps.sh --test)\n");
    return 2;
  }
  smtp_test::temp_dir dir;
  smtp_test::test_pki pki(dir.path() / "pki");
  smtp_test::dovecot_server dovecot(dir, pki.valid.chain_file, pki.valid.key_file);
  if (!dovecot.started()) {
    std::fprintf(stderr, "dovecot: %s\n", dovecot.log().c_str());
    return 1;
  }
  smtp_test::lmtp_relay_options relay;
  relay.lmtp_port = dovecot.lmtp_port();
  relay.prepend_header = "Authentication-Results: mx.test; spf=pass; dkim=none; dmarc=none";
  smtp_test::postfix_peer postfix(dir, pki.valid.chain_file, pki.valid.key_file, std::nullopt,
                                  "mx.test", "", relay);
  if (!postfix.started()) {
    std::fprintf(stderr, "postfix: %s\n", postfix.log().c_str());
    return 1;
  }
  std::string error;
  auto context = probes::make_client_context({pki.root_file.string(), "", ""}, error);

  probes::session_options session;
  session.host = "127.0.0.1";
  session.server_name = "mx.test";
  session.port = postfix.starttls_port();
  session.mode = probes::transport::starttls;
  session.tls_context = context;
  session.timeout = std::chrono::seconds(10);
  session.delivery = probes::delivery_options{"app@sender.test", dovecot.options().user, "bench"};
  for (auto p : {probes::probe_kind::banner, probes::probe_kind::tls, probes::probe_kind::delivery})
    session.due[static_cast<std::size_t>(p)] = true;

  imap::readback_options readback;
  readback.imap.host = "mx.test";
  readback.imap.address = "127.0.0.1";
  readback.imap.port = dovecot.imaps_port();
  readback.imap.tls_context = context;
  readback.imap.username = dovecot.options().user;
  readback.imap.password =
      std::make_shared<const smtp_exporter::secret_string>(dovecot.options().password);
  readback.trusted_authserv_id = "mx.test";

  std::vector<double> latency, readback_ms;
  std::size_t inbox = 0, failed = 0;
  double cpu_total = 0;
  asio::io_context io{1};
  probes::dns_resolver resolver(io.get_executor());
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < runs; ++i) {
          const double cpu_before = cpu_seconds();
          auto sent = co_await probes::run_session(session, resolver);
          if (!sent.delivery) {
            ++failed;
            continue;
          }
          const auto started = clock_type::now();
          auto r = co_await imap::read_back(io.get_executor(), readback, sent.delivery->probe_id,
                                            sent.delivery->accepted_at,
                                            clock_type::now() + std::chrono::seconds(60));
          readback_ms.push_back(
              std::chrono::duration<double, std::milli>(clock_type::now() - started).count());
          cpu_total += cpu_seconds() - cpu_before;
          if (r.outcome == imap::readback_outcome::inbox) {
            ++inbox;
            latency.push_back(r.latency_seconds);
          } else {
            ++failed;
          }
        }
      },
      asio::detached);
  io.run();
  std::printf("delivery runs: %d (%zu in the Inbox, %zu failed) through postfix -> Dovecot (LMTP)\n",
              runs, inbox, failed);
  std::printf("  latency 250 -> found: p50 %.2f s, p90 %.2f s, max %.2f s (poll cadence 1 s, then 2, 4, 8, 15 s)\n",
              percentile(latency, 0.5), percentile(latency, 0.9), percentile(latency, 1.0));
  std::printf("  read-back wall time: p50 %.0f ms, p90 %.0f ms\n", percentile(readback_ms, 0.5),
              percentile(readback_ms, 0.9));
  std::printf("  CPU of this process per run (session + read-back): %.2f ms\n",
              1000 * cpu_total / std::max(1, runs));
  std::printf("  probe messages left: INBOX %zu, Junk %zu (goal 0)\n",
              dovecot.count_messages("INBOX"), dovecot.count_messages("Junk"));
  return failed == 0 ? 0 : 1;
}
