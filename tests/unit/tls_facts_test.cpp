#include "probes/tls/facts.hpp"
#include "probes/core/verdicts.hpp"

#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>
#include <gtest/gtest.h>

#include "tests/support/certs.hpp"

namespace smtp_exporter::probes {
namespace {

TEST(tls_facts, reason_precedence) {
  EXPECT_EQ(reason_for_verify_errors({}), failure_reason::none);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_HOSTNAME_MISMATCH}), failure_reason::cert_hostname_mismatch);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_IP_ADDRESS_MISMATCH}), failure_reason::cert_hostname_mismatch);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_HOSTNAME_MISMATCH}),
            failure_reason::cert_untrusted);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}), failure_reason::cert_untrusted);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_HAS_EXPIRED}),
            failure_reason::cert_expired);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_NOT_YET_VALID}),
            failure_reason::cert_not_yet_valid);
}

// Builds a DER OCSP response for `leaf` (issued by `issuer`) with the given status.
std::vector<unsigned char> ocsp_response(const smtp_test::test_pki& pki, int status, std::time_t next_update) {
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, pki.valid.cert.get(), pki.intermediate.get());
  OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
  ASN1_TIME* this_update = ASN1_TIME_set(nullptr, pki.now);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, next_update);
  ASN1_TIME* revoked_at = status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(nullptr, pki.now - 60) : nullptr;
  OCSP_basic_add1_status(basic, id, status, OCSP_REVOKED_STATUS_KEYCOMPROMISE, revoked_at, this_update, next);
  OCSP_basic_sign(basic, pki.intermediate.get(), pki.intermediate_key.get(), EVP_sha256(), nullptr, 0);
  OCSP_RESPONSE* response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
  unsigned char* der = nullptr;
  int len = i2d_OCSP_RESPONSE(response, &der);
  std::vector<unsigned char> out(der, der + std::max(len, 0));
  OPENSSL_free(der);
  OCSP_RESPONSE_free(response);
  OCSP_BASICRESP_free(basic);
  OCSP_CERTID_free(id);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next);
  ASN1_TIME_free(revoked_at);
  return out;
}

TEST(tls_facts, stapled_ocsp_status_and_next_update) {
  smtp_test::test_pki pki;
  struct {
    int status;
    ocsp_status expected;
  } cases[] = {{V_OCSP_CERTSTATUS_GOOD, ocsp_status::good},
               {V_OCSP_CERTSTATUS_REVOKED, ocsp_status::revoked},
               {V_OCSP_CERTSTATUS_UNKNOWN, ocsp_status::unknown}};
  for (const auto& c : cases) {
    auto der = ocsp_response(pki, c.status, pki.now + 7 * 86400);
    ASSERT_FALSE(der.empty());
    tls_facts facts;
    read_ocsp_response(der.data(), static_cast<long>(der.size()), facts);
    EXPECT_TRUE(facts.ocsp_stapled);
    EXPECT_EQ(facts.ocsp, c.expected);
    EXPECT_EQ(facts.ocsp_next_update, static_cast<double>(pki.now + 7 * 86400));
  }
}

TEST(tls_facts, no_or_garbage_ocsp_response) {
  tls_facts none;
  read_ocsp_response(nullptr, 0, none);
  EXPECT_FALSE(none.ocsp_stapled);
  const unsigned char garbage[] = {0x30, 0x03, 0x0a, 0x01};
  tls_facts bad;
  read_ocsp_response(garbage, sizeof garbage, bad);
  EXPECT_TRUE(bad.ocsp_stapled);  // something was stapled, even if unreadable
  EXPECT_EQ(bad.ocsp, ocsp_status::unknown);
  EXPECT_EQ(bad.ocsp_next_update, 0);
}

// Found in review: a 64-byte cut through "é" made invalid UTF-8, and Prometheus rejects the whole
// scrape for one bad label value.
TEST(tls_facts, label_text_is_valid_utf8_and_never_cuts_a_character) {
  EXPECT_EQ(label_text(std::string(63, 'a') + "\xc3\xa9", 64), std::string(63, 'a'));
  EXPECT_EQ(label_text(std::string(62, 'a') + "\xc3\xa9", 64), std::string(62, 'a') + "\xc3\xa9");
  EXPECT_EQ(label_text("mx\x01\x7f.test", 64), "mx??.test");
  EXPECT_EQ(label_text("bad \xc3 byte \xff", 64), "bad ? byte ?");
  EXPECT_EQ(label_text("\xe2\x82", 64), "??");  // truncated sequence
  EXPECT_EQ(label_text("\xf0\x9f\x93\xa7 mail", 64), "\xf0\x9f\x93\xa7 mail");
  EXPECT_EQ(label_text("", 64), "");
}

TEST(tls_facts, earliest_not_after_over_the_chain) {
  tls_facts facts;
  EXPECT_EQ(facts.earliest_not_after(), 0);
  facts.chain = {{0, "leaf", "int", 1, 300}, {1, "int", "root", 1, 200}, {2, "root", "root", 1, 900}};
  EXPECT_EQ(facts.earliest_not_after(), 200);
}

}  // namespace
}  // namespace smtp_exporter::probes
