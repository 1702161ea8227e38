#include "exporter/web/gzip.hpp"

#include <algorithm>
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

struct gzip_stream::state {
  z_stream zs{};
};

gzip_stream::gzip_stream() : state_(std::make_unique<state>()) {
  if (deflateInit2(&state_->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
}

gzip_stream::~gzip_stream() { deflateEnd(&state_->zs); }

void gzip_stream::deflate_some(std::string_view data, int flush) {
  z_stream& zs = state_->zs;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    // Grow the output as deflate needs it; never zero-filled beyond what it writes.
    if (out_.capacity() - out_.size() < 16384) out_.reserve(std::max<std::size_t>(out_.capacity() * 2, 65536));
    const std::size_t before = out_.size();
    out_.resize(out_.capacity());
    zs.next_out = reinterpret_cast<Bytef*>(out_.data() + before);
    zs.avail_out = static_cast<uInt>(out_.size() - before);
    const int rc = deflate(&zs, flush);
    out_.resize(out_.size() - zs.avail_out);
    if (rc == Z_STREAM_END) return;
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
    if (zs.avail_in == 0 && flush == Z_NO_FLUSH) return;
  }
}

void gzip_stream::write(std::string_view data) {
  if (!data.empty()) deflate_some(data, Z_NO_FLUSH);
}

std::string gzip_stream::finish() {
  deflate_some({}, Z_FINISH);
  return std::move(out_);
}

}  // namespace smtp_exporter::exporter
