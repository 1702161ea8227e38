// The pure parts of the token client and cache: URL rules, the form, the cache key.
#include "probes/oauth/token_cache.hpp"
#include "probes/oauth/token_client.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/text_escape.hpp"

namespace smtp_exporter::probes::oauth {
namespace {

TEST(oauth_token_url, accepts_https_urls_and_splits_them) {
  struct {
    std::string url, host;
    std::uint16_t port;
    std::string target;
  } cases[] = {
      {"https://login.microsoftonline.com/common/oauth2/v2.0/token", "login.microsoftonline.com",
       443, "/common/oauth2/v2.0/token"},
      {"https://oauth2.googleapis.com/token", "oauth2.googleapis.com", 443, "/token"},
      {"HTTPS://127.0.0.1:8443", "127.0.0.1", 8443, "/"},
      {"https://[::1]:9443/t?x=1", "::1", 9443, "/t?x=1"},
      {"https://h?x=1", "h", 443, "/?x=1"},
  };
  for (const auto& c : cases) {
    token_error error = token_error::timeout;
    const auto parts = parse_token_url(c.url, error);
    ASSERT_TRUE(parts.has_value()) << c.url;
    EXPECT_EQ(error, token_error::none);
    EXPECT_EQ(parts->host, c.host) << c.url;
    EXPECT_EQ(parts->port, c.port) << c.url;
    EXPECT_EQ(parts->target, c.target) << c.url;
  }
}

TEST(oauth_token_url, refuses_everything_but_https) {
  for (const char* url : {"http://127.0.0.1/token", "https:/x", "ftp://x/", "", "https://",
                          "https://user:pw@host/token", "https://host:0/", "https://host:99999/",
                          "https://host/a b", "https://host/t#frag", "https://[::1/t",
                          " https://host/"}) {
    token_error error = token_error::none;
    EXPECT_FALSE(parse_token_url(url, error).has_value()) << url;
    EXPECT_EQ(error, token_error::not_https) << url;
  }
}

TEST(oauth_token_form, encodes_each_grant) {
  token_form refresh;
  refresh.grant = grant_kind::refresh_token;
  refresh.client_id = "id 1";
  refresh.client_secret = secret_string("s&=");
  refresh.refresh_token = secret_string("0.AX/y+");
  refresh.scope = "https://outlook.office.com/SMTP.Send offline_access";
  EXPECT_EQ(encode_form(refresh).reveal(),
            "grant_type=refresh_token&refresh_token=0.AX%2Fy%2B&client_id=id%201&client_secret=s%26%3D"
            "&scope=https%3A%2F%2Foutlook.office.com%2FSMTP.Send%20offline_access");

  token_form app;
  app.grant = grant_kind::client_credentials;
  app.client_id = "id";
  app.client_secret = secret_string("s");
  app.scope = "https://outlook.office365.com/.default";
  EXPECT_EQ(encode_form(app).reveal(),
            "grant_type=client_credentials&client_id=id&client_secret=s"
            "&scope=https%3A%2F%2Foutlook.office365.com%2F.default");

  token_form jwt;
  jwt.grant = grant_kind::jwt_bearer;
  jwt.assertion = secret_string("a.b.c");
  EXPECT_EQ(encode_form(jwt).reveal(),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c");
  // The form's values decode back as a server reads them.
  EXPECT_EQ(query_parameter(encode_form(refresh).reveal(), "client_secret"), "s&=");
}

credential sample_credential(std::string_view secret, std::string_view refresh) {
  credential c;
  c.flow = grant_kind::refresh_token;
  c.token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
  c.client_id = "client-1";
  c.client_secret = secret_string(secret);
  c.refresh_token = secret_string(refresh);
  c.scope = "https://outlook.office.com/SMTP.Send";
  return c;
}

TEST(oauth_credential_key, names_the_credential_and_hashes_the_secrets) {
  const auto key = credential_key(sample_credential("CANARY-SECRET", "CANARY-RT"));
  EXPECT_EQ(key.find("CANARY"), std::string::npos);
  EXPECT_TRUE(key.starts_with("refresh_token|https://login.microsoftonline.com/common/oauth2/v2.0/"
                              "token|client-1|https://outlook.office.com/SMTP.Send||"))
      << key;
  EXPECT_EQ(key, credential_key(sample_credential("CANARY-SECRET", "CANARY-RT")));
  EXPECT_NE(key, credential_key(sample_credential("CANARY-SECRET2", "CANARY-RT")));
  EXPECT_NE(key, credential_key(sample_credential("CANARY-SECRET", "CANARY-RT2")));
  // Length-prefix ambiguity: ("ab","c") and ("a","bc") are different credentials.
  EXPECT_NE(credential_key(sample_credential("ab", "c")), credential_key(sample_credential("a", "bc")));
}

TEST(oauth_refresh_schedule, refreshes_at_80_percent_or_5_min_before_never_before_half) {
  using std::chrono::seconds;
  using std::chrono::milliseconds;
  struct {
    long lifetime_s;
    milliseconds refresh_after, usable_for;
  } cases[] = {
      {3600, seconds(2880), seconds(3570)},  // Google, Microsoft: 80% comes first
      {4223, milliseconds(3378400), seconds(4193)},  // Microsoft's 60-90 min: 80% too
      {1200, seconds(900), seconds(1170)},   // 5 min before comes first (L < 25 min)
      {600, seconds(300), seconds(570)},     // 5 min before = half
      {60, seconds(30), seconds(54)},        // both rules before half: half
      {2, milliseconds(1000), milliseconds(1800)},
  };
  for (const auto& c : cases) {
    const auto s = schedule_for(seconds(c.lifetime_s), token_cache_options{});
    EXPECT_EQ(std::chrono::duration_cast<milliseconds>(s.refresh_after), c.refresh_after)
        << c.lifetime_s;
    EXPECT_EQ(std::chrono::duration_cast<milliseconds>(s.usable_for), c.usable_for)
        << c.lifetime_s;
  }
}

}  // namespace
}  // namespace smtp_exporter::probes::oauth
