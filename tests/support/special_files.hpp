// Files a reader must refuse without taking the memory or the thread: a FIFO that nobody writes
// to (with a way to run a reader on it so that a regression fails the test instead of hanging
// it), and a regular file over a size cap that takes no disk (sparse).
//
// Thread-safety: one test at a time per object.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>

namespace smtp_test {

inline std::string unique_temp_path(const std::string& prefix) {
  static std::atomic<int> count{0};
  return (std::filesystem::temp_directory_path() /
          (prefix + std::to_string(::getpid()) + "_" + std::to_string(count++)))
      .string();
}

// A regular file of `size` zero bytes, all of it a hole.
class sparse_file {
 public:
  explicit sparse_file(std::uintmax_t size) : path_(unique_temp_path("sparse_")) {
    { std::ofstream create(path_); }
    std::filesystem::resize_file(path_, size);
  }
  sparse_file(const sparse_file&) = delete;
  sparse_file& operator=(const sparse_file&) = delete;
  ~sparse_file() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class fifo_without_writer {
 public:
  fifo_without_writer() : path_(unique_temp_path("fifo_")) {
    ok_ = ::mkfifo(path_.c_str(), 0600) == 0;
  }
  fifo_without_writer(const fifo_without_writer&) = delete;
  fifo_without_writer& operator=(const fifo_without_writer&) = delete;
  ~fifo_without_writer() { std::filesystem::remove(path_); }

  const std::string& path() const { return path_; }
  bool ok() const { return ok_; }

  // `read()`'s result when it returns within `limit`; nullopt when it blocked (on the open or the
  // read), after releasing it: a writer that opens and closes the FIFO gives the reader its EOF.
  template <class Read>
  auto finishes_within(std::chrono::milliseconds limit, Read read) const
      -> std::optional<decltype(read())> {
    auto result = std::async(std::launch::async, read);
    if (result.wait_for(limit) == std::future_status::ready) return result.get();
    while (result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
    }
    return std::nullopt;
  }

 private:
  std::string path_;
  bool ok_ = false;
};

}  // namespace smtp_test
