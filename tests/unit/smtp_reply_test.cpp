#include "probes/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {
namespace {

using status = reply_parser::status;

struct parse_outcome {
  status result;
  std::size_t consumed;
};

parse_outcome feed(reply_parser& parser, std::string_view bytes) {
  std::size_t consumed = 0;
  const status result = parser.parse(bytes.data(), bytes.size(), consumed);
  return {result, consumed};
}

// Feeds one byte per call, as a slow or hostile server would deliver them.
parse_outcome feed_bytewise(reply_parser& parser, std::string_view bytes) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::size_t consumed = 0;
    const status result = parser.parse(bytes.data() + i, 1, consumed);
    total += consumed;
    if (result != status::indeterminate) return {result, total};
    EXPECT_EQ(consumed, 1u);
  }
  return {status::indeterminate, total};
}

TEST(smtp_reply_parser, single_line) {
  reply_parser parser;
  const std::string_view input = "220 mx.example.com ESMTP Postfix\r\n";
  const auto out = feed(parser, input);
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(out.consumed, input.size());
  EXPECT_EQ(parser.reply().code, 220);
  EXPECT_EQ(parser.reply().code_class(), 2);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"mx.example.com ESMTP Postfix"});
  EXPECT_EQ(parser.reply().enhanced_code, "");
  EXPECT_TRUE(parser.error().empty());
}

TEST(smtp_reply_parser, multi_line_greeting) {
  reply_parser parser;
  const std::string_view input =
      "220-mx.example.com ESMTP\r\n"
      "220-No UCE\r\n"
      "220 Go ahead\r\n";
  const auto out = feed(parser, input);
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(out.consumed, input.size());
  EXPECT_EQ(parser.reply().code, 220);
  EXPECT_EQ(parser.reply().lines,
            (std::vector<std::string>{"mx.example.com ESMTP", "No UCE", "Go ahead"}));
  EXPECT_EQ(parser.reply().text(), "mx.example.com ESMTP\nNo UCE\nGo ahead");
}

TEST(smtp_reply_parser, incomplete_multi_line_is_indeterminate) {
  reply_parser parser;
  const auto out = feed(parser, "250-first\r\n250-second\r\n250 la");
  EXPECT_EQ(out.result, status::indeterminate);
  EXPECT_EQ(out.consumed, 29u);
  const auto rest = feed(parser, "st\r\n");
  ASSERT_EQ(rest.result, status::good);
  EXPECT_EQ(rest.consumed, 4u);
  EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"first", "second", "last"}));
}

TEST(smtp_reply_parser, bare_lf) {
  reply_parser parser;
  const auto out = feed(parser, "250-a\n250 b\n");
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"a", "b"}));
}

TEST(smtp_reply_parser, mixed_line_endings) {
  reply_parser parser;
  const auto out = feed(parser, "250-a\r\n250-b\n250 c\r\n");
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(smtp_reply_parser, cr_inside_a_line_is_text) {
  reply_parser parser;
  const auto out = feed(parser, "250 a\rb\r\r\n");
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"a\rb\r"});
}

TEST(smtp_reply_parser, byte_at_a_time) {
  const std::string_view input =
      "250-mx.example.com Hello\r\n"
      "250-PIPELINING\n"
      "250-SIZE 35882577\r\n"
      "250 2.0.0 ok\r\n";
  reply_parser whole;
  ASSERT_EQ(feed(whole, input).result, status::good);

  reply_parser parser;
  const auto out = feed_bytewise(parser, input);
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(out.consumed, input.size());
  EXPECT_EQ(parser.reply().code, whole.reply().code);
  EXPECT_EQ(parser.reply().lines, whole.reply().lines);
  EXPECT_EQ(parser.reply().enhanced_code, whole.reply().enhanced_code);
}

TEST(smtp_reply_parser, every_split_point_gives_the_same_reply) {
  const std::string input = "250-a b\r\n250-c\n250 2.1.5 d\r\n";
  for (std::size_t split = 0; split <= input.size(); ++split) {
    reply_parser parser;
    const auto first = feed(parser, std::string_view(input).substr(0, split));
    if (split < input.size()) {
      ASSERT_EQ(first.result, status::indeterminate) << split;
      ASSERT_EQ(first.consumed, split);
      ASSERT_EQ(feed(parser, std::string_view(input).substr(split)).result, status::good) << split;
    } else {
      ASSERT_EQ(first.result, status::good);
    }
    EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"a b", "c", "2.1.5 d"})) << split;
    EXPECT_EQ(parser.reply().enhanced_code, "") << "enhanced code only on the first line";
  }
}

TEST(smtp_reply_parser, two_replies_in_one_buffer) {
  const std::string input = "250 2.1.0 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
  reply_parser parser;
  auto out = feed(parser, input);
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(out.consumed, 14u);
  const smtp_reply first = parser.take_reply();
  EXPECT_EQ(first.code, 250);
  EXPECT_EQ(first.enhanced_code, "2.1.0");

  out = feed(parser, std::string_view(input).substr(14));
  ASSERT_EQ(out.result, status::good);
  EXPECT_EQ(out.consumed, input.size() - 14);
  EXPECT_EQ(parser.reply().code, 354);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"End data with <CR><LF>.<CR><LF>"});
}

TEST(smtp_reply_parser, complete_reply_waits_for_take_reply) {
  reply_parser parser;
  ASSERT_EQ(feed(parser, "221 bye\r\n").result, status::good);
  const auto again = feed(parser, "250 next\r\n");
  EXPECT_EQ(again.result, status::good);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(parser.reply().code, 221);

  parser.reset();
  ASSERT_EQ(feed(parser, "250 next\r\n").result, status::good);
  EXPECT_EQ(parser.reply().code, 250);
}

TEST(smtp_reply_parser, code_without_text) {
  reply_parser parser;
  ASSERT_EQ(feed(parser, "250\r\n").result, status::good);
  EXPECT_EQ(parser.reply().code, 250);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{""});

  parser.reset();
  ASSERT_EQ(feed(parser, "250-\n250-x\n250\n").result, status::good);
  EXPECT_EQ(parser.reply().lines, (std::vector<std::string>{"", "x", ""}));

  parser.reset();
  ASSERT_EQ(feed(parser, "250 \r\n").result, status::good);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{""});
}

TEST(smtp_reply_parser, line_at_the_length_limit_is_accepted) {
  reply_parser parser({.max_line_length = 10, .max_lines = 4});
  ASSERT_EQ(feed(parser, "250 123456\r\n").result, status::good);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"123456"});
}

TEST(smtp_reply_parser, oversize_line_fails_as_soon_as_the_limit_is_passed) {
  reply_parser parser({.max_line_length = 10, .max_lines = 4});
  const std::string input = "250 1234567" + std::string(100000, 'x') + "\r\n";
  const auto out = feed(parser, input);
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 11u) << "stops at the first byte past the limit";
  EXPECT_EQ(parser.error(), "reply line too long");
}

TEST(smtp_reply_parser, oversize_line_fed_bytewise) {
  reply_parser parser({.max_line_length = 10, .max_lines = 4});
  const auto out = feed_bytewise(parser, "250 1234567\r\n");
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 11u);
  EXPECT_EQ(parser.error(), "reply line too long");
}

TEST(smtp_reply_parser, cr_followed_by_text_counts_toward_the_limit) {
  reply_parser parser({.max_line_length = 10, .max_lines = 4});
  EXPECT_EQ(feed(parser, "250 123456\r").result, status::indeterminate);
  EXPECT_EQ(feed(parser, "x").result, status::bad);
  EXPECT_EQ(parser.error(), "reply line too long");
}

TEST(smtp_reply_parser, default_limit_is_4096) {
  reply_parser parser;
  std::string line = "250 " + std::string(4092, 'a') + "\r\n";
  ASSERT_EQ(feed(parser, line).result, status::good);
  parser.reset();
  line = "250 " + std::string(4093, 'a') + "\r\n";
  EXPECT_EQ(feed(parser, line).result, status::bad);
}

TEST(smtp_reply_parser, too_many_lines) {
  reply_parser parser({.max_line_length = 100, .max_lines = 3});
  ASSERT_EQ(feed(parser, "250-a\r\n250-b\r\n250 c\r\n").result, status::good);

  parser.reset();
  const auto out = feed(parser, "250-a\r\n250-b\r\n250-c\r\n250 d\r\n");
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 21u) << "a third continuation line already promises a fourth line";
  EXPECT_EQ(parser.error(), "too many reply lines");
}

TEST(smtp_reply_parser, endless_continuation_is_bounded_by_default) {
  reply_parser parser;
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "250-more\r\n";
  const auto out = feed(parser, input);
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 256u * 10u);
  EXPECT_EQ(parser.error(), "too many reply lines");
}

TEST(smtp_reply_parser, inconsistent_codes) {
  reply_parser parser;
  const auto out = feed(parser, "250-a\r\n251 b\r\n");
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 10u) << "detected at the differing digit";
  EXPECT_EQ(parser.error(), "inconsistent reply codes");
}

// Issue 10: a greeting that starts positive and ends with a refusal is that refusal, with the
// server's text kept (some MTAs greet "220-" and then refuse a blacklisted client).
TEST(smtp_reply_parser, a_final_refusal_may_end_a_positive_reply) {
  reply_parser parser;
  const auto out = feed(parser,
                        "220-mx.test ESMTP\r\n220-checking\r\n554 5.7.1 blocked using zen\r\n");
  ASSERT_EQ(out.result, status::good) << parser.error();
  const auto& r = parser.reply();
  EXPECT_EQ(r.code, 554);
  EXPECT_EQ(r.preamble_code, 220);
  EXPECT_EQ(r.enhanced_code, "5.7.1") << "from the deciding (final) line";
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[2], "5.7.1 blocked using zen");
}

TEST(smtp_reply_parser, a_changed_code_must_be_the_final_line) {
  reply_parser parser;
  EXPECT_EQ(feed(parser, "220-a\r\n554-b\r\n554 c\r\n").result, status::bad);
  EXPECT_EQ(parser.error(), "inconsistent reply codes");
  parser.reset();
  EXPECT_EQ(feed(parser, "421-a\r\n554 b\r\n").result, status::bad) << "only after a 2yz";
  parser.reset();
  EXPECT_EQ(feed(parser, "220-a\r\n354 b\r\n").result, status::bad) << "only to a 4yz/5yz";
  parser.reset();
  ASSERT_EQ(feed(parser, "250 ok\r\n").result, status::good);
  EXPECT_EQ(parser.reply().preamble_code, 0);
}

TEST(smtp_reply_parser, bad_stays_bad) {
  reply_parser parser;
  ASSERT_EQ(feed(parser, "hello\r\n").result, status::bad);
  const auto again = feed(parser, "250 ok\r\n");
  EXPECT_EQ(again.result, status::bad);
  EXPECT_EQ(again.consumed, 0u);
  parser.reset();
  EXPECT_EQ(feed(parser, "250 ok\r\n").result, status::good);
  EXPECT_TRUE(parser.error().empty());
}

TEST(smtp_reply_parser, garbage) {
  reply_parser parser;
  const auto out = feed(parser, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(out.result, status::bad);
  EXPECT_EQ(out.consumed, 1u) << "fails on the first byte that cannot start a reply";
  EXPECT_EQ(parser.error(), "malformed reply line: \"HTTP/1.1 400 Bad Request\\r\\n\"");
}

TEST(smtp_reply_parser, malformed_lines) {
  struct example {
    std::string input;
    std::string error;
  };
  const std::vector<example> examples{
      {"\r\n", "malformed reply line: \"\\r\\n\""},
      {"25\r\n", "malformed reply line: \"25\\r\\n\""},
      {"2500 x\r\n", "malformed reply line: \"2500 x\\r\\n\""},
      {"250x\r\n", "malformed reply line: \"250x\\r\\n\""},
      {"250\rx\r\n", "malformed reply line: \"250\\rx\\r\\n\""},
      {"199 too low\r\n", "malformed reply line: \"199 too low\\r\\n\""},
      {"600 too high\r\n", "malformed reply line: \"600 too high\\r\\n\""},
      {"260 bad digit\r\n", "malformed reply line: \"260 bad digit\\r\\n\""},
      {"25a\r\n", "malformed reply line: \"25a\\r\\n\""},
      {std::string("\x16\x03\x01\x02\x00", 5),
       "malformed reply line: \"\\x16\\x03\\x01\\x02\\x00\""},
      {"250-ok\r\nbogus\r\n", "malformed reply line: \"bogus\\r\\n\""},
  };
  for (const auto& [input, error] : examples) {
    reply_parser parser;
    const auto out = feed(parser, input);
    EXPECT_EQ(out.result, status::bad) << input;
    EXPECT_EQ(parser.error(), error) << input;
  }
}

TEST(smtp_reply_parser, malformed_excerpt_is_short_and_printable) {
  reply_parser parser;
  std::string input = "\x01";
  input += std::string(200, '\xff');
  ASSERT_EQ(feed(parser, input).result, status::bad);
  const std::string& error = parser.error();
  const std::string prefix = "malformed reply line: \"";
  ASSERT_EQ(error.substr(0, prefix.size()), prefix);
  const std::string excerpt = error.substr(prefix.size(), error.size() - prefix.size() - 1);
  EXPECT_LE(excerpt.size(), 40u);
  EXPECT_EQ(excerpt.substr(excerpt.size() - 3), "...");
  EXPECT_EQ(excerpt, "\\x01\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff...");
  for (char c : error) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
  }
}

TEST(smtp_reply_parser, enhanced_codes) {
  struct example {
    std::string input;
    std::string enhanced;
  };
  const std::vector<example> examples{
      {"250 2.0.0 Ok: queued\r\n", "2.0.0"},
      {"550 5.7.1 Relaying denied\r\n", "5.7.1"},
      {"451 4.3.0 Try again\r\n", "4.3.0"},
      {"250 2.1.5\r\n", "2.1.5"},
      {"550 5.123.456 long parts\r\n", "5.123.456"},
      {"250-2.0.0 first\r\n250 2.0.0 last\r\n", "2.0.0"},
      {"250-first\r\n250 2.0.0 last\r\n", ""},
      {"550 4.7.1 class differs\r\n", ""},
      {"354 3.0.0 no class 3\r\n", ""},
      {"250 2.0 short\r\n", ""},
      {"250 2.0.0x\r\n", ""},
      {"250 2.1234.0 too long\r\n", ""},
      {"250 2.0.1234 too long\r\n", ""},
      {"250 2..0 empty\r\n", ""},
      {"250 v2.0.0\r\n", ""},
  };
  for (const auto& [input, enhanced] : examples) {
    reply_parser parser;
    ASSERT_EQ(feed(parser, input).result, status::good) << input;
    EXPECT_EQ(parser.reply().enhanced_code, enhanced) << input;
  }
  reply_parser parser;
  ASSERT_EQ(feed(parser, "550 5.7.1 Relaying denied\r\n").result, status::good);
  EXPECT_EQ(parser.reply().lines.front(), "5.7.1 Relaying denied") << "the text keeps the code";
}

TEST(smtp_reply_parser, take_reply_resets) {
  reply_parser parser;
  ASSERT_EQ(feed(parser, "250-a\r\n250 b\r\n").result, status::good);
  const smtp_reply r = parser.take_reply();
  EXPECT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(parser.reply().code, 0);
  EXPECT_TRUE(parser.reply().lines.empty());
  ASSERT_EQ(feed(parser, "220 x\r\n").result, status::good);
  EXPECT_EQ(parser.reply().lines, std::vector<std::string>{"x"});
}

// Chunking must never change the outcome: same status, same bytes consumed, same reply or error.
TEST(smtp_reply_parser, random_chunking_matches_whole_input) {
  const std::vector<std::string> inputs{
      "220-mx ESMTP\r\n220-second\n220 2.0.0 ready\r\nleftover",
      "250-a\r\n251 b\r\n",
      "250 " + std::string(50, 'x') + "\r\n",
      "HTTP/1.1 400 Bad Request\r\n",
      "250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n",
      "250\r\n",
      "250 a\rb\r\r\n",
      "250\rx\r\n",
  };
  std::mt19937 random(12345);
  const reply_limits limits{.max_line_length = 40, .max_lines = 4};
  for (const auto& input : inputs) {
    reply_parser whole(limits);
    const auto expected = feed(whole, input);
    for (int round = 0; round < 50; ++round) {
      reply_parser parser(limits);
      std::size_t offset = 0;
      status result = status::indeterminate;
      while (offset < input.size() && result == status::indeterminate) {
        const std::size_t chunk = std::uniform_int_distribution<std::size_t>(
            0, std::min<std::size_t>(7, input.size() - offset))(random);
        std::size_t consumed = 0;
        result = parser.parse(input.data() + offset, chunk, consumed);
        ASSERT_LE(consumed, chunk);
        if (result == status::indeterminate) {
          ASSERT_EQ(consumed, chunk);
        }
        offset += consumed;
      }
      ASSERT_EQ(result, expected.result) << input;
      EXPECT_EQ(offset, expected.consumed) << input;
      EXPECT_EQ(parser.reply().code, whole.reply().code) << input;
      EXPECT_EQ(parser.reply().lines, whole.reply().lines) << input;
      EXPECT_EQ(parser.reply().enhanced_code, whole.reply().enhanced_code) << input;
      if (result == status::bad) {
        // The excerpt shows what the failing buffer held, so only the reason must agree.
        EXPECT_EQ(parser.error().substr(0, 20), whole.error().substr(0, 20)) << input;
      }
    }
  }
}

TEST(smtp_reply_parser, empty_input_is_indeterminate) {
  reply_parser parser;
  const auto out = feed(parser, "");
  EXPECT_EQ(out.result, status::indeterminate);
  EXPECT_EQ(out.consumed, 0u);
}

}  // namespace
}  // namespace smtp_exporter::probes
