#include "probes/oauth/token_cache.hpp"

#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "probes/oauth/state_file.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::probes::oauth {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The first 8 bytes of SHA-256 over the parts (each followed by a NUL), in hex: enough to tell
// credentials apart, useless for recovering a secret.
std::string digest_prefix(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx, part.data(), part.size()) == 1 &&
         EVP_DigestUpdate(ctx, "", 1) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, digest, &length) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8 && i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

std::string token_url_of(const credential& c) {
  if (!c.token_url.empty() || !c.service_account) return c.token_url;
  return c.service_account->token_uri;
}

// Everything but the refresh token: what a state file must match to be this credential's.
std::string identity_of(const credential& c) {
  const std::string_view client =
      c.flow == grant_kind::jwt_bearer && c.service_account ? std::string_view(c.service_account->client_email)
                                                            : std::string_view(c.client_id);
  const std::string_view key =
      c.service_account ? c.service_account->private_key.reveal() : std::string_view{};
  return std::string(grant_kind_name(c.flow)) + "|" + token_url_of(c) + "|" + std::string(client) +
         "|" + c.scope + "|" + c.subject + "|" + digest_prefix({c.client_secret.reveal(), key});
}

std::string origin_of(const credential& c) {
  return c.refresh_token.empty() ? "-" : digest_prefix({c.refresh_token.reveal()});
}

}  // namespace

std::string credential_key(const credential& c) { return identity_of(c) + "|" + origin_of(c); }

refresh_schedule schedule_for(std::chrono::seconds lifetime, const token_cache_options& options) {
  using duration = std::chrono::steady_clock::duration;
  const auto whole = std::chrono::duration_cast<duration>(lifetime);
  const auto early = std::min<duration>(
      std::chrono::duration_cast<duration>(whole * options.refresh_fraction),
      whole - std::chrono::duration_cast<duration>(options.refresh_lead));
  // Never before half the lifetime: a short-lived token is not fetched on every call.
  const auto refresh_after = std::max<duration>(whole / 2, early);
  // A probe never starts with a token about to die mid-session.
  const auto safety = std::min<duration>(30s, whole / 10);
  return {refresh_after, whole - safety};
}

std::uint64_t token_counters::total_requests() const {
  std::uint64_t total = 0;
  for (auto n : requests) total += n;
  return total;
}

// One request in flight and the timers of the get() calls waiting for it.
struct token_source::in_flight {
  bool finished = false;
  std::vector<asio::steady_timer*> waiters;
};

token_source::token_source(asio::any_io_executor executor, credential c,
                           token_cache_options options,
                           std::shared_ptr<asio::ssl::context> context, std::string context_error)
    : executor_(std::move(executor)),
      credential_(std::move(c)),
      options_(options),
      context_(std::move(context)),
      context_error_(std::move(context_error)),
      key_(credential_key(credential_)),
      origin_(origin_of(credential_)),
      refresh_token_(credential_.refresh_token.reveal()),
      jitter_state_(std::random_device{}() | 1) {
  load_state();
}

token_counters token_source::counters() const {
  std::lock_guard lock(counters_mutex_);
  return counters_;
}

token_result token_source::current_result() const {
  token_result out;
  out.access_token = token_;
  std::lock_guard lock(counters_mutex_);
  out.expires_at = counters_.expiry;
  return out;
}

asio::awaitable<token_result> token_source::get(clock::time_point deadline) {
  const auto now = clock::now();
  if (token_ && now < usable_until_) {
    if (now >= refresh_at_ && !in_flight_ && now >= next_attempt_) start_fetch();
    {
      std::lock_guard lock(counters_mutex_);
      ++counters_.served_cached;
    }
    co_return current_result();
  }
  if (!in_flight_) {
    if (failures_ > 0 && now < next_attempt_) co_return last_failure_;
    start_fetch();
  }
  auto signal = in_flight_;
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.waits;
  }
  // Registered before the wait starts, with no suspension in between: fetch() cancels every
  // registered timer when it ends, so no waiter can miss the end of the request.
  asio::steady_timer timer(executor_, deadline);
  signal->waiters.push_back(&timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(signal->waiters, &timer);
  if (!signal->finished) {
    token_result out;
    out.error = token_error::timeout;
    out.detail = "timeout: the token request did not finish within the probe's deadline";
    co_return out;
  }
  if (token_ && clock::now() < usable_until_) co_return current_result();
  co_return last_failure_;
}

void token_source::start_fetch() {
  in_flight_ = std::make_shared<in_flight>();
  asio::co_spawn(executor_, fetch(in_flight_), asio::detached);
}

bool token_source::build_form(token_form& form, std::string& error) {
  form.grant = credential_.flow;
  form.client_id = credential_.client_id;
  form.client_secret = secret_string(credential_.client_secret.reveal());
  form.scope = credential_.scope;
  switch (credential_.flow) {
    case grant_kind::refresh_token:
      form.refresh_token = secret_string(refresh_token_.reveal());
      return true;
    case grant_kind::client_credentials:
      return true;
    case grant_kind::jwt_bearer: {
      if (!credential_.service_account) {
        error = "no service account key";
        return false;
      }
      jwt_claims claims;
      claims.issuer = credential_.service_account->client_email;
      claims.subject = credential_.subject;
      claims.audience = credential_.service_account->token_uri;
      claims.scope = credential_.scope;
      claims.issued_at = std::chrono::system_clock::now();
      auto assertion =
          sign_rs256_assertion(claims, credential_.service_account->private_key.reveal(), error);
      if (!assertion) return false;
      form.assertion = std::move(*assertion);
      // Google wants no client_id with the JWT grant: the assertion names the client.
      form.client_id.clear();
      return true;
    }
  }
  return false;
}

asio::awaitable<void> token_source::fetch(std::shared_ptr<in_flight> signal) {
  auto self = shared_from_this();  // the source outlives its request even if the cache drops it
  token_response response;
  token_timing timing;
  try {
    token_form form;
    std::string form_error;
    if (!context_) {
      response.error = token_error::unreachable;
      response.description = context_error_;
    } else if (!build_form(form, form_error)) {
      // The local half of the client's credentials is unusable: the provider would say the same.
      response.error = token_error::invalid_client;
      response.description = "cannot sign the assertion: " + form_error;
    } else {
      response = co_await request_token(token_url_of(credential_), form, *context_,
                                        options_.request_timeout, &timing);
    }
  } catch (const std::exception& e) {
    response = token_response{};
    response.error = token_error::unreachable;
    response.description = std::string("unexpected failure: ") + e.what();
  }

  const auto now = clock::now();
  const auto system_now = std::chrono::system_clock::now();
  bool rotated = false;
  if (response.ok()) {
    const auto schedule = schedule_for(response.expires_in, options_);
    token_ = std::make_shared<const secret_string>(std::move(response.access_token));
    refresh_at_ = now + schedule.refresh_after;
    usable_until_ = now + schedule.usable_for;
    failures_ = 0;
    next_attempt_ = {};
    last_failure_ = {};
    if (!response.refresh_token.empty() &&
        response.refresh_token.reveal() != refresh_token_.reveal()) {
      refresh_token_ = std::move(response.refresh_token);
      rotated = true;
    }
  } else {
    ++failures_;
    next_attempt_ = now + backoff_delay();
    last_failure_ = token_result{};
    last_failure_.error = response.error;
    last_failure_.detail = describe(response);
  }
  {
    std::lock_guard lock(counters_mutex_);
    ++counters_.requests[static_cast<std::size_t>(response.error)];
    counters_.last_request_duration = timing.total;
    counters_.last_error = response.error;
    counters_.last_error_detail = response.ok() ? std::string{} : last_failure_.detail;
    if (response.ok()) {
      counters_.expiry = system_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                          response.expires_in);
    }
    if (rotated) ++counters_.refresh_token_rotations;
  }
  if (rotated) save_state();

  signal->finished = true;
  for (auto* waiter : signal->waiters) waiter->cancel();
  if (in_flight_ == signal) in_flight_.reset();
}

token_source::clock::duration token_source::backoff_delay() {
  auto delay = std::min(options_.backoff_initial, options_.backoff_max);
  for (unsigned i = 1; i < failures_ && delay < options_.backoff_max; ++i) {
    delay = delay > options_.backoff_max / 2 ? options_.backoff_max : delay * 2;
  }
  // xorshift64: cheap, per source, seeded from random_device; the jitter needs no quality beyond
  // "different exporters do not retry in step".
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  const double unit = static_cast<double>(jitter_state_ >> 11) / static_cast<double>(1ULL << 53);
  const double scale = 1.0 - options_.backoff_jitter * unit;
  return std::chrono::duration_cast<clock::duration>(delay * scale);
}

void token_source::load_state() {
  if (credential_.state_file.empty() || credential_.flow != grant_kind::refresh_token) return;
  std::string error;
  auto saved = read_state_file(credential_.state_file, error);
  if (saved && saved->identity != identity_of(credential_)) {
    error = "state file \"" + credential_.state_file +
            "\" ignored: written for another credential (client, endpoint, scope or secret differ)";
    saved.reset();
  }
  // The saved token descends from the configured one (nothing re-consented since), or was saved
  // after the configured one last changed: it is the newer of the two.
  const bool configured_time_known = credential_.refresh_token_updated.time_since_epoch().count() != 0;
  const bool preferred = saved && (saved->origin == origin_ || credential_.refresh_token.empty() ||
                                   (configured_time_known &&
                                    saved->saved_at > credential_.refresh_token_updated));
  if (preferred) refresh_token_ = std::move(saved->refresh_token);
  std::lock_guard lock(counters_mutex_);
  counters_.state_loaded = preferred;
  counters_.state_error = error;
}

namespace {

// One thread, never destroyed, for state file writes: an fsync must not stall the event loop, and
// one thread keeps each credential's writes in order (the newest token is written last).
asio::thread_pool& state_writer() {
  static auto* pool = new asio::thread_pool(1);
  return *pool;
}

}  // namespace

void token_source::save_state() {
  if (credential_.state_file.empty()) return;
  auto state = std::make_shared<saved_refresh_token>(
      saved_refresh_token{identity_of(credential_), origin_, std::chrono::system_clock::now(),
                          secret_string(refresh_token_.reveal())});
  asio::post(state_writer(), [self = shared_from_this(), state] {
    const std::string failure = write_state_file(self->credential_.state_file, *state);
    std::lock_guard lock(self->counters_mutex_);
    ++self->counters_.state_writes;
    if (!failure.empty()) {
      ++self->counters_.state_write_failures;
      self->counters_.state_error = "state file: " + failure;
    }
  });
}

token_cache::token_cache(asio::any_io_executor executor, token_cache_options options)
    : executor_(std::move(executor)), options_(options) {}

std::shared_ptr<token_source> token_cache::source(credential c) {
  const std::string key = credential_key(c);
  std::lock_guard lock(mutex_);
  if (auto it = sources_.find(key); it != sources_.end()) return it->second;
  std::shared_ptr<asio::ssl::context> context;
  std::string context_error;
  if (auto it = contexts_.find(c.ca_file); it != contexts_.end()) {
    context = it->second;
  } else {
    context = make_client_context(tls_context_options{c.ca_file, {}, {}}, context_error);
    if (context) contexts_.emplace(c.ca_file, context);
  }
  auto created = std::make_shared<token_source>(executor_, std::move(c), options_,
                                                std::move(context), std::move(context_error));
  sources_.emplace(key, created);
  return created;
}

std::size_t token_cache::prune_unused() {
  std::lock_guard lock(mutex_);
  return std::erase_if(sources_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

std::size_t token_cache::size() const {
  std::lock_guard lock(mutex_);
  return sources_.size();
}

}  // namespace smtp_exporter::probes::oauth
