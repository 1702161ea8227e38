// Base64url without padding (RFC 4648 section 5, RFC 7515 section 2), as JSON Web Tokens use it.
// Built on common/base64.hpp: the same strictness, another alphabet ("-" and "_" for "+" and "/").
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// Never fails; never ends in "=".
std::string base64url_encode(std::string_view bytes);

// Strict: the url-safe alphabet only, no padding, no whitespace; a length of 1 modulo 4 (which no
// encoding produces) is refused. nullopt on anything else; "" decodes to "".
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace smtp_exporter
