#include "exporter/cli/terminal_output.hpp"

#include <iostream>

namespace smtp_exporter::exporter {

terminal_filter_buf::~terminal_filter_buf() {
  const std::string rest = filter_.finish();
  if (!rest.empty()) destination_->sputn(rest.data(), static_cast<std::streamsize>(rest.size()));
  destination_->pubsync();
}

bool terminal_filter_buf::pass(std::string_view bytes) {
  const std::string out = filter_.feed(bytes);
  return destination_->sputn(out.data(), static_cast<std::streamsize>(out.size())) ==
         static_cast<std::streamsize>(out.size());
}

terminal_filter_buf::int_type terminal_filter_buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  const char byte = traits_type::to_char_type(c);
  return pass(std::string_view(&byte, 1)) ? c : traits_type::eof();
}

std::streamsize terminal_filter_buf::xsputn(const char* s, std::streamsize n) {
  return pass(std::string_view(s, static_cast<std::size_t>(n))) ? n : 0;
}

int terminal_filter_buf::sync() { return destination_->pubsync(); }

terminal_output::terminal_output()
    : cout_original_(std::cout.rdbuf()),
      cerr_original_(std::cerr.rdbuf()),
      cout_filter_(std::make_unique<terminal_filter_buf>(cout_original_)),
      cerr_filter_(std::make_unique<terminal_filter_buf>(cerr_original_)) {
  std::cout.rdbuf(cout_filter_.get());
  std::cerr.rdbuf(cerr_filter_.get());
}

terminal_output::~terminal_output() {
  std::cout.flush();
  std::cerr.flush();
  std::cout.rdbuf(cout_original_);
  std::cerr.rdbuf(cerr_original_);
  // The filters hand on what they hold as they go.
  cout_filter_.reset();
  cerr_filter_.reset();
}

}  // namespace smtp_exporter::exporter
