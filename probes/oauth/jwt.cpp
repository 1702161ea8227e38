#include "probes/oauth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include <memory>

#include "common/base64url.hpp"
#include "common/bounded_read.hpp"
#include "probes/oauth/json_wipe.hpp"

namespace smtp_exporter::probes::oauth {

namespace json = boost::json;

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

// An encrypted key must fail to load, not make OpenSSL prompt on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

std::optional<service_account_key> parse_service_account_key(std::string_view json_text,
                                                             std::string& error) {
  boost::system::error_code ec;
  json::value value = json::parse(json_text, ec);
  if (ec || !value.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  auto& object = value.as_object();
  std::optional<service_account_key> out;
  auto member = [&](std::string_view key) -> json::string* {
    auto* v = object.if_contains(key);
    return v != nullptr ? v->if_string() : nullptr;
  };
  const auto* type = object.if_contains("type");
  auto* email = member("client_email");
  auto* key = member("private_key");
  auto* uri = member("token_uri");
  if (type != nullptr && !(type->is_string() && type->as_string() == "service_account")) {
    error = "\"type\" is not \"service_account\"";
  } else if (email == nullptr || email->empty()) {
    error = "no \"client_email\"";
  } else if (key == nullptr || key->empty()) {
    error = "no \"private_key\"";
  } else if (uri == nullptr || uri->empty()) {
    error = "no \"token_uri\"";
  } else {
    out.emplace();
    out->client_email = std::string(*email);
    out->private_key = secret_string(std::string_view(*key));
    out->token_uri = std::string(*uri);
  }
  wipe_string_members(object);
  return out;
}

std::optional<service_account_key> load_service_account_key(const std::string& path,
                                                            std::string& error) {
  auto read = read_bounded_file(path, max_service_account_key_bytes);
  if (!read.ok()) {
    error = "cannot read service account key file \"" + path + "\": " +
            read.why(max_service_account_key_bytes);
    return std::nullopt;
  }
  std::string why;
  auto key = parse_service_account_key(read.text.reveal(), why);
  if (!key) error = "service account key file \"" + path + "\": " + why;
  return key;
}

std::string claims_json(const jwt_claims& claims) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto iat = duration_cast<seconds>(claims.issued_at.time_since_epoch()).count();
  json::object object;
  object["iss"] = claims.issuer;
  if (!claims.subject.empty()) object["sub"] = claims.subject;
  object["aud"] = claims.audience;
  object["scope"] = claims.scope;
  object["iat"] = iat;
  object["exp"] = iat + claims.lifetime.count();
  return json::serialize(object);
}

std::optional<secret_string> sign_rs256_assertion(const jwt_claims& claims,
                                                  std::string_view private_key_pem,
                                                  std::string& error) {
  ERR_clear_error();
  std::unique_ptr<BIO, bio_free> bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  std::unique_ptr<EVP_PKEY, pkey_free> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) {
    ERR_clear_error();
    error = "the private key is not a PEM private key without a passphrase";
    return std::nullopt;
  }
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    error = "the private key is not an RSA key (RS256 needs one)";
    return std::nullopt;
  }
  std::string input = base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                      base64url_encode(claims_json(claims));
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    error = "RS256 signing failed";
    return std::nullopt;
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    error = "RS256 signing failed";
    return std::nullopt;
  }
  signature.resize(length);
  input += ".";
  input += base64url_encode(signature);
  // The assertion is a credential for its lifetime: it leaves here only as a secret_string.
  return secret_string(std::move(input));
}

}  // namespace smtp_exporter::probes::oauth
