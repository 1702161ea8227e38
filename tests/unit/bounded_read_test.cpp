// common/bounded_read: the one reader of files named by the config (config, web config, secrets,
// keys). Each case is a file a mistaken or hostile config can point at.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/bounded_read.hpp"

namespace {

using smtp_exporter::read_bounded_file;
using smtp_exporter::read_failure;

class bounded_read : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bounded_read_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(bounded_read, reads_a_regular_file_whole) {
  auto r = read_bounded_file(write("a", "secret\n"), 100);
  ASSERT_TRUE(r.ok()) << r.why(100);
  EXPECT_EQ(r.text.reveal(), "secret\n");
}

TEST_F(bounded_read, a_file_exactly_at_the_cap_is_read_and_one_byte_more_is_refused) {
  auto at = read_bounded_file(write("at", std::string(64, 'x')), 64);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at.text.size(), 64u);
  auto over = read_bounded_file(write("over", std::string(65, 'x')), 64);
  EXPECT_EQ(over.failure, read_failure::too_large);
  EXPECT_TRUE(over.text.empty());
  EXPECT_EQ(over.why(64), "larger than 64 bytes");
}

TEST_F(bounded_read, dev_zero_is_refused_at_once_without_reading) {
  const auto start = std::chrono::steady_clock::now();
  auto r = read_bounded_file("/dev/zero", 1024 * 1024);
  EXPECT_EQ(r.failure, read_failure::not_regular);
  EXPECT_EQ(r.why(0), "not a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(bounded_read, a_fifo_without_a_writer_is_refused_without_blocking) {
  const auto path = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  // Opened without O_NONBLOCK this would wait for a writer forever; the test's TIMEOUT catches
  // a regression as a failure rather than a hang of the suite.
  auto r = read_bounded_file(path, 1024);
  EXPECT_EQ(r.failure, read_failure::not_regular);
}

TEST_F(bounded_read, a_directory_reads_as_eisdir_and_a_missing_file_as_enoent) {
  auto d = read_bounded_file(dir_.string(), 1024);
  EXPECT_EQ(d.failure, read_failure::read_failed);
  EXPECT_EQ(d.error_number, EISDIR);
  auto m = read_bounded_file((dir_ / "absent").string(), 1024);
  EXPECT_EQ(m.failure, read_failure::cannot_open);
  EXPECT_EQ(m.error_number, ENOENT);
  EXPECT_EQ(m.why(1024), "No such file or directory");
}

TEST_F(bounded_read, an_empty_file_is_read_as_empty) {
  auto r = read_bounded_file(write("empty", ""), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.text.empty());
}

}  // namespace
