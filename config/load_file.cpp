// Reading the config file, kept apart from parsing so load_string stays free of I/O.
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
  std::string text;
  char buffer[64 * 1024];
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
