// The status page and /probe/debug from a running exporter: raw HTML over loopback, and the DOM as
// headless Chromium renders it (--dump-dom), with a screenshot kept as a test artifact.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

const std::string evil_name = "<script>alert(1)</script>";
const std::string evil_name_url = "%3Cscript%3Ealert%281%29%3C%2Fscript%3E";
const fs::path chromium = "/usr/bin/chromium";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The <tr ...>...</tr> element whose text contains `needle`, or "".
std::string row_with(const std::string& html, const std::string& needle) {
  for (auto at = html.find("<tr"); at != std::string::npos; at = html.find("<tr", at + 1)) {
    auto end = html.find("</tr>", at);
    if (end == std::string::npos) break;
    std::string row = html.substr(at, end - at);
    if (has(row, needle)) return row;
  }
  return "";
}

fs::path artifacts_dir() {
  auto dir = exporter_binary().parent_path() / "tests" / "artifacts";
  fs::create_directories(dir);
  return dir;
}

class status_page : public ::testing::Test {
 protected:
  void SetUp() override {
    healthy_ = start_aiosmtpd(dir_, healthy_port_);
    ASSERT_NE(healthy_port_, 0) << healthy_->log();
    // A server whose greeting carries markup: it must come out as text.
    evil_peer_ = std::make_unique<child_process>(
        std::vector<std::string>{
            "/usr/bin/python3", (source_dir() / "tests/peers/fake_smtp.py").string(),
            "--script-inline",
            R"([{"send": "220 evil.test <script>alert('greeting')</script> ready\r\n"},)"
            R"( {"expect": "EHLO"}, {"send": "250 evil.test\r\n"}])"},
        dir_.path() / "evil_peer.log");
    evil_port_ = evil_peer_->wait_ready(15s);
    ASSERT_NE(evil_port_, 0) << evil_peer_->log();

    std::string toml = "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\nprobes = [\"banner\"]\n\n";
    auto add = [&](const std::string& name, std::uint16_t port) {
      toml += "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
              std::to_string(port) + "\ntls = \"none\"\n\n";
    };
    add("healthy", healthy_port_);
    add("refused", unused_port());
    add(evil_name, evil_port_);
    exporter_ = std::make_unique<exporter_process>(dir_, toml);
    ASSERT_TRUE(exporter_->started()) << exporter_->process().log();
    auto text = exporter_->scrape_until([](const std::string& t) {
      for (const char* name : {"healthy", "refused", "<script>alert(1)</script>"}) {
        auto r = label_value(t, "smtp_probe_result_info", {{"target", name}, {"probe", "banner"}},
                             "result");
        if (!r || *r == "pending") return false;
      }
      return true;
    });
    ASSERT_EQ(label_value(text, "smtp_probe_result_info", {{"target", "refused"}}, "result"),
              "connect_refused")
        << text;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(exporter_->port()) + path;
  }

  // Headless Chromium with a fresh profile and a deadline; Chromium's own flags from the issue.
  command_result run_chromium(const std::vector<std::string>& extra, const std::string& name) {
    temp_dir profile;
    std::vector<std::string> argv{chromium.string(),
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--no-first-run",
                                  "--user-data-dir=" + profile.path().string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, dir_.path(), name, 60s, {{"HOME", profile.path().string()}});
  }

  temp_dir dir_;
  std::unique_ptr<child_process> healthy_, evil_peer_;
  std::uint16_t healthy_port_ = 0, evil_port_ = 0;
  std::unique_ptr<exporter_process> exporter_;
};

TEST_F(status_page, raw_html_escapes_config_and_server_text) {
  auto page = http_request(exporter_->port(), "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_TRUE(has(page.headers["content-security-policy"], "default-src 'none'"));
  EXPECT_TRUE(has(page.body, "<meta http-equiv=\"refresh\" content=\"30\">"));
  EXPECT_FALSE(has(page.body, "<script")) << page.body;
  EXPECT_TRUE(has(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(has(page.body, "&lt;script&gt;alert(&#39;greeting&#39;)&lt;/script&gt;"));
  EXPECT_TRUE(has(page.body, "href=\"/metrics\""));
  auto failing = row_with(page.body, ">refused</a>");
  EXPECT_TRUE(has(failing, "<tr class=\"failing\">")) << failing;
  EXPECT_TRUE(has(failing, "connect_refused"));
  EXPECT_TRUE(has(row_with(page.body, ">healthy</a>"), "<tr class=\"ok\">"));
}

TEST_F(status_page, debug_page_shows_the_transcript_and_404s_unknown_targets) {
  auto evil = http_request(exporter_->port(), "GET", "/probe/debug?target=" + evil_name_url);
  ASSERT_EQ(evil.status, 200) << evil.body;
  EXPECT_FALSE(has(evil.body, "<script")) << evil.body;
  EXPECT_TRUE(has(evil.body, "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
  EXPECT_TRUE(has(evil.body, "S: 220 evil.test &lt;script&gt;alert(&#39;greeting&#39;)&lt;/script&gt; ready"));
  EXPECT_TRUE(has(evil.body, "C: EHLO "));

  auto refused = http_request(exporter_->port(), "GET", "/probe/debug?target=refused");
  ASSERT_EQ(refused.status, 200);
  EXPECT_TRUE(has(refused.body, "What to do about connect_refused"));
  EXPECT_TRUE(has(refused.body, "* connect: 127.0.0.1:")) << refused.body;
  EXPECT_TRUE(has(refused.body, "refused the connection")) << refused.body;

  EXPECT_EQ(http_request(exporter_->port(), "GET", "/probe/debug?target=nope").status, 404);
  EXPECT_EQ(http_request(exporter_->port(), "GET", "/probe/debug").status, 400);
  EXPECT_EQ(http_request(exporter_->port(), "POST", "/probe/debug?target=refused").status, 405);
}

TEST_F(status_page, chromium_renders_both_rows_and_the_failing_reason) {
  // The test setup installs chromium; a missing browser is a failure, not a reason to skip.
  ASSERT_TRUE(fs::exists(chromium)) << "chromium is not installed (scripts/install-deps.sh --test)";
  auto dom = run_chromium({"--dump-dom", url("/")}, "dump_dom");
  ASSERT_EQ(dom.status, 0) << dom.err;
  // The DOM as rendered: rows, classes and text as the browser built them.
  auto healthy = row_with(dom.out, ">healthy</a>");
  auto failing = row_with(dom.out, ">refused</a>");
  EXPECT_TRUE(has(healthy, "class=\"ok\"")) << dom.out;
  EXPECT_TRUE(has(healthy, "success"));
  EXPECT_TRUE(has(failing, "class=\"failing\"")) << dom.out;
  EXPECT_TRUE(has(failing, ">FAIL<"));
  EXPECT_TRUE(has(failing, "connect_refused"));
  EXPECT_TRUE(has(dom.out, "3 targets: <strong>1 failing</strong>"));
  // Markup from the config and from the server is text in the DOM, never an element.
  EXPECT_FALSE(has(dom.out, "<script")) << dom.out;
  EXPECT_TRUE(has(dom.out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(has(dom.out, "&lt;script&gt;alert('greeting')&lt;/script&gt;"));

  auto debug = run_chromium({"--dump-dom", url("/probe/debug?target=" + evil_name_url)}, "dump_debug");
  ASSERT_EQ(debug.status, 0) << debug.err;
  EXPECT_FALSE(has(debug.out, "<script")) << debug.out;
  EXPECT_TRUE(has(debug.out, "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));

  for (const auto& [path, file] : {std::pair<std::string, std::string>{"/", "status_page.png"},
                                   {"/probe/debug?target=refused", "status_page_debug.png"}}) {
    auto png = artifacts_dir() / file;
    fs::remove(png);
    auto shot = run_chromium({"--window-size=1280,720", "--screenshot=" + png.string(), url(path)},
                             "screenshot");
    ASSERT_EQ(shot.status, 0) << shot.err;
    ASSERT_TRUE(fs::exists(png)) << shot.err;
    EXPECT_GT(fs::file_size(png), 1000u);
    EXPECT_EQ(read_text_file(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  }
}

}  // namespace
}  // namespace smtp_test
