#include "probes/tls/facts.hpp"
#include "probes/core/verdicts.hpp"

#include <algorithm>
#include <ctime>

#include <boost/asio/ip/address.hpp>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

namespace smtp_exporter::probes {

namespace {

constexpr std::size_t max_cn_length = 64;

// Our own ex_data slot: Asio's ssl::stream owns SSL_get_app_data (and deletes what it finds there).
int verify_errors_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

verify_errors* verify_errors_of(SSL* ssl) {
  return ssl ? static_cast<verify_errors*>(SSL_get_ex_data(ssl, verify_errors_index())) : nullptr;
}

int record_verify_error(int preverify_ok, X509_STORE_CTX* ctx) {
  if (!preverify_ok) {
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    verify_errors* errors = verify_errors_of(ssl);
    if (errors && errors->codes.size() < 32) errors->codes.push_back(X509_STORE_CTX_get_error(ctx));
  }
  // Go on: every error gets recorded, and the caller judges the whole picture afterwards.
  return 1;
}

double to_unix(const ASN1_TIME* t) {
  if (!t) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<double>(timegm(&tm));
}

std::string common_name(const X509_NAME* name) {
  if (!name) return {};
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string out = label_text(std::string_view(reinterpret_cast<const char*>(utf8),
                                                static_cast<std::size_t>(len)),
                               max_cn_length);
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

std::string label_text(std::string_view utf8, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    // The length of a well-formed UTF-8 sequence starting here; 0 if it is not one.
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    for (std::size_t k = 1; n != 0 && k < n; ++k) {
      if (i + k >= utf8.size() || (static_cast<unsigned char>(utf8[i + k]) & 0xc0) != 0x80) n = 0;
    }
    std::string_view piece = n == 0 ? std::string_view("?") : utf8.substr(i, n);
    if (n == 1 && (c < 0x20 || c == 0x7f)) piece = "?";
    if (out.size() + piece.size() > max_bytes) break;  // never cut a character in two
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void read_ocsp_response(const unsigned char* data, long len, tls_facts& facts) {
  if (len <= 0 || !data) return;
  facts.ocsp_stapled = true;
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &data, len);
  if (!response) return;
  if (OCSP_response_status(response) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    if (OCSP_BASICRESP* basic = OCSP_response_get1_basic(response)) {
      if (OCSP_SINGLERESP* single = OCSP_resp_get0(basic, 0)) {
        int reason = 0;
        ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
        int status = OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
        facts.ocsp = status == V_OCSP_CERTSTATUS_GOOD      ? ocsp_status::good
                     : status == V_OCSP_CERTSTATUS_REVOKED ? ocsp_status::revoked
                                                           : ocsp_status::unknown;
        facts.ocsp_next_update = to_unix(next_update);
      }
      OCSP_BASICRESP_free(basic);
    }
  }
  OCSP_RESPONSE_free(response);
}

namespace {

bool name_matches(X509* leaf, const std::string& name) {
  if (!leaf || name.empty()) return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (!ec) return X509_check_ip_asc(leaf, name.c_str(), 0) == 1;
  return X509_check_host(leaf, name.data(), name.size(), 0, nullptr) == 1;
}

}  // namespace

std::string_view to_string(ocsp_status s) {
  switch (s) {
    case ocsp_status::good: return "good";
    case ocsp_status::revoked: return "revoked";
    case ocsp_status::unknown: break;
  }
  return "unknown";
}

double tls_facts::earliest_not_after() const {
  double earliest = 0;
  for (const auto& c : chain) {
    if (c.not_after > 0 && (earliest == 0 || c.not_after < earliest)) earliest = c.not_after;
  }
  return earliest;
}

void prepare_tls_client(SSL* ssl, verify_errors* errors) {
  SSL_set_ex_data(ssl, verify_errors_index(), errors);
  SSL_set_verify(ssl, SSL_VERIFY_NONE, record_verify_error);
  SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
}

const verify_errors* recorded_verify_errors(SSL* ssl) { return verify_errors_of(ssl); }

tls_facts collect_tls_facts(SSL* ssl, const verify_errors& errors, const std::string& expected_name) {
  tls_facts facts;
  if (!ssl) return facts;
  facts.version = SSL_get_version(ssl);
  if (const char* cipher = SSL_get_cipher_name(ssl)) facts.cipher = cipher;

  // On the client side the peer chain includes the leaf, in the order the server sent it.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  int sent = chain ? sk_X509_num(chain) : 0;
  facts.chain_length = static_cast<std::size_t>(std::max(sent, 0));
  for (int i = 0; i < sent && facts.chain.size() < max_chain_certificates; ++i) {
    X509* cert = sk_X509_value(chain, i);
    certificate_facts c;
    c.depth = i;
    c.subject_cn = common_name(X509_get_subject_name(cert));
    c.issuer_cn = common_name(X509_get_issuer_name(cert));
    c.not_before = to_unix(X509_get0_notBefore(cert));
    c.not_after = to_unix(X509_get0_notAfter(cert));
    facts.chain.push_back(std::move(c));
  }

  X509* leaf = SSL_get0_peer_certificate(ssl);
  facts.hostname_match = name_matches(leaf, expected_name);
  std::vector<int> codes = errors.codes;
  if (!leaf) codes.push_back(X509_V_ERR_UNSPECIFIED);
  facts.verify_reason = reason_for_verify_errors(codes);
  facts.verified = facts.verify_reason == failure_reason::none;
  if (!codes.empty()) {
    // Name the error that decided the reason, so the log agrees with the metric.
    int deciding = codes.front();
    for (int c : codes) {
      if ((facts.verify_reason == failure_reason::cert_expired && c == X509_V_ERR_CERT_HAS_EXPIRED) ||
          (facts.verify_reason == failure_reason::cert_not_yet_valid && c == X509_V_ERR_CERT_NOT_YET_VALID)) {
        deciding = c;
      }
    }
    facts.verify_error = X509_verify_cert_error_string(deciding);
  }
  const unsigned char* ocsp = nullptr;
  long ocsp_len = SSL_get_tlsext_status_ocsp_resp(ssl, &ocsp);
  read_ocsp_response(ocsp, ocsp_len, facts);
  return facts;
}

}  // namespace smtp_exporter::probes
