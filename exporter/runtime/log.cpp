#include "exporter/runtime/log.hpp"

#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace smtp_exporter::log {

namespace {

bool json_format = false;
std::shared_ptr<spdlog::logger> logger;

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_logfmt_value(std::string& out, std::string_view s) {
  bool needs_quotes = s.empty();
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) needs_quotes = true;
  }
  if (!needs_quotes) {
    out.append(s);
    return;
  }
  append_json_string(out, s);  // logfmt's quoting rules are JSON's for our purposes
}

// Level names as the --log.level flag spells them (spdlog's own %l says "warning").
class level_flag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name = "info";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: name = "debug"; break;
      case spdlog::level::warn: name = "warn"; break;
      case spdlog::level::err:
      case spdlog::level::critical: name = "error"; break;
      default: break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<level_flag>();
  }
};

std::string render(std::string_view msg, std::initializer_list<field> fields) {
  std::string line;
  line.reserve(64 + msg.size());
  if (json_format) {
    line += "\"msg\":";
    append_json_string(line, msg);
    for (const auto& f : fields) {
      line.push_back(',');
      append_json_string(line, f.key);
      line.push_back(':');
      append_json_string(line, f.value);
    }
  } else {
    line += "msg=";
    append_logfmt_value(line, msg);
    for (const auto& f : fields) {
      line.push_back(' ');
      line.append(f.key);
      line.push_back('=');
      append_logfmt_value(line, f.value);
    }
  }
  return line;
}

void emit(spdlog::level::level_enum level, std::string_view msg,
          std::initializer_list<field> fields) {
  if (!logger) {
    std::string ignored;
    setup("info", "logfmt", ignored);
  }
  if (!logger->should_log(level)) return;
  logger->log(level, render(msg, fields));
}

}  // namespace

bool setup(std::string_view level, std::string_view format, std::string& error) {
  spdlog::level::level_enum lvl;
  if (level == "debug") lvl = spdlog::level::debug;
  else if (level == "info") lvl = spdlog::level::info;
  else if (level == "warn") lvl = spdlog::level::warn;
  else if (level == "error") lvl = spdlog::level::err;
  else {
    error = "unknown log level \"" + std::string(level) + "\" (debug, info, warn, error)";
    return false;
  }
  if (format != "logfmt" && format != "json") {
    error = "unknown log format \"" + std::string(format) + "\" (logfmt, json)";
    return false;
  }
  json_format = format == "json";
  logger = std::make_shared<spdlog::logger>("smtp_exporter",
                                            std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(lvl);
  const char* pattern = json_format ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%*",%v})"
                                    : "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%* %v";
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<level_flag>('*').set_pattern(pattern);
  logger->set_formatter(std::move(formatter));
  logger->flush_on(spdlog::level::debug);
  return true;
}

bool debug_enabled() { return logger && logger->should_log(spdlog::level::debug); }
void debug(std::string_view msg, std::initializer_list<field> fields) {
  emit(spdlog::level::debug, msg, fields);
}
void info(std::string_view msg, std::initializer_list<field> fields) {
  emit(spdlog::level::info, msg, fields);
}
void warn(std::string_view msg, std::initializer_list<field> fields) {
  emit(spdlog::level::warn, msg, fields);
}
void error(std::string_view msg, std::initializer_list<field> fields) {
  emit(spdlog::level::err, msg, fields);
}

}  // namespace smtp_exporter::log
