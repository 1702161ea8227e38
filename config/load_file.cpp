// Reading the config file, kept apart from parsing so load_string stays free of I/O.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace smtp_exporter::config {

load_result load_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  const auto cannot_read = [&name](int error_number) {
    load_result result;
    result.errors.push_back(name + ": cannot read: " + std::strerror(error_number));
    return result;
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(name.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) return cannot_read(errno);
  std::setvbuf(file.get(), nullptr, _IONBF, 0);  // no stdio buffer holding a copy
  // The text may hold an inline password: wipe every copy made here once parsed. Sized from the
  // file up front so that growing does not leave copies behind in freed memory.
  std::string text;
  struct stat info {};
  if (::fstat(::fileno(file.get()), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    text.reserve(std::min<std::size_t>(static_cast<std::size_t>(info.st_size) + 1,
                                       max_config_bytes + 1));
  }
  char buffer[64 * 1024];
  struct wipe_on_exit {
    std::string& text;
    char* buffer;
    std::size_t size;
    ~wipe_on_exit() {
      cleanse(text);
      OPENSSL_cleanse(buffer, size);
    }
  } wipe{text, buffer, sizeof buffer};
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    text.append(buffer, n);
    // 10,000 targets take about 1.2 MB; a path pointing at /dev/zero must not take the memory.
    if (text.size() > max_config_bytes) {
      load_result result;
      result.errors.push_back(name + ": cannot read: larger than " +
                              std::to_string(max_config_bytes / (1024 * 1024)) + " MiB");
      return result;
    }
  }
  // A directory opens fine on Linux; the read is what fails, with EISDIR.
  if (std::ferror(file.get())) return cannot_read(errno);
  return load_string(text, name);
}

}  // namespace smtp_exporter::config
