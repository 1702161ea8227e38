// The Public Suffix List (libpsl over Debian's `publicsuffix` data), for DMARC's organizational
// domain (RFC 7489 3.2): the list is read from the file the distribution keeps current, never
// from a hand-kept copy.
//
// Thread-safety: immutable after load(); share one instance across threads freely.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct psl_ctx_st;  // libpsl's context (libpsl.h: psl_ctx_t)

namespace smtp_exporter::probes {

class public_suffix_list {
 public:
  // Debian's data: /usr/share/publicsuffix/public_suffix_list.dafsa, else
  // /usr/share/publicsuffix/public_suffix_list.dat (libpsl reads both formats). Throws
  // std::runtime_error naming the path when the file cannot be loaded. Reads a file: call it off
  // the event loop.
  static std::shared_ptr<const public_suffix_list> load(std::string path = {});

  ~public_suffix_list();
  public_suffix_list(const public_suffix_list&) = delete;
  public_suffix_list& operator=(const public_suffix_list&) = delete;

  // RFC 7489 3.2: the public suffix that matches the most labels of `domain`, plus one label
  // ("mail.example.co.uk" -> "example.co.uk"). ASCII is lower-cased and a trailing dot dropped.
  // A domain that is itself a public suffix (or not a valid name) is returned as it is: it has no
  // organizational domain above it.
  std::string organizational_domain(std::string_view domain) const;

  const std::string& path() const { return path_; }

 private:
  public_suffix_list(psl_ctx_st* psl, std::string path);
  psl_ctx_st* psl_;
  std::string path_;
};

}  // namespace smtp_exporter::probes
