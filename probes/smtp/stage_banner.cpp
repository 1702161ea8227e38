// The banner stage: resolve, connect, (implicit TLS), the greeting and EHLO. It always runs: every
// later stage needs its connection. Its phases include the session's closing QUIT.
#include <boost/asio/this_coro.hpp>

#include "common/host_port.hpp"
#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes::detail {
namespace {

constexpr phase banner_phases[] = {phase::resolve, phase::connect, phase::banner, phase::ehlo,
                                   phase::quit};

constexpr failure_reason banner_reasons[] = {
    failure_reason::banner_timeout, failure_reason::banner_rejected,
    failure_reason::banner_tempfail, failure_reason::ehlo_rejected};

bool wanted(const session_run&) { return true; }
bool applies(const session_options&) { return true; }

asio::awaitable<bool> resolve_and_connect(session_run& run, asio::ip::tcp::endpoint& endpoint) {
  const auto& o = run.options;
  auto t = clock::now();
  auto resolved = co_await run.resolver.resolve(o.host, o.port, run.deadline);
  std::string why = resolved.ok() ? std::string() : resolved.error.empty() ? "no address" : resolved.error;
  if (resolved.ok() && o.ip_protocol != 0) {
    const bool want_v6 = o.ip_protocol == 6;
    std::erase_if(resolved.endpoints, [&](const auto& e) { return e.address().is_v6() != want_v6; });
    if (resolved.endpoints.empty()) why = "no IPv" + std::to_string(o.ip_protocol) + " address";
  }
  if (why.empty() && o.address_allowed) {
    std::erase_if(resolved.endpoints, [&](const auto& e) { return !o.address_allowed(e.address()); });
    if (resolved.endpoints.empty()) why = "no address the allow-list permits";
  }
  if (!why.empty()) {
    // c-ares opens sockets too: out of descriptors, the resolve fails through no fault of DNS.
    verdict v = descriptors_exhausted_now() ? on_descriptors_exhausted(phase::resolve)
                                            : on_resolve_failure(o.host, why, o.timeout);
    run.note("* " + v.detail);
    run.phase_done(phase::resolve, t, false, v.detail);
    run.fail(probe_kind::banner, std::move(v));
    co_return false;
  }
  std::string addresses;
  for (const auto& e : resolved.endpoints) {
    if (!addresses.empty()) addresses += ", ";
    addresses += e.address().to_string();
  }
  run.note("* resolved " + o.host + " to " + addresses);
  run.phase_done(phase::resolve, t, true, addresses);

  run.connection = std::make_shared<smtp_connection>(co_await asio::this_coro::executor);
  run.connection->set_deadline(run.deadline);
  t = clock::now();
  asio::ip::tcp::endpoint connected;
  const error_code ec = co_await run.connection->connect(resolved.endpoints, connected);
  if (ec) {
    const std::string peer = run.peer();
    const std::string library = ec.message();
    const bool expired = run.connection->deadline_expired();
    const icmp_report& icmp = run.connection->last_icmp();
    net_error e = classify_connect(ec, expired, icmp);
    // A socket that could not be opened may read as something else: ask whether a descriptor
    // could be had at all.
    if (!expired && e != net_error::refused && e != net_error::unreachable &&
        e != net_error::prohibited && descriptors_exhausted_now()) {
      e = net_error::no_descriptors;
    }
    verdict v = on_connect_failure(e, {peer, o.timeout, library, &icmp});
    run.note("* " + v.detail);
    run.phase_done(phase::connect, t, false, v.detail);
    run.fail(probe_kind::banner, std::move(v));
    co_return false;
  }
  endpoint = connected;
  co_return true;
}

asio::awaitable<bool> run_banner(session_run& run) {
  asio::ip::tcp::endpoint endpoint;
  auto t = clock::now();
  if (!co_await resolve_and_connect(run, endpoint)) co_return false;
  run.connection_usable = true;
  // host_port: an IPv6 address in brackets, so that its port reads apart from it.
  run.result.peer_address = host_port(endpoint.address().to_string(), endpoint.port());
  run.result.ip_protocol = endpoint.address().is_v6() ? 6 : 4;
  run.note("* connected to " + run.result.peer_address);
  run.phase_done(phase::connect, t, true, run.result.peer_address);
  {
    error_code ignored;
    run.connection->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  // Implicit TLS: the greeting comes inside TLS.
  if (run.options.mode == transport::implicit_tls) {
    if (!co_await tls_handshake(run, probe_kind::banner)) co_return false;
  }

  smtp_reply reply;
  t = clock::now();
  if (!co_await run.read_reply_in(phase::banner, probe_kind::banner, reply)) {
    run.phase_done(phase::banner, t, false, run.result.detail);
    co_return false;
  }
  if (!reply.lines.empty()) {
    // The last line, when a refusal ends a "220-" preamble.
    run.result.greeting = printable_excerpt(reply.deciding_line(), max_greeting_chars);
  }
  verdict v = on_reply(smtp_step::greeting, reply.code, reply.enhanced_code, reply.text());
  run.phase_done(phase::banner, t, v.ok(), std::to_string(reply.code) + " " + run.result.greeting);
  if (!v.ok()) {
    run.fail(probe_kind::banner, std::move(v));
    co_return false;
  }
  // With implicit TLS there is no STARTTLS reply: the greeting inside TLS decides the tls probe.
  if (run.options.mode == transport::implicit_tls) run.tls_reply_code = reply.code;

  if (!co_await run.ehlo(probe_kind::banner)) co_return false;
  run.succeed(probe_kind::banner, v);
  co_return true;
}

}  // namespace

extern constinit const stage banner_stage{
    {probe_kind::banner, banner_phases, "connect, greeting (220) and EHLO", banner_reasons,
     "greeting", applies},
    wanted, run_banner};

}  // namespace smtp_exporter::probes::detail
