// A zone's set-up (exporter/dnsbl/zones.hpp): the DQS key goes through the bounded reader, so a
// device, a FIFO or an oversized file is refused at once, with a text that never holds the key.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "exporter/dnsbl/zones.hpp"

namespace smtp_exporter::exporter {
namespace {

namespace fs = std::filesystem;

class dqs_key : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dqs_key_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }
  config::dnsbl_zone zone_with_key_file(const std::string& path) {
    config::dnsbl_zone zone;
    zone.name = "zen.dq.spamhaus.net";
    zone.dqs_key_file = path;
    return zone;
  }
  fs::path dir_;
};

TEST_F(dqs_key, the_first_line_of_the_file_prefixes_the_zone) {
  std::string error;
  const auto path = write("k", "abc123 \r\nsecond\n");
  const auto suffix = dnsbl_query_suffix(zone_with_key_file(path), error);
  ASSERT_TRUE(suffix) << error;
  EXPECT_EQ(*suffix, "abc123.zen.dq.spamhaus.net");
}

TEST_F(dqs_key, a_device_is_refused_without_reading_it) {
  std::string error;
  EXPECT_FALSE(dnsbl_query_suffix(zone_with_key_file("/dev/zero"), error));
  EXPECT_EQ(error, "DQS key: cannot read /dev/zero: not a regular file");
}

TEST_F(dqs_key, a_fifo_is_refused_without_waiting_for_a_writer) {
  const auto fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string error;
  EXPECT_FALSE(dnsbl_query_suffix(zone_with_key_file(fifo), error));
  EXPECT_EQ(error, "DQS key: cannot read " + fifo + ": not a regular file");
}

TEST_F(dqs_key, a_file_over_the_cap_is_refused) {
  const auto path = write("big", std::string(max_dqs_key_file_bytes + 1, 'a'));
  std::string error;
  EXPECT_FALSE(dnsbl_query_suffix(zone_with_key_file(path), error));
  EXPECT_EQ(error, "DQS key: cannot read " + path + ": larger than 4096 bytes");
}

TEST_F(dqs_key, a_missing_file_says_so_as_before) {
  const auto path = (dir_ / "missing").string();
  std::string error;
  EXPECT_FALSE(dnsbl_query_suffix(zone_with_key_file(path), error));
  EXPECT_EQ(error, "DQS key: cannot read " + path);
}

TEST_F(dqs_key, a_bad_key_is_refused_and_never_quoted) {
  std::string error;
  EXPECT_FALSE(dnsbl_query_suffix(zone_with_key_file(write("k", "not-a-key!\n")), error));
  EXPECT_EQ(error, "DQS key: not a key (want letters and digits, one DNS label)");
}

}  // namespace
}  // namespace smtp_exporter::exporter
