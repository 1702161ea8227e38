// The test certificate factory (tests/support/certs.*): chains verify, or fail, exactly as the
// TLS probe tests will rely on, and validity times round-trip to the second.
#include "tests/support/certs.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace smtp_test {
namespace {

struct store_free {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct ctx_free {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct ssl_ctx_free {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};

// The certificates of a PEM file, in order.
std::vector<certificate> read_pem(const std::filesystem::path& path) {
  std::vector<certificate> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), &BIO_free);
  if (!bio) return out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificate c;
    c.x509.reset(x);
    c.not_before = to_time_t(X509_get0_notBefore(x));
    c.not_after = to_time_t(X509_get0_notAfter(x));
    out.push_back(std::move(c));
  }
  ERR_clear_error();  // the end of the file reads as an error
  return out;
}

// X509_verify_cert of the chain file (leaf first, the rest untrusted) against root.pem only,
// checking `host` or `ip` if given, at time `at` (0: now). X509_V_OK or the error.
int verify_chain(const test_pki& pki, const std::filesystem::path& chain_file,
                 const std::string& host = "", const std::string& ip = "", std::time_t at = 0) {
  std::unique_ptr<X509_STORE, store_free> store(X509_STORE_new());
  EXPECT_EQ(X509_STORE_load_file(store.get(), pki.root_file.c_str()), 1);
  auto chain = read_pem(chain_file);
  EXPECT_FALSE(chain.empty()) << chain_file;
  if (chain.empty()) return -1;
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
  std::unique_ptr<X509_STORE_CTX, ctx_free> ctx(X509_STORE_CTX_new());
  EXPECT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted), 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  if (at != 0) X509_VERIFY_PARAM_set_time(param, at);
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(untrusted);  // the certificates belong to `chain`
  ERR_clear_error();
  if (ok == 1) {
    EXPECT_EQ(err, X509_V_OK);
  }
  return ok == 1 ? X509_V_OK : err;
}

std::string err_name(int e) { return std::to_string(e) + " " + X509_verify_cert_error_string(e); }

class certs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test_pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static test_pki* pki_;
  const test_pki& pki() { return *pki_; }
};
test_pki* certs::pki_ = nullptr;

TEST_F(certs, files_are_written) {
  EXPECT_TRUE(std::filesystem::is_regular_file(pki().root_file));
  for (const auto* l : pki().leaves()) {
    EXPECT_TRUE(std::filesystem::is_regular_file(l->chain_file)) << l->name;
    EXPECT_TRUE(std::filesystem::is_regular_file(l->key_file)) << l->name;
    EXPECT_EQ(l->chain_file.filename(), l->name + ".chain.pem");
    EXPECT_EQ(l->key_file.filename(), l->name + ".key.pem");
    auto perms = std::filesystem::status(l->key_file).permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none)
        << l->name;
    EXPECT_EQ(read_pem(l->chain_file).size(), l->name == "self_signed" ? 1u : 2u) << l->name;
  }
  EXPECT_EQ(read_pem(pki().root_file).size(), 1u);
  EXPECT_EQ(&pki().get("expired"), &pki().expired);
  EXPECT_THROW(pki().get("nope"), std::out_of_range);
}

TEST_F(certs, valid_chain_verifies) {
  EXPECT_EQ(verify_chain(pki(), pki().valid.chain_file), X509_V_OK);
  EXPECT_EQ(verify_chain(pki(), pki().valid.chain_file, "mx.test"), X509_V_OK);
  EXPECT_EQ(verify_chain(pki(), pki().valid.chain_file, "localhost"), X509_V_OK);
  EXPECT_EQ(verify_chain(pki(), pki().valid.chain_file, "", "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(verify_chain(pki(), pki().valid.chain_file, "other.example"),
            X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(verify_chain(pki(), pki().expiring_soon.chain_file, "mx.test"), X509_V_OK);
}

TEST_F(certs, the_leaf_alone_does_not_verify) {
  // Without the intermediate the chain cannot be built: servers must send it.
  auto leaf_only = pki().dir / "valid.leaf_only.pem";
  write_pem(leaf_only, {&pki().valid.cert});
  int err = verify_chain(pki(), leaf_only);
  EXPECT_EQ(err, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << err_name(err);
}

TEST_F(certs, expired_and_not_yet_valid) {
  int e = verify_chain(pki(), pki().expired.chain_file);
  EXPECT_EQ(e, X509_V_ERR_CERT_HAS_EXPIRED) << err_name(e);
  e = verify_chain(pki(), pki().not_yet_valid.chain_file);
  EXPECT_EQ(e, X509_V_ERR_CERT_NOT_YET_VALID) << err_name(e);
}

TEST_F(certs, self_signed_is_untrusted) {
  int e = verify_chain(pki(), pki().self_signed.chain_file);
  EXPECT_EQ(e, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) << err_name(e);
  // ...yet it is a proper self-signed certificate: it verifies against itself.
  test_pki& p = *pki_;
  EXPECT_EQ(X509_verify(p.self_signed.cert.get(), X509_get0_pubkey(p.self_signed.cert.get())), 1);
  X509* x = p.self_signed.cert.get();
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(x)), 0);
  // A leaf, not a CA: no keyCertSign, which is what check_issued reports.
  EXPECT_EQ(X509_check_issued(x, x), X509_V_ERR_KEYUSAGE_NO_CERTSIGN);
}

TEST_F(certs, wrong_host) {
  int e = verify_chain(pki(), pki().wrong_host.chain_file, "mx.test");
  EXPECT_EQ(e, X509_V_ERR_HOSTNAME_MISMATCH) << err_name(e);
  EXPECT_EQ(verify_chain(pki(), pki().wrong_host.chain_file, "other.example"),
            X509_V_OK);
  EXPECT_EQ(verify_chain(pki(), pki().wrong_host.chain_file), X509_V_OK);
}

TEST_F(certs, times_round_trip_to_the_second) {
  const auto& p = pki();
  const std::time_t d = test_pki::day;
  struct want {
    const test_pki::leaf* leaf;
    std::time_t nb, na;
  };
  for (const auto& w : {want{&p.valid, p.now - d, p.now + 90 * d},
                        want{&p.expired, p.now - 30 * d, p.now - d},
                        want{&p.not_yet_valid, p.now + d, p.now + 30 * d},
                        want{&p.wrong_host, p.now - d, p.now + 90 * d},
                        want{&p.expiring_soon, p.now - d, p.now + 5 * d},
                        want{&p.self_signed, p.now - d, p.now + 90 * d}}) {
    EXPECT_EQ(w.leaf->cert.not_before, w.nb) << w.leaf->name;
    EXPECT_EQ(w.leaf->cert.not_after, w.na) << w.leaf->name;
    auto from_file = read_pem(w.leaf->chain_file);
    ASSERT_FALSE(from_file.empty());
    EXPECT_EQ(from_file[0].not_before, w.nb) << w.leaf->name;
    EXPECT_EQ(from_file[0].not_after, w.na) << w.leaf->name;
  }
  EXPECT_EQ(p.root.not_after, p.now + 3650 * d);
  EXPECT_EQ(p.intermediate.not_after, p.now + 1825 * d);
  // The boundaries are exact to the second. OpenSSL treats notAfter itself as already expired
  // (X509_cmp_time counts "equal" as "earlier"): valid iff not_before <= t < not_after.
  auto at = [&](const test_pki::leaf& l, std::time_t t) {
    return verify_chain(p, l.chain_file, "", "", t);
  };
  const auto& soon = p.expiring_soon.cert;
  EXPECT_EQ(at(p.expiring_soon, soon.not_after - 1), X509_V_OK);
  EXPECT_EQ(at(p.expiring_soon, soon.not_after), X509_V_ERR_CERT_HAS_EXPIRED);
  const auto& later = p.not_yet_valid.cert;
  EXPECT_EQ(at(p.not_yet_valid, later.not_before), X509_V_OK);
  EXPECT_EQ(at(p.not_yet_valid, later.not_before - 1), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST_F(certs, fixed_now_gives_exact_times_past_2050) {
  // GeneralizedTime (after 2049) round-trips too.
  const std::time_t now = 2600000000;  // 2052-05-23
  test_pki p(now);
  EXPECT_EQ(p.valid.cert.not_after, now + 90 * test_pki::day);
  EXPECT_EQ(p.expired.cert.not_before, now - 30 * test_pki::day);
  EXPECT_EQ(verify_chain(p, p.valid.chain_file, "mx.test", "", now), X509_V_OK);
  EXPECT_EQ(verify_chain(p, p.valid.chain_file, "", "", 0), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST_F(certs, extensions) {
  const auto& p = pki();
  EXPECT_EQ(X509_check_ca(p.root.get()), 1);
  EXPECT_EQ(X509_check_ca(p.intermediate.get()), 1);
  EXPECT_EQ(X509_check_ca(p.valid.cert.get()), 0);
  EXPECT_EQ(X509_check_ca(p.self_signed.cert.get()), 0);
  // basicConstraints is critical on every certificate.
  for (X509* x : {p.root.get(), p.intermediate.get(), p.valid.cert.get()}) {
    int crit = -2;
    auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_basic_constraints, &crit,
                                                                nullptr));
    ASSERT_NE(bc, nullptr);
    EXPECT_EQ(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
  }
  EXPECT_TRUE(X509_get_key_usage(p.intermediate.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_key_usage(p.valid.cert.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(p.valid.cert.get()) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_extended_key_usage(p.valid.cert.get()) & XKU_SSL_SERVER);
  // Key identifiers link each certificate to its issuer.
  EXPECT_EQ(X509_check_issued(p.root.get(), p.intermediate.get()), X509_V_OK);
  EXPECT_EQ(X509_check_issued(p.intermediate.get(), p.valid.cert.get()), X509_V_OK);
  EXPECT_NE(X509_get0_subject_key_id(p.valid.cert.get()), nullptr);
  ASSERT_NE(X509_get0_authority_key_id(p.valid.cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(p.valid.cert.get()),
                                  X509_get0_subject_key_id(p.intermediate.get())),
            0);
  // Names.
  EXPECT_EQ(p.valid.cert.subject_cn, "mx.test");
  EXPECT_EQ(p.wrong_host.cert.subject_cn, "other.example");
  EXPECT_EQ(p.root.subject_cn, "smtp_exporter test root CA");
  EXPECT_EQ(X509_check_ip_asc(p.valid.cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(p.valid.cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(p.wrong_host.cert.get(), "mx.test", 0, 0, nullptr), 0);
  // Serial numbers are random.
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(p.valid.cert.get()),
                             X509_get0_serialNumber(p.expired.cert.get())),
            0);
  // EC P-256 keys.
  EXPECT_EQ(EVP_PKEY_get_base_id(p.valid.key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(p.valid.key.get()), 256);
}

TEST_F(certs, files_load_into_a_tls_server_context) {
  for (const auto* l : pki().leaves()) {
    std::unique_ptr<SSL_CTX, ssl_ctx_free> ctx(SSL_CTX_new(TLS_server_method()));
    EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), l->chain_file.c_str()), 1) << l->name;
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), l->key_file.c_str(), SSL_FILETYPE_PEM), 1)
        << l->name;
    EXPECT_EQ(SSL_CTX_check_private_key(ctx.get()), 1) << l->name;
    ERR_clear_error();
  }
}

TEST_F(certs, copies_share_the_object_and_pem_matches_the_file) {
  certificate copy = pki().valid.cert;
  EXPECT_EQ(copy.get(), pki().valid.cert.get());
  EXPECT_EQ(copy.not_after, pki().valid.cert.not_after);
  key_pair key_copy = pki().valid.key;
  EXPECT_EQ(key_copy.get(), pki().valid.key.get());
  EXPECT_EQ(key_copy.private_pem().rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto from_file = read_pem(pki().valid.chain_file);
  ASSERT_EQ(from_file.size(), 2u);
  EXPECT_EQ(from_file[0].pem(), pki().valid.cert.pem());
  EXPECT_EQ(from_file[1].pem(), pki().intermediate.pem());
}

TEST_F(certs, custom_certificate) {
  // The factory on its own: an IPv6-only leaf straight from the root.
  const auto& p = pki();
  auto key = make_key();
  auto cert = make_certificate({"", {}, {"::1"}, p.now - 10, p.now + 10, false}, key, &p.root,
                               p.root_key);
  EXPECT_EQ(cert.subject_cn, "");
  EXPECT_EQ(cert.not_before, p.now - 10);
  EXPECT_EQ(cert.not_after, p.now + 10);
  auto path = p.dir / "v6.pem";
  write_pem(path, {&cert});
  EXPECT_EQ(verify_chain(p, path, "", "::1", p.now), X509_V_OK);
  EXPECT_EQ(verify_chain(p, path, "", "127.0.0.1", p.now), X509_V_ERR_IP_ADDRESS_MISMATCH);
  EXPECT_THROW(make_certificate({"x", {"a,b"}, {}, p.now, p.now + 1, false}, key, nullptr, key),
               std::invalid_argument);
}

}  // namespace
}  // namespace smtp_test
