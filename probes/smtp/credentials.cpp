#include "probes/smtp/credentials.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/bounded_read.hpp"

namespace smtp_exporter::probes {
namespace {

std::string describe(std::string_view key, std::string_view path) {
  std::string s(key);
  s.append(" ").append(path);
  return s;
}

std::string cannot_read(std::string_view key, std::string_view path, std::string_view why) {
  std::string s = "cannot read ";
  s.append(describe(key, path)).append(": ").append(why);
  return s;
}

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

// read_bounded_file refuses FIFOs and devices without
// blocking and stops past the cap; the texts are this file's own (docs/configuration.md).
std::string read_secret_file(std::string_view key, const std::string& path, secret_string& out) {
  const auto read = read_bounded_file(path, max_secret_file_size);
  switch (read.failure) {
    case read_failure::none:
      break;
    case read_failure::not_regular:
      return cannot_read(key, path, "not a regular file");
    case read_failure::read_failed:
      // A directory is not a regular file either.
      if (read.error_number == EISDIR) return cannot_read(key, path, "not a regular file");
      return cannot_read(key, path, errno_text(read.error_number));
    case read_failure::cannot_open:
      return cannot_read(key, path, errno_text(read.error_number));
    case read_failure::too_large:
      return describe(key, path) + ": secret file too large (over " +
             std::to_string(max_secret_file_size) + " bytes)";
  }
  std::string_view content = read.text.reveal();
  if (content.ends_with("\r\n")) {
    content.remove_suffix(2);
  } else if (content.ends_with('\n')) {
    content.remove_suffix(1);
  }
  if (content.empty()) return describe(key, path) + ": secret file is empty";
  out = secret_string(content);
  return {};
}

loaded_credentials load_credentials(const credential_source& source) {
  loaded_credentials result;
  result.username = source.username;

  if (!source.token_file.empty()) {
    result.is_token = true;
    result.error = read_secret_file("token_file", source.token_file, result.secret);
  } else if (!source.password_file.empty()) {
    result.error = read_secret_file("password_file", source.password_file, result.secret);
  } else if (!source.password_env.empty()) {
    // The environment's own copy cannot be wiped; only ours is.
    const char* value = std::getenv(source.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      result.error = "environment variable " + source.password_env + " is not set or empty";
    } else {
      result.secret = secret_string(std::string_view(value));
    }
  } else if (!source.inline_password.empty()) {
    result.secret = secret_string(source.inline_password.reveal());
  } else {
    result.error = "no password_file, password_env, password or token_file configured";
  }
  return result;
}

namespace {

// Never destroyed: a worker stuck in read() on a hung mount must not make exit wait for it.
boost::asio::thread_pool& secret_readers() {
  static auto* pool = new boost::asio::thread_pool(2);
  return *pool;
}

std::atomic<int> pending_secret_reads{0};

// Shared by the waiting probe and the worker; the worker never touches the probe's loop (which
// may be gone by the time a stuck read returns), it only sets `done`.
struct secret_read {
  std::atomic<bool> done{false};
  loaded_credentials result;
};

}  // namespace

boost::asio::awaitable<loaded_credentials> load_credentials_async(
    credential_source source, std::chrono::steady_clock::time_point deadline,
    credentials_reader reader) {
  if (source.token_file.empty() && source.password_file.empty()) {
    co_return load_credentials(source);  // environment or inline: no I/O
  }
  const std::string what = !source.token_file.empty() ? "token_file " + source.token_file
                                                      : "password_file " + source.password_file;
  if (pending_secret_reads.load() >= max_pending_secret_reads) {
    loaded_credentials stuck;
    stuck.username = source.username;
    stuck.error = "cannot read " + what + ": " + std::to_string(max_pending_secret_reads) +
                  " secret reads are still pending (a hung mount?)";
    co_return stuck;
  }
  ++pending_secret_reads;
  auto read = std::make_shared<secret_read>();
  boost::asio::post(secret_readers(), [read, reader, source = std::move(source)] {
    read->result = reader(source);
    --pending_secret_reads;
    read->done.store(true, std::memory_order_release);
  });
  // Poll with a short, growing pause: a read takes microseconds, so the first check usually
  // finds it done; waking the loop from the worker instead would need the loop to outlive it.
  boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
  auto wait = std::chrono::milliseconds(1);
  while (!read->done.load(std::memory_order_acquire)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      loaded_credentials late;
      late.error = "cannot read " + what + ": no answer before the probe's deadline";
      co_return late;
    }
    pause.expires_at(std::min(now + wait, deadline));
    co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    wait = std::min(wait * 2, std::chrono::milliseconds(50));
  }
  co_return std::move(read->result);
}

}  // namespace smtp_exporter::probes
