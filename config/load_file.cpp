// Reading the config file, kept apart from parsing so load_string stays free of I/O.
#include <string>

#include "common/bounded_read.hpp"
#include "config/config.hpp"

namespace smtp_exporter::config {

load_result load_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  // 10,000 targets take about 1.2 MB. A FIFO or a device (/dev/zero) is refused without a read.
  // The text may hold an inline password: the reader's buffer is a secret_string, wiped once
  // parsed.
  const bounded_read_result read = read_bounded_file(name, max_config_bytes);
  if (!read.ok()) {
    load_result result;
    result.errors.push_back(
        name + ": cannot read: " +
        (read.failure == read_failure::too_large
             ? "larger than " + std::to_string(max_config_bytes / (1024 * 1024)) + " MiB"
             : read.why(max_config_bytes)));
    return result;
  }
  return load_string(read.text.reveal(), name);
}

}  // namespace smtp_exporter::config
