// A credential's state file: the refresh token the provider last rotated to, kept across restarts
// (Microsoft rotates refresh tokens and may refuse the old one once a new one is used).
//
// Format: one JSON object {"identity", "origin", "saved_at", "refresh_token"}, mode 0600, written
// atomically (temp file beside it created with mode 0600, fsync, rename, fsync of the directory),
// so a crash leaves the old file or the new one, never half of one, and no other user can ever
// read the token. Which token wins at start-up is the cache's decision (token_cache.hpp).
//
// Thread-safety: pure functions of the file system; blocking (small local files).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/secret.hpp"

namespace smtp_exporter::probes::oauth {

struct saved_refresh_token {
  std::string identity;  // the credential without its refresh token (token_cache.cpp)
  std::string origin;    // SHA-256 prefix of the configured refresh token it descends from
  std::chrono::system_clock::time_point saved_at;
  secret_string refresh_token;
};

// nullopt with `error` empty: there is no such file. nullopt with `error` set: unreadable, or not
// a state file of this program (the words name the path, never the token).
std::optional<saved_refresh_token> read_state_file(const std::string& path, std::string& error);

// Empty on success, else the failing step's words with the path, e.g.
// "cannot create \"/var/lib/x/state.json.tmp\": Permission denied".
std::string write_state_file(const std::string& path, const saved_refresh_token& state);

}  // namespace smtp_exporter::probes::oauth
