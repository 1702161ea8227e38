#include "common/base64.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

namespace smtp_exporter::probes {
namespace {

using namespace std::string_literals;

// RFC 4648 section 10.
constexpr std::pair<std::string_view, std::string_view> rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(base64, encodes_rfc4648_vectors) {
  for (const auto& [plain, encoded] : rfc4648_vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
  }
}

TEST(base64, decodes_rfc4648_vectors_without_padding_bytes) {
  for (const auto& [plain, encoded] : rfc4648_vectors) {
    const auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
    EXPECT_EQ(decoded->size(), plain.size()) << encoded;
  }
}

TEST(base64, binary_round_trip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
  }
}

TEST(base64, nul_bytes_survive) {
  EXPECT_EQ(base64_encode("\0user\0pass"s), "AHVzZXIAcGFzcw==");
  EXPECT_EQ(base64_decode("AHVzZXIAcGFzcw=="), "\0user\0pass"s);
}

TEST(base64, decodes_smtp_login_prompts) {
  EXPECT_EQ(base64_decode("VXNlcm5hbWU6"), "Username:");
  EXPECT_EQ(base64_decode("UGFzc3dvcmQ6"), "Password:");
}

TEST(base64, rejects_malformed_input) {
  for (std::string_view bad : {
           "Zg",          // unpadded
           "Zg=",         // short padding
           "Z===",        // three padding characters
           "Zg==Zg==",    // padding in the middle
           "Zm=v",        // "=" before a data character
           "=Zm9",        // leading "="
           "Zm9v!A==",    // outside the alphabet
           "Zm9v YmFy",   // inner blank
           " Zm9v",       // leading blank (DecodeBlock alone would skip it)
           "Zm9v\r\n",    // line ending
           "Zm9v-_8=",    // base64url alphabet
           "====",
       }) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace smtp_exporter::probes
