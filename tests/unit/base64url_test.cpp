#include "common/base64url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

namespace smtp_exporter {
namespace {

// RFC 4648 section 10's vectors without padding, and bytes that differ between the alphabets.
constexpr std::pair<std::string_view, std::string_view> vectors[] = {
    {"", ""},           {"f", "Zg"},           {"fo", "Zm8"},
    {"foo", "Zm9v"},    {"foob", "Zm9vYg"},    {"fooba", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy"},
    {"\xfb\xff", "-_8"},  // "+/8=" in the standard alphabet
    {"\x3e\x3f", "Pj8"},
};

TEST(base64url, encodes_without_padding_in_the_url_safe_alphabet) {
  for (const auto& [plain, encoded] : vectors) EXPECT_EQ(base64url_encode(plain), encoded) << encoded;
}

TEST(base64url, decodes_what_it_encodes) {
  for (const auto& [plain, encoded] : vectors) {
    const auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
}

TEST(base64url, refuses_the_standard_alphabet_padding_and_impossible_lengths) {
  for (std::string_view bad : {"+_8", "-/8", "Zg==", "Zg=", "Z", "Zm9vY", "Zm 9v", "Zm9v\n"}) {
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace smtp_exporter
