#include "probes/imap/responses.hpp"

#include <gtest/gtest.h>

#include <string>

namespace smtp_exporter::probes::imap {
namespace {

TEST(imap_list, flags_quoted_names_and_atoms) {
  auto r = parse_list(
      "* LIST (\\HasNoChildren \\Junk) \"/\" Junk\r\n"
      "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\HasChildren \\Noselect) \"/\" \"[Gmail]\"\r\n"
      "* LIST (\\HasNoChildren) \"/\" \"[Gmail]/Spam\"\r\n"
      "* LIST () NIL \"Quote \\\"me\\\\\"\r\n",
      100);
  ASSERT_EQ(r.mailboxes.size(), 5u);
  EXPECT_EQ(r.mailboxes[0].name, "Junk");
  EXPECT_TRUE(r.mailboxes[0].has_flag("\\junk"));
  EXPECT_EQ(r.mailboxes[3].name, "[Gmail]/Spam");
  EXPECT_EQ(r.mailboxes[4].name, "Quote \"me\\");
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_FALSE(r.truncated);
}

TEST(imap_list, literal_names_and_garbage_are_skipped_not_fatal) {
  auto r = parse_list(
      "* LIST (\\HasNoChildren) \"/\" {4}\r\n"
      "* LIST (\\HasNoChildren \"/\" broken\r\n"
      "* LIST (\\HasNoChildren) \"/\" \"unterminated\r\n"
      "* OK something else\r\n"
      "* LIST () \"/\" Spam\r\n",
      100);
  ASSERT_EQ(r.mailboxes.size(), 1u);
  EXPECT_EQ(r.mailboxes[0].name, "Spam");
  EXPECT_EQ(r.skipped, 3u);
}

TEST(imap_list, bounded_by_max) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += "* LIST () \"/\" box" + std::to_string(i) + "\r\n";
  auto r = parse_list(many, 10);
  EXPECT_EQ(r.mailboxes.size(), 10u);
  EXPECT_TRUE(r.truncated);
}

TEST(imap_search, numbers_from_every_search_line) {
  auto r = parse_search("* SEARCH 2 84 882\r\n* SEARCH\r\n* 3 EXISTS\r\n", 100);
  EXPECT_EQ(r.numbers, (std::vector<std::uint32_t>{2, 84, 882}));
  EXPECT_FALSE(r.malformed);
  EXPECT_TRUE(parse_search("* SEARCH 1 x\r\n", 100).malformed);
  EXPECT_TRUE(parse_search("* SEARCH 0\r\n", 100).malformed);
  EXPECT_TRUE(parse_search("* SEARCH 99999999999\r\n", 100).malformed);
  auto capped = parse_search("* SEARCH 1 2 3 4 5\r\n", 3);
  EXPECT_EQ(capped.numbers.size(), 3u);
  EXPECT_TRUE(capped.truncated);
}

TEST(imap_date, rfc3501_date_time) {
  auto t = parse_imap_date_time("07-Dec-2026 13:20:33 +0000");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1796649633);
  auto shifted = parse_imap_date_time(" 7-Dec-2026 14:20:33 +0100");
  ASSERT_TRUE(shifted);
  EXPECT_EQ(*shifted, *t);
  EXPECT_FALSE(parse_imap_date_time("07-Foo-2026 13:20:33 +0000"));
  EXPECT_FALSE(parse_imap_date_time("07-Dec-2026 25:20:33 +0000"));
  EXPECT_FALSE(parse_imap_date_time(""));
  EXPECT_FALSE(parse_imap_date_time("07-Dec-9999 13:20:33 +0000"));  // past system_clock's range
  EXPECT_EQ(imap_search_date(*t), "7-Dec-2026");
}

TEST(imap_fetch, uid_and_internaldate_in_any_order) {
  auto r = parse_internal_dates(
      "* 1 FETCH (UID 5 INTERNALDATE \"07-Dec-2026 13:20:33 +0000\")\r\n"
      "* 2 FETCH (INTERNALDATE \"07-Dec-2026 13:20:34 +0000\" UID 9 FLAGS (\\Seen))\r\n"
      "* 3 FETCH (UID 10)\r\n"
      "* 4 EXPUNGE\r\n",
      100);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].uid, 5u);
  EXPECT_EQ(r.messages[1].uid, 9u);
  EXPECT_EQ(r.skipped, 1u);
}

TEST(imap_headers, unfolds_and_keeps_order) {
  auto r = parse_header_block(
      "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@b.test\r\n"
      "Date: Mon, 7 Dec 2026 13:20:33 +0000\r\n"
      "Authentication-Results: other.test; dkim=none\r\n"
      "X-SMTP-Exporter-Probe: abc\r\n"
      "\r\n"
      "Body: not a header\r\n",
      100);
  ASSERT_EQ(r.fields.size(), 4u);
  EXPECT_EQ(r.fields[0].value, "mx.test; spf=pass smtp.mailfrom=a@b.test");
  auto ar = header_values(r, "authentication-results");
  ASSERT_EQ(ar.size(), 2u);
  EXPECT_EQ(ar[1], "other.test; dkim=none");
  EXPECT_EQ(header_values(r, "x-smtp-exporter-probe").at(0), "abc");
  EXPECT_TRUE(header_values(r, "Body").empty());
}

TEST(imap_headers, bounded_and_garbage_tolerant) {
  auto r = parse_header_block(" leading continuation\nno colon here\nA: 1\nB: 2\nC: 3\n", 2);
  EXPECT_EQ(r.fields.size(), 2u);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.skipped, 2u);
}

TEST(imap_junk, special_use_first_then_configured_names) {
  std::vector<mailbox_info> boxes{{"INBOX", {}}, {"Spam", {}}, {"Bulk", {"\\Junk"}}};
  EXPECT_EQ(choose_junk_mailbox(boxes, default_junk_names()), "Bulk");
  boxes[2].flags.clear();
  EXPECT_EQ(choose_junk_mailbox(boxes, default_junk_names()), "Spam");
  std::vector<mailbox_info> gmail{{"INBOX", {}}, {"[Gmail]/spam", {}}};
  EXPECT_EQ(choose_junk_mailbox(gmail, default_junk_names()), "[Gmail]/spam");
  std::vector<mailbox_info> none{{"INBOX", {"\\Junk"}}, {"Archive", {}}};
  EXPECT_EQ(choose_junk_mailbox(none, default_junk_names()), std::nullopt);
}

TEST(imap_quote, escapes_and_refuses_line_breaks) {
  EXPECT_EQ(imap_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(imap_quote(""), "\"\"");
  EXPECT_FALSE(imap_quote("a\r\nb"));
  EXPECT_FALSE(imap_quote("caf\xc3\xa9"));
}

}  // namespace
}  // namespace smtp_exporter::probes::imap
