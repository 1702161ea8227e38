#include "probes/smtp/credentials.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <concepts>
#include <functional>
#include <optional>
#include <thread>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/base64.hpp"

namespace smtp_exporter::probes {
namespace {

namespace fs = std::filesystem;
using namespace std::literals;

// --- secret_string ----------------------------------------------------------------------------

template <class T>
concept streamable = requires(std::ostream& os, const T& value) { os << value; };

static_assert(!streamable<secret_string>, "a secret must not be printable");
static_assert(!std::is_convertible_v<secret_string, std::string>);
static_assert(!std::is_convertible_v<secret_string, std::string_view>);
static_assert(!std::is_constructible_v<std::string, secret_string>);
static_assert(!std::is_copy_constructible_v<secret_string>);
static_assert(!std::is_copy_assignable_v<secret_string>);
static_assert(std::is_nothrow_move_constructible_v<secret_string>);
static_assert(std::is_nothrow_move_assignable_v<secret_string>);
static_assert(!std::is_convertible_v<std::string_view, secret_string>, "construction is explicit");
static_assert(!std::is_copy_constructible_v<loaded_credentials>);

TEST(secret_string, reveal_and_move) {
  secret_string a("hunter2");
  EXPECT_EQ(a.reveal(), "hunter2");
  EXPECT_EQ(a.size(), 7u);
  secret_string b(std::move(a));
  EXPECT_EQ(b.reveal(), "hunter2");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(a.reveal(), "");
  secret_string c;
  EXPECT_TRUE(c.empty());
  c = std::move(b);
  EXPECT_EQ(c.reveal(), "hunter2");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(secret_string, holds_binary_bytes) {
  const secret_string s("a\0b"sv);
  EXPECT_EQ(s.reveal(), "a\0b"sv);
}

TEST(secret_string, takes_and_cleanses_a_temporary_string) {
  std::string source = "a password longer than the small-string buffer";
  const secret_string s(std::move(source));
  EXPECT_EQ(s.reveal(), "a password longer than the small-string buffer");
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): cleanse() leaves it empty
}

TEST(cleanse, zeroes_the_whole_capacity) {
  std::string s = "0123456789abcdefghijklmnopqrstuvwxyz";
  s.resize(4);  // the secret's tail now sits in spare capacity
  const char* data = s.data();
  const std::size_t capacity = s.capacity();
  cleanse(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.data(), data);  // no reallocation
  for (std::size_t i = 0; i < capacity; ++i) EXPECT_EQ(data[i], '\0') << i;
}

// --- load_credentials -------------------------------------------------------------------------

constexpr std::string_view the_secret = "Sup3r-S3cret!pw";

class credentials_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smtp_exporter_credentials_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, std::string_view content) {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return path.string();
  }

  // Every error must be free of the secret, raw or encoded.
  static void expect_no_secret(const loaded_credentials& c, std::string_view secret = the_secret) {
    EXPECT_EQ(c.error.find(secret), std::string::npos) << c.error;
    EXPECT_EQ(c.error.find(base64_encode(secret)), std::string::npos) << c.error;
  }

  fs::path dir_;
};

TEST_F(credentials_test, password_file_with_trailing_newline) {
  credential_source source;
  source.username = "alerts@example.com";
  source.password_file = write("password", std::string(the_secret) + "\n");
  const auto c = load_credentials(source);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.username, "alerts@example.com");
  EXPECT_EQ(c.secret.reveal(), the_secret);
  EXPECT_FALSE(c.is_token);
}

TEST_F(credentials_test, strips_exactly_one_line_ending) {
  credential_source source;
  const struct {
    std::string_view content;
    std::string_view secret;
  } cases[] = {
      {"pw", "pw"},
      {"pw\n", "pw"},
      {"pw\r\n", "pw"},
      {"pw\n\n", "pw\n"},
      {"pw\r\n\r\n", "pw\r\n"},
      {"pw\r", "pw\r"},       // a lone CR is part of the secret
      {" pw \n", " pw "},     // blanks are too
      {"\npw\n", "\npw"},
  };
  for (const auto& [content, secret] : cases) {
    source.password_file = write("password", content);
    const auto c = load_credentials(source);
    ASSERT_TRUE(c.ok()) << c.error;
    EXPECT_EQ(c.secret.reveal(), secret);
  }
}

TEST_F(credentials_test, rotated_file_is_picked_up_on_the_next_call) {
  credential_source source;
  source.password_file = write("password", "first-password\n");
  EXPECT_EQ(load_credentials(source).secret.reveal(), "first-password");

  // Kubernetes rotates a Secret by swapping a symlink to a new directory; a plain rewrite is the
  // simpler case of the same thing.
  write("password", "second-password\n");
  EXPECT_EQ(load_credentials(source).secret.reveal(), "second-password");

  const std::string third = write("password.v3", "third-password\n");
  const fs::path link = dir_ / "current";
  fs::create_symlink(third, link);
  source.password_file = link.string();
  EXPECT_EQ(load_credentials(source).secret.reveal(), "third-password");
}

TEST_F(credentials_test, token_file) {
  credential_source source;
  source.username = "someuser@example.com";
  source.token_file = write("token", "ya29.token-value\r\n");
  const auto c = load_credentials(source);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_TRUE(c.is_token);
  EXPECT_EQ(c.secret.reveal(), "ya29.token-value");
}

TEST_F(credentials_test, missing_file) {
  credential_source source;
  source.password_file = (dir_ / "nope").string();
  const auto c = load_credentials(source);
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.error, "cannot read password_file " + source.password_file +
                         ": No such file or directory");
  EXPECT_TRUE(c.secret.empty());

  source.password_file.clear();
  source.token_file = (dir_ / "nope").string();
  EXPECT_EQ(load_credentials(source).error,
            "cannot read token_file " + source.token_file + ": No such file or directory");
}

TEST_F(credentials_test, directory_is_not_a_secret_file) {
  credential_source source;
  source.password_file = dir_.string();
  const auto c = load_credentials(source);
  EXPECT_EQ(c.error, "cannot read password_file " + dir_.string() + ": not a regular file");
}

TEST_F(credentials_test, fifo_is_refused_without_blocking) {
  credential_source source;
  source.password_file = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(source.password_file.c_str(), 0600), 0);
  const auto c = load_credentials(source);
  EXPECT_EQ(c.error, "cannot read password_file " + source.password_file + ": not a regular file");
}

TEST_F(credentials_test, empty_file) {
  credential_source source;
  for (std::string_view content : {""sv, "\n"sv, "\r\n"sv}) {
    source.password_file = write("password", content);
    const auto c = load_credentials(source);
    EXPECT_EQ(c.error, "password_file " + source.password_file + ": secret file is empty");
  }
}

TEST_F(credentials_test, file_size_cap) {
  credential_source source;
  std::string at_cap(max_secret_file_size, 'x');
  at_cap.replace(0, the_secret.size(), the_secret);
  source.token_file = write("token", at_cap);
  const auto fits = load_credentials(source);
  ASSERT_TRUE(fits.ok()) << fits.error;
  EXPECT_EQ(fits.secret.size(), max_secret_file_size);

  source.token_file = write("token", at_cap + "\n");  // one byte over, even if it is the newline
  const auto too_large = load_credentials(source);
  EXPECT_FALSE(too_large.ok());
  EXPECT_NE(too_large.error.find("secret file too large"), std::string::npos) << too_large.error;
  EXPECT_NE(too_large.error.find(source.token_file), std::string::npos) << too_large.error;
  EXPECT_TRUE(too_large.secret.empty());
  expect_no_secret(too_large);
}

TEST_F(credentials_test, environment_variable) {
  credential_source source;
  source.username = "u";
  source.password_env = "SMTP_EXPORTER_TEST_PASS";
  ASSERT_EQ(::setenv("SMTP_EXPORTER_TEST_PASS", std::string(the_secret).c_str(), 1), 0);
  const auto c = load_credentials(source);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.secret.reveal(), the_secret);
  EXPECT_FALSE(c.is_token);
  ::unsetenv("SMTP_EXPORTER_TEST_PASS");
}

TEST_F(credentials_test, environment_variable_missing_or_empty) {
  credential_source source;
  source.password_env = "SMTP_EXPORTER_TEST_UNSET";
  ::unsetenv("SMTP_EXPORTER_TEST_UNSET");
  auto c = load_credentials(source);
  EXPECT_EQ(c.error, "environment variable SMTP_EXPORTER_TEST_UNSET is not set or empty");

  ASSERT_EQ(::setenv("SMTP_EXPORTER_TEST_UNSET", "", 1), 0);
  c = load_credentials(source);
  EXPECT_EQ(c.error, "environment variable SMTP_EXPORTER_TEST_UNSET is not set or empty");
  ::unsetenv("SMTP_EXPORTER_TEST_UNSET");
}

TEST_F(credentials_test, inline_password) {
  credential_source source;
  source.username = "u";
  source.inline_password = shared_secret(the_secret);
  const auto c = load_credentials(source);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.secret.reveal(), the_secret);
}

TEST_F(credentials_test, nothing_configured) {
  credential_source source;
  source.username = "u";
  const auto c = load_credentials(source);
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.error, "no password_file, password_env, password or token_file configured");
}

TEST_F(credentials_test, no_error_ever_contains_the_secret) {
  // Every failure path, each with the secret somewhere it could leak from.
  ASSERT_EQ(::setenv("SMTP_EXPORTER_TEST_EMPTY", "", 1), 0);
  std::vector<credential_source> failing(7);
  failing[0].username = std::string(the_secret);
  failing[0].password_file = (dir_ / "nope").string();
  failing[1].password_file = write("big", std::string(the_secret) + std::string(70000, 'x'));
  failing[2].password_file = write("empty", "\n");
  failing[3].password_file = dir_.string();
  failing[4].password_env = "SMTP_EXPORTER_TEST_EMPTY";
  failing[5].token_file = (dir_ / "nope").string();
  failing[6].token_file = write("big_token", std::string(100000, 'y') + std::string(the_secret));
  for (const auto& source : failing) {
    const auto c = load_credentials(source);
    EXPECT_FALSE(c.ok());
    EXPECT_FALSE(c.error.empty());
    EXPECT_TRUE(c.secret.empty());
    expect_no_secret(c);
  }
  ::unsetenv("SMTP_EXPORTER_TEST_EMPTY");
}


// --- load_credentials_async: secret files off the probe loop -----------------------------------

namespace async_test {

std::atomic<bool> release_reads{false};

// A read that hangs like one on a dead NFS or CSI mount, until the test lets it go.
loaded_credentials hanging_read(const credential_source& source) {
  while (!release_reads.load()) std::this_thread::sleep_for(5ms);
  return load_credentials(source);
}

}  // namespace async_test

static_assert(!streamable<shared_secret>, "a secret must not be printable");
static_assert(!std::is_convertible_v<shared_secret, std::string>);

TEST(load_credentials_async, a_hung_read_stalls_neither_the_loop_nor_past_the_deadline) {
  boost::asio::io_context io;
  credential_source source;
  source.username = "u";
  source.password_file = "/nonexistent/hung-mount/password";
  // The loop's other work: a ticker that must keep running while the read hangs.
  int ticks = 0;
  std::optional<loaded_credentials> got;
  boost::asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(10ms);
    ticker.async_wait([&](boost::system::error_code ec) {
      if (ec || got) return;
      ++ticks;
      tick();
    });
  };
  tick();
  const auto started = std::chrono::steady_clock::now();
  boost::asio::co_spawn(
      io, load_credentials_async(source, started + 500ms, &async_test::hanging_read),
      [&](std::exception_ptr, loaded_credentials c) {
        got = std::move(c);
        ticker.cancel();
      });
  io.run_for(10s);
  const auto took = std::chrono::steady_clock::now() - started;
  async_test::release_reads = true;
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
  EXPECT_EQ(got->error,
            "cannot read password_file /nonexistent/hung-mount/password: no answer before the "
            "probe's deadline");
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 5s);
  EXPECT_GT(ticks, 10) << "the loop stalled while the read hung";
}

TEST(load_credentials_async, reads_a_file_and_passes_inline_secrets_through) {
  boost::asio::io_context io;
  const auto dir = fs::temp_directory_path() / ("smtp_cred_async_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "pw") << "file-secret\n";
  credential_source from_file;
  from_file.username = "u";
  from_file.password_file = (dir / "pw").string();
  credential_source inline_source;
  inline_source.username = "u";
  inline_source.inline_password = shared_secret("inline-secret"sv);
  std::optional<loaded_credentials> a, b;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  boost::asio::co_spawn(io, load_credentials_async(from_file, deadline),
                        [&](std::exception_ptr, loaded_credentials c) { a = std::move(c); });
  boost::asio::co_spawn(io, load_credentials_async(inline_source, deadline),
                        [&](std::exception_ptr, loaded_credentials c) { b = std::move(c); });
  io.run_for(10s);
  fs::remove_all(dir);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->ok()) << a->error;
  EXPECT_EQ(a->secret.reveal(), "file-secret");
  ASSERT_TRUE(b->ok()) << b->error;
  EXPECT_EQ(b->secret.reveal(), "inline-secret");
}
}  // namespace
}  // namespace smtp_exporter::probes
