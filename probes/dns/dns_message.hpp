// The records of a DNS response (RFC 1035 section 4.1) as a dns_answer: a pure parser over the
// server's bytes, unit-tested and fuzzed (tests/fuzz/dns_message_fuzz.cpp), so the resolver hands
// every record type to one reader instead of one c-ares parser per type.
//
// What it keeps: records of the asked type, class IN, owned by the question's name or by a name
// that a CNAME chain in the same answer leads to from it (RFC 1034 3.6.2; at most 16 links, loops
// end the chain). `ttl` is the smallest TTL of those records and of the CNAMEs followed.
// Names (PTR targets, MX exchanges) come out absolute, lower-case, without the trailing dot; the
// root name (a null MX, RFC 7505) is "". A '.' or '\' inside a label is escaped with '\'.
// A response whose records of the asked type cannot be read is a failure, never an empty "ok".
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>

#include "probes/dns/resolver.hpp"

namespace smtp_exporter::probes {

// The answer to a NOERROR response of `size` bytes. Never reads outside [data, data + size).
dns_answer parse_dns_response(const unsigned char* data, std::size_t size, dns_record_type type);

}  // namespace smtp_exporter::probes
