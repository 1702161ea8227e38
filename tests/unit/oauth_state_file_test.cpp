#include "probes/oauth/state_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace smtp_exporter::probes::oauth {
namespace {

namespace fs = std::filesystem;

class oauth_state_file : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oauth_state_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(oauth_state_file, round_trips_with_mode_0600_and_no_temp_file_left) {
  const auto saved_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'796'600'000));
  const saved_refresh_token state{"refresh_token|https://x/token|id|scope||ab12", "cd34", saved_at,
                                  secret_string("0.AX-rotated")};
  ASSERT_EQ(write_state_file(path("s.json"), state), "");
  struct stat st{};
  ASSERT_EQ(::stat(path("s.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(path("s.json.tmp")));
  std::string error = "unchanged";
  const auto read = read_state_file(path("s.json"), error);
  ASSERT_TRUE(read.has_value()) << error;
  EXPECT_EQ(error, "");
  EXPECT_EQ(read->identity, state.identity);
  EXPECT_EQ(read->origin, "cd34");
  EXPECT_EQ(read->saved_at, saved_at);
  EXPECT_EQ(read->refresh_token.reveal(), "0.AX-rotated");
  // Overwriting replaces the file in one rename; a world-readable old file does not stay so.
  ::chmod(path("s.json").c_str(), 0644);
  ASSERT_EQ(write_state_file(path("s.json"), state), "");
  ASSERT_EQ(::stat(path("s.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(oauth_state_file, says_why_a_file_is_not_used_without_quoting_it) {
  std::string error;
  EXPECT_FALSE(read_state_file(path("missing.json"), error).has_value());
  EXPECT_EQ(error, "");  // no file yet: nothing to say
  const std::pair<std::string, std::string> cases[] = {
      {"SECRET-TOKEN", "not a JSON object"},
      {R"({"refresh_token":"SECRET-TOKEN"})", "not a state file of this program"},
      {R"({"identity":"i","origin":"o","saved_at":"x","refresh_token":"SECRET-TOKEN"})",
       "not a state file of this program"},
      {R"({"identity":"i","origin":"o","saved_at":1,"refresh_token":""})",
       "not a state file of this program"},
  };
  for (const auto& [content, why] : cases) {
    std::ofstream(path("bad.json")) << content;
    EXPECT_FALSE(read_state_file(path("bad.json"), error).has_value()) << content;
    EXPECT_EQ(error, "state file \"" + path("bad.json") + "\" ignored: " + why) << content;
  }
  EXPECT_FALSE(read_state_file(dir_.string(), error).has_value());
  EXPECT_EQ(error.rfind("cannot read state file \"" + dir_.string() + "\": ", 0), 0u) << error;
  EXPECT_EQ(write_state_file(path("no/such/dir.json"), {"i", "o", {}, secret_string("SECRET-TOKEN")}),
            "cannot create \"" + path("no/such/dir.json") + ".tmp\": No such file or directory");
}

}  // namespace
}  // namespace smtp_exporter::probes::oauth
