// Loads the auth probe's secret at probe time, from wherever the target's config says it lives.
//
// Files are re-read at every call, so a rotated Kubernetes Secret (or a refreshed OAuth token file)
// is picked up by the next probe without a reload. One trailing "\n" or "\r\n" is stripped from a
// file (`kubectl create secret --from-file` and editors leave one); nothing else is. Files are
// capped at 64 KiB and must be regular files (following symlinks, as Kubernetes mounts them): a
// FIFO or device would block the event loop.
//
// Error texts name the file or variable and the cause, never the secret.
//
// Thread-safety: reentrant, except that reading the environment races with a concurrent setenv().
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "common/secret.hpp"

namespace smtp_exporter::probes {

// Exactly one of password_file, password_env, inline_password, token_file is set (config
// validation sees to it); were several set, token_file wins, then password_file, password_env,
// inline_password.
struct credential_source {
  std::string username;
  std::string password_file;
  std::string password_env;     // the variable's name
  shared_secret inline_password;
  std::string token_file;       // XOAUTH2 bearer token
};

struct loaded_credentials {
  std::string username;
  secret_string secret;         // empty unless ok()
  bool is_token = false;        // from token_file: use XOAUTH2
  std::string error;            // e.g. "cannot read password_file /x: No such file or directory"
  bool ok() const { return error.empty(); }
};

inline constexpr std::size_t max_secret_file_size = 64 * 1024;

loaded_credentials load_credentials(const credential_source& source);

// One secret file, by the rules above: "" with `out` set, or the error text naming `key` and
// `path` (e.g. "cannot read client_secret_file /x: No such file or directory"). Blocking.
std::string read_secret_file(std::string_view key, const std::string& path, secret_string& out);

// The same, for the probe loop: a file is read on a small pool of worker threads, never on the
// loop, so a hung NFS or CSI mount stalls only the probes that need it. Gives up at `deadline`
// (the read may go on in its worker; its result is dropped and wiped). With more than
// max_pending_secret_reads reads stuck, fails at once rather than queue without bound.
inline constexpr int max_pending_secret_reads = 64;
// `reader` stands in for load_credentials in tests (a read that hangs).
using credentials_reader = loaded_credentials (*)(const credential_source&);
boost::asio::awaitable<loaded_credentials> load_credentials_async(
    credential_source source, std::chrono::steady_clock::time_point deadline,
    credentials_reader reader = &load_credentials);

}  // namespace smtp_exporter::probes
