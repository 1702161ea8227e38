#include "probes/credentials.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace smtp_exporter::probes {
namespace {

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd_(fd) {}
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  ~fd_closer() { ::close(fd_); }

 private:
  int fd_;
};

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

// Returns an error text, or "" with `out` set.
std::string read_secret_file(std::string_view key, const std::string& path, secret_string& out) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return cannot_read(key, path, errno_text(errno));
  const fd_closer closer(fd);

  struct stat info {};
  if (::fstat(fd, &info) != 0) return cannot_read(key, path, errno_text(errno));
  if (!S_ISREG(info.st_mode)) return cannot_read(key, path, "not a regular file");

  // One buffer, allocated once and never grown (a reallocation would leave a copy behind), one
  // byte larger than the cap so an oversized file is told apart from one exactly at it. The file's
  // st_size is not trusted: it changes under a concurrent rotation.
  std::string buffer(max_secret_file_size + 1, '\0');
  std::size_t length = 0;
  while (length < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + length, buffer.size() - length);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      cleanse(buffer);
      return cannot_read(key, path, errno_text(error));
    }
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
  }
  if (length > max_secret_file_size) {
    cleanse(buffer);
    return describe(key, path) + ": secret file too large (over " +
           std::to_string(max_secret_file_size) + " bytes)";
  }

  std::string_view content(buffer.data(), length);
  if (content.ends_with("\r\n")) {
    content.remove_suffix(2);
  } else if (content.ends_with('\n')) {
    content.remove_suffix(1);
  }
  if (content.empty()) {
    cleanse(buffer);
    return describe(key, path) + ": secret file is empty";
  }
  out = secret_string(content);
  cleanse(buffer);
  return {};
}

}  // namespace

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
    result.secret = secret_string(std::string_view(source.inline_password));
  } else {
    result.error = "no password_file, password_env, password or token_file configured";
  }
  return result;
}

}  // namespace smtp_exporter::probes
