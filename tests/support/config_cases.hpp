// What the table-driven config tests share (config_test.cpp, config_oauth2_test.cpp): documents
// written one string per line, so a case's expected "test.toml:LINE:..." is its index plus one,
// and the good and bad case rows.
//
// Thread-safety: values and pure functions.
#pragma once

#include <functional>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace smtp_test {

inline std::string lines(std::initializer_list<std::string_view> list) {
  std::string out;
  for (const std::string_view line : list) (out += line) += '\n';
  return out;
}

inline smtp_exporter::config::load_result load_test_toml(const std::string& text) {
  return smtp_exporter::config::load_string(text, "test.toml");
}

inline std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += s + '\n';
  return out;
}

// Loads without errors and resolves to what `check` asserts.
struct config_good_case {
  std::string name;
  std::string toml;
  std::function<void(const smtp_exporter::config::exporter_config&)> check;
};
// A failing case reads as its name, not as the struct's bytes.
inline void PrintTo(const config_good_case& c, std::ostream* os) { *os << c.name; }

// Yields exactly these errors, in file order, and no config.
struct config_bad_case {
  std::string name;
  std::string toml;
  std::vector<std::string> errors;
};
inline void PrintTo(const config_bad_case& c, std::ostream* os) { *os << c.name; }

}  // namespace smtp_test
