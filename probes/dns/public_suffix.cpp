#include "probes/dns/public_suffix.hpp"
#include "probes/dns/dns_lookup.hpp"

#include <libpsl.h>

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace smtp_exporter::probes {

namespace {

constexpr const char* debian_dafsa = "/usr/share/publicsuffix/public_suffix_list.dafsa";
constexpr const char* debian_text = "/usr/share/publicsuffix/public_suffix_list.dat";

}  // namespace

public_suffix_list::public_suffix_list(psl_ctx_st* psl, std::string path)
    : psl_(psl), path_(std::move(path)) {}

public_suffix_list::~public_suffix_list() { psl_free(psl_); }

std::shared_ptr<const public_suffix_list> public_suffix_list::load(std::string path) {
  if (path.empty()) {
    std::error_code ec;
    path = std::filesystem::exists(debian_dafsa, ec) ? debian_dafsa : debian_text;
  }
  psl_ctx_t* psl = psl_load_file(path.c_str());
  if (!psl) {
    throw std::runtime_error("cannot load the public suffix list from " + path +
                             " (Debian package: publicsuffix)");
  }
  return std::shared_ptr<const public_suffix_list>(
      new public_suffix_list(psl, std::move(path)));
}

std::string public_suffix_list::organizational_domain(std::string_view domain) const {
  const std::string name = normalized_dns_name(domain);
  if (name.empty() || name.find('\0') != std::string::npos) return name;
  const char* registrable = psl_registrable_domain(psl_, name.c_str());
  return registrable ? std::string(registrable) : name;
}

}  // namespace smtp_exporter::probes
