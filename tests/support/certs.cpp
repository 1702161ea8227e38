#include "tests/support/certs.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <stdexcept>
#include <system_error>

namespace smtp_test {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::string msg = "certs: " + what;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += "; ";
    msg += buf;
  }
  throw std::runtime_error(msg);
}

template <typename T, void (*Free)(T*)>
struct owned {
  T* p;
  explicit owned(T* q) : p(q) {}
  ~owned() {
    if (p) Free(p);
  }
  owned(const owned&) = delete;
  owned& operator=(const owned&) = delete;
  T* get() const { return p; }
};

using bio_ptr = owned<BIO, BIO_free_all>;
using bn_ptr = owned<BIGNUM, BN_free>;
using asn1_time_ptr = owned<ASN1_TIME, ASN1_TIME_free>;
using asn1_int_ptr = owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using name_ptr = owned<X509_NAME, X509_NAME_free>;
using ext_ptr = owned<X509_EXTENSION, X509_EXTENSION_free>;

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext.get()) fail("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) fail("X509_add_ext");
}

void set_time(X509* cert, std::time_t t, bool before) {
  // ASN1_TIME_set picks UTCTime up to 2049 and GeneralizedTime after, as RFC 5280 asks.
  asn1_time_ptr at(ASN1_TIME_set(nullptr, t));
  if (!at.get()) fail("ASN1_TIME_set");
  int ok = before ? X509_set1_notBefore(cert, at.get()) : X509_set1_notAfter(cert, at.get());
  if (ok != 1) fail("X509_set1_notBefore/After");
}

void set_random_serial(X509* cert) {
  bn_ptr bn(BN_new());
  if (!bn.get()) fail("BN_new");
  do {
    // 159 bits: positive and at most 20 octets once DER-encoded (RFC 5280 4.1.2.2).
    if (BN_rand(bn.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) fail("BN_rand");
  } while (BN_is_zero(bn.get()));
  asn1_int_ptr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial.get() || X509_set_serialNumber(cert, serial.get()) != 1) fail("serial number");
}

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

}  // namespace

key_pair::key_pair(const key_pair& other) {
  if (other.pkey && EVP_PKEY_up_ref(other.pkey.get()) == 1) pkey.reset(other.pkey.get());
}

key_pair& key_pair::operator=(const key_pair& other) {
  if (this != &other) *this = key_pair(other);
  return *this;
}

std::string key_pair::private_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio.get() ||
      PEM_write_bio_PrivateKey(bio.get(), get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("PEM_write_bio_PrivateKey");
  return bio_string(bio.get());
}

std::string key_pair::public_pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio.get() || PEM_write_bio_PUBKEY(bio.get(), get()) != 1) fail("PEM_write_bio_PUBKEY");
  return bio_string(bio.get());
}

certificate::certificate(const certificate& other)
    : not_before(other.not_before), not_after(other.not_after), subject_cn(other.subject_cn) {
  if (other.x509 && X509_up_ref(other.x509.get()) == 1) x509.reset(other.x509.get());
}

certificate& certificate::operator=(const certificate& other) {
  if (this != &other) *this = certificate(other);
  return *this;
}

std::string certificate::pem() const {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio.get() || PEM_write_bio_X509(bio.get(), get()) != 1) fail("PEM_write_bio_X509");
  return bio_string(bio.get());
}

std::time_t to_time_t(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) fail("ASN1_TIME_to_tm");
  return timegm(&tm);
}

key_pair make_key() {
  key_pair k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!k.pkey) fail("EC P-256 key generation");
  return k;
}

key_pair make_rsa_key() {
  key_pair k;
  k.pkey.reset(EVP_RSA_gen(2048));
  if (!k.pkey) fail("RSA key generation");
  return k;
}

certificate make_certificate(const cert_spec& spec, const key_pair& subject_key,
                             const certificate* issuer, const key_pair& issuer_key) {
  if (!subject_key.get() || !issuer_key.get()) throw std::invalid_argument("certs: missing key");
  if (issuer && !issuer->get()) throw std::invalid_argument("certs: empty issuer certificate");

  certificate out;
  out.x509.reset(X509_new());
  X509* cert = out.get();
  if (!cert) fail("X509_new");
  if (X509_set_version(cert, X509_VERSION_3) != 1) fail("X509_set_version");
  set_random_serial(cert);
  set_time(cert, spec.not_before, true);
  set_time(cert, spec.not_after, false);

  name_ptr subject(X509_NAME_new());
  if (!subject.get()) fail("X509_NAME_new");
  if (X509_NAME_add_entry_by_txt(subject.get(), "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("smtp_exporter tests"), -1,
                                 -1, 0) != 1)
    fail("subject O");
  if (!spec.common_name.empty() &&
      X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1)
    fail("subject CN " + spec.common_name);
  if (X509_set_subject_name(cert, subject.get()) != 1) fail("X509_set_subject_name");
  X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer->get()) : subject.get();
  if (X509_set_issuer_name(cert, issuer_name) != 1) fail("X509_set_issuer_name");
  if (X509_set_pubkey(cert, subject_key.get()) != 1) fail("X509_set_pubkey");

  // The subject key identifier goes first: for a self-signed certificate the authority key
  // identifier is taken from it.
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->get() : cert, cert, nullptr, nullptr, 0);
  add_ext(cert, &ctx, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(cert, &ctx, NID_key_usage,
          spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  if (!spec.is_ca) {
    add_ext(cert, &ctx, NID_ext_key_usage, spec.client_auth ? "serverAuth,clientAuth" : "serverAuth");
  }
  std::string san;
  auto add_name = [&](const char* type, const std::string& value) {
    if (value.empty() || value.find_first_of(",\n") != std::string::npos)
      throw std::invalid_argument("certs: bad subjectAltName entry '" + value + "'");
    if (!san.empty()) san += ',';
    san += type;
    san += value;
  };
  for (const auto& d : spec.dns_names) add_name("DNS:", d);
  for (const auto& ip : spec.ip_addresses) add_name("IP:", ip);
  if (!san.empty()) add_ext(cert, &ctx, NID_subject_alt_name, san);
  add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");

  if (X509_sign(cert, issuer_key.get(), EVP_sha256()) <= 0) fail("X509_sign");

  // Read the times back from the certificate itself, so they are what a peer will see.
  out.not_before = to_time_t(X509_get0_notBefore(cert));
  out.not_after = to_time_t(X509_get0_notAfter(cert));
  out.subject_cn = common_name(cert);
  return out;
}

void write_pem(const fs::path& path, const std::vector<const certificate*>& certs) {
  bio_ptr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio.get()) fail("cannot write " + path.string());
  for (const certificate* c : certs) {
    if (!c || !c->get()) throw std::invalid_argument("certs: write_pem: empty certificate");
    if (PEM_write_bio_X509(bio.get(), c->get()) != 1) fail("PEM_write_bio_X509 " + path.string());
  }
  if (BIO_flush(bio.get()) != 1) fail("flush " + path.string());
}

void write_key(const fs::path& path, const key_pair& key) {
  {
    bio_ptr bio(BIO_new_file(path.c_str(), "w"));
    if (!bio.get()) fail("cannot write " + path.string());
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
      fail("PEM_write_bio_PrivateKey " + path.string());
    if (BIO_flush(bio.get()) != 1) fail("flush " + path.string());
  }
}

test_pki::test_pki(std::time_t now_) : now(now_), owns_dir_(true) {
  auto base = fs::temp_directory_path() / "smtp_exporter_tests";
  fs::create_directories(base);
  std::string tmpl = (base / "pkiXXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    throw std::system_error(errno, std::generic_category(), "certs: mkdtemp " + tmpl);
  dir = tmpl;
  // mkdtemp makes it 0700; peers that drop privileges may need to reach the certificates (the
  // keys stay 0600).
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  build();
}

test_pki::test_pki(fs::path dir_, std::time_t now_) : now(now_), dir(std::move(dir_)) {
  fs::create_directories(dir);
  build();
}

test_pki::~test_pki() {
  if (owns_dir_) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

void test_pki::build() {
  root_file = dir / "root.pem";
  intermediate_file = dir / "intermediate.pem";

  root_key = make_key();
  root = make_certificate({"smtp_exporter test root CA", {}, {}, now - 365 * day, now + 3650 * day,
                           true},
                          root_key, nullptr, root_key);
  intermediate_key = make_key();
  intermediate = make_certificate({"smtp_exporter test intermediate CA", {}, {}, now - 365 * day,
                                   now + 1825 * day, true},
                                  intermediate_key, &root, root_key);
  write_pem(root_file, {&root});
  write_pem(intermediate_file, {&intermediate});

  const std::vector<std::string> hosts{"mx.test", "localhost"};
  const std::vector<std::string> ips{"127.0.0.1"};
  auto make_leaf = [&](leaf& l, const std::string& name, cert_spec spec, bool self_signed_leaf) {
    l.name = name;
    l.key = make_key();
    l.cert = self_signed_leaf ? make_certificate(spec, l.key, nullptr, l.key)
                              : make_certificate(spec, l.key, &intermediate, intermediate_key);
    l.chain_file = dir / (name + ".chain.pem");
    l.key_file = dir / (name + ".key.pem");
    if (self_signed_leaf)
      write_pem(l.chain_file, {&l.cert});
    else
      write_pem(l.chain_file, {&l.cert, &intermediate});
    write_key(l.key_file, l.key);
  };
  make_leaf(valid, "valid", {"mx.test", hosts, ips, now - day, now + 90 * day, false}, false);
  make_leaf(expired, "expired", {"mx.test", hosts, ips, now - 30 * day, now - day, false}, false);
  make_leaf(not_yet_valid, "not_yet_valid",
            {"mx.test", hosts, ips, now + day, now + 30 * day, false}, false);
  make_leaf(wrong_host, "wrong_host",
            {"other.example", {"other.example"}, {}, now - day, now + 90 * day, false}, false);
  make_leaf(expiring_soon, "expiring_soon",
            {"mx.test", hosts, ips, now - day, now + 5 * day, false}, false);
  make_leaf(self_signed, "self_signed", {"mx.test", hosts, ips, now - day, now + 90 * day, false},
            true);
}

std::vector<const test_pki::leaf*> test_pki::leaves() const {
  return {&valid, &expired, &not_yet_valid, &wrong_host, &expiring_soon, &self_signed};
}

const test_pki::leaf& test_pki::get(std::string_view name) const {
  for (const leaf* l : leaves())
    if (l->name == name) return *l;
  throw std::out_of_range("certs: no leaf named " + std::string(name));
}

}  // namespace smtp_test
