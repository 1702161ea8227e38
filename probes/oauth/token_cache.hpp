// The exporter's OAuth 2.0 access tokens: one token_source per credential set, shared by every
// target and /probe module that names the same credential (token_cache hands out the same source
// for the same credential_key).
//
// A source fetches on first need and refreshes ahead of expiry, never once per probe:
// - after a token with lifetime L (expires_in) arrives, it is handed out as is until
//   refresh_after = max(L/2, min(L * refresh_fraction, L - refresh_lead)) (defaults: 80% of L or
//   5 min before expiry, whichever is earlier; never before half the lifetime, so a 2 s token is
//   not fetched on every call); the first get() past that starts one refresh in the background
//   and still returns the current token at once;
// - a token is usable until L - min(30 s, L/10): a probe never starts with a token about to die;
// - with no usable token, get() starts a fetch (unless one is in flight) and waits for it, up to
//   its own deadline. However many callers wait, one request is in flight per credential, and all
//   of them get its outcome.
// Failures back off: the n-th consecutive failure allows the next request only after
//   d(n) = min(backoff_max, backoff_initial * 2^(n-1)), scaled by a random factor in
//   [1 - jitter, 1] (defaults 1 s, 5 min, 0.5), so a revoked grant is retried at most once per
//   5 min and several exporters sharing a client do not retry in step. Meanwhile get() returns the
//   last failure at once (or the current token while it is still usable).
// A refresh token the provider rotates replaces the configured one in memory; with `state_file`
// it is also written there, on a writer thread off the loop (temp file, fsync, rename; mode
// 0600), and read back at start-up when
// newer than the configured one (see credential::refresh_token_updated).
//
// Secrets: client secret, refresh tokens, assertions and access tokens live in secret_string;
// the cache key holds a SHA-256 prefix of the secrets, never their bytes; no error text or counter
// carries one.
//
// Thread-safety: token_cache::source() and token_source::counters() may be called from any
// thread. token_source::get() must run on the cache's executor, and that executor must not run
// handlers concurrently (the exporter's single-threaded io_context, or a strand).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/secret.hpp"
#include "probes/oauth/jwt.hpp"
#include "probes/oauth/token_client.hpp"
#include "probes/oauth/token_response.hpp"

namespace smtp_exporter::probes::oauth {

// One credential set, as config resolves it (files read, presets applied).
struct credential {
  grant_kind flow = grant_kind::refresh_token;
  std::string token_url;  // empty with a service account: its token_uri
  std::string client_id;
  secret_string client_secret;
  secret_string refresh_token;
  // When the configured refresh token last changed (its file's mtime); epoch: unknown (an env
  // variable). A state file saved later than this is preferred.
  std::chrono::system_clock::time_point refresh_token_updated{};
  std::shared_ptr<const service_account_key> service_account;  // jwt_bearer
  std::string subject;  // jwt_bearer: the mailbox (sub)
  std::string scope;
  std::string ca_file;     // empty: the system store
  std::string state_file;  // empty: rotated refresh tokens live in memory only
};

// "refresh_token|https://login…/token|client-id|scope|subject|3f2a…": the identity of a credential
// set; the secrets enter only as a SHA-256 prefix (two credentials differing only by secret are
// two entries, and the key may be logged).
std::string credential_key(const credential& c);

struct token_cache_options {
  std::chrono::steady_clock::duration request_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration backoff_initial = std::chrono::seconds(1);
  std::chrono::steady_clock::duration backoff_max = std::chrono::minutes(5);
  double backoff_jitter = 0.5;  // 0: none (tests)
  double refresh_fraction = 0.8;
  std::chrono::seconds refresh_lead = std::chrono::minutes(5);
};

// When a token of `lifetime` is refreshed and until when it is handed out, both counted from its
// arrival (the rules at the top of this file).
struct refresh_schedule {
  std::chrono::steady_clock::duration refresh_after;
  std::chrono::steady_clock::duration usable_for;
};
refresh_schedule schedule_for(std::chrono::seconds lifetime, const token_cache_options& options);

// What get() hands out. The token is shared, not copied: it stays valid while a probe holds it,
// even after a refresh replaced it.
struct token_result {
  token_error error = token_error::none;
  std::shared_ptr<const secret_string> access_token;  // set when error == none
  std::chrono::system_clock::time_point expires_at{};
  std::string detail;  // describe() of the failure: safe to log and show
  bool ok() const { return error == token_error::none; }
};

// Per credential, for metrics and diagnose (issue 20's smtp_oauth2_token_* families).
struct token_counters {
  std::array<std::uint64_t, token_error_count> requests{};  // by result; [none]: success
  std::uint64_t waits = 0;            // get() calls that waited for a request in flight
  std::uint64_t served_cached = 0;    // get() calls answered from the cache at once
  std::uint64_t refresh_token_rotations = 0;
  token_error last_error = token_error::none;  // of the last request; none after a success
  std::string last_error_detail;
  std::chrono::system_clock::time_point expiry{};  // of the current token; epoch: none
  std::chrono::steady_clock::duration last_request_duration{};
  bool state_loaded = false;             // the refresh token came from state_file at start
  std::uint64_t state_writes = 0;  // finished writes of the state file, whether or not they failed
  std::uint64_t state_write_failures = 0;
  std::string state_error;               // last state file problem (path and errno words)
  std::uint64_t total_requests() const;
};

class token_source : public std::enable_shared_from_this<token_source> {
 public:
  token_source(boost::asio::any_io_executor executor, credential c, token_cache_options options,
               std::shared_ptr<boost::asio::ssl::context> context, std::string context_error);
  token_source(const token_source&) = delete;
  token_source& operator=(const token_source&) = delete;

  // A usable token, or the failure; waits at most until `deadline` (then `timeout`).
  boost::asio::awaitable<token_result> get(std::chrono::steady_clock::time_point deadline);

  token_counters counters() const;
  const std::string& key() const { return key_; }

 private:
  struct in_flight;
  using clock = std::chrono::steady_clock;

  void start_fetch();
  boost::asio::awaitable<void> fetch(std::shared_ptr<in_flight> signal);
  bool build_form(token_form& form, std::string& error);
  void load_state();
  void save_state();
  clock::duration backoff_delay();
  token_result current_result() const;

  boost::asio::any_io_executor executor_;
  credential credential_;
  token_cache_options options_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::string context_error_;
  std::string key_;
  std::string origin_;  // SHA-256 prefix of the configured refresh token (state file's origin)

  // Touched on the executor only.
  secret_string refresh_token_;  // the current one: configured, from state, or rotated
  std::shared_ptr<const secret_string> token_;
  clock::time_point refresh_at_{}, usable_until_{}, next_attempt_{};
  unsigned failures_ = 0;
  token_result last_failure_;
  std::shared_ptr<in_flight> in_flight_;
  std::uint64_t jitter_state_;

  mutable std::mutex counters_mutex_;
  token_counters counters_;
};

class token_cache {
 public:
  explicit token_cache(boost::asio::any_io_executor executor, token_cache_options options = {});

  // The source for this credential set: the existing one when credential_key matches (the
  // argument is then dropped), else a new one. Reads the state file and the CA file (blocking:
  // call at config load, off the event loop).
  std::shared_ptr<token_source> source(credential c);
  // Forgets the sources nobody else holds (a credential a reload removed or changed), so a
  // long-lived exporter keeps only the tokens its config uses. Returns how many it forgot.
  std::size_t prune_unused();
  std::size_t size() const;

 private:
  boost::asio::any_io_executor executor_;
  token_cache_options options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<token_source>> sources_;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> contexts_;  // by ca_file
};

}  // namespace smtp_exporter::probes::oauth
