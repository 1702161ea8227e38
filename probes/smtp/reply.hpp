// A socket-free, incremental SMTP reply parser (RFC 5321 section 4.2), in the style of Asio's HTTP
// server example: feed it bytes, it says good / bad / indeterminate.
//
// - multi-line replies: "250-first" ... "250 last"; every line must carry the same code, except
//   that a final 4yz/5yz line may end 2yz lines (greetings "220-..." then "554 ..." exist): the
//   final line's code decides, as the server's last word;
// - CRLF and bare LF line endings;
// - enhanced status codes (RFC 3463, "2.0.0 ") are recognised and copied to enhanced_code;
// - limits: line length and line count, so a hostile server cannot grow memory without bound.
//
// Thread-safety: none; one parser per connection.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

struct smtp_reply {
  int code = 0;                     // 3-digit reply code, e.g. 220
  // When the final line refuses (4yz/5yz) after lines of a positive code ("220-" ... "554 "),
  // the earlier lines' code; `code` is the final line's. 0 otherwise.
  int preamble_code = 0;
  std::string enhanced_code;        // "5.7.1" if the deciding line carries one, else empty
  std::vector<std::string> lines;   // text of each line after "NNN-"/"NNN " (enhanced code kept)
  // The text of all lines joined with "\n"; after a preamble, the deciding (final) line's alone.
  std::string text() const;
  // The line that speaks for the reply (its enhanced code, the greeting shown): after a preamble
  // the final, refusing line, else the first. Requires at least one line.
  const std::string& deciding_line() const {
    return preamble_code != 0 ? lines.back() : lines.front();
  }
  int code_class() const { return code / 100; }  // 2, 3, 4, 5
};

struct reply_limits {
  std::size_t max_line_length = 4096;  // bytes, excluding the line ending
  std::size_t max_lines = 256;
};

class reply_parser {
 public:
  enum class status { good, bad, indeterminate };

  explicit reply_parser(reply_limits limits = {});

  // Consumes bytes from [data, data+size). Stops after the last byte of a complete reply:
  // `consumed` says how many bytes were used (bytes after a complete reply belong to the next one).
  // After `good`, reply() holds the reply; after `bad`, error() says why, and the parser stays bad.
  // On `bad`, `consumed` counts up to and including the offending byte. Once `good`, further calls
  // consume nothing and return `good` until take_reply() or reset().
  status parse(const char* data, std::size_t size, std::size_t& consumed);

  const smtp_reply& reply() const { return reply_; }
  smtp_reply take_reply();   // moves the reply out and resets for the next one
  const std::string& error() const { return error_; }
  void reset();

 private:
  // implementation detail
  reply_limits limits_;
  smtp_reply reply_;
  std::string line_;
  std::string error_;
  bool bad_ = false;
  bool complete_ = false;  // the final line has been parsed; reply_ is whole
  int line_code_ = 0;      // the code of the line being read, when it differs from reply_.code

  bool accept(char c, const char* rest, std::size_t rest_size);
  bool end_line();
  bool fail(std::string message);
  bool fail_malformed(std::string_view line, std::string_view lookahead);
};

}  // namespace smtp_exporter::probes
