#include "exporter/gzip.hpp"

#include <optional>
#include <stdexcept>

#include <zlib.h>

namespace smtp_exporter::exporter {

namespace {
// q=0, q=0.0, q=0.000: "not acceptable"; anything else is a preference, not a refusal.
bool zero_quality(std::string_view params) {
  auto q = params.find("q=");
  if (q == std::string_view::npos) return false;
  auto value = params.substr(q + 2);
  if (value.empty() || value.front() != '0') return false;
  for (std::size_t i = 1; i < value.size() && value[i] != ' ' && value[i] != ';'; ++i) {
    if (value[i] != '.' && value[i] != '0') return false;
  }
  return true;
}
}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  // RFC 9110 12.5.3: an explicit "gzip;q=0" wins over "*".
  std::optional<bool> gzip, any;
  std::size_t pos = 0;
  while (pos < accept_encoding.size()) {
    auto comma = accept_encoding.find(',', pos);
    auto item = accept_encoding.substr(pos, comma == std::string_view::npos ? std::string_view::npos
                                                                               : comma - pos);
    pos = comma == std::string_view::npos ? accept_encoding.size() : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto semicolon = item.find(';');
    auto coding = item.substr(0, semicolon);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    bool accepted = semicolon == std::string_view::npos || !zero_quality(item.substr(semicolon + 1));
    if (coding == "gzip") gzip = accepted;
    if (coding == "*") any = accepted;
  }
  return gzip.value_or(any.value_or(false));
}

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header and trailer rather than raw zlib.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

}  // namespace smtp_exporter::exporter
