// The web configuration at run time: the current web_config with its TLS context, re-read when
// the file or the certificate files change (cert-manager rotating a Secret), and the basic-auth
// check.
//
// Basic auth as the exporter-toolkit does it: bcrypt (libxcrypt's crypt_rn), compared in constant
// time; every check costs the work of one bcrypt at the highest configured cost, whoever it names
// (an unknown user: a dummy hash of that cost; a user whose hash is cheaper: padding bcrypts at
// costs c, c+1, ..., max-1, which add up to it), so that the time does not tell which users exist;
// a success is remembered (credential_cache.hpp: keyed by an HMAC of the header, sliding, bounded,
// forgotten when the web config is re-read), so a scraper costs one bcrypt per web-config load,
// and a flood of wrong passwords that keeps the bcrypt thread busy cannot keep it out.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/web/credential_cache.hpp"
#include "exporter/web/web_tls.hpp"

namespace smtp_exporter::exporter {

// One loaded web configuration; immutable once made.
struct web_state {
  web_config config;
  std::shared_ptr<boost::asio::ssl::context> tls;  // nullptr: plain HTTP
  std::string dummy_hash;  // for unknown users: same cost as the dearest real hash
  // bcrypt settings (salts) at every cost from the cheapest configured one to the dearest minus
  // one, by cost: what pads a cheaper user's check up to the dearest's work.
  std::map<int, std::string> padding;
  // Set at load when the users' costs differ (the check then costs the dearest for everyone).
  std::string cost_warning;
};

// The bcrypt costs one check() runs for `user` (unknown or not): the user's own hash and its
// padding, or the dummy hash. Their work (the sum of 2^cost) is the same for every user.
std::vector<int> bcrypt_costs_of_check(const web_state& state, std::string_view user);

// What the file's and the certificates' stat() said, to notice a change.
struct file_stamp {
  long long mtime_ns = 0;
  long long size = -1;
  unsigned long long inode = 0;
  bool operator==(const file_stamp&) const = default;
};

class web_security {
 public:
  // Loads `path`: the web config, its TLS files. nullopt with errors when anything is wrong.
  static std::optional<std::shared_ptr<web_security>> load(const std::string& path,
                                                           std::vector<std::string>& errors);

  std::shared_ptr<const web_state> current() const;

  struct refresh_outcome {
    bool changed = false;  // something was re-read
    bool applied = false;  // ... and it is in use now
    std::string message;
  };
  // Re-reads the files if any changed since the last look; a bad new file or certificate keeps
  // the running state. Does file I/O: call off the event loop.
  refresh_outcome refresh();

  // Whether `authorization` (the header's value) names a user with the right password. Costs a
  // bcrypt unless remembered: call off the event loop unless cached() said yes.
  bool check(const web_state& state, std::string_view authorization);
  // True when `authorization` matches a success remembered for the current state (cheap: one
  // HMAC); the use keeps it remembered for another success_ttl.
  bool cached(const web_state& state, std::string_view authorization);

  // How long a verified header stays remembered after its last use: longer than any scrape
  // interval, so that a scraper needs no second bcrypt while the web config stays the same.
  static constexpr std::chrono::seconds success_ttl{15 * 60};
  static constexpr std::size_t max_cached = 1024;

 private:
  explicit web_security(std::string path) : path_(std::move(path)) {}
  std::vector<file_stamp> stamps(const web_config* config) const;
  // The state for `loaded` (the file as load_web_config read it): TLS context, bcrypt padding.
  std::optional<std::shared_ptr<const web_state>> build(web_config_result loaded,
                                                        std::vector<std::string>& errors) const;

  std::string path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const web_state> state_;
  std::vector<file_stamp> stamps_;
  // The config whose files stamps_ describes: the running one, or a newer one that failed to
  // apply (it may name certificate files that appear only later).
  web_config watched_;
  credential_cache successes_{success_ttl, max_cached};  // cleared when state_ changes
};

// The user and password of an "Authorization: Basic ..." value; nullopt when it is not one.
struct basic_credentials {
  std::string user;
  std::string password;  // the caller wipes it
};
std::optional<basic_credentials> parse_basic_authorization(std::string_view value);

// bcrypt via libxcrypt: whether `password` hashes to `hash`, compared in constant time.
bool bcrypt_matches(std::string_view password, const std::string& hash);

}  // namespace smtp_exporter::exporter
