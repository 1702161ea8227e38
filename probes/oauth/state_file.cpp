#include "probes/oauth/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/bounded_read.hpp"
#include "probes/oauth/json_wipe.hpp"

namespace smtp_exporter::probes::oauth {

namespace json = boost::json;

namespace {

// One refresh token (Microsoft's are ~1.5 KiB) and a few short fields.
constexpr std::size_t max_state_file_bytes = 64 * 1024;

std::string errno_words(int error_number) { return std::strerror(error_number); }

std::string write_file_atomically(const std::string& path, std::string_view content) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());  // a leftover of a crash; O_EXCL below refuses anything racing us
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot create \"" + temp + "\": " + errno_words(errno);
  std::size_t written = 0;
  std::string failure;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure = "cannot write \"" + temp + "\": " + errno_words(errno);
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (failure.empty() && ::fsync(fd) != 0) {
    failure = "cannot sync \"" + temp + "\": " + errno_words(errno);
  }
  ::close(fd);
  if (failure.empty() && ::rename(temp.c_str(), path.c_str()) != 0) {
    failure = "cannot rename to \"" + path + "\": " + errno_words(errno);
  }
  if (!failure.empty()) {
    ::unlink(temp.c_str());
    return failure;
  }
  // The rename itself survives a crash only once the directory is synced.
  const auto dir = std::filesystem::path(path).parent_path();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace

std::optional<saved_refresh_token> read_state_file(const std::string& path, std::string& error) {
  error.clear();
  auto read = read_bounded_file(path, max_state_file_bytes);
  if (!read.ok()) {
    if (!(read.failure == read_failure::cannot_open && read.error_number == ENOENT)) {
      error = "cannot read state file \"" + path + "\": " + read.why(max_state_file_bytes);
    }
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value value = json::parse(read.text.reveal(), ec);
  if (ec || !value.is_object()) {
    error = "state file \"" + path + "\" ignored: not a JSON object";
    return std::nullopt;
  }
  auto& object = value.as_object();
  const auto* identity = object.if_contains("identity");
  const auto* origin = object.if_contains("origin");
  const auto* saved_at = object.if_contains("saved_at");
  const auto* token = object.if_contains("refresh_token");
  std::optional<saved_refresh_token> out;
  if (!identity || !identity->is_string() || !origin || !origin->is_string() || !saved_at ||
      !saved_at->is_int64() || !token || !token->is_string() || token->as_string().empty()) {
    error = "state file \"" + path + "\" ignored: not a state file of this program";
  } else {
    out.emplace();
    out->identity = std::string(identity->as_string());
    out->origin = std::string(origin->as_string());
    out->saved_at = std::chrono::system_clock::time_point(std::chrono::seconds(saved_at->as_int64()));
    out->refresh_token = secret_string(std::string_view(token->as_string()));
  }
  wipe_string_members(object);
  return out;
}

std::string write_state_file(const std::string& path, const saved_refresh_token& state) {
  json::object object;
  object["identity"] = state.identity;
  object["origin"] = state.origin;
  object["saved_at"] = static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(state.saved_at.time_since_epoch()).count());
  object["refresh_token"] = state.refresh_token.reveal();
  std::string content = json::serialize(object);
  wipe_string_members(object);
  std::string failure = write_file_atomically(path, content);
  cleanse(content);
  return failure;
}

}  // namespace smtp_exporter::probes::oauth
