#include "exporter/web/gzip.hpp"

#include <zlib.h>

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(in.size() * 50 + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

TEST(gzip, accept_encoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("x-gzip2"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));  // the explicit refusal wins over the wildcard
  EXPECT_FALSE(accepts_gzip("*;q=0"));
}

TEST(gzip, round_trip_and_shrinks_exposition_text) {
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    text += "smtp_probe_success{target=\"t" + std::to_string(i) + "\",probe=\"banner\"} 1\n";
  }
  auto compressed = gzip_compress(text);
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  EXPECT_LT(compressed.size(), text.size() / 5);
  EXPECT_EQ(gunzip(compressed), text);
  EXPECT_EQ(gunzip(gzip_compress("")), "");
}

TEST(gzip, stream_in_pieces_round_trips) {
  std::string text;
  gzip_stream stream;
  // Pieces of every size, including empty ones and ones far larger than the output step.
  for (int i = 0; i < 3000; ++i) {
    std::string piece;
    for (int k = 0; k < i % 97; ++k) {
      piece += "smtp_tls_verified{target=\"t" + std::to_string(i * 131 + k) + "\"} 1\n";
    }
    text += piece;
    stream.write(piece);
  }
  auto compressed = stream.finish();
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);
  EXPECT_LT(compressed.size(), text.size() / 5);
  EXPECT_EQ(gunzip(compressed), text);
  gzip_stream empty;
  EXPECT_EQ(gunzip(empty.finish()), "");
}

}  // namespace
}  // namespace smtp_exporter::exporter
