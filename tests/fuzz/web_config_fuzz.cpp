// The web config parser (yaml-cpp underneath) on arbitrary bytes: an error list or a config,
// never a crash, a hang or an exception out of it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/web_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto result = smtp_exporter::config::parse_web_config(text, "fuzz.yml");
  if (!result.config && result.errors.empty()) __builtin_trap();  // an error must say why
  return 0;
}
