#include "probes/oauth/token_response.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace smtp_exporter::probes::oauth {
namespace {

struct response_case {
  std::string name;
  int status;
  std::string body;
  token_error error;
  std::string provider_code;
  std::string description;  // exact
  long expires_in = 0;
  bool rotated = false;
};

void PrintTo(const response_case& c, std::ostream* os) { *os << c.name; }

class token_response_table : public testing::TestWithParam<response_case> {};

TEST_P(token_response_table, classifies_the_answer) {
  const auto& c = GetParam();
  const auto r = parse_token_response(c.status, c.body);
  EXPECT_EQ(token_error_name(r.error), token_error_name(c.error));
  EXPECT_EQ(r.http_status, c.status);
  EXPECT_EQ(r.provider_code, c.provider_code);
  EXPECT_EQ(r.description, c.description);
  EXPECT_EQ(r.expires_in.count(), c.expires_in);
  EXPECT_EQ(!r.refresh_token.empty(), c.rotated);
  if (c.error == token_error::none) {
    EXPECT_FALSE(r.access_token.empty());
    EXPECT_EQ(r.token_type, "Bearer");
  } else {
    EXPECT_TRUE(r.access_token.empty());
  }
}

const std::string microsoft_expired =
    R"({"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired )"
    R"(due to inactivity.\r\nTrace ID: 0a1b\r\nTimestamp: 2026-12-07","error_codes":[700082]})";

INSTANTIATE_TEST_SUITE_P(
    oauth, token_response_table,
    testing::Values(
        response_case{"success_google", 200,
                      R"({"access_token":"ya29.a0","expires_in":3599,"scope":"https://mail.google.com/","token_type":"Bearer"})",
                      token_error::none, "", "", 3599},
        response_case{"success_rotated_microsoft", 200,
                      R"({"token_type":"Bearer","scope":"https://outlook.office.com/SMTP.Send","expires_in":4223,"ext_expires_in":4223,"access_token":"eyJ0","refresh_token":"0.AX"})",
                      token_error::none, "", "", 4223, true},
        response_case{"expires_in_as_string", 200,
                      R"({"access_token":"t","expires_in":"3600","token_type":"Bearer"})",
                      token_error::none, "", "", 3600},
        response_case{"no_expires_in", 200, R"({"access_token":"t","token_type":"Bearer"})",
                      token_error::malformed_response, "", "no usable expires_in in the answer"},
        response_case{"negative_expires_in", 200,
                      R"({"access_token":"t","expires_in":-5,"token_type":"Bearer"})",
                      token_error::malformed_response, "", "no usable expires_in in the answer"},
        response_case{"no_access_token", 200, R"({"expires_in":3600})",
                      token_error::malformed_response, "", "no access_token in the answer", 3600},
        response_case{"not_json", 200, R"({"access_token": "t", "expires_in": )",
                      token_error::malformed_response, "", "the answer is not a JSON object"},
        response_case{"json_array", 200, R"([1,2])", token_error::malformed_response, "",
                      "the answer is not a JSON object"},
        response_case{"microsoft_refresh_token_expired", 400, microsoft_expired,
                      token_error::invalid_grant, "AADSTS700082",
                      "AADSTS700082: The refresh token has expired due to inactivity."},
        response_case{"google_invalid_grant", 400,
                      R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})",
                      token_error::invalid_grant, "invalid_grant",
                      "Token has been expired or revoked."},
        response_case{"aadsts_only_in_description", 401,
                      R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})",
                      token_error::invalid_client, "AADSTS7000215",
                      "AADSTS7000215: Invalid client secret provided."},
        response_case{"unauthorized_client", 400, R"({"error":"unauthorized_client"})",
                      token_error::unauthorized_client, "unauthorized_client", ""},
        response_case{"invalid_scope", 400, R"({"error":"invalid_scope"})",
                      token_error::invalid_scope, "invalid_scope", ""},
        response_case{"other_oauth_error", 400,
                      R"({"error":"unsupported_grant_type","error_description":"no"})",
                      token_error::http_error, "unsupported_grant_type", "no"},
        response_case{"error_code_not_a_word", 400, R"({"error":"bad code <script>"})",
                      token_error::http_error, "", ""},
        response_case{"server_error_html", 500, "<html>oops</html>", token_error::http_error, "",
                      ""},
        response_case{"service_unavailable_json", 503, R"({"error":"temporarily_unavailable"})",
                      token_error::http_error, "temporarily_unavailable", ""},
        response_case{"redirect", 302, "", token_error::redirect, "", ""},
        response_case{"error_in_a_200", 200, R"({"error":"invalid_grant"})",
                      token_error::malformed_response, "", "no access_token in the answer"},
        response_case{"control_bytes_in_description", 400,
                      "{\"error\":\"invalid_grant\",\"error_description\":\"a\\u0001b\"}",
                      token_error::invalid_grant, "invalid_grant", "a?b"}));

TEST(token_response, every_class_has_its_own_name) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < token_error_count; ++i) {
    names.insert(token_error_name(static_cast<token_error>(i)));
  }
  EXPECT_EQ(names.size(), token_error_count);
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_EQ(token_error_name(token_error::not_https), "not_https");
}

TEST(token_response, secrets_echoed_in_the_description_are_redacted_before_the_cut) {
  const std::string secret = "CANARY-SECRET-7f3e/+ x";
  const std::string body = R"({"error":"invalid_request","error_description":"got client_secret=)" +
                           std::string("CANARY-SECRET-7f3e%2F%2B%20x and CANARY-SECRET-7f3e/+ x") +
                           R"("})";
  const auto r = parse_token_response(400, body, {secret, "", "abc"});
  EXPECT_EQ(r.description, "got client_secret=[redacted] and [redacted]");
  EXPECT_EQ(describe(r).find("CANARY"), std::string::npos);
}

TEST(token_response, describe_says_class_status_code_and_description) {
  const auto r = parse_token_response(400, microsoft_expired);
  EXPECT_EQ(describe(r),
            "invalid_grant: token endpoint answered HTTP 400 (AADSTS700082: The refresh token has "
            "expired due to inactivity.)");
  EXPECT_EQ(describe(parse_token_response(400, R"({"error":"invalid_scope","error_description":"x"})")),
            "invalid_scope: token endpoint answered HTTP 400 (invalid_scope: x)");
  token_response timeout;
  timeout.error = token_error::timeout;
  EXPECT_EQ(describe(timeout), "timeout: no answer from the token endpoint");
  EXPECT_EQ(describe(parse_token_response(200, R"({"access_token":"SECRET","expires_in":5})")),
            "none");
}

TEST(token_response, provider_code_prefers_error_codes_then_the_description) {
  const std::string code = "50126";
  EXPECT_EQ(provider_code("invalid_grant", "AADSTS700082: x", &code), "AADSTS50126");
  EXPECT_EQ(provider_code("invalid_grant", "AADSTS700082: x", nullptr), "AADSTS700082");
  EXPECT_EQ(provider_code("invalid_grant", "AADSTS: x", nullptr), "invalid_grant");
  EXPECT_EQ(provider_code("", "", nullptr), "");
}

}  // namespace
}  // namespace smtp_exporter::probes::oauth
