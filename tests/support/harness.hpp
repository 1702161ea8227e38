// Test support: child processes (SMTP peers, the exporter), loopback HTTP, metrics text lookups.
// Everything here has a deadline: nothing a test starts can hang the suite.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smtp_test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A fresh directory under the build's temp area, removed on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& content) const;

 private:
  fs::path path_;
};

// A child process; stderr goes to a log file (never an unread pipe). SIGTERM then SIGKILL on
// destruction.
class child_process {
 public:
  child_process(std::vector<std::string> argv, fs::path log_file);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Reads stdout until a line "READY <port>" (peers print it once bound). 0 on timeout or exit.
  std::uint16_t wait_ready(std::chrono::milliseconds timeout = 10s);
  bool running();
  void signal(int sig);
  // Waits for the process to exit by itself; its exit status (or -signal), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 10s);
  // Sends SIGTERM and waits; returns the exit status (or -signal), or nullopt after `timeout`.
  std::optional<int> terminate(std::chrono::milliseconds timeout = 5s);
  std::string log() const;
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  fs::path log_file_;
  std::string stdout_buffer_;
};

// Peers from tests/peers/, run with Debian's /usr/bin/python3.
std::unique_ptr<child_process> start_fake_smtp(const temp_dir& dir, const std::string& script_name,
                                               std::uint16_t& port,
                                               const std::vector<std::string>& extra = {});
// fake_smtp.py's implicit_tls script: TLS right after accept with `chain_file` and `key_file`.
std::unique_ptr<child_process> start_implicit_tls_smtp(const temp_dir& dir,
                                                       const fs::path& chain_file,
                                                       const fs::path& key_file,
                                                       std::uint16_t& port,
                                                       const std::vector<std::string>& extra = {});
// Replaces a file's content in one rename, with an mtime later than the old one's (peers that
// reload on change, such as fake_dns.py, compare mtimes).
void replace_file(const fs::path& path, const std::string& content);

// tests/peers/fake_dns.py answering from the JSON rules in `rules` (UDP on 127.0.0.1).
std::unique_ptr<child_process> start_fake_dns(const temp_dir& dir, const fs::path& rules,
                                              std::uint16_t& port);
// tests/peers/zone_dns.py serving the zone data of every YAML document of `zone_files` (the
// openspf suite's format), each document on its own port: `ports` gets them in document order.
// A null process (and no ports) when it did not start.
std::unique_ptr<child_process> start_zone_dns(const temp_dir& dir,
                                              const std::vector<fs::path>& zone_files,
                                              std::vector<std::uint16_t>& ports);
std::unique_ptr<child_process> start_aiosmtpd(const temp_dir& dir, std::uint16_t& port,
                                              const std::vector<std::string>& extra = {});

// A loopback port that nothing listens on (refused).
std::uint16_t unused_port();

// A listener whose accept queue is full: further SYNs are dropped, so connects time out.
class blackhole_listener {
 public:
  blackhole_listener();
  ~blackhole_listener();
  std::uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
};

struct http_reply {
  int status = 0;  // 0: no answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};
// `headers`: extra request header lines, e.g. "X-Prometheus-Scrape-Timeout-Seconds: 2".
http_reply http_request(std::uint16_t port, const std::string& method, const std::string& path,
                        std::chrono::milliseconds timeout = 10s,
                        const std::vector<std::string>& headers = {});

// The exporter binary on a free loopback port with the given config text.
class exporter_process {
 public:
  exporter_process(const temp_dir& dir, const std::string& config_toml,
                   std::vector<std::string> extra_flags = {});
  bool started() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  const fs::path& config_path() const { return config_path_; }
  std::string scrape();
  void rewrite_config(const std::string& config_toml);
  child_process& process() { return *process_; }
  // Scrapes until every target's `probe` has a result other than pending; returns the last scrape.
  std::string scrape_until_decided(const std::vector<std::string>& targets, const std::string& probe,
                                   std::chrono::milliseconds timeout = 20s);
  // Scrapes until `pred(text)` holds or the timeout passes; returns the last scrape.
  template <typename Pred>
  std::string scrape_until(Pred pred, std::chrono::milliseconds timeout = 20s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    std::string text;
    do {
      text = scrape();
      if (pred(text)) break;
      sleep_briefly();
    } while (std::chrono::steady_clock::now() < end);
    return text;
  }

 private:
  static void sleep_briefly();
  fs::path config_path_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

// The value of the series `name{labels}` in exposition text, matching all given labels
// (others may be present). nullopt if absent.
std::optional<double> metric_value(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels);
// The value of `label` on the series `name` matching `labels`, e.g. the result of result_info.
std::optional<std::string> label_value(const std::string& text, const std::string& name,
                                       const std::map<std::string, std::string>& labels,
                                       const std::string& label);

// The `result` label of smtp_probe_result_info{target,probe}; "<absent>" when there is no series.
std::string probe_result(const std::string& text, const std::string& target, const std::string& probe);
// True when every target's `probe` has a result other than pending.
bool probes_decided(const std::string& text, const std::vector<std::string>& targets,
                    const std::string& probe);

// The smallest config that starts: one target whose port refuses (127.0.0.1:1).
inline const std::string one_refused_target_toml =
    "[[target]]\nname = \"a\"\nprobes = [\"banner\"]\nhost = \"127.0.0.1\"\nport = 1\n"
    "tls = \"none\"\n";

// A bcrypt hash of `password` at `cost` made with libxcrypt (as `htpasswd -nBC COST`); empty if
// libxcrypt cannot make one.
std::string bcrypt_hash(const std::string& password, int cost = 10);

fs::path source_dir();
fs::path exporter_binary();

}  // namespace smtp_test
