// Boost.JSON keeps parsed strings in its own storage, which secret_string cannot reach: a parsed
// answer or file that held a token or key is wiped through this before it is freed.
//
// Thread-safety: touches only its argument.
#pragma once

#include <openssl/crypto.h>

#include <boost/json/object.hpp>

namespace smtp_exporter::probes::oauth {

// Overwrites every string member's bytes (one level: token answers, key and state files are flat).
inline void wipe_string_members(boost::json::object& object) noexcept {
  for (auto& member : object) {
    if (auto* s = member.value().if_string(); s != nullptr && !s->empty()) {
      OPENSSL_cleanse(s->data(), s->size());
    }
  }
}

}  // namespace smtp_exporter::probes::oauth
