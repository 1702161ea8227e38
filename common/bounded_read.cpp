#include "common/bounded_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace smtp_exporter {
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

bounded_read_result failed(read_failure failure, int error_number = 0) {
  bounded_read_result r;
  r.failure = failure;
  r.error_number = error_number;
  return r;
}

}  // namespace

std::string bounded_read_result::why(std::size_t max_bytes) const {
  switch (failure) {
    case read_failure::none:
      return {};
    case read_failure::cannot_open:
    case read_failure::read_failed:
      return std::generic_category().message(error_number);
    case read_failure::not_regular:
      return "not a regular file";
    case read_failure::too_large:
      return "larger than " + std::to_string(max_bytes) + " bytes";
  }
  return "cannot read";
}

bounded_read_result read_bounded_file(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return failed(read_failure::cannot_open, errno);
  const fd_closer closer(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) return failed(read_failure::cannot_open, errno);
  // A directory opens fine on Linux; say what read(2) would say.
  if (S_ISDIR(info.st_mode)) return failed(read_failure::read_failed, EISDIR);
  if (!S_ISREG(info.st_mode)) return failed(read_failure::not_regular);

  // One byte more than the cap tells a file over it apart from one exactly at it. st_size is a
  // hint only (a file may change while read), so the buffer is the cap's size, not the file's,
  // when the file claims more.
  const std::size_t hint = info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 0;
  std::string buffer(std::min(hint, max_bytes) + 1, '\0');
  std::size_t length = 0;
  for (;;) {
    if (length == buffer.size()) {
      if (buffer.size() > max_bytes) break;
      // The file grew past its st_size: grow once to the cap, wiping the old buffer.
      std::string bigger(max_bytes + 1, '\0');
      bigger.replace(0, length, buffer, 0, length);
      cleanse(buffer);
      buffer.swap(bigger);
    }
    const ssize_t n = ::read(fd, buffer.data() + length, buffer.size() - length);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      cleanse(buffer);
      return failed(read_failure::read_failed, error);
    }
    if (n == 0) break;
    length += static_cast<std::size_t>(n);
  }
  if (length > max_bytes) {
    cleanse(buffer);
    return failed(read_failure::too_large);
  }
  bounded_read_result r;
  r.text = secret_string(std::string_view(buffer.data(), length));
  cleanse(buffer);
  return r;
}

}  // namespace smtp_exporter
