#include "common/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstddef>
#include <stdexcept>

namespace smtp_exporter {
namespace {

// EVP_EncodeBlock / EVP_DecodeBlock take an int length. SMTP AUTH payloads are a few KiB at most;
// anything near this bound is a programming error, not a server's doing.
constexpr std::size_t max_block_input = INT_MAX / 4 * 3;

bool is_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  if (bytes.size() > max_block_input) throw std::length_error("base64_encode: input too large");
  std::string out((bytes.size() + 2) / 3 * 4, '\0');
  // Writes out.size() characters plus a terminating NUL, which lands on std::string's own
  // terminator.
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty()) return std::string{};
  if (text.size() % 4 != 0 || text.size() > INT_MAX) return std::nullopt;

  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text[text.size() - 2] == '=') {
    if (padding == 0) return std::nullopt;  // "xx=x"
    ++padding;
  }
  for (std::size_t i = 0; i < text.size() - padding; ++i) {
    if (!is_alphabet(text[i])) return std::nullopt;
  }

  std::string out(text.size() / 4 * 3, '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (decoded < 0 || static_cast<std::size_t>(decoded) != out.size()) {
    OPENSSL_cleanse(out.data(), out.size());  // what was decoded may be part of a secret
    return std::nullopt;
  }
  // DecodeBlock decodes each "=" as zero bits and returns whole 3-byte groups; the last group of a
  // padded input is one ("==") or two ("=") bytes shorter.
  out.resize(out.size() - padding);
  return out;
}

}  // namespace smtp_exporter
