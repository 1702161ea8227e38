#include "probes/core/result.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace smtp_exporter::probes {
namespace {

TEST(result_strings, failure_reasons_round_trip) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < failure_reason_count; ++i) {
    const auto r = static_cast<failure_reason>(i);
    const std::string_view name = to_string(r);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(seen.insert(name).second) << name;
    EXPECT_EQ(parse_failure_reason(name), r) << name;
  }
  EXPECT_EQ(seen.size(), failure_reason_count);
}

TEST(result_strings, failure_reason_count_matches_the_enum) {
  EXPECT_EQ(static_cast<std::size_t>(failure_reason::descriptors_exhausted) + 1,
            failure_reason_count);
  EXPECT_EQ(to_string(static_cast<failure_reason>(failure_reason_count)), "unknown");
}

TEST(result_strings, failure_reason_names_are_the_enumerator_names) {
  EXPECT_EQ(to_string(failure_reason::none), "success");
  EXPECT_EQ(to_string(failure_reason::resolve_failed), "resolve_failed");
  EXPECT_EQ(to_string(failure_reason::connect_refused), "connect_refused");
  EXPECT_EQ(to_string(failure_reason::connect_timeout), "connect_timeout");
  EXPECT_EQ(to_string(failure_reason::connect_unreachable), "connect_unreachable");
  EXPECT_EQ(to_string(failure_reason::connect_prohibited), "connect_prohibited");
  EXPECT_EQ(to_string(failure_reason::banner_timeout), "banner_timeout");
  EXPECT_EQ(to_string(failure_reason::banner_rejected), "banner_rejected");
  EXPECT_EQ(to_string(failure_reason::banner_tempfail), "banner_tempfail");
  EXPECT_EQ(to_string(failure_reason::ehlo_rejected), "ehlo_rejected");
  EXPECT_EQ(to_string(failure_reason::connection_closed), "connection_closed");
  EXPECT_EQ(to_string(failure_reason::protocol_error), "protocol_error");
  EXPECT_EQ(to_string(failure_reason::timeout), "timeout");
  EXPECT_EQ(to_string(failure_reason::starttls_unsupported), "starttls_unsupported");
  EXPECT_EQ(to_string(failure_reason::starttls_rejected), "starttls_rejected");
  EXPECT_EQ(to_string(failure_reason::tls_handshake_failed), "tls_handshake_failed");
  EXPECT_EQ(to_string(failure_reason::tls_timeout), "tls_timeout");
  EXPECT_EQ(to_string(failure_reason::cert_expired), "cert_expired");
  EXPECT_EQ(to_string(failure_reason::cert_not_yet_valid), "cert_not_yet_valid");
  EXPECT_EQ(to_string(failure_reason::cert_untrusted), "cert_untrusted");
  EXPECT_EQ(to_string(failure_reason::cert_hostname_mismatch), "cert_hostname_mismatch");
}

TEST(result_strings, failure_reason_parse) {
  EXPECT_EQ(parse_failure_reason("success"), failure_reason::none);
  EXPECT_EQ(parse_failure_reason("SUCCESS"), failure_reason::none);
  EXPECT_EQ(parse_failure_reason("Cert_Expired"), failure_reason::cert_expired);
  EXPECT_EQ(parse_failure_reason("descriptors_exhausted"), failure_reason::descriptors_exhausted);
  EXPECT_EQ(parse_failure_reason("none"), std::nullopt);
  EXPECT_EQ(parse_failure_reason(""), std::nullopt);
  EXPECT_EQ(parse_failure_reason("cert_expired "), std::nullopt);
  EXPECT_EQ(parse_failure_reason("unknown"), std::nullopt);
}

TEST(result_strings, probe_kinds) {
  EXPECT_EQ(to_string(probe_kind::banner), "banner");
  EXPECT_EQ(to_string(probe_kind::tls), "tls");
  EXPECT_EQ(to_string(probe_kind::auth), "auth");
  EXPECT_EQ(to_string(probe_kind::envelope), "envelope");
  EXPECT_EQ(to_string(probe_kind::delivery), "delivery");
  EXPECT_EQ(to_string(static_cast<probe_kind>(probe_kind_count)), "unknown");
}

TEST(result_strings, phases) {
  const char* expected[] = {"resolve", "connect", "banner", "ehlo",
                            "starttls", "tls_handshake", "auth", "mail_from", "rcpt_to", "data", "quit",
                            "imap_login", "imap_search", "imap_fetch", "imap_delete"};
  static_assert(std::size(expected) == phase_count);
  for (std::size_t i = 0; i < phase_count; ++i) {
    EXPECT_EQ(to_string(static_cast<phase>(i)), expected[i]);
  }
  EXPECT_EQ(to_string(static_cast<phase>(phase_count)), "unknown");
}

TEST(result_strings, extensions_round_trip) {
  const char* expected[] = {"STARTTLS", "AUTH", "SIZE", "PIPELINING", "8BITMIME", "SMTPUTF8",
                            "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "REQUIRETLS", "BINARYMIME",
                            "DELIVERBY", "ETRN", "MT-PRIORITY", "VRFY", "HELP"};
  static_assert(std::size(expected) == extension_count);
  for (std::size_t i = 0; i < extension_count; ++i) {
    const auto e = static_cast<extension>(i);
    EXPECT_EQ(to_string(e), expected[i]);
    EXPECT_EQ(parse_extension(expected[i]), e);
  }
  EXPECT_EQ(to_string(extension::eight_bit_mime), "8BITMIME");
  EXPECT_EQ(parse_extension("starttls"), extension::starttls);
  EXPECT_EQ(parse_extension("Mt-Priority"), extension::mt_priority);
  EXPECT_EQ(parse_extension("X-EXPS"), std::nullopt);
  EXPECT_EQ(parse_extension(""), std::nullopt);
  EXPECT_EQ(parse_extension("STARTTLS "), std::nullopt);
  EXPECT_EQ(to_string(static_cast<extension>(extension_count)), "unknown");
}

TEST(result_strings, auth_mechanisms_round_trip) {
  const char* expected[] = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER",
                            "SCRAM-SHA-1", "SCRAM-SHA-256", "NTLM", "GSSAPI"};
  static_assert(std::size(expected) == auth_mechanism_count);
  for (std::size_t i = 0; i < auth_mechanism_count; ++i) {
    const auto m = static_cast<auth_mechanism>(i);
    EXPECT_EQ(to_string(m), expected[i]);
    EXPECT_EQ(parse_auth_mechanism(expected[i]), m);
  }
  EXPECT_EQ(parse_auth_mechanism("cram-md5"), auth_mechanism::cram_md5);
  EXPECT_EQ(parse_auth_mechanism("scram-sha-256"), auth_mechanism::scram_sha_256);
  EXPECT_EQ(parse_auth_mechanism("SCRAM-SHA"), std::nullopt);
  EXPECT_EQ(parse_auth_mechanism("DIGEST-MD5"), std::nullopt);
  EXPECT_EQ(to_string(static_cast<auth_mechanism>(auth_mechanism_count)), "unknown");
}

TEST(result_strings, capabilities_bits) {
  capabilities caps;
  EXPECT_FALSE(caps.has(extension::help));
  caps.add(extension::help);
  caps.add(auth_mechanism::gssapi);
  EXPECT_TRUE(caps.has(extension::help));
  EXPECT_TRUE(caps.has(auth_mechanism::gssapi));
  EXPECT_FALSE(caps.has(auth_mechanism::plain));
}

}  // namespace
}  // namespace smtp_exporter::probes
