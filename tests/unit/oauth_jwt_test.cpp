#include "probes/oauth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/base64url.hpp"
#include "tests/support/certs.hpp"

namespace smtp_exporter::probes::oauth {
namespace {

// RS256 verification, independent of the signer: EVP_DigestVerify with the public half.
bool verifies(EVP_PKEY* key, const std::string& jwt) {
  const auto last_dot = jwt.rfind('.');
  const std::string input = jwt.substr(0, last_dot);
  const auto signature = base64url_decode(jwt.substr(last_dot + 1));
  if (!signature) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

jwt_claims sample_claims() {
  jwt_claims c;
  c.issuer = "prober@project.iam.gserviceaccount.com";
  c.subject = "alerts@example.com";
  c.audience = "https://oauth2.googleapis.com/token";
  c.scope = "https://mail.google.com/";
  c.issued_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'796'600'000));
  return c;
}

TEST(oauth_jwt, claims_are_compact_json_with_exp_one_hour_after_iat) {
  EXPECT_EQ(claims_json(sample_claims()),
            R"({"iss":"prober@project.iam.gserviceaccount.com","sub":"alerts@example.com",)"
            R"("aud":"https://oauth2.googleapis.com/token","scope":"https://mail.google.com/",)"
            R"("iat":1796600000,"exp":1796603600})");
  auto no_subject = sample_claims();
  no_subject.subject.clear();
  EXPECT_EQ(claims_json(no_subject).find("sub"), std::string::npos);
}

TEST(oauth_jwt, rs256_assertion_verifies_with_the_public_key_and_carries_the_claims) {
  auto key = smtp_test::make_rsa_key();
  std::string error;
  const auto assertion = sign_rs256_assertion(sample_claims(), key.private_pem(), error);
  ASSERT_TRUE(assertion.has_value()) << error;
  const std::string jwt(assertion->reveal());
  EXPECT_TRUE(verifies(key.get(), jwt));

  const auto first_dot = jwt.find('.');
  const auto last_dot = jwt.rfind('.');
  ASSERT_NE(first_dot, last_dot);
  EXPECT_EQ(jwt.find('='), std::string::npos);
  EXPECT_EQ(base64url_decode(jwt.substr(0, first_dot)), R"({"alg":"RS256","typ":"JWT"})");
  const auto claims = base64url_decode(jwt.substr(first_dot + 1, last_dot - first_dot - 1));
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(*claims, claims_json(sample_claims()));
  // 2048-bit RSA: a 256-byte signature.
  EXPECT_EQ(base64url_decode(jwt.substr(last_dot + 1))->size(), 256u);
}

TEST(oauth_jwt, a_changed_claim_or_another_key_does_not_verify) {
  auto key = smtp_test::make_rsa_key();
  auto other = smtp_test::make_rsa_key();
  std::string error;
  const std::string jwt(sign_rs256_assertion(sample_claims(), key.private_pem(), error)->reveal());
  EXPECT_FALSE(verifies(other.get(), jwt));
  auto tampered_claims = sample_claims();
  tampered_claims.subject = "ceo@example.com";
  const auto first_dot = jwt.find('.');
  const auto last_dot = jwt.rfind('.');
  const std::string tampered = jwt.substr(0, first_dot + 1) +
                               base64url_encode(claims_json(tampered_claims)) + jwt.substr(last_dot);
  EXPECT_FALSE(verifies(key.get(), tampered));
}

TEST(oauth_jwt, refuses_keys_that_cannot_sign_rs256) {
  std::string error;
  EXPECT_FALSE(sign_rs256_assertion(sample_claims(), "not a key", error).has_value());
  EXPECT_EQ(error, "the private key is not a PEM private key without a passphrase");
  const auto ec_key = smtp_test::make_key();
  EXPECT_FALSE(sign_rs256_assertion(sample_claims(), ec_key.private_pem(), error).has_value());
  EXPECT_EQ(error, "the private key is not an RSA key (RS256 needs one)");
}

std::string key_file_json(const std::string& pem) {
  boost::json::object o;
  o["type"] = "service_account";
  o["project_id"] = "p";
  o["private_key_id"] = "abc";
  o["private_key"] = pem;
  o["client_email"] = "prober@p.iam.gserviceaccount.com";
  o["client_id"] = "1234";
  o["token_uri"] = "https://oauth2.googleapis.com/token";
  return boost::json::serialize(o);
}

TEST(oauth_jwt, parses_a_service_account_key_file) {
  auto key = smtp_test::make_rsa_key();
  const std::string pem = key.private_pem();
  std::string error;
  const auto parsed = parse_service_account_key(key_file_json(pem), error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(parsed->client_email, "prober@p.iam.gserviceaccount.com");
  EXPECT_EQ(parsed->token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(parsed->private_key.reveal(), pem);

  const auto dir = std::filesystem::temp_directory_path() / ("oauth_jwt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "key.json") << key_file_json(pem);
  const auto loaded = load_service_account_key((dir / "key.json").string(), error);
  ASSERT_TRUE(loaded.has_value()) << error;
  EXPECT_EQ(loaded->private_key.reveal(), pem);
  EXPECT_FALSE(load_service_account_key((dir / "missing.json").string(), error).has_value());
  EXPECT_EQ(error, "cannot read service account key file \"" + (dir / "missing.json").string() +
                       "\": No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST(oauth_jwt, names_what_a_key_file_lacks_without_quoting_it) {
  const std::pair<std::string, std::string> cases[] = {
      {"[]", "not a JSON object"},
      {R"({"type":"authorized_user","client_email":"a","private_key":"K","token_uri":"u"})",
       "\"type\" is not \"service_account\""},
      {R"({"private_key":"SECRETKEY","token_uri":"u"})", "no \"client_email\""},
      {R"({"client_email":"a","token_uri":"u"})", "no \"private_key\""},
      {R"({"client_email":"a","private_key":"SECRETKEY"})", "no \"token_uri\""},
  };
  for (const auto& [json, expected] : cases) {
    std::string error;
    EXPECT_FALSE(parse_service_account_key(json, error).has_value()) << json;
    EXPECT_EQ(error, expected) << json;
    EXPECT_EQ(error.find("SECRETKEY"), std::string::npos);
  }
}

}  // namespace
}  // namespace smtp_exporter::probes::oauth
