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
      // A token: OAUTHBEARER (the standard) when offered, else XOAUTH2, never a password one.
      {offering({am::plain, am::login, am::cram_md5}), true, std::nullopt},
      {offering({am::oauthbearer}), true, sm::oauthbearer},
      {offering({am::xoauth2, am::oauthbearer}), true, sm::oauthbearer},
      {offering({am::login, am::plain, am::xoauth2, am::oauthbearer}), true, sm::oauthbearer},
      {offering({am::oauthbearer, am::plain}), false, sm::plain},  // a password never does it
      {offering({am::oauthbearer}), false, std::nullopt},
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
  EXPECT_EQ(to_string(sasl_mechanism::oauthbearer), "OAUTHBEARER");
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
  EXPECT_FALSE(c.error_challenge().received);
}

TEST(sasl_xoauth2, error_challenge_is_answered_with_an_empty_line) {
  auto c = client(sasl_mechanism::xoauth2, std::string(google_user), google_token);
  c.initial_command();
  // S: 334 <base64 JSON>   C: (empty line)   S: 535 5.7.8 Username and Password not accepted
  EXPECT_EQ(c.respond(google_error), "");
  EXPECT_TRUE(c.error_challenge().received);
  EXPECT_EQ(c.error_challenge().status, "401");
  EXPECT_EQ(c.error_challenge().scope, "https://mail.google.com/");
  EXPECT_EQ(c.error_challenge().schemes, "Bearer");
  EXPECT_EQ(describe(c.error_challenge()),
            "status 401, scope https://mail.google.com/, schemes Bearer");
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

// --- OAUTHBEARER (RFC 7628) -------------------------------------------------------------------

TEST(sasl_oauthbearer, initial_response_is_rfc7628_section_4_1) {
  // RFC 7628 section 4.1's example: user@example.com at server.example.com:143 with token
  // "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==".
  auto c = sasl_client(sasl_mechanism::oauthbearer, "user@example.com",
                       secret_string("vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
                       sasl_peer{"server.example.com", 143});
  const std::string line = c.initial_command();
  ASSERT_TRUE(line.starts_with("AUTH OAUTHBEARER ")) << line;
  EXPECT_EQ(line.substr(17),
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVh"
            "cmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
  EXPECT_EQ(decoded(line.substr(17)),
            "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
            "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
}

TEST(sasl_oauthbearer, user_is_escaped_as_a_saslname_and_host_port_are_optional) {
  auto c = sasl_client(sasl_mechanism::oauthbearer, "a,b=c", secret_string("tok"));
  const std::string line = c.initial_command();
  EXPECT_EQ(decoded(line.substr(17)), "n,a=a=2Cb=3Dc,\x01"
                                      "auth=Bearer tok\x01\x01");
  auto anonymous = sasl_client(sasl_mechanism::oauthbearer, "", secret_string("tok"),
                               sasl_peer{"mx.test", 587});
  EXPECT_EQ(decoded(anonymous.initial_command().substr(17)),
            "n,,\x01host=mx.test\x01port=587\x01"
            "auth=Bearer tok\x01\x01");
}

TEST(sasl_oauthbearer, error_challenge_is_answered_with_a_lone_ctrl_a) {
  auto c = sasl_client(sasl_mechanism::oauthbearer, "user@example.com", secret_string("tok"),
                       sasl_peer{"server.example.com", 587});
  c.initial_command();
  // RFC 7628 section 4.3: S: 334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=
  const std::string challenge = base64_encode(
      R"({"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"})");
  EXPECT_EQ(c.respond(challenge), "AQ==");
  EXPECT_EQ(decoded("AQ=="), "\x01");
  EXPECT_EQ(c.error_challenge().status, "invalid_token");
  EXPECT_EQ(c.error_challenge().scope, "example_scope");
  EXPECT_EQ(describe(c.error_challenge()), "status invalid_token, scope example_scope");
  EXPECT_EQ(c.respond(challenge), std::nullopt);  // a second error challenge is out of protocol
}

TEST(sasl_oauthbearer, long_token_goes_after_an_empty_334) {
  const std::string token(2000, 't');
  auto c = sasl_client(sasl_mechanism::oauthbearer, "u@contoso.com", secret_string(token),
                       sasl_peer{"smtp.office365.com", 587});
  EXPECT_EQ(c.initial_command(), "AUTH OAUTHBEARER");
  const auto r = c.respond("");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(decoded(*r), "n,a=u@contoso.com,\x01host=smtp.office365.com\x01port=587\x01"
                         "auth=Bearer " + token + "\x01\x01");
}

TEST(sasl_oauthbearer, initial_response_up_to_the_line_limit) {
  // "AUTH OAUTHBEARER " is 17 octets; 512 with CRLF leaves 493 for the base64 (369 bytes).
  // "n,a=u," ^A (7) + "auth=Bearer " (12) + token + ^A ^A (2) = 21 + token bytes.
  const auto line_for = [](std::size_t token_length) {
    auto c = sasl_client(sasl_mechanism::oauthbearer, "u",
                         secret_string(std::string(token_length, 'x')));
    return c.initial_command();
  };
  EXPECT_EQ(line_for(348).size(), 17u + 492u);   // 369 bytes -> 492 characters: 509 + 2 fit
  EXPECT_EQ(line_for(349), "AUTH OAUTHBEARER");  // 370 bytes -> 496 characters: 513 + 2 do not
}

// --- error challenges -------------------------------------------------------------------------

TEST(sasl_error_challenge, decoding_is_bounded_and_keeps_non_json_as_an_excerpt) {
  auto c = decode_error_challenge(R"({"status":401,"schemes":"bearer","scope":"s"})");
  EXPECT_EQ(c.status, "401");  // a number, as some servers send it
  EXPECT_EQ(describe(c), "status 401, scope s, schemes bearer");

  c = decode_error_challenge("Token expired\r\n");
  EXPECT_EQ(c.status, "");
  EXPECT_EQ(c.excerpt, "Token expired");
  EXPECT_EQ(describe(c), "challenge: Token expired");

  c = decode_error_challenge(R"({"status":"401","scope":")" + std::string(1000, 'x') + "\"}");
  EXPECT_EQ(c.scope.size(), sasl_error_challenge::max_field);
  c = decode_error_challenge(R"({"status":"4\u001b[31m01"})");  // an escape inside valid JSON
  EXPECT_EQ(c.status, "4?[31m01");

  c = decode_error_challenge(std::string("\x1b[31mbad\x00", 9));
  EXPECT_EQ(c.excerpt.find('\x1b'), std::string::npos) << c.excerpt;

  c = decode_error_challenge("");
  EXPECT_EQ(describe(c), "challenge: (empty)");
  EXPECT_EQ(describe(sasl_error_challenge{}), "");
  c = decode_error_challenge(R"(["status","401"])");  // JSON, but not the object
  EXPECT_EQ(describe(c), R"(challenge: ["status","401"])");
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
                 sasl_mechanism::xoauth2, sasl_mechanism::oauthbearer}) {
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

TEST(sasl_redact, a_canary_token_never_survives_redaction) {
  const std::string token = "CANARY-ACCESS-TOKEN-7c41e0";
  for (auto m : {sasl_mechanism::xoauth2, sasl_mechanism::oauthbearer}) {
    for (const std::size_t pad : {std::size_t{0}, std::size_t{600}}) {  // with and without an
      const std::string t = token + std::string(pad, 'p');               // initial response
      auto c = sasl_client(m, "alice@example.test", secret_string(t), sasl_peer{"mx.test", 587});
      std::vector<std::string> sent{c.initial_command()};
      if (auto r = c.respond("")) sent.push_back(*r);
      if (auto r = c.respond(base64_encode(R"({"status":"401"})"))) sent.push_back(*r);
      bool carried = false;
      for (const auto& line : sent) {
        // The payload: what follows "AUTH <mechanism> ", or a whole continuation line.
        const bool auth_line = line.starts_with("AUTH ");
        const auto space = line.find(' ', 5);
        const std::string payload = !auth_line ? line
                                    : space == std::string::npos ? std::string()
                                                                 : line.substr(space + 1);
        if (!payload.empty()) carried = carried || decoded(payload).find(token) != std::string::npos;
        const std::string redacted = sasl_client::redact(line + "\r\n");
        EXPECT_EQ(redacted.find("CANARY"), std::string::npos) << redacted;
        EXPECT_EQ(redacted.find("7c41e0"), std::string::npos) << redacted;
        EXPECT_EQ(redacted.find("alice"), std::string::npos) << redacted;
        if (payload.size() > 4) {
          EXPECT_EQ(redacted.find(payload.substr(0, 8)), std::string::npos);
        }
      }
      EXPECT_TRUE(carried) << to_string(m) << ": the token was sent at all";
    }
  }
}

}  // namespace
}  // namespace smtp_exporter::probes
