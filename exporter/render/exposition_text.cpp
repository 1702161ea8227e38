#include "exporter/render/exposition_text.hpp"

#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

#include <prometheus/text_serializer.h>

namespace smtp_exporter::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricType;

void append_series(std::string& out, const std::string& name, const ClientMetric& metric,
                   double value) {
  out += name;
  if (!metric.label.empty()) {
    out += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      append_label_value(out, label.value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_value(out, value);
  if (metric.timestamp_ms != 0) {
    out += ' ';
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, metric.timestamp_ms);
    out.append(buffer, result.ptr);
  }
  out += '\n';
}

}  // namespace

// As TextSerializer 1.0: "Nan", "+Inf", "-Inf", else printf's "%.16g" (to_chars with a precision
// is specified to give printf's output, in the C locale).
void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else {
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 16);
    out.append(buffer, result.ptr);
  }
}

// Backslash, double quote and line feed are escaped, as in TextSerializer.
void append_label_value(std::string& out, std::string_view value) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out.append(value.substr(start, i - start));
    out += '\\';
    out += c == '\n' ? 'n' : c;
    start = i + 1;
  }
  out.append(value.substr(start));
}

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          MetricType type) {
  if (!help.empty()) {
    // TextSerializer 1.0 writes HELP as is; ours never contain a backslash or a line feed.
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type == MetricType::Counter ? "counter" : type == MetricType::Gauge ? "gauge" : "untyped";
  out += '\n';
}

void append_exposition_text(std::string& out, const prometheus::MetricFamily& family) {
  if (family.type != MetricType::Counter && family.type != MetricType::Gauge &&
      family.type != MetricType::Untyped) {
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, std::vector<prometheus::MetricFamily>{family});
    out += text.view();
    return;
  }
  append_family_header(out, family.name, family.help, family.type);
  for (const auto& metric : family.metric) {
    const double value = family.type == MetricType::Counter ? metric.counter.value
                         : family.type == MetricType::Gauge ? metric.gauge.value
                                                            : metric.untyped.value;
    append_series(out, family.name, metric, value);
  }
}

}  // namespace smtp_exporter::exporter
