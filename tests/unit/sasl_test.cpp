#include "probes/smtp/sasl.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/base64.hpp"

namespace smtp_exporter::probes {
namespace {

using namespace std::literals;

sasl_client client(sasl_mechanism m, std::string user, std::string_view secret) {
  return sasl_client(m, std::move(user), secret_string(secret));
}

std::string decoded(std::string_view b64) {
  const auto d = base64_decode(b64);
  EXPECT_TRUE(d.has_value()) << b64;
  return d.value_or("<bad base64>");
}

// --- choose_mechanism -------------------------------------------------------------------------

capabilities offering(std::initializer_list<auth_mechanism> mechanisms) {
  capabilities caps;
  caps.add(extension::auth);
  for (auto m : mechanisms) caps.add(m);
  return caps;
}

TEST(choose_mechanism, table) {
  using am = auth_mechanism;
  using sm = sasl_mechanism;
  struct row {
    capabilities offered;
    bool have_token;
    std::optional<sm> expected;
  };
  const row rows[] = {
      {offering({am::plain, am::login, am::cram_md5}), false, sm::cram_md5},
      {offering({am::login, am::cram_md5}), false, sm::cram_md5},
      {offering({am::plain, am::login}), false, sm::plain},
      {offering({am::login, am::plain}), false, sm::plain},
      {offering({am::login}), false, sm::login},
      {offering({am::plain}), false, sm::plain},
      {offering({am::xoauth2}), false, std::nullopt},  // a password cannot do XOAUTH2
      {offering({am::scram_sha_256, am::gssapi, am::ntlm}), false, std::nullopt},
      {offering({}), false, std::nullopt},
      {capabilities{}, false, std::nullopt},
      {offering({am::plain, am::login, am::xoauth2}), true, sm::xoauth2},
      {offering({am::xoauth2}), true, sm::xoauth2},
      {offering({am::plain, am::login, am::cram_md5}), true, std::nullopt},  // token: XOAUTH2 only
      {offering({am::oauthbearer}), true, std::nullopt},
      {capabilities{}, true, std::nullopt},
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(choose_mechanism(rows[i].offered, rows[i].have_token), rows[i].expected)
        << "row " << i;
  }
}

TEST(sasl_mechanism, names) {
  EXPECT_EQ(to_string(sasl_mechanism::plain), "PLAIN");
  EXPECT_EQ(to_string(sasl_mechanism::login), "LOGIN");
  EXPECT_EQ(to_string(sasl_mechanism::cram_md5), "CRAM-MD5");
  EXPECT_EQ(to_string(sasl_mechanism::xoauth2), "XOAUTH2");
}

// --- PLAIN ------------------------------------------------------------------------------------

TEST(sasl_plain, initial_response_is_nul_user_nul_pass) {
  auto c = client(sasl_mechanism::plain, "user", "pass");
  EXPECT_EQ(c.initial_command(), "AUTH PLAIN AHVzZXIAcGFzcw==");
  EXPECT_EQ(decoded("AHVzZXIAcGFzcw=="), "\0user\0pass"s);
}

TEST(sasl_plain, utf8_and_long_values) {
  auto c = client(sasl_mechanism::plain, "jürgen@example.com", "pässwörd with spaces");
  const std::string line = c.initial_command();
  ASSERT_TRUE(line.starts_with("AUTH PLAIN "));
  EXPECT_EQ(decoded(line.substr(11)), "\0jürgen@example.com\0pässwörd with spaces"s);
}

TEST(sasl_plain, a_334_after_the_initial_response_is_a_protocol_error) {
  auto c = client(sasl_mechanism::plain, "user", "pass");
  c.initial_command();
  EXPECT_EQ(c.respond(""), std::nullopt);
  EXPECT_EQ(c.respond(""), std::nullopt);  // stays failed
}

TEST(sasl_plain, too_long_for_an_initial_response_goes_after_the_334) {
  const std::string password(400, 'p');  // base64 > 512 octets with "AUTH PLAIN "
  auto c = client(sasl_mechanism::plain, "user", password);
  EXPECT_EQ(c.initial_command(), "AUTH PLAIN");
  const auto r = c.respond("");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(decoded(*r), "\0user\0"s + password);
  EXPECT_EQ(c.respond(""), std::nullopt);
}

TEST(sasl_plain, initial_response_up_to_the_line_limit) {
  // 512 octets with CRLF: "AUTH PLAIN " (11) + base64 of "\0user\0" + password (6 + n bytes).
  const auto line_for = [](std::size_t password_length) {
    auto c = client(sasl_mechanism::plain, "user", std::string(password_length, 'x'));
    return c.initial_command();
  };
  EXPECT_EQ(line_for(366).size(), 11u + 496u);  // 372 bytes -> 496 characters: 507 + 2 fit
  EXPECT_EQ(line_for(367), "AUTH PLAIN");       // 373 bytes -> 500 characters: 511 + 2 do not
}

// --- LOGIN ------------------------------------------------------------------------------------

TEST(sasl_login, standard_prompts) {
  auto c = client(sasl_mechanism::login, "user@example.com", "s3cret");
  EXPECT_EQ(c.initial_command(), "AUTH LOGIN");
  EXPECT_EQ(c.respond("VXNlcm5hbWU6"), base64_encode("user@example.com"));
  EXPECT_EQ(c.respond("UGFzc3dvcmQ6"), base64_encode("s3cret"));
  EXPECT_EQ(c.respond("UGFzc3dvcmQ6"), std::nullopt);  // a third challenge
}

TEST(sasl_login, prompts_in_reverse_order) {
  auto c = client(sasl_mechanism::login, "user@example.com", "s3cret");
  c.initial_command();
  EXPECT_EQ(c.respond("UGFzc3dvcmQ6"), base64_encode("s3cret"));
  EXPECT_EQ(c.respond("VXNlcm5hbWU6"), base64_encode("user@example.com"));
}

TEST(sasl_login, prompt_spellings_are_case_insensitive) {
  for (std::string_view user_prompt : {"username:"sv, "USERNAME:"sv, "User Name"sv,
                                       "User Name\0"sv, "Username"sv, " Username: "sv}) {
    for (std::string_view password_prompt : {"password:"sv, "PASSWORD:"sv, "Password"sv,
                                           "Password\0"sv}) {
      auto c = client(sasl_mechanism::login, "u", "p");
      c.initial_command();
      EXPECT_EQ(c.respond(base64_encode(password_prompt)), base64_encode("p")) << password_prompt;
      EXPECT_EQ(c.respond(base64_encode(user_prompt)), base64_encode("u")) << user_prompt;
    }
  }
}

TEST(sasl_login, unknown_prompts_get_username_then_password) {
  auto c = client(sasl_mechanism::login, "u", "p");
  c.initial_command();
  EXPECT_EQ(c.respond(base64_encode("Who are you?")), base64_encode("u"));
  EXPECT_EQ(c.respond(base64_encode("And the secret?")), base64_encode("p"));
  EXPECT_EQ(c.respond(base64_encode("More?")), std::nullopt);
}

TEST(sasl_login, empty_prompts_as_some_servers_send) {
  auto c = client(sasl_mechanism::login, "u", "p");
  c.initial_command();
  EXPECT_EQ(c.respond(""), base64_encode("u"));
  EXPECT_EQ(c.respond(""), base64_encode("p"));
}

TEST(sasl_login, challenge_text_is_trimmed) {
  auto c = client(sasl_mechanism::login, "u", "p");
  c.initial_command();
  EXPECT_EQ(c.respond(" VXNlcm5hbWU6\r\n"), base64_encode("u"));
}

TEST(sasl_login, bad_base64_is_a_protocol_error) {
  auto c = client(sasl_mechanism::login, "u", "p");
  c.initial_command();
  EXPECT_EQ(c.respond("Username:"), std::nullopt);
  EXPECT_EQ(c.respond("VXNlcm5hbWU6"), std::nullopt);  // stays failed
}

TEST(sasl_login, a_repeated_prompt_is_capped_at_four_round_trips) {
  auto c = client(sasl_mechanism::login, "u", "p");
  c.initial_command();
  for (int i = 0; i < sasl_client::max_round_trips; ++i) {
    EXPECT_EQ(c.respond("VXNlcm5hbWU6"), base64_encode("u")) << i;
  }
  EXPECT_EQ(c.respond("VXNlcm5hbWU6"), std::nullopt);
}

// --- CRAM-MD5 ---------------------------------------------------------------------------------

TEST(sasl_cram_md5, rfc2195_example) {
  auto c = client(sasl_mechanism::cram_md5, "tim", "tanstaaftanstaaf");
  EXPECT_EQ(c.initial_command(), "AUTH CRAM-MD5");
  const std::string challenge = base64_encode("<1896.697170952@postoffice.reston.mci.net>");
  EXPECT_EQ(challenge, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  EXPECT_EQ(c.respond(challenge), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  EXPECT_EQ(decoded("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
            "tim b913a602c7eda7a495b4e6e7334d3890");
  EXPECT_EQ(c.respond(challenge), std::nullopt);  // one round only
}

TEST(sasl_cram_md5, rfc2104_hmac_md5_vectors) {
  // RFC 2104 appendix test 2 (key "Jefe") and a key longer than MD5's 64-byte block (RFC 2202).
  auto jefe = client(sasl_mechanism::cram_md5, "u", "Jefe");
  jefe.initial_command();
  EXPECT_EQ(decoded(*jefe.respond(base64_encode("what do ya want for nothing?"))),
            "u 750c783e6ab0b503eaa86e310a5db738");

  auto long_key = client(sasl_mechanism::cram_md5, "u", std::string(80, '\xaa'));
  long_key.initial_command();
  EXPECT_EQ(decoded(*long_key.respond(
                base64_encode("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "u 6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

TEST(sasl_cram_md5, bad_base64_challenge) {
  auto c = client(sasl_mechanism::cram_md5, "tim", "tanstaaftanstaaf");
  c.initial_command();
  EXPECT_EQ(c.respond("<1896.697170952@postoffice.reston.mci.net>"), std::nullopt);
}

// --- XOAUTH2 ----------------------------------------------------------------------------------

constexpr std::string_view google_user = "someuser@example.com";
constexpr std::string_view google_token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
// Google's published example of the initial client response for the two values above.
constexpr std::string_view google_initial_response =
    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJo"
    "ZG1semRHRXVZMjl0Q2cBAQ==";
// {"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}
constexpr std::string_view google_error =
    "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ"
    "==";

TEST(sasl_xoauth2, initial_response_format) {
  auto c = client(sasl_mechanism::xoauth2, std::string(google_user), google_token);
  EXPECT_EQ(c.initial_command(), "AUTH XOAUTH2 " + std::string(google_initial_response));
  EXPECT_EQ(decoded(google_initial_response),
            "user=someuser@example.com\x01"
            "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
  EXPECT_TRUE(c.xoauth2_error().empty());
}

TEST(sasl_xoauth2, error_challenge_is_answered_with_an_empty_line) {
  auto c = client(sasl_mechanism::xoauth2, std::string(google_user), google_token);
  c.initial_command();
  // S: 334 <base64 JSON>   C: (empty line)   S: 535 5.7.8 Username and Password not accepted
  EXPECT_EQ(c.respond(google_error), "");
  EXPECT_EQ(c.xoauth2_error(),
            R"({"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"})");
  // A server that keeps challenging instead of sending 535 is out of protocol.
  EXPECT_EQ(c.respond(google_error), std::nullopt);
}

TEST(sasl_xoauth2, long_token_goes_after_an_empty_334) {
  // Microsoft's access tokens run to a couple of kilobytes: too long for the AUTH line.
  const std::string token(2000, 't');
  auto c = client(sasl_mechanism::xoauth2, "user@contoso.com", token);
  EXPECT_EQ(c.initial_command(), "AUTH XOAUTH2");
  const auto r = c.respond("");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(decoded(*r), "user=user@contoso.com\x01"
                         "auth=Bearer " + token + "\x01\x01");
  EXPECT_EQ(c.respond(google_error), "");  // then the error continuation as usual
  EXPECT_EQ(c.respond(""), std::nullopt);
}

TEST(sasl_xoauth2, bad_base64_error_challenge) {
  auto c = client(sasl_mechanism::xoauth2, "u", "t");
  c.initial_command();
  EXPECT_EQ(c.respond("{\"status\":\"401\"}"), std::nullopt);
}

// --- redact -----------------------------------------------------------------------------------

TEST(sasl_redact, auth_lines_keep_the_mechanism) {
  EXPECT_EQ(sasl_client::redact("AUTH PLAIN AHVzZXIAcGFzcw=="), "AUTH PLAIN <redacted>");
  EXPECT_EQ(sasl_client::redact("AUTH XOAUTH2 dXNlcj1zb21l"), "AUTH XOAUTH2 <redacted>");
  EXPECT_EQ(sasl_client::redact("auth plain AHVzZXIAcGFzcw=="), "auth plain <redacted>");
  EXPECT_EQ(sasl_client::redact("AUTH PLAIN AHVzZXIAcGFzcw==\r\n"), "AUTH PLAIN <redacted>\r\n");
  EXPECT_EQ(sasl_client::redact("AUTH LOGIN"), "AUTH LOGIN");
  EXPECT_EQ(sasl_client::redact("AUTH CRAM-MD5"), "AUTH CRAM-MD5");
  EXPECT_EQ(sasl_client::redact("AUTH PLAIN"), "AUTH PLAIN");
  EXPECT_EQ(sasl_client::redact("AUTH LOGIN\r\n"), "AUTH LOGIN\r\n");
}

TEST(sasl_redact, continuation_lines_are_redacted) {
  EXPECT_EQ(sasl_client::redact("dXNlckBleGFtcGxlLmNvbQ=="), "<redacted>");
  EXPECT_EQ(sasl_client::redact("czNjcmV0\r\n"), "<redacted>\r\n");
  EXPECT_EQ(sasl_client::redact("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"), "<redacted>");
  EXPECT_EQ(sasl_client::redact("AUTHORIZE-ME"), "<redacted>");  // not an AUTH command
  // Nothing to hide, and a trace should show the XOAUTH2 continuation and a cancel.
  EXPECT_EQ(sasl_client::redact(""), "");
  EXPECT_EQ(sasl_client::redact("\r\n"), "\r\n");
  EXPECT_EQ(sasl_client::redact("*"), "*");
}

TEST(sasl_redact, whole_exchanges_never_show_the_secret) {
  const std::string password = "tanstaaftanstaaf";
  for (auto m : {sasl_mechanism::plain, sasl_mechanism::login, sasl_mechanism::cram_md5,
                 sasl_mechanism::xoauth2}) {
    auto c = client(m, "tim", password);
    std::vector<std::string> sent{c.initial_command()};
    constexpr std::string_view challenges[] = {
        "VXNlcm5hbWU6", "UGFzc3dvcmQ6", "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"};
    for (std::string_view challenge : challenges) {
      if (auto r = c.respond(challenge)) sent.push_back(*r);
    }
    for (const auto& line : sent) {
      const std::string redacted = sasl_client::redact(line);
      EXPECT_EQ(redacted.find(password), std::string::npos) << to_string(m);
      EXPECT_EQ(redacted.find(base64_encode(password)), std::string::npos) << to_string(m);
      EXPECT_EQ(redacted.find("tim"), std::string::npos) << to_string(m);
      if (!line.starts_with("AUTH ")) {
        EXPECT_EQ(redacted, line.empty() ? "" : "<redacted>");
      }
    }
  }
}

}  // namespace
}  // namespace smtp_exporter::probes
