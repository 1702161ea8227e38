// Reading the config file, kept apart from parsing so load_string stays free of I/O.
#include <chrono>
#include <string>
#include <thread>

#include "common/bounded_read.hpp"
#include "config/config.hpp"

namespace smtp_exporter::config {

namespace {
constexpr int max_config_reads = 5;  // second reads, each compared with the one before
}  // namespace

load_result load_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  // 10,000 targets take about 1.2 MB. A FIFO or a device (/dev/zero) is refused without a read.
  // The text may hold an inline password: the reader's buffer is a secret_string, wiped once
  // parsed.
  // A file rewritten in place while it is read (an editor, `cat > file`, a config-management
  // agent) can be read torn: empty, or half old and half new. Read until two reads agree, a few
  // times at most, so a reload never applies a torn write.
  bounded_read_result read = read_bounded_file(name, max_config_bytes);
  for (int attempt = 0; read.ok() && attempt < max_config_reads; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    bounded_read_result again = read_bounded_file(name, max_config_bytes);
    if (!again.ok() || again.text.reveal() == read.text.reveal()) break;
    if (attempt + 1 == max_config_reads) {
      load_result result;
      result.errors.push_back(name + ": cannot read: the file kept changing while it was read (" +
                              std::to_string(max_config_reads + 1) +
                              " reads 20 ms apart differed); try again once it is written");
      return result;
    }
    read = std::move(again);
  }
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
