#include "probes/imap/auth_results.hpp"

#include <cstdint>

namespace smtp_exporter::probes::imap {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

// RFC 8601's grammar tokens over one header value.
class scanner {
 public:
  explicit scanner(std::string_view s) : s_(s) {}

  bool done() {
    skip_cfws();
    return i_ >= s_.size();
  }
  char peek() {
    skip_cfws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // A token, or a quoted string decoded; stops at CFWS and at the separators ; = ( ".
  // `dot_stops`: a '.' ends it too (ptype "." property).
  std::optional<std::string> value(bool dot_stops = false) {
    skip_cfws();
    if (i_ >= s_.size()) return std::nullopt;
    if (s_[i_] == '"') return quoted();
    std::size_t start = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '=' || c == '(' ||
          c == '"' || (dot_stops && c == '.'))
        break;
      ++i_;
    }
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
  }
  // Skips to just past the next ';' outside comments and quoted strings (or to the end).
  void skip_result() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '(') {
        skip_comment();
      } else if (c == '"') {
        quoted();
      } else {
        ++i_;
        if (c == ';') return;
      }
    }
  }
  // Where the scanner stands; with rewind, one step of lookahead.
  std::size_t mark() const { return i_; }
  void rewind(std::size_t m) { i_ = m; }

 private:
  void skip_cfws() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        skip_comment();
      } else {
        return;
      }
    }
  }
  // A comment, nested to any depth (the depth is a counter, not recursion), with \ escapes.
  void skip_comment() {
    std::size_t depth = 0;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ < s_.size()) ++i_;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (--depth == 0) return;
      }
    }
  }
  std::optional<std::string> quoted() {
    ++i_;  // the opening quote
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\' && i_ < s_.size()) c = s_[i_++];
      out.push_back(c);
    }
    return std::nullopt;  // unterminated: the rest is consumed
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// One resinfo after its ';': methodspec [reasonspec] *propspec.
enum class parsed : std::uint8_t {
  bad,      // no method=result: the scanner is anywhere inside it
  complete,
  partial,  // method=result read, then something unreadable: the rest up to ';' is dropped
};
parsed parse_result(scanner& in, auth_method_result& out) {
  auto method = in.value();
  if (!method || !in.eat('=')) return parsed::bad;
  auto result = in.value();
  if (!result) return parsed::bad;
  out.method = to_lower(*method);
  if (auto slash = out.method.find('/'); slash != std::string::npos) out.method.resize(slash);
  out.result = to_lower(*result);
  if (out.method.empty() || out.result.empty()) return parsed::bad;
  while (!in.done() && in.peek() != ';') {
    auto m = in.mark();
    auto key = in.value(true);
    if (!key) return parsed::partial;
    if (in.eat('.')) {  // ptype "." property "=" pvalue
      auto name = in.value();
      if (!name || !in.eat('=')) return parsed::partial;
      auto pvalue = in.value();
      if (!pvalue) return parsed::partial;
      if (out.properties.size() < 16)
        out.properties.push_back({to_lower(*key), to_lower(*name), std::move(*pvalue)});
      continue;
    }
    in.rewind(m);
    key = in.value();
    if (!key || !in.eat('=')) return parsed::partial;
    auto v = in.value();
    if (!v) return parsed::partial;
    if (to_lower(*key) == "reason") out.reason = std::move(*v);
    // Any other key=value (a nonstandard extension) is read and dropped.
  }
  return parsed::complete;
}

}  // namespace

std::optional<auth_results> parse_authentication_results(std::string_view value,
                                                         std::size_t max_results) {
  scanner in(value);
  auth_results out;
  auto id = in.value();
  if (!id || id->empty()) return std::nullopt;  // "" is no authserv-id (found by the fuzzer)
  out.authserv_id = std::move(*id);
  // An optional authres-version (a number) after the authserv-id.
  if (!in.done() && in.peek() != ';') {
    auto version = in.value();
    bool numeric = version && !version->empty();
    if (numeric)
      for (char c : *version)
        if (c < '0' || c > '9') numeric = false;
    if (!numeric) ++out.skipped;
    if (in.peek() != ';') in.skip_result();
    else in.eat(';');
  } else {
    in.eat(';');
  }
  while (!in.done()) {
    auto m = in.mark();
    auto word = in.value();
    if (word && to_lower(*word) == "none" && (in.done() || in.peek() == ';')) {
      out.none = true;
      in.eat(';');
      continue;
    }
    in.rewind(m);
    auth_method_result r;
    auto how = parse_result(in, r);
    if (how != parsed::bad) {
      if (out.results.size() >= max_results) {
        out.truncated = true;
        break;
      }
      out.results.push_back(std::move(r));
      if (how == parsed::partial) in.skip_result();
      else in.eat(';');
    } else {
      ++out.skipped;
      in.skip_result();
    }
  }
  return out;
}

const auth_method_result* find_method(const auth_results& results, std::string_view method) {
  for (const auto& r : results.results)
    if (r.method == method) return &r;
  return nullptr;
}

}  // namespace smtp_exporter::probes::imap
