// A DNSBL zone's set-up: the name its queries end in (with a Spamhaus DQS key, read from a file
// or the environment), and what a reload must keep for the zone's answers to stay valid.
//
// Thread-safety: pure functions, except that dnsbl_query_suffix reads a file and the environment:
// it blocks on a slow file system, so the runner calls it off the event loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "config/dnsbl.hpp"

namespace smtp_exporter::exporter {

// A DQS key is one DNS label (at most 63 bytes); a key file larger than this is not a key.
inline constexpr std::size_t max_dqs_key_file_bytes = 4096;

// What a zone's queries end in: its name, or "KEY.name" with a DQS key read from the zone's
// dqs_key_file (read_bounded_file: regular files only, at most max_dqs_key_file_bytes) or
// dqs_key_env; nullopt with `error` (which never holds the key) when unreadable.
std::optional<std::string> dnsbl_query_suffix(const config::dnsbl_zone& zone, std::string& error);

// Whether the zone's set-up reads a file (and so must run off the event loop).
bool reads_key_file(const config::dnsbl_zone& zone);

// What a zone's answers depend on: a reload that keeps these keeps the answers.
bool same_queries(const config::dnsbl_zone& a, const config::dnsbl_zone& b);

}  // namespace smtp_exporter::exporter
