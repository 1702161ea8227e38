// probes/oauth against tests/peers/token_endpoint.py: a scripted HTTPS token endpoint on
// loopback with the test's own PKI. The client and cache run in-process on a test io_context;
// the endpoint's request log (one JSON line per request) counts what reached it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "probes/oauth/jwt.hpp"
#include "probes/oauth/token_cache.hpp"
#include "probes/oauth/token_client.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/token_endpoint.hpp"

namespace smtp_exporter::probes::oauth {
// A failing comparison prints the class's name, not its byte.
void PrintTo(token_error error, std::ostream* os) { *os << token_error_name(error); }
}  // namespace smtp_exporter::probes::oauth

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace oauth = smtp_exporter::probes::oauth;
using oauth::token_error;
using smtp_exporter::secret_string;
using clock_type = std::chrono::steady_clock;

// Canaries: if any of these shows up in an error text, a secret leaked.
constexpr std::string_view canary_secret = "CANARY-SECRET-5d1f9c";
constexpr std::string_view canary_refresh = "CANARY-REFRESH-a83e21";


// The state file is written on a writer thread: waits (up to 5 s) until `n` writes finished.
void wait_for_state_writes(const oauth::token_source& source, std::uint64_t n) {
  const auto end = clock_type::now() + std::chrono::seconds(5);
  while (source.counters().state_writes < n && clock_type::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

asio::awaitable<void> sleep_for(clock_type::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

oauth::token_form canary_form() {
  oauth::token_form form;
  form.grant = oauth::grant_kind::refresh_token;
  form.client_id = "client-1";
  form.client_secret = secret_string(canary_secret);
  form.refresh_token = secret_string(canary_refresh);
  form.scope = "https://outlook.office.com/SMTP.Send offline_access";
  return form;
}

oauth::credential canary_credential(const std::string& url, const test_pki& pki) {
  oauth::credential c;
  c.flow = oauth::grant_kind::refresh_token;
  c.token_url = url;
  c.client_id = "client-1";
  c.client_secret = secret_string(canary_secret);
  c.refresh_token = secret_string(canary_refresh);
  c.scope = "https://outlook.office.com/SMTP.Send offline_access";
  c.ca_file = pki.root_file.string();
  return c;
}

void expect_no_canary(const std::string& text) {
  EXPECT_EQ(text.find("CANARY"), std::string::npos) << text;
  EXPECT_EQ(text.find("5d1f9c"), std::string::npos) << text;
  EXPECT_EQ(text.find("a83e21"), std::string::npos) << text;
}

std::shared_ptr<asio::ssl::context> trust(const fs::path& ca_file) {
  std::string error;
  auto context = smtp_exporter::probes::make_client_context({ca_file.string(), {}, {}}, error);
  EXPECT_TRUE(context) << error;
  return context;
}

oauth::token_response request(asio::io_context& io, const std::string& url,
                              asio::ssl::context& context,
                              clock_type::duration timeout = std::chrono::seconds(5),
                              oauth::token_timing* timing = nullptr) {
  const auto form = canary_form();
  return run(io, oauth::request_token(url, form, context, timeout, timing));
}

struct endpoint_case {
  const char* mode;
  token_error error;
  int http_status;
  const char* provider_code;
  const char* detail;  // a part of describe()
};
void PrintTo(const endpoint_case& c, std::ostream* os) { *os << c.mode; }

class oauth_endpoint_answers : public testing::TestWithParam<endpoint_case> {};

TEST_P(oauth_endpoint_answers, are_classified_without_leaking_a_secret) {
  const auto& c = GetParam();
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":")" + std::string(c.mode) + R"("})");
  ASSERT_NE(endpoint.port(), 0);
  asio::io_context io;
  auto context = trust(pki.root_file);
  const auto started = clock_type::now();
  const auto r = request(io, endpoint.url(), *context, std::chrono::milliseconds(800));
  const auto elapsed = clock_type::now() - started;
  EXPECT_EQ(oauth::token_error_name(r.error), oauth::token_error_name(c.error));
  EXPECT_EQ(r.http_status, c.http_status);
  EXPECT_EQ(r.provider_code, c.provider_code);
  const std::string text = oauth::describe(r);
  EXPECT_NE(text.find(c.detail), std::string::npos) << text;
  expect_no_canary(text);
  expect_no_canary(r.description);
  EXPECT_LT(elapsed, std::chrono::seconds(3));  // the hang is cut at the 800 ms deadline
  EXPECT_EQ(endpoint.count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    oauth, oauth_endpoint_answers,
    testing::Values(
        endpoint_case{"ok", token_error::none, 200, "", "none"},
        endpoint_case{"invalid_grant", token_error::invalid_grant, 400, "AADSTS700082",
                      "invalid_grant: token endpoint answered HTTP 400 (AADSTS700082: The refresh "
                      "token has expired due to inactivity.)"},
        endpoint_case{"invalid_client", token_error::invalid_client, 401, "AADSTS7000215",
                      "(AADSTS7000215: Invalid client secret provided.)"},
        endpoint_case{"unauthorized_client", token_error::unauthorized_client, 400,
                      "unauthorized_client", "unauthorized_client: token endpoint answered HTTP 400"},
        endpoint_case{"invalid_scope", token_error::invalid_scope, 400, "invalid_scope",
                      "invalid_scope"},
        endpoint_case{"status500", token_error::http_error, 500, "",
                      "http_error: token endpoint answered HTTP 500"},
        endpoint_case{"malformed", token_error::malformed_response, 200, "",
                      "(the answer is not a JSON object)"},
        endpoint_case{"no_expires", token_error::malformed_response, 200, "",
                      "no usable expires_in"},
        endpoint_case{"huge", token_error::body_too_large, 200, "",
                      "(the answer is larger than 65536 bytes)"},
        endpoint_case{"redirect", token_error::redirect, 302, "",
                      "redirect: token endpoint answered HTTP 302"},
        endpoint_case{"hang", token_error::timeout, 0, "", "timeout: no answer"},
        endpoint_case{"echo_secrets", token_error::http_error, 400, "invalid_request",
                      "[redacted]"}));

TEST(oauth_token, success_carries_the_token_and_its_lifetime) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","expires_in":3599})");
  asio::io_context io;
  auto context = trust(pki.root_file);
  const auto r = request(io, endpoint.url(), *context);
  ASSERT_TRUE(r.ok()) << oauth::describe(r);
  EXPECT_EQ(r.access_token.reveal(), "at-1");
  EXPECT_EQ(r.expires_in, std::chrono::seconds(3599));
  EXPECT_EQ(r.token_type, "Bearer");
  EXPECT_EQ(r.scope, "https://outlook.office.com/SMTP.Send offline_access");
  const auto sent = endpoint.requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("grant").as_string(), "refresh_token");
}

TEST(oauth_token, plain_http_is_refused_before_any_packet) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok"})");
  asio::io_context io;
  auto context = trust(pki.root_file);
  const auto r = request(io, "http://127.0.0.1:" + std::to_string(endpoint.port()) + "/token",
                         *context);
  EXPECT_EQ(r.error, token_error::not_https);
  EXPECT_EQ(oauth::describe(r),
            "not_https: no answer from the token endpoint (the token URL is not "
            "https://host[:port]/path)");
  EXPECT_EQ(endpoint.count(), 0u);
  // Not even a TCP connection: the endpoint logs every handshake it sees.
  EXPECT_EQ(endpoint.log().find("handshake"), std::string::npos) << endpoint.log();
}

TEST(oauth_token, certificate_and_host_name_are_verified) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  test_pki other(dir.path() / "other");
  token_endpoint good(dir, pki.valid, R"({"mode":"ok"})");
  token_endpoint wrong_name(dir, pki.wrong_host, R"({"mode":"ok"})");
  asio::io_context io;
  auto untrusted = trust(other.root_file);
  auto trusted = trust(pki.root_file);

  const auto r1 = request(io, good.url(), *untrusted);
  EXPECT_EQ(r1.error, token_error::unreachable);
  EXPECT_NE(r1.description.find("certificate not trusted"), std::string::npos) << r1.description;
  const auto r2 = request(io, wrong_name.url(), *trusted);
  EXPECT_EQ(r2.error, token_error::unreachable);
  EXPECT_NE(r2.description.find("TLS handshake"), std::string::npos) << r2.description;
  const auto r3 = request(io, "https://127.0.0.1:" + std::to_string(unused_port()) + "/t", *trusted);
  EXPECT_EQ(r3.error, token_error::unreachable);
  EXPECT_NE(r3.description.find("connect 127.0.0.1:"), std::string::npos) << r3.description;
  EXPECT_EQ(good.count() + wrong_name.count(), 0u);  // no form was ever sent
  expect_no_canary(oauth::describe(r1) + oauth::describe(r2) + oauth::describe(r3));
}

TEST(oauth_token_cache, refreshes_ahead_of_expiry_and_never_makes_a_caller_wait_again) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","expires_in":2})");
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  auto source = cache.source(canary_credential(endpoint.url(), pki));

  struct observation {
    bool ok;
    std::string token;
    clock_type::duration took;
    std::chrono::system_clock::time_point expires_at;
    std::chrono::system_clock::time_point at;
  };
  std::vector<observation> seen;
  run(io, [&]() -> asio::awaitable<int> {
    const auto end = clock_type::now() + std::chrono::seconds(7);
    while (clock_type::now() < end) {
      const auto started = clock_type::now();
      auto r = co_await source->get(started + std::chrono::seconds(5));
      seen.push_back({r.ok(), r.ok() ? std::string(r.access_token->reveal()) : r.detail,
                      clock_type::now() - started, r.expires_at, std::chrono::system_clock::now()});
      co_await sleep_for(std::chrono::milliseconds(50));
    }
    co_return 0;
  }());
  ASSERT_GT(seen.size(), 100u);
  std::set<std::string> tokens;
  clock_type::duration slowest_after_first{};
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i].ok) << seen[i].token;
    EXPECT_GT(seen[i].expires_at, seen[i].at) << "an expired token was handed out at call " << i;
    tokens.insert(seen[i].token);
    if (i > 0) slowest_after_first = std::max(slowest_after_first, seen[i].took);
  }
  const auto counters = source->counters();
  // Only the very first call waited for the endpoint; every refresh ran behind the callers.
  EXPECT_EQ(counters.waits, 1u);
  EXPECT_EQ(counters.served_cached, seen.size() - 1);
  // A 2 s token is refreshed at half its lifetime: ~7 requests in 7 s, however many calls.
  const auto requests = endpoint.count();
  EXPECT_GE(requests, 5u);
  EXPECT_LE(requests, 9u);
  EXPECT_EQ(tokens.size(), requests);
  EXPECT_EQ(counters.requests[0], requests);
  EXPECT_EQ(counters.total_requests(), requests);
  std::printf("[ measured ] %zu calls over 7 s with expires_in=2: %zu token requests; slowest "
              "call after the first %.3f ms\n",
              seen.size(), requests,
              std::chrono::duration<double, std::milli>(slowest_after_first).count());
}

TEST(oauth_token_cache, one_request_however_many_concurrent_users) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","expires_in":3600,"delay_ms":300})");
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  // Every target holding the same credential gets the same source.
  std::vector<std::shared_ptr<oauth::token_source>> sources;
  constexpr int users = 1000;
  for (int i = 0; i < users; ++i) sources.push_back(cache.source(canary_credential(endpoint.url(), pki)));
  EXPECT_EQ(cache.size(), 1u);
  std::vector<std::shared_ptr<const secret_string>> tokens;
  int done = 0;
  for (int i = 0; i < users; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      auto r = co_await sources[i]->get(clock_type::now() + std::chrono::seconds(5));
      EXPECT_TRUE(r.ok()) << r.detail;
      tokens.push_back(r.access_token);
      ++done;
    }, asio::detached);
  }
  io.run();
  EXPECT_EQ(done, users);
  EXPECT_EQ(endpoint.count(), 1u);
  EXPECT_TRUE(std::all_of(tokens.begin(), tokens.end(),
                          [&](const auto& t) { return t && t == tokens.front(); }));
  EXPECT_EQ(sources[0]->counters().waits, static_cast<std::uint64_t>(users));
}

TEST(oauth_token_cache, many_users_over_several_token_lifetimes) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","expires_in":3,"delay_ms":100})");
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  constexpr int users = 200;
  const auto end = clock_type::now() + std::chrono::seconds(9);
  std::uint64_t calls = 0, failures = 0;
  for (int i = 0; i < users; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      auto source = cache.source(canary_credential(endpoint.url(), pki));
      co_await sleep_for(std::chrono::milliseconds(i % 50));
      while (clock_type::now() < end) {
        auto r = co_await source->get(clock_type::now() + std::chrono::seconds(2));
        ++calls;
        if (!r.ok()) ++failures;
        co_await sleep_for(std::chrono::milliseconds(100));
      }
    }, asio::detached);
  }
  io.run();
  const auto requests = endpoint.count();
  std::printf("[ measured ] %d users, %llu calls over 9 s (3 lifetimes of a 3 s token): %zu token "
              "requests, %llu failed calls\n",
              users, static_cast<unsigned long long>(calls), requests,
              static_cast<unsigned long long>(failures));
  EXPECT_EQ(failures, 0u);
  EXPECT_GE(requests, 4u);
  EXPECT_LE(requests, 7u);  // one per half lifetime at most (1.5 s), plus the first
}

TEST(oauth_token_cache, failures_back_off_and_callers_get_the_last_error_at_once) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"invalid_grant"})");
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  auto source = cache.source(canary_credential(endpoint.url(), pki));
  auto burst = [&](int n) {
    return run(io, [&, n]() -> asio::awaitable<oauth::token_result> {
      oauth::token_result last;
      for (int i = 0; i < n; ++i) last = co_await source->get(clock_type::now() + std::chrono::seconds(3));
      co_return last;
    }());
  };
  auto r = burst(20);
  EXPECT_EQ(r.error, token_error::invalid_grant);
  EXPECT_NE(r.detail.find("AADSTS700082"), std::string::npos) << r.detail;
  EXPECT_EQ(endpoint.count(), 1u);  // 20 calls, one request: the rest are inside the backoff
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // past d(1) = 400 ms
  burst(5);
  EXPECT_EQ(endpoint.count(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // well inside d(2) = 800 ms
  burst(5);
  EXPECT_EQ(endpoint.count(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // past d(2)
  endpoint.set_script(R"({"mode":"ok"})");
  r = burst(5);
  EXPECT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(endpoint.count(), 3u);
  const auto counters = source->counters();
  EXPECT_EQ(counters.requests[static_cast<std::size_t>(token_error::invalid_grant)], 2u);
  EXPECT_EQ(counters.requests[0], 1u);
  EXPECT_EQ(counters.last_error, token_error::none);
  expect_no_canary(r.detail + counters.last_error_detail);
}

TEST(oauth_token_cache, a_caller_stops_waiting_at_its_own_deadline) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"hang"})");
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());  // request timeout 3 s
  auto source = cache.source(canary_credential(endpoint.url(), pki));
  clock_type::duration took{};
  const auto r = run(io, [&]() -> asio::awaitable<oauth::token_result> {
    const auto started = clock_type::now();
    auto first = co_await source->get(started + std::chrono::milliseconds(300));
    took = clock_type::now() - started;
    co_return first;
  }());
  EXPECT_EQ(r.error, token_error::timeout);
  EXPECT_LT(took, std::chrono::milliseconds(1000));
  // io.run() above also ran the request itself to its own 3 s timeout: one request, counted.
  const auto counters = source->counters();
  EXPECT_EQ(counters.requests[static_cast<std::size_t>(token_error::timeout)], 1u);
  EXPECT_EQ(endpoint.count(), 1u);
}

TEST(oauth_token_cache, rotated_refresh_token_survives_a_restart_through_the_state_file) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(
      dir, pki.valid,
      R"({"mode":"ok","expires_in":2,"rotate":true,"refresh_token":")" + std::string(canary_refresh) + R"("})");
  const auto state_file = dir.path() / "oauth-state.json";
  auto credential = [&](bool with_state) {
    auto c = canary_credential(endpoint.url(), pki);
    if (with_state) c.state_file = state_file.string();
    return c;
  };
  auto get = [&](asio::io_context& io, oauth::token_source& source) {
    return run(io, source.get(clock_type::now() + std::chrono::seconds(3)));
  };
  {
    asio::io_context io;
    oauth::token_cache first(io.get_executor(), quick_cache_options());
    auto source = first.source(credential(true));
    EXPECT_TRUE(get(io, *source).ok());
    // A second refresh inside the same process uses the rotated token from memory.
    std::this_thread::sleep_for(std::chrono::milliseconds(1900));
    EXPECT_TRUE(get(io, *source).ok());
    EXPECT_EQ(source->counters().refresh_token_rotations, 2u);
    wait_for_state_writes(*source, 2);
    EXPECT_EQ(source->counters().state_error, "");
  }
  auto sent = endpoint.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[0].at("refresh_token_ok").as_bool());
  EXPECT_TRUE(sent[1].at("refresh_token_ok").as_bool());
  struct stat st{};
  ASSERT_EQ(::stat(state_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(state_file.string() + ".tmp"));
  {
    std::ifstream in(state_file);
    std::stringstream content;
    content << in.rdbuf();
    EXPECT_NE(content.str().find("rt-2-rotated"), std::string::npos);
    expect_no_canary(content.str());  // the configured token is there only as a hash
  }
  {
    // Restart without the state file: the configured token was used up by the rotation.
    asio::io_context io;
    oauth::token_cache restarted(io.get_executor(), quick_cache_options());
    const auto r = get(io, *restarted.source(credential(false)));
    EXPECT_EQ(r.error, token_error::invalid_grant);
    EXPECT_NE(r.detail.find("AADSTS70000"), std::string::npos) << r.detail;
    expect_no_canary(r.detail);
  }
  {
    // Restart with it: the saved token is preferred, accepted, and rotated again.
    asio::io_context io;
    oauth::token_cache restarted(io.get_executor(), quick_cache_options());
    auto source = restarted.source(credential(true));
    EXPECT_TRUE(source->counters().state_loaded);
    const auto r = get(io, *source);
    EXPECT_TRUE(r.ok()) << r.detail;
    wait_for_state_writes(*source, 1);
  }
  sent = endpoint.requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_FALSE(sent[2].at("refresh_token_ok").as_bool());
  EXPECT_TRUE(sent[3].at("refresh_token_ok").as_bool());
  {
    // A refresh token configured after the state was saved (a new consent) wins over the state.
    auto c = credential(true);
    c.refresh_token = secret_string("rt-new-consent");
    c.refresh_token_updated = std::chrono::system_clock::now() + std::chrono::seconds(5);
    asio::io_context io;
    oauth::token_cache restarted(io.get_executor(), quick_cache_options());
    EXPECT_FALSE(restarted.source(std::move(c))->counters().state_loaded);
    // One configured before it (an old file) does not.
    auto old = credential(true);
    old.refresh_token = secret_string("rt-old-file");
    old.refresh_token_updated = std::chrono::system_clock::now() - std::chrono::hours(1);
    EXPECT_TRUE(restarted.source(std::move(old))->counters().state_loaded);
  }
}

TEST(oauth_token_cache, a_state_file_that_cannot_be_written_is_counted_and_named) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","rotate":true})");
  auto c = canary_credential(endpoint.url(), pki);
  const auto state_file = dir.path() / "no-such-dir" / "state.json";
  c.state_file = state_file.string();
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  auto source = cache.source(std::move(c));
  const auto r = run(io, source->get(clock_type::now() + std::chrono::seconds(3)));
  EXPECT_TRUE(r.ok()) << r.detail;  // the token is good; only keeping the rotation failed
  wait_for_state_writes(*source, 1);
  const auto counters = source->counters();
  EXPECT_EQ(counters.refresh_token_rotations, 1u);
  EXPECT_EQ(counters.state_write_failures, 1u);
  EXPECT_EQ(counters.state_error, "state file: cannot create \"" + state_file.string() +
                                      ".tmp\": No such file or directory");
  expect_no_canary(counters.state_error);
}

TEST(oauth_token_cache, service_account_assertion_is_verified_by_the_endpoint) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  const auto key = smtp_test::make_rsa_key();
  const auto public_key = dir.write("sa.pub.pem", key.public_pem());
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok"})");
  auto expect = [&](const std::string& subject) {
    json::object jwt{{"public_key", public_key.string()},
                     {"issuer", "prober@p.iam.gserviceaccount.com"},
                     {"subject", subject},
                     {"audience", endpoint.url()},
                     {"scope", "https://mail.google.com/"}};
    return json::serialize(json::object{{"mode", "ok"}, {"jwt", jwt}});
  };
  endpoint.set_script(expect("alerts@example.com"));
  json::object key_file{{"type", "service_account"},
                        {"client_email", "prober@p.iam.gserviceaccount.com"},
                        {"private_key", key.private_pem()},
                        {"token_uri", endpoint.url()}};
  const auto key_path = dir.write("sa.json", json::serialize(key_file));
  std::string error;
  auto loaded = oauth::load_service_account_key(key_path.string(), error);
  ASSERT_TRUE(loaded) << error;

  auto credential = [&](const std::string& subject) {
    oauth::credential c;
    c.flow = oauth::grant_kind::jwt_bearer;
    c.service_account = std::make_shared<oauth::service_account_key>(std::move(*oauth::load_service_account_key(key_path.string(), error)));
    c.subject = subject;
    c.scope = "https://mail.google.com/";
    c.ca_file = pki.root_file.string();
    return c;
  };
  asio::io_context io;
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  const auto good = run(io, cache.source(credential("alerts@example.com"))->get(clock_type::now() + std::chrono::seconds(3)));
  EXPECT_TRUE(good.ok()) << good.detail << "\n" << endpoint.log();
  // The endpoint expects another mailbox: the same key, another sub, is refused.
  endpoint.set_script(expect("someone@example.com"));
  const auto bad = run(io, cache.source(credential("alerts@example.com.evil"))->get(clock_type::now() + std::chrono::seconds(3)));
  EXPECT_EQ(bad.error, token_error::invalid_grant);
  EXPECT_NE(bad.detail.find("Invalid JWT: sub"), std::string::npos) << bad.detail;
  const auto sent = endpoint.requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].at("grant").as_string(), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  EXPECT_EQ(sent[0].at("result").as_string(), "ok");
  EXPECT_EQ(cache.size(), 2u);
}

TEST(oauth_token, token_step_latency_against_the_local_endpoint) {
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok"})");
  asio::io_context io;
  auto context = trust(pki.root_file);
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    oauth::token_timing timing;
    const auto r = request(io, endpoint.url(), *context, std::chrono::seconds(5), &timing);
    ASSERT_TRUE(r.ok());
    ms.push_back(std::chrono::duration<double, std::milli>(timing.total).count());
  }
  std::sort(ms.begin(), ms.end());
  // A cached token: what a probe pays when the cache answers.
  oauth::token_cache cache(io.get_executor(), quick_cache_options());
  auto source = cache.source(canary_credential(endpoint.url(), pki));
  run(io, source->get(clock_type::now() + std::chrono::seconds(3)));
  constexpr int cached_calls = 100000;
  const auto started = clock_type::now();
  run(io, [&]() -> asio::awaitable<int> {
    for (int i = 0; i < cached_calls; ++i) {
      auto r = co_await source->get(clock_type::now() + std::chrono::seconds(3));
      if (!r.ok()) co_return 1;
    }
    co_return 0;
  }());
  const double cached_ns =
      std::chrono::duration<double, std::nano>(clock_type::now() - started).count() / cached_calls;
  std::printf("[ measured ] token request (TLS handshake + POST + answer) against the local "
              "endpoint: median %.1f ms, max %.1f ms over 20; cached get(): %.0f ns\n",
              ms[ms.size() / 2], ms.back(), cached_ns);
  EXPECT_LT(ms[ms.size() / 2], 500.0);
  EXPECT_LT(cached_ns, 100000.0);  // far below anything a probe could measure
}

}  // namespace
}  // namespace smtp_test
