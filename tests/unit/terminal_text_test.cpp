// The terminal filter of diagnose and providers (common/text_escape.hpp, terminal_text_filter;
// exporter/cli/terminal_output.hpp): issue 24, finding 9.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/text_escape.hpp"
#include "exporter/cli/terminal_output.hpp"

namespace smtp_exporter {
namespace {

std::string filtered(std::string_view text) {
  terminal_text_filter f;
  std::string out = f.feed(text);
  return out + f.finish();  // in this order: what is held is known only after feed()
}

TEST(terminal_text, controls_and_broken_utf8_become_question_marks) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain text, 220 ok\n", "plain text, 220 ok\n"},
      {"tab\there", "tab\there"},
      {"CN=M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xa7", "CN=M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xa7"},
      {"\x1b[31mred", "?[31mred"},                 // ESC (C0)
      {"a\rb\x07\x7f", "a?b??"},                   // CR, BEL, DEL
      {"mx\xc2\x9b" "31m.test", "mx?31m.test"},     // U+009B: C1 CSI
      {"\xc2\x85\xc2\x80\xc2\x9f", "???"},          // C1: NEL, the first and the last
      {"\xc2\xa0", "\xc2\xa0"},                     // U+00A0, the first after C1, is printable
      {"x\x9b" "31m", "x?31m"},                     // a lone 0x9B: CSI to an 8-bit terminal
      {"\xe2\x80\xae" "evil\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c", "?evil???"},  // bidi controls
      {"\xe2\x80\xa8\xe2\x80\xa9", "??"},           // line, paragraph separator
      {"\xc0\xaf\xe0\x80\xaf", "?????"},            // overlong forms
      {"\xed\xa0\x80", "???"},                      // a surrogate
      {"\xf4\x90\x80\x80\xf5", "?????"},            // beyond U+10FFFF
      {"\xe6\x97", "??"},                           // cut short at the end
      {"\xe6\x97x", "??x"},                         // cut short by an ASCII byte
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(filtered(in), out) << in;
}

TEST(terminal_text, a_character_cut_between_writes_is_held_for_the_next) {
  terminal_text_filter f;
  const std::string cn = "mx\xc2\x9b" "31m \xe6\x97\xa5!";
  std::string out;
  for (char c : cn) out += f.feed(std::string_view(&c, 1));
  out += f.finish();
  EXPECT_EQ(out, "mx?31m \xe6\x97\xa5!");
}

TEST(terminal_text, the_stream_filter_sits_in_front_of_the_destination) {
  std::ostringstream destination;
  {
    exporter::terminal_filter_buf buf(destination.rdbuf());
    std::ostream out(&buf);
    out << "cert[0] CN=mx\xc2" << "\x9b" << "31m" << '\x1b' << " end\n" << std::flush;
    out << "held \xe6\x97";
  }
  EXPECT_EQ(destination.str(), "cert[0] CN=mx?31m? end\nheld ??");
}

}  // namespace
}  // namespace smtp_exporter
