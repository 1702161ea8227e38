// The DNS response parser (probes/dns/dns_message.hpp) over messages built byte by byte: each
// record type, CNAME chains, TTLs, compression, and malformed input (a failure, never an empty
// "ok" and never a read outside the message; tests/fuzz/dns_message_fuzz.cpp covers the rest).
#include "probes/dns/dns_message.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using st = dns_answer::status;
using bytes = std::vector<unsigned char>;

bytes wire_name(const std::string& name) {
  bytes out;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<unsigned char>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

void put16(bytes& b, unsigned v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}

// A response to one question; answers appended with rr().
struct message {
  bytes data;
  message(const std::string& qname, unsigned qtype) {
    data = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
    const bytes n = wire_name(qname);
    data.insert(data.end(), n.begin(), n.end());
    put16(data, qtype);
    put16(data, 1);
  }
  // `owner`: wire bytes (a name, or {0xc0, 0x0c} for the question's).
  message& rr(const bytes& owner, unsigned type, std::uint32_t ttl, const bytes& rdata,
              unsigned rclass = 1) {
    data.insert(data.end(), owner.begin(), owner.end());
    put16(data, type);
    put16(data, rclass);
    put16(data, ttl >> 16);
    put16(data, ttl & 0xffff);
    put16(data, static_cast<unsigned>(rdata.size()));
    data.insert(data.end(), rdata.begin(), rdata.end());
    ++data[7];
    return *this;
  }
  dns_answer parse(dns_record_type type) const {
    return parse_dns_response(data.data(), data.size(), type);
  }
};

const bytes question{0xc0, 0x0c};

bytes txt_rdata(const std::vector<std::string>& strings) {
  bytes out;
  for (const auto& s : strings) {
    out.push_back(static_cast<unsigned char>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

TEST(dns_message, a_and_aaaa_with_the_smallest_ttl) {
  message m("mail.example.com", 1);
  m.rr(question, 1, 300, {192, 0, 2, 1}).rr(question, 1, 60, {192, 0, 2, 2});
  const auto a = m.parse(dns_record_type::a);
  ASSERT_EQ(a.outcome, st::ok);
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_EQ(a.addresses[1], asio::ip::make_address("192.0.2.2"));
  EXPECT_EQ(a.ttl, 60u);
  message six("mail.example.com", 28);
  bytes v6(16, 0);
  v6[0] = 0x20, v6[1] = 0x01, v6[2] = 0x0d, v6[3] = 0xb8, v6[15] = 1;
  six.rr(question, 28, 30, v6);
  EXPECT_EQ(six.parse(dns_record_type::aaaa).addresses.front(),
            asio::ip::make_address("2001:db8::1"));
}

TEST(dns_message, txt_strings_are_glued_per_record_and_have_a_ttl) {
  message m("example.com", 16);
  m.rr(question, 16, 120, txt_rdata({"v=spf1 ip4:", "192.0.2.5 -all"}))
      .rr(question, 16, 90, txt_rdata({"second"}))
      .rr(question, 16, 300, {});
  const auto a = m.parse(dns_record_type::txt);
  ASSERT_EQ(a.texts.size(), 3u);
  EXPECT_EQ(a.texts[0], "v=spf1 ip4:192.0.2.5 -all");
  EXPECT_EQ(a.texts[1], "second");
  EXPECT_EQ(a.texts[2], "");
  EXPECT_EQ(a.ttl, 90u);
}

TEST(dns_message, ptr_names_lower_case_without_the_dot) {
  message m("7.2.0.192.in-addr.arpa", 12);
  m.rr(question, 12, 3600, wire_name("Mail.Example.COM"))
      .rr(question, 12, 3600, wire_name("other.example.net"));
  const auto a = m.parse(dns_record_type::ptr);
  ASSERT_EQ(a.names.size(), 2u);
  EXPECT_EQ(a.names[0], "mail.example.com");
  EXPECT_EQ(a.names[1], "other.example.net");
  EXPECT_EQ(a.ttl, 3600u);
}

TEST(dns_message, mx_exchanges_by_preference_and_the_null_mx) {
  message m("example.com", 15);
  bytes mx20{0, 20}, mx10{0, 10}, null_mx{0, 0, 0};
  const bytes b = wire_name("backup.example.com"), p = wire_name("primary.example.com");
  mx20.insert(mx20.end(), b.begin(), b.end());
  mx10.insert(mx10.end(), p.begin(), p.end());
  m.rr(question, 15, 300, mx20).rr(question, 15, 300, mx10);
  EXPECT_EQ(m.parse(dns_record_type::mx).names,
            (std::vector<std::string>{"primary.example.com", "backup.example.com"}));
  message null("example.org", 15);
  null.rr(question, 15, 300, null_mx);
  EXPECT_EQ(null.parse(dns_record_type::mx).names, std::vector<std::string>{""});
}

TEST(dns_message, compressed_names_inside_records) {
  message m("example.com", 15);
  // exchange "mx" + pointer to the question's "example.com" at offset 12.
  m.rr(question, 15, 300, {0, 5, 2, 'm', 'x', 0xc0, 0x0c});
  EXPECT_EQ(m.parse(dns_record_type::mx).names.front(), "mx.example.com");
}

TEST(dns_message, cname_chains_lead_to_the_records) {
  message m("b.example.org", 16);
  const bytes a_name = wire_name("a.example.org");
  m.rr(question, 5, 50, a_name).rr(a_name, 16, 300, txt_rdata({"v=spf1 -all"}));
  auto a = m.parse(dns_record_type::txt);
  ASSERT_EQ(a.outcome, st::ok);
  EXPECT_EQ(a.texts, std::vector<std::string>{"v=spf1 -all"});
  EXPECT_EQ(a.ttl, 50u);  // the CNAME's TTL bounds the answer's
  // Records of names the chain does not reach are not the answer.
  message stray("b.example.org", 16);
  stray.rr(wire_name("elsewhere.example"), 16, 300, txt_rdata({"v=spf1 +all"}));
  EXPECT_EQ(stray.parse(dns_record_type::txt).outcome, st::nodata);
  // A loop ends the chain: no records, no hang.
  message loop("loop.example.com", 1);
  const bytes c = wire_name("cname.example.com");
  loop.rr(question, 5, 300, c).rr(c, 5, 300, c);
  EXPECT_EQ(loop.parse(dns_record_type::a).outcome, st::nodata);
  // Owner names compare without case.
  message upper("mail.example.com", 1);
  upper.rr(wire_name("MAIL.example.COM"), 1, 300, {192, 0, 2, 9});
  EXPECT_EQ(upper.parse(dns_record_type::a).addresses.size(), 1u);
}

TEST(dns_message, other_types_and_classes_are_nodata) {
  message m("example.com", 1);
  m.rr(question, 16, 300, txt_rdata({"text"})).rr(question, 1, 300, {192, 0, 2, 1}, 3);
  EXPECT_EQ(m.parse(dns_record_type::a).outcome, st::nodata);
}

TEST(dns_message, malformed_messages_fail) {
  EXPECT_EQ(parse_dns_response(nullptr, 0, dns_record_type::a).outcome, st::failure);
  message short_a("example.com", 1);
  short_a.rr(question, 1, 300, {192, 0, 2});
  EXPECT_EQ(short_a.parse(dns_record_type::a).outcome, st::failure);
  message bad_txt("example.com", 16);
  bad_txt.rr(question, 16, 300, {5, 'a', 'b'});
  EXPECT_EQ(bad_txt.parse(dns_record_type::txt).outcome, st::failure);
  message truncated("example.com", 1);
  truncated.rr(question, 1, 300, {192, 0, 2, 1});
  truncated.data.resize(truncated.data.size() - 2);
  EXPECT_EQ(truncated.parse(dns_record_type::a).outcome, st::failure);
  // A compression pointer to itself.
  message self_loop("example.com", 12);
  self_loop.rr(question, 12, 300, {0xc0, static_cast<unsigned char>(self_loop.data.size() + 12)});
  EXPECT_EQ(self_loop.parse(dns_record_type::ptr).outcome, st::failure);
  // A name inside rdata that runs past its record.
  message overrun("example.com", 12);
  overrun.rr(question, 12, 300, {3, 'a', 'b'});
  overrun.data.insert(overrun.data.end(), {'c', 0});
  EXPECT_EQ(overrun.parse(dns_record_type::ptr).outcome, st::failure);
  // No question.
  bytes no_question{0, 0, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(parse_dns_response(no_question.data(), no_question.size(), dns_record_type::a).outcome,
            st::failure);
}

TEST(dns_message, a_ttl_with_the_top_bit_set_is_zero) {
  message m("example.com", 1);
  m.rr(question, 1, 0x80000000u, {192, 0, 2, 1});
  EXPECT_EQ(m.parse(dns_record_type::a).ttl, 0u);
}

}  // namespace
}  // namespace smtp_exporter::probes
