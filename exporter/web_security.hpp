// The web configuration at run time: the current web_config with its TLS context, re-read when
// the file or the certificate files change (cert-manager rotating a Secret), and the basic-auth
// check.
//
// Basic auth as the exporter-toolkit does it: bcrypt (libxcrypt's crypt_rn), compared in constant
// time; an unknown user costs a bcrypt against a dummy hash of the same cost, so that the time
// does not tell which users exist; a success is remembered for a minute (keyed by a SHA-256 of
// user, password and hash), so a scrape every 15 s costs one bcrypt a minute, not four.
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

#include "exporter/web_config.hpp"

namespace smtp_exporter::exporter {

// One loaded web configuration; immutable once made.
struct web_state {
  web_config config;
  std::shared_ptr<boost::asio::ssl::context> tls;  // nullptr: plain HTTP
  std::string dummy_hash;  // for unknown users: same cost as the dearest real hash
};

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
  // True when `authorization` matches a success remembered for the current state (cheap).
  bool cached(const web_state& state, std::string_view authorization);

  static constexpr std::chrono::seconds success_ttl{60};
  static constexpr std::size_t max_cached = 1024;

 private:
  explicit web_security(std::string path) : path_(std::move(path)) {}
  std::vector<file_stamp> stamps(const web_config* config) const;
  std::optional<std::shared_ptr<const web_state>> build(std::vector<std::string>& errors) const;

  std::string path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const web_state> state_;
  std::vector<file_stamp> stamps_;
  // The config whose files stamps_ describes: the running one, or a newer one that failed to
  // apply (it may name certificate files that appear only later).
  web_config watched_;
  std::map<std::string, std::chrono::steady_clock::time_point> successes_;  // key: SHA-256
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
