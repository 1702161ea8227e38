// The one filter between `diagnose` / `providers` and the terminal: while a terminal_output
// lives, everything written to std::cout and std::cerr passes through a
// terminal_text_filter (common/text_escape.hpp) on its way out, so no text a server chose (a
// certificate's names, a greeting, an EHLO reply, an IMAP answer, a DNS record) can reach the
// terminal as a control sequence, however deep the code that prints it. Filtering at the output
// rather than field by field means a field added later cannot be forgotten.
//
// Thread-safety: construct and destroy on the main thread; the streams are written from one
// thread at a time, as std::cout is anyway.
#pragma once

#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

#include "common/text_escape.hpp"

namespace smtp_exporter::exporter {

// A streambuf that filters what is written through it into `destination`. Unbuffered itself:
// every write is filtered and handed on at once (the destination buffers), except the start of
// a UTF-8 character cut between two writes, held for the next one.
class terminal_filter_buf final : public std::streambuf {
 public:
  explicit terminal_filter_buf(std::streambuf* destination) : destination_(destination) {}
  ~terminal_filter_buf() override;
  terminal_filter_buf(const terminal_filter_buf&) = delete;
  terminal_filter_buf& operator=(const terminal_filter_buf&) = delete;

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  bool pass(std::string_view bytes);
  std::streambuf* destination_;
  terminal_text_filter filter_;
};

// Puts a terminal_filter_buf in front of std::cout's and std::cerr's buffers; restores them
// (after handing on what is held) when destroyed.
class terminal_output {
 public:
  terminal_output();
  ~terminal_output();
  terminal_output(const terminal_output&) = delete;
  terminal_output& operator=(const terminal_output&) = delete;

 private:
  std::streambuf* cout_original_;
  std::streambuf* cerr_original_;
  std::unique_ptr<terminal_filter_buf> cout_filter_;
  std::unique_ptr<terminal_filter_buf> cerr_filter_;
};

}  // namespace smtp_exporter::exporter
