#include "exporter/schedule/delivery_readback.hpp"

#include "exporter/runtime/clock.hpp"
#include "exporter/runtime/log.hpp"
#include "probes/imap/readback.hpp"
#include "probes/smtp/credentials.hpp"
#include "probes/smtp/message.hpp"

namespace smtp_exporter::exporter {

namespace imap = probes::imap;
using clock = std::chrono::steady_clock;

namespace {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::string imap_resource_key(const std::string& target_name) { return "imap:" + target_name; }

imap::readback_options readback_options_for(const config::delivery_settings& d,
                                            std::shared_ptr<boost::asio::ssl::context> imap_tls) {
  imap::readback_options o;
  o.imap.host = d.imap.server_name.empty() ? d.imap.host : d.imap.server_name;
  // An IP literal needs no lookup; a name is resolved by libcurl (one short-lived thread of its
  // own per lookup, probes/imap/client.hpp), off the loop.
  if (is_ip_literal(d.imap.host)) o.imap.address = d.imap.host;
  o.imap.port = d.imap.port;
  o.imap.tls = d.imap.tls == config::tls_mode::starttls ? imap::tls_mode::starttls
                                                        : imap::tls_mode::implicit;
  o.imap.tls_context = std::move(imap_tls);
  o.imap.username = d.imap.auth.username;
  o.junk_folders = d.imap.junk_folders;
  o.trusted_authserv_id = d.trusted_authserv_id;
  o.delete_after = d.delete_after;
  return o;
}

boost::asio::awaitable<std::optional<probes::verdict>> attach_imap_secret(
    const config::delivery_settings& d, const oauth_binding& token, imap::readback_options& o) {
  if (!o.imap.tls_context) {
    co_return probes::on_readback(probes::readback_finding::imap_tls_failed,
                                  "no trust store for the IMAP server");
  }
  if (!token.setup_error.empty()) {
    co_return probes::on_refusal(probes::refusal::credentials_unreadable,
                                 "[target.delivery.imap.auth.oauth2]: " + token.setup_error);
  }
  if (token.source) {
    o.imap.token_source = token.source;
    co_return std::nullopt;
  }
  // Off the loop, like the SMTP side's secrets (a hung mount stalls only this read-back).
  const auto& a = d.imap.auth;
  // A named argument: GCC 12 mis-destroys a braced temporary passed to a coroutine.
  probes::credential_source source{a.username, a.password_file, a.password_env, a.password,
                                   a.token_file};
  auto secret = co_await probes::load_credentials_async(std::move(source),
                                                        clock::now() + std::chrono::seconds(10));
  if (!secret.ok()) {
    // The exporter's own secret, as for the auth probe: credentials_unavailable.
    co_return probes::on_refusal(probes::refusal::credentials_unreadable,
                                 "[target.delivery.imap.auth]: " + secret.error);
  }
  o.imap.password = std::make_shared<const secret_string>(secret.secret.reveal());
  co_return std::nullopt;
}

boost::asio::awaitable<readback_report> read_back_delivery(const config::delivery_settings& d,
                                                           imap::readback_options o,
                                                           probes::delivery_sent sent) {
  readback_report report;
  const auto deadline = clock::now() + d.deadline;
  auto executor = co_await boost::asio::this_coro::executor;
  // Leftovers first: messages of the probe older than the deadline can only be stale.
  auto stale = co_await imap::remove_stale(executor, o,
                                           std::chrono::system_clock::now() - d.deadline,
                                           clock::now() + std::chrono::seconds(30));
  if (stale.ok()) report.stale_removed = stale.value;
  report.result = co_await imap::read_back(executor, o, sent.probe_id, sent.accepted_at, deadline);
  const auto& result = report.result;
  auto& outcome = report.outcome;
  outcome.imap_seconds = {result.login_seconds, result.search_seconds, result.fetch_seconds,
                          result.delete_seconds};
  if (result.outcome == imap::readback_outcome::inbox ||
      result.outcome == imap::readback_outcome::junk) {
    outcome.folder = std::string(imap::to_string(result.outcome));
    outcome.latency_seconds = result.latency_seconds;
    if (result.verdict) {
      for (const char* method : {"spf", "dkim", "dmarc"}) {
        if (const auto* m = imap::find_method(*result.verdict, method)) {
          outcome.auth_results.emplace_back(method, m->result);
        }
      }
    }
  }
  const auto v = imap::readback_verdict(result);
  outcome.reason = v.reason;
  outcome.detail = v.detail;
  co_return report;
}

boost::asio::awaitable<void> run_delivery_readback(readback_request request, status_store& store) {
  struct clear_on_exit {
    std::shared_ptr<bool> flag;
    ~clear_on_exit() {
      if (flag) *flag = false;
    }
  } clear{request.running};
  const config::target& t = *request.target;
  const config::delivery_settings& d = *t.delivery;

  const auto finish = [&](const delivery_outcome& outcome) {
    store.record_delivery(request.target, outcome, unix_now());
    auto level = outcome.reason == probes::failure_reason::none ? log::info : log::warn;
    level("delivery read-back", {{"target", t.name},
                                 {"result", std::string(probes::to_string(outcome.reason))},
                                 {"detail", outcome.detail}});
  };
  auto o = readback_options_for(d, request.imap_tls);
  if (auto refused = co_await attach_imap_secret(d, request.imap_token, o)) {
    delivery_outcome outcome;
    outcome.reason = refused->reason;
    outcome.detail = refused->detail;
    finish(outcome);
    co_return;
  }
  auto report = co_await read_back_delivery(d, std::move(o), request.sent);
  if (report.stale_removed > 0) {
    log::info("delivery read-back removed stale probe messages",
              {{"target", t.name}, {"messages", std::to_string(report.stale_removed)}});
  }
  finish(report.outcome);
}

}  // namespace smtp_exporter::exporter
