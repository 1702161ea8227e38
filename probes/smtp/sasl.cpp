#include "probes/smtp/sasl.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstddef>
#include <memory>
#include <utility>

#include <boost/json.hpp>

#include "common/base64.hpp"
#include "common/text_escape.hpp"

namespace smtp_exporter::probes {
namespace {

// RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets including CRLF. RFC 4954
// section 4: an AUTH line whose initial response would exceed it must go without one.
constexpr std::size_t max_command_length = 512 - 2;
// A bearer token's error challenge is a short JSON object; more is not worth keeping.
constexpr std::size_t max_error_challenge_length = 512;

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

enum class login_prompt { username, password, unknown };

// "Username:", "User Name" (the draft's spelling, some servers add a NUL), "Password:", any case.
login_prompt classify(std::string_view prompt) {
  while (!prompt.empty() &&
         (prompt.back() == '\0' || prompt.back() == ':' || is_space(prompt.back()))) {
    prompt.remove_suffix(1);
  }
  prompt = trim(prompt);
  if (iequals(prompt, "username") || iequals(prompt, "user name")) return login_prompt::username;
  if (iequals(prompt, "password")) return login_prompt::password;
  return login_prompt::unknown;
}

// Encodes `plain` and cleanses it: every caller's `plain` holds the secret.
std::string encode_and_cleanse(std::string& plain) {
  std::string encoded = base64_encode(plain);
  cleanse(plain);
  return encoded;
}

struct mac_deleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }  // cleanses the key
};

// Lowercase hex HMAC-MD5 (RFC 2104). nullopt when the provider refuses MD5 (FIPS mode).
std::optional<std::string> hmac_md5_hex(std::string_view key, std::string_view message) {
  const std::unique_ptr<EVP_MAC, mac_deleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return std::nullopt;
  const std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return std::nullopt;

  char digest_name[] = "MD5";
  const std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to EVP_MAC_init; an empty password is a key too.
  static constexpr unsigned char empty_key = 0;
  const auto* key_bytes =
      key.empty() ? &empty_key : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params.data()) != 1) return std::nullopt;
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return std::nullopt;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac_bytes{};
  std::size_t mac_length = 0;
  if (EVP_MAC_final(ctx.get(), mac_bytes.data(), &mac_length, mac_bytes.size()) != 1) {
    OPENSSL_cleanse(mac_bytes.data(), mac_bytes.size());
    return std::nullopt;
  }

  static constexpr std::string_view hex_digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(mac_length * 2);
  for (std::size_t i = 0; i < mac_length; ++i) {
    hex.push_back(hex_digits[mac_bytes[i] >> 4]);
    hex.push_back(hex_digits[mac_bytes[i] & 0x0f]);
  }
  OPENSSL_cleanse(mac_bytes.data(), mac_bytes.size());
  return hex;
}

}  // namespace

std::string_view to_string(sasl_mechanism m) {
  switch (m) {
    case sasl_mechanism::plain: return "PLAIN";
    case sasl_mechanism::login: return "LOGIN";
    case sasl_mechanism::cram_md5: return "CRAM-MD5";
    case sasl_mechanism::xoauth2: return "XOAUTH2";
    case sasl_mechanism::oauthbearer: return "OAUTHBEARER";
  }
  return "unknown";
}

std::optional<sasl_mechanism> choose_mechanism(const capabilities& offered, bool have_token) {
  if (have_token) {
    if (offered.has(auth_mechanism::oauthbearer)) return sasl_mechanism::oauthbearer;
    if (offered.has(auth_mechanism::xoauth2)) return sasl_mechanism::xoauth2;
    return std::nullopt;
  }
  if (offered.has(auth_mechanism::cram_md5)) return sasl_mechanism::cram_md5;
  if (offered.has(auth_mechanism::plain)) return sasl_mechanism::plain;
  if (offered.has(auth_mechanism::login)) return sasl_mechanism::login;
  return std::nullopt;
}

sasl_error_challenge decode_error_challenge(std::string_view decoded) {
  sasl_error_challenge out;
  out.received = true;
  const auto field = [](const boost::json::object& o, std::string_view key) -> std::string {
    const boost::json::value* v = o.if_contains(key);
    if (v == nullptr) return {};
    if (v->is_string()) {
      return printable_excerpt(std::string_view(v->get_string()), sasl_error_challenge::max_field);
    }
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    return {};
  };
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(decoded, ec);
  if (!ec && parsed.is_object()) {
    const auto& o = parsed.get_object();
    out.status = field(o, "status");
    out.scope = field(o, "scope");
    out.schemes = field(o, "schemes");
  }
  if (out.status.empty() && out.scope.empty() && out.schemes.empty()) {
    out.excerpt = printable_excerpt(trim(decoded), sasl_error_challenge::max_field);
  }
  return out;
}

std::string describe(const sasl_error_challenge& c) {
  if (!c.received) return {};
  if (!c.excerpt.empty()) return "challenge: " + c.excerpt;
  std::string out;
  const auto add = [&](std::string_view key, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += ", ";
    out.append(key).append(" ").append(value);
  };
  add("status", c.status);
  add("scope", c.scope);
  add("schemes", c.schemes);
  return out.empty() ? "challenge: (empty)" : out;
}

sasl_client::sasl_client(sasl_mechanism m, std::string username, secret_string secret,
                         sasl_peer peer)
    : mechanism_(m),
      username_(std::move(username)),
      secret_(std::move(secret)),
      peer_(std::move(peer)) {}

bool sasl_client::sends_initial_response() const {
  return mechanism_ == sasl_mechanism::plain || mechanism_ == sasl_mechanism::xoauth2 ||
         mechanism_ == sasl_mechanism::oauthbearer;
}

std::string sasl_client::credentials_base64() const {
  const std::string_view secret = secret_.reveal();
  constexpr std::string_view auth_key = "auth=Bearer ";
  std::string plain;
  if (mechanism_ == sasl_mechanism::xoauth2) {
    // "user=" user ^A "auth=Bearer " token ^A ^A
    constexpr std::string_view user_key = "user=";
    plain.reserve(user_key.size() + username_.size() + 1 + auth_key.size() + secret.size() + 2);
    plain.append(user_key).append(username_).push_back('\x01');
    plain.append(auth_key).append(secret).append("\x01\x01");
  } else if (mechanism_ == sasl_mechanism::oauthbearer) {
    // RFC 7628 section 3.1: gs2-header ("n,a=" saslname ",") kvsep [host] [port] auth kvsep.
    std::string gs2 = "n,";
    if (!username_.empty()) {
      gs2 += "a=";
      for (char c : username_) {
        if (c == ',') {
          gs2 += "=2C";
        } else if (c == '=') {
          gs2 += "=3D";
        } else {
          gs2 += c;
        }
      }
    }
    gs2 += ',';
    std::string where;
    if (!peer_.host.empty()) where.append("host=").append(peer_.host).push_back('\x01');
    if (peer_.port != 0) where.append("port=").append(std::to_string(peer_.port)).push_back('\x01');
    plain.reserve(gs2.size() + 1 + where.size() + auth_key.size() + secret.size() + 2);
    plain.append(gs2).push_back('\x01');
    plain.append(where).append(auth_key).append(secret).append("\x01\x01");
  } else {
    // RFC 4616: [authzid] NUL authcid NUL passwd, with an empty authzid (act as oneself).
    plain.reserve(1 + username_.size() + 1 + secret.size());
    plain.push_back('\0');
    plain.append(username_).push_back('\0');
    plain.append(secret);
  }
  return encode_and_cleanse(plain);
}

std::string sasl_client::initial_command() {
  std::string line = "AUTH ";
  line.append(to_string(mechanism_));
  if (!sends_initial_response()) return line;

  std::string response = credentials_base64();
  if (line.size() + 1 + response.size() <= max_command_length) {
    line.reserve(line.size() + 1 + response.size());  // one allocation: no stray copy to wipe
    line.append(" ").append(response);
    secret_sent_ = true;
  }
  cleanse(response);
  return line;
}

std::optional<std::string> sasl_client::respond(std::string_view challenge_base64) {
  if (failed_) return std::nullopt;
  if (++round_trips_ > max_round_trips) {
    failed_ = true;
    return std::nullopt;
  }
  const std::optional<std::string> challenge = base64_decode(trim(challenge_base64));
  if (!challenge) {
    failed_ = true;
    return std::nullopt;
  }

  std::optional<std::string> reply;
  switch (mechanism_) {
    case sasl_mechanism::plain:
      // One message (RFC 4616): the server's first 334 asks for it when the AUTH line had none;
      // anything after it is out of protocol.
      if (!secret_sent_) {
        reply = credentials_base64();
        secret_sent_ = true;
      }
      break;
    case sasl_mechanism::xoauth2:
    case sasl_mechanism::oauthbearer:
      if (!secret_sent_) {
        reply = credentials_base64();
        secret_sent_ = true;
      } else if (!error_acknowledged_) {
        // The token was refused; the server waits for the client's answer before its final 5xx:
        // an empty line for XOAUTH2, a lone ^A for OAUTHBEARER (RFC 7628 section 3.2.3).
        error_challenge_ =
            decode_error_challenge(std::string_view(*challenge).substr(0, max_error_challenge_length));
        error_acknowledged_ = true;
        reply = mechanism_ == sasl_mechanism::oauthbearer ? base64_encode("\x01") : std::string{};
      }
      break;
    case sasl_mechanism::login:
      reply = respond_login(*challenge);
      break;
    case sasl_mechanism::cram_md5:
      if (!secret_sent_) {
        reply = respond_cram_md5(*challenge);
        secret_sent_ = reply.has_value();
      }
      break;
  }
  if (!reply) failed_ = true;
  return reply;
}

std::optional<std::string> sasl_client::respond_login(std::string_view prompt) {
  login_prompt kind = classify(prompt);
  if (kind == login_prompt::unknown) {
    // A prompt we cannot read: answer in the draft's order.
    if (!username_sent_) {
      kind = login_prompt::username;
    } else if (!secret_sent_) {
      kind = login_prompt::password;
    }
  }
  if (username_sent_ && secret_sent_) return std::nullopt;  // both given; a third ask is bogus
  switch (kind) {
    case login_prompt::username:
      username_sent_ = true;
      return base64_encode(username_);
    case login_prompt::password:
      secret_sent_ = true;
      return base64_encode(secret_.reveal());
    case login_prompt::unknown:
      break;
  }
  return std::nullopt;
}

std::optional<std::string> sasl_client::respond_cram_md5(std::string_view challenge) const {
  std::optional<std::string> digest = hmac_md5_hex(secret_.reveal(), challenge);
  if (!digest) return std::nullopt;
  std::string plain;
  plain.reserve(username_.size() + 1 + digest->size());
  plain.append(username_).append(" ").append(*digest);
  cleanse(*digest);
  return encode_and_cleanse(plain);
}

std::string sasl_client::redact(std::string_view line_sent) {
  std::string_view ending;
  if (line_sent.ends_with("\r\n")) {
    ending = "\r\n";
  } else if (line_sent.ends_with('\n')) {
    ending = "\n";
  }
  const std::string_view body = line_sent.substr(0, line_sent.size() - ending.size());

  std::string out;
  if (body.empty() || body == "*") {
    out = body;
  } else if (body.size() >= 4 && iequals(body.substr(0, 4), "AUTH") &&
             (body.size() == 4 || body[4] == ' ')) {
    // Keep "AUTH <mechanism>"; whatever follows is an initial response.
    std::size_t end = 4;
    while (end < body.size() && body[end] == ' ') ++end;
    while (end < body.size() && body[end] != ' ') ++end;
    out = body.substr(0, end);
    if (!trim(body.substr(end)).empty()) out.append(" <redacted>");
  } else {
    out = "<redacted>";
  }
  out.append(ending);
  return out;
}

}  // namespace smtp_exporter::probes
