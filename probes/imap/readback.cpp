#include "probes/imap/readback.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::probes::imap {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// Each IMAP operation gets this long, whatever the arrival deadline: a search started just before
// the deadline still finishes (or fails) in bounded time.
constexpr auto operation_time = std::chrono::seconds(30);

constexpr std::string_view inbox = "INBOX";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// `id` is `trusted` or one of its subdomains ("mx.example.com" under "example.com").
bool under(std::string_view id, std::string_view trusted) {
  if (trusted.empty()) return false;
  if (iequals(id, trusted)) return true;
  return id.size() > trusted.size() + 1 && id[id.size() - trusted.size() - 1] == '.' &&
         iequals(id.substr(id.size() - trusted.size()), trusted);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The mailboxes searched, INBOX first; the Junk mailbox when the server has one.
asio::awaitable<imap_result<std::vector<std::string>>> mailboxes(imap_client& client,
                                                                 const readback_options& options) {
  imap_result<std::vector<std::string>> out;
  auto listed = co_await client.list(clock::now() + operation_time);
  if (!listed.ok()) {
    out.status = listed.status;
    co_return out;
  }
  out.value.emplace_back(inbox);
  if (auto junk = choose_junk_mailbox(listed.value, options.junk_folders)) {
    out.value.push_back(std::move(*junk));
  }
  co_return out;
}

}  // namespace

std::string_view to_string(readback_outcome o) {
  switch (o) {
    case readback_outcome::inbox: return "inbox";
    case readback_outcome::junk: return "junk";
    case readback_outcome::not_found: return "not_found";
    case readback_outcome::imap_failed: return "imap_failed";
  }
  return "unknown";
}

std::string trusted_authserv_id_for(std::string_view host) {
  const bool literal = host.find(':') != std::string_view::npos ||
                       std::all_of(host.begin(), host.end(), [](char c) {
                         return (c >= '0' && c <= '9') || c == '.';
                       });
  if (literal || std::count(host.begin(), host.end(), '.') < 2) return std::string(host);
  return std::string(host.substr(host.find('.') + 1));
}

std::optional<auth_results> trusted_verdict(const std::vector<std::string>& header_values,
                                            std::string_view trusted, std::size_t* untrusted) {
  std::optional<auth_results> found;
  for (const auto& value : header_values) {
    auto parsed = parse_authentication_results(value);
    if (!parsed) continue;
    if (!found && under(parsed->authserv_id, trusted)) {
      found = std::move(parsed);
    } else if (untrusted != nullptr && !under(parsed->authserv_id, trusted)) {
      ++*untrusted;
    }
  }
  return found;
}

asio::awaitable<readback_result> read_back(asio::any_io_executor executor, readback_options options,
                                           std::string probe_id, double accepted_at,
                                           clock::time_point deadline) {
  readback_result out;
  imap_client client(executor, options.imap);
  const auto fail = [&](imap_status status) {
    out.outcome = readback_outcome::imap_failed;
    out.imap = std::move(status);
    return out;
  };
  const auto seconds_since = [](clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  };
  auto step = clock::now();
  auto boxes = co_await mailboxes(client, options);
  out.login_seconds = seconds_since(step);
  if (!boxes.ok()) co_return fail(boxes.status);

  step = clock::now();
  asio::steady_timer timer(executor);
  auto wait = options.first_poll;
  for (;;) {
    timer.expires_at(std::min(clock::now() + wait, deadline));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    ++out.polls;
    for (std::size_t i = 0; i < boxes.value.size(); ++i) {
      const std::string& mailbox = boxes.value[i];
      auto found = co_await client.search_header(mailbox, std::string(probe_header), probe_id,
                                                 clock::now() + operation_time);
      if (!found.ok()) co_return fail(found.status);
      if (found.value.empty()) continue;

      out.search_seconds = seconds_since(step);
      out.seen_at = unix_now();
      out.latency_seconds = std::max(0.0, out.seen_at - accepted_at);
      out.outcome = i == 0 ? readback_outcome::inbox : readback_outcome::junk;
      out.mailbox = mailbox;
      // A named vector: GCC 12 cannot keep a braced list alive across a co_await.
      const std::vector<std::string> fields = {"Authentication-Results", "Date", "Message-ID",
                                               std::string(probe_header)};
      step = clock::now();
      auto headers = co_await client.fetch_headers(mailbox, found.value.front(), fields,
                                                   clock::now() + operation_time);
      out.fetch_seconds = seconds_since(step);
      if (headers.ok()) {
        const std::string trusted = options.trusted_authserv_id.empty()
                                        ? trusted_authserv_id_for(options.imap.host)
                                        : options.trusted_authserv_id;
        out.verdict = trusted_verdict(header_values(headers.value.headers, "Authentication-Results"),
                                      trusted, &out.untrusted_headers);
      } else {
        // Where it landed is known; only the verdict is missing: say so, keep the outcome.
        out.imap = headers.status;
      }
      if (options.delete_after) {
        step = clock::now();
        auto deleted = co_await client.delete_messages(mailbox, found.value,
                                                       clock::now() + operation_time);
        out.delete_seconds = seconds_since(step);
        out.deleted = deleted.ok();
        if (!deleted.ok() && out.imap.ok()) out.imap = deleted;
      }
      co_return out;
    }
    if (clock::now() >= deadline) {
      out.search_seconds = seconds_since(step);
      out.outcome = readback_outcome::not_found;
      co_return out;
    }
    wait = std::min(wait * 2, options.max_poll);
  }
}

verdict readback_verdict(const readback_result& r) {
  switch (r.outcome) {
    case readback_outcome::inbox: return on_readback(readback_finding::inbox, r.mailbox);
    case readback_outcome::junk: return on_readback(readback_finding::junk, r.mailbox);
    case readback_outcome::not_found:
      return on_readback(readback_finding::not_found,
                         "searched INBOX and Junk " + std::to_string(r.polls) + " times");
    case readback_outcome::imap_failed: break;
  }
  readback_finding f = readback_finding::imap_protocol_error;
  switch (r.imap.error) {
    case imap_error::connect_failed: f = readback_finding::imap_connect_failed; break;
    case imap_error::connect_timeout: f = readback_finding::imap_connect_timeout; break;
    case imap_error::tls_certificate: f = readback_finding::imap_tls_certificate; break;
    case imap_error::tls_failed: f = readback_finding::imap_tls_failed; break;
    case imap_error::auth_rejected:
    case imap_error::token_failed: f = readback_finding::imap_auth_rejected; break;
    case imap_error::timeout: f = readback_finding::imap_timeout; break;
    case imap_error::protocol_error:
    case imap_error::none: break;
  }
  return on_readback(f, std::string(imap_error_name(r.imap.error)) + ": " + r.imap.detail);
}

asio::awaitable<imap_result<std::size_t>> remove_stale(
    asio::any_io_executor executor, readback_options options,
    std::chrono::system_clock::time_point older_than, clock::time_point deadline) {
  imap_result<std::size_t> out;
  imap_client client(executor, options.imap);
  auto boxes = co_await mailboxes(client, options);
  if (!boxes.ok()) {
    out.status = boxes.status;
    co_return out;
  }
  for (const auto& mailbox : boxes.value) {
    auto stale = co_await client.search_stale(mailbox, std::string(probe_header), older_than,
                                              deadline);
    if (!stale.ok()) {
      out.status = stale.status;
      co_return out;
    }
    if (stale.value.empty()) continue;
    auto deleted = co_await client.delete_messages(mailbox, stale.value, deadline);
    if (!deleted.ok()) {
      out.status = deleted;
      co_return out;
    }
    out.value += stale.value.size();
  }
  co_return out;
}

}  // namespace smtp_exporter::probes::imap
