// Structured logging (logfmt or JSON, one event per line, on stderr) on top of spdlog.
// Callers pass a message and key/value fields; values are quoted and escaped here, once.
//
// Thread-safety: all functions are safe to call from any thread after setup().
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace smtp_exporter::log {

struct field {
  std::string_view key;
  std::string_view value;
};

// level: debug | info | warn | error; format: logfmt | json. Returns false with `error` set.
bool setup(std::string_view level, std::string_view format, std::string& error);

bool debug_enabled();
void debug(std::string_view msg, std::initializer_list<field> fields = {});
void info(std::string_view msg, std::initializer_list<field> fields = {});
void warn(std::string_view msg, std::initializer_list<field> fields = {});
void error(std::string_view msg, std::initializer_list<field> fields = {});

}  // namespace smtp_exporter::log
