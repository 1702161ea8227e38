// gzip for scrape responses: Prometheus asks for it, and a 10,000-target scrape shrinks from
// ~13 MB of text to well under a megabyte.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// True when an Accept-Encoding header value admits gzip (and does not give it q=0).
bool accepts_gzip(std::string_view accept_encoding);

// gzip (RFC 1952) at zlib's fastest level: exposition text is repetitive enough that speed, not
// level, is the thing to choose.
std::string gzip_compress(std::string_view data);

}  // namespace smtp_exporter::exporter
