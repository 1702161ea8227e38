// gzip for scrape responses: Prometheus asks for it, and a 10,000-target scrape shrinks from
// ~13 MB of text to well under a megabyte.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// True when an Accept-Encoding header value admits gzip (and does not give it q=0).
bool accepts_gzip(std::string_view accept_encoding);

// gzip (RFC 1952) at zlib's fastest level: exposition text is repetitive enough that speed, not
// level, is the thing to choose.
std::string gzip_compress(std::string_view data);

// The same gzip, fed piece by piece: a scrape is compressed family by family as it is rendered,
// so its whole text never exists at once (bench/README.md, render figures).
// Thread-safety: none; one stream per response.
class gzip_stream {
 public:
  gzip_stream();
  ~gzip_stream();
  gzip_stream(const gzip_stream&) = delete;
  gzip_stream& operator=(const gzip_stream&) = delete;

  void write(std::string_view data);
  // The compressed bytes, trailer included; the stream is done afterwards.
  std::string finish();

 private:
  void deflate_some(std::string_view data, int flush);
  struct state;
  std::unique_ptr<state> state_;
  std::string out_;
};

}  // namespace smtp_exporter::exporter
