#include "exporter/web/web_security.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include <boost/beast/core/string.hpp>

#include "common/secret.hpp"
#include "common/base64.hpp"

namespace smtp_exporter::exporter {

using config::bcrypt_cost;

namespace {

file_stamp stamp_of(const std::string& path) {
  file_stamp s;
  struct stat info {};
  if (path.empty() || ::stat(path.c_str(), &info) != 0) return s;
  s.mtime_ns = static_cast<long long>(info.st_mtim.tv_sec) * 1'000'000'000LL + info.st_mtim.tv_nsec;
  s.size = static_cast<long long>(info.st_size);
  s.inode = static_cast<unsigned long long>(info.st_ino);
  return s;
}

// A bcrypt setting ("$2b$NN$" and a salt) at `cost`; empty if libcrypt cannot make one.
std::string make_setting(int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt,
                       sizeof salt) == nullptr) {
    return {};
  }
  return salt;
}

// A bcrypt hash of a throwaway password at `cost`, for unknown users.
std::string make_dummy_hash(int cost) {
  const std::string salt = make_setting(cost);
  if (salt.empty()) return {};
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn("no user has this password", salt.c_str(), data.get(), sizeof *data);
  return out != nullptr && out[0] == '$' ? std::string(out) : std::string();
}

}  // namespace

std::optional<basic_credentials> parse_basic_authorization(std::string_view value) {
  if (!boost::beast::iequals(value.substr(0, 6), "basic ")) return std::nullopt;
  value.remove_prefix(6);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  auto decoded = smtp_exporter::base64_decode(value);
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    cleanse(*decoded);
    return std::nullopt;
  }
  basic_credentials out{decoded->substr(0, colon), decoded->substr(colon + 1)};
  cleanse(*decoded);
  return out;
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos || hash.empty()) return false;
  std::string phrase(password);  // crypt wants a C string
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  cleanse(phrase);
  bool ok = out != nullptr && std::strlen(out) == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  return ok;
}

std::optional<std::shared_ptr<web_security>> web_security::load(const std::string& path,
                                                                 std::vector<std::string>& errors) {
  std::shared_ptr<web_security> security(new web_security(path));
  auto state = security->build(config::load_web_config(path), errors);
  if (!state) return std::nullopt;
  security->stamps_ = security->stamps(&(*state)->config);
  security->watched_ = (*state)->config;
  security->state_ = std::move(*state);
  return security;
}

std::vector<file_stamp> web_security::stamps(const web_config* config) const {
  std::vector<file_stamp> out{stamp_of(path_)};
  if (config != nullptr && config->tls) {
    out.push_back(stamp_of(config->tls->cert_file));
    out.push_back(stamp_of(config->tls->key_file));
    out.push_back(stamp_of(config->tls->client_ca_file));
  }
  return out;
}

std::optional<std::shared_ptr<const web_state>> web_security::build(
    web_config_result loaded, std::vector<std::string>& errors) const {
  if (!loaded.config) {
    errors = std::move(loaded.errors);
    return std::nullopt;
  }
  auto state = std::make_shared<web_state>();
  state->config = std::move(*loaded.config);
  if (state->config.tls) {
    std::string error;
    state->tls = make_web_tls_context(*state->config.tls, error);
    if (!state->tls) {
      errors.push_back(path_ + ": " + error);
      return std::nullopt;
    }
  }
  int cost = 0;
  int cheapest = 99;
  for (const auto& [user, hash] : state->config.users) {
    cost = std::max(cost, bcrypt_cost(hash));
    cheapest = std::min(cheapest, bcrypt_cost(hash));
  }
  if (cost > 0) {
    state->dummy_hash = make_dummy_hash(cost);
    for (int c = cheapest; c < cost; ++c) state->padding[c] = make_setting(c);
    const bool made = !state->dummy_hash.empty() &&
                      std::none_of(state->padding.begin(), state->padding.end(),
                                   [](const auto& p) { return p.second.empty(); });
    if (!made) {
      errors.push_back(path_ + ": basic_auth_users: libcrypt cannot make a bcrypt hash");
      return std::nullopt;
    }
  }
  if (cheapest < cost) {
    state->cost_warning = path_ + ": basic_auth_users: the bcrypt hashes have different costs (" +
                          std::to_string(cheapest) + " to " + std::to_string(cost) +
                          "); every check now costs a cost-" + std::to_string(cost) +
                          " bcrypt, so that the time does not tell which users exist. Hash them "
                          "all at one cost (htpasswd -nBC " + std::to_string(cost) + ")";
  }
  return std::shared_ptr<const web_state>(std::move(state));
}

std::shared_ptr<const web_state> web_security::current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

web_security::refresh_outcome web_security::refresh() {
  refresh_outcome out;
  auto running = current();
  web_config watched;
  {
    std::lock_guard lock(mutex_);
    watched = watched_;
  }
  auto now = stamps(&watched);
  {
    std::lock_guard lock(mutex_);
    if (now == stamps_) return out;
  }
  out.changed = true;
  // Should this attempt fail, the files to watch are those the file on disk names (perhaps not
  // the running ones: a new certificate path whose file appears later), looked at before they
  // are read, so that one appearing meanwhile is seen the next time.
  auto on_disk = config::load_web_config(path_);
  if (on_disk.config) watched = *on_disk.config;
  auto attempted = stamps(&watched);
  attempted.front() = now.front();
  std::vector<std::string> errors;
  auto built = build(std::move(on_disk), errors);
  if (!built) {
    for (const auto& e : errors) out.message += (out.message.empty() ? "" : "; ") + e;
  } else if (((*built)->tls != nullptr) != (running->tls != nullptr)) {
    out.message = path_ + ": switching TLS on or off needs a restart; keeping the running web config";
  } else {
    // The new config may name other certificate files: watch those from now on.
    auto seen = stamps(&(*built)->config);
    std::lock_guard lock(mutex_);
    stamps_ = std::move(seen);
    watched_ = (*built)->config;
    state_ = std::move(*built);
    successes_.clear();
    out.applied = true;
    out.message = "web configuration reloaded";
    return out;
  }
  // Not applied: do not try again until something changes again.
  std::lock_guard lock(mutex_);
  stamps_ = std::move(attempted);
  watched_ = std::move(watched);
  return out;
}

bool web_security::cached(const web_state& state, std::string_view authorization) {
  std::lock_guard lock(mutex_);
  if (state_.get() != &state) return false;
  return successes_.use(authorization, std::chrono::steady_clock::now());
}

namespace {

struct costed_hash {
  int cost;
  const std::string* hash;
};

// What a check for `user` runs: first the hash that decides (the user's, or the dummy for an
// unknown user), then the padding that brings a cheaper hash's work up to the dearest's
// (2^c + 2^c + 2^(c+1) + ... + 2^(max-1) = 2^max).
std::vector<costed_hash> hashes_of_check(const web_state& state, const std::string& user) {
  const auto it = state.config.users.find(user);
  if (it == state.config.users.end()) return {{bcrypt_cost(state.dummy_hash), &state.dummy_hash}};
  std::vector<costed_hash> out{{bcrypt_cost(it->second), &it->second}};
  for (auto p = state.padding.lower_bound(out.front().cost); p != state.padding.end(); ++p) {
    out.push_back({p->first, &p->second});
  }
  return out;
}

}  // namespace

std::vector<int> bcrypt_costs_of_check(const web_state& state, std::string_view user) {
  std::vector<int> costs;
  for (const auto& h : hashes_of_check(state, std::string(user))) costs.push_back(h.cost);
  return costs;
}

bool web_security::check(const web_state& state, std::string_view authorization) {
  auto credentials = parse_basic_authorization(authorization);
  if (!credentials) {
    // Same work as a wrong password: a malformed header tells nothing either.
    bcrypt_matches("", state.dummy_hash);
    return false;
  }
  // An unknown user costs the same as a known one: the dummy hash decides nothing.
  const bool known = state.config.users.contains(credentials->user);
  bool ok = false;
  bool deciding = true;
  for (const auto& h : hashes_of_check(state, credentials->user)) {
    const bool matched = bcrypt_matches(credentials->password, *h.hash);
    if (deciding) ok = known && matched;
    deciding = false;
  }
  if (ok) {
    // Only for the state it was checked against: a reload meanwhile may have changed the user.
    std::lock_guard lock(mutex_);
    if (state_.get() == &state) successes_.remember(authorization, std::chrono::steady_clock::now());
  }
  cleanse(credentials->password);
  return ok;
}

}  // namespace smtp_exporter::exporter
