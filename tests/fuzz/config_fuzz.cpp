// libFuzzer: config loading over arbitrary text. A config is either loaded or rejected with at
// least one error naming the source; never a crash, hang or secret in an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(bytes), size);
  auto result = smtp_exporter::config::load_string(text, "fuzz.toml");
  if (result.ok() == !result.errors.empty()) std::abort();
  for (const auto& e : result.errors) {
    if (e.rfind("fuzz.toml", 0) != 0) std::abort();
  }
  (void)smtp_exporter::config::parse_duration(text);
  return 0;
}
