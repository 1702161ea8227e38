// Standard base64 (RFC 4648 section 4, with padding), as SMTP AUTH uses it, over OpenSSL's
// EVP_EncodeBlock / EVP_DecodeBlock.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// Never fails. The result is written in place (no intermediate buffer), so a caller encoding a
// secret has exactly one copy to cleanse.
std::string base64_encode(std::string_view bytes);

// Strict: the input is the 64-character alphabet only, its length a multiple of 4, with "=" only
// as one or two characters of final padding; no whitespace, no line breaks. "" decodes to "".
// nullopt on anything else. EVP_DecodeBlock alone would accept "=" anywhere (decoding it as zero
// bits) and count padding as decoded zero bytes; this checks first and trims the padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace smtp_exporter
