#include "tests/support/harness.hpp"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace smtp_test {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

}  // namespace

fs::path source_dir() { return SMTP_SOURCE_DIR; }
std::string bcrypt_hash(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt)) {
    return {};
  }
  crypt_data data{};
  const char* out = crypt_rn(password.c_str(), salt, &data, sizeof data);
  return out ? out : "";
}

// SMTP_EXPORTER_BINARY_UNDER_TEST runs the tests against another build (an older one, to show
// a test failing before its fix).
fs::path exporter_binary() {
  const char* other = std::getenv("SMTP_EXPORTER_BINARY_UNDER_TEST");
  return other != nullptr && *other != '\0' ? fs::path(other) : fs::path(SMTP_EXPORTER_BINARY);
}

temp_dir::temp_dir() {
  std::random_device rd;
  auto base = fs::temp_directory_path() / "smtp_exporter_tests";
  fs::create_directories(base);
  for (;;) {
    path_ = base / ("t" + std::to_string(rd()));
    if (fs::create_directory(path_)) break;
  }
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path temp_dir::write(const std::string& name, const std::string& content) const {
  auto p = path_ / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

child_process::child_process(std::vector<std::string> argv, fs::path log_file)
    : log_file_(std::move(log_file)) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test binary that dies (crash, ctest timeout) takes its peers with it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int log_fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out[1], STDOUT_FILENO);
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  stdout_fd_ = out[0];
}

child_process::~child_process() {
  if (running()) terminate();
  if (pid_ > 0 && running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::uint16_t child_process::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    auto nl = stdout_buffer_.find('\n');
    while (nl != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, nl);
      stdout_buffer_.erase(0, nl + 1);
      if (line.rfind("READY ", 0) == 0) return static_cast<std::uint16_t>(std::stoi(line.substr(6)));
      nl = stdout_buffer_.find('\n');
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    int ms = remaining_ms(deadline);
    if (ms == 0 || poll(&p, 1, ms) <= 0) return 0;
    char buf[512];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return 0;
    stdout_buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

bool child_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -pid_;  // reaped; remember for nothing else
    return false;
  }
  return r == 0;
}

void child_process::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> child_process::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  kill(pid_, SIGTERM);
  return wait_exit(timeout);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -pid_;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

std::string child_process::log() const {
  std::ifstream in(log_file_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

namespace {
std::unique_ptr<child_process> start_python_peer(const temp_dir& dir, const std::string& script,
                                                 std::vector<std::string> args,
                                                 const std::string& log_name,
                                                 std::uint16_t& port) {
  std::vector<std::string> argv{"/usr/bin/python3", (source_dir() / "tests/peers" / script).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<child_process>(argv, dir.path() / log_name);
  port = p->wait_ready(15s);
  return p;
}
}  // namespace

std::unique_ptr<child_process> start_fake_smtp(const temp_dir& dir, const std::string& script_name,
                                               std::uint16_t& port,
                                               const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--script",
                                (source_dir() / "tests/peers/scripts" / (script_name + ".json"))};
  args.insert(args.end(), extra.begin(), extra.end());
  return start_python_peer(dir, "fake_smtp.py", args, "fake_smtp_" + script_name + ".log", port);
}

std::unique_ptr<child_process> start_implicit_tls_smtp(const temp_dir& dir,
                                                       const fs::path& chain_file,
                                                       const fs::path& key_file,
                                                       std::uint16_t& port,
                                                       const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--tls-cert", chain_file.string(), "--tls-key", key_file.string(),
                                "--implicit-tls"};
  args.insert(args.end(), extra.begin(), extra.end());
  return start_fake_smtp(dir, "implicit_tls", port, args);
}

void replace_file(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".new";
  std::ofstream(tmp) << content;
  fs::last_write_time(tmp, fs::last_write_time(path) + std::chrono::seconds(2));
  fs::rename(tmp, path);
}

std::unique_ptr<child_process> start_fake_dns(const temp_dir& dir, const fs::path& rules,
                                              std::uint16_t& port) {
  return start_python_peer(dir, "fake_dns.py", {"--rules", rules.string()},
                           "fake_dns_" + rules.stem().string() + ".log", port);
}

std::unique_ptr<child_process> start_zone_dns(const temp_dir& dir,
                                              const std::vector<fs::path>& zone_files,
                                              std::vector<std::uint16_t>& ports) {
  const fs::path ports_file = dir.path() / "zone_dns.ports";
  std::vector<std::string> args{"--ports-file", ports_file.string()};
  for (const auto& file : zone_files) {
    args.push_back("--zones");
    args.push_back(file.string());
  }
  std::uint16_t first = 0;
  auto p = start_python_peer(dir, "zone_dns.py", args, "zone_dns.log", first);
  ports.clear();
  if (first == 0) return nullptr;
  std::ifstream in(ports_file);
  for (unsigned port = 0; in >> port;) ports.push_back(static_cast<std::uint16_t>(port));
  return p;
}

std::unique_ptr<child_process> start_aiosmtpd(const temp_dir& dir, std::uint16_t& port,
                                              const std::vector<std::string>& extra) {
  return start_python_peer(dir, "aiosmtpd_server.py", extra, "aiosmtpd.log", port);
}

std::uint16_t unused_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  auto a = loopback(0);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  auto port = bound_port(fd);
  close(fd);
  return port;
}

blackhole_listener::blackhole_listener() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  auto a = loopback(0);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(listen_fd_, 0);
  port_ = bound_port(listen_fd_);
  // Connections that are never accepted fill the accept queue; after that the kernel drops SYNs,
  // exactly as a firewall DROP rule looks from the client.
  auto target = loopback(port_);
  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target);
    fillers_.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
}

blackhole_listener::~blackhole_listener() {
  for (int fd : fillers_) close(fd);
  if (listen_fd_ >= 0) close(listen_fd_);
}

http_reply http_request(std::uint16_t port, const std::string& method, const std::string& path,
                        std::chrono::milliseconds timeout,
                        const std::vector<std::string>& extra_headers) {
  http_reply reply;
  auto deadline = clock::now() + timeout;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  auto a = loopback(port);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, remaining_ms(deadline)) <= 0) {
    close(fd);
    return reply;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Length: 0\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  req += "\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return reply;
  }
  std::string raw;
  for (;;) {
    pollfd r{fd, POLLIN, 0};
    if (poll(&r, 1, remaining_ms(deadline)) <= 0) break;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  auto header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) return reply;
  reply.status = std::stoi(raw.substr(9, 3));
  std::istringstream headers(raw.substr(0, header_end));
  std::string line;
  std::getline(headers, line);
  while (std::getline(headers, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (!value.empty() && value.back() == '\r') value.pop_back();
    reply.headers[name] = value;
  }
  reply.body = raw.substr(header_end + 4);
  return reply;
}

exporter_process::exporter_process(const temp_dir& dir, const std::string& config_toml,
                                   std::vector<std::string> extra_flags) {
  config_path_ = dir.write("smtp_exporter.toml", config_toml);
  // Retry on the rare race where the free port is taken between probe and bind.
  for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
    auto port = unused_port();
    std::vector<std::string> argv{exporter_binary().string(), "--config.file", config_path_.string(),
                                  "--web.listen-address", "127.0.0.1:" + std::to_string(port)};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    process_ = std::make_unique<child_process>(argv, dir.path() / "exporter.log");
    auto deadline = clock::now() + 10s;
    while (clock::now() < deadline && process_->running()) {
      if (http_request(port, "GET", "/-/ready", 1s).status == 200) {
        port_ = port;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
}

std::string exporter_process::scrape() { return http_request(port_, "GET", "/metrics").body; }

void exporter_process::rewrite_config(const std::string& config_toml) {
  std::ofstream(config_path_, std::ios::binary | std::ios::trunc) << config_toml;
}

std::string exporter_process::scrape_until_decided(const std::vector<std::string>& targets,
                                                   const std::string& probe,
                                                   std::chrono::milliseconds timeout) {
  return scrape_until([&](const std::string& text) { return probes_decided(text, targets, probe); },
                      timeout);
}

void exporter_process::sleep_briefly() { std::this_thread::sleep_for(100ms); }

namespace {

// Parses `name{a="b",c="d"} value` lines; label values may hold escaped quotes.
bool parse_series(const std::string& line, std::string& name,
                  std::map<std::string, std::string>& labels, double& value) {
  if (line.empty() || line[0] == '#') return false;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  name = line.substr(0, i);
  labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      auto eq = line.find('=', i);
      if (eq == std::string::npos) return false;
      std::string key = line.substr(i, eq - i);
      i = eq + 2;  // skip ="
      std::string val;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          val.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          val.push_back(line[i]);
        }
        ++i;
      }
      labels[key] = val;
      ++i;  // closing quote
      if (i < line.size() && line[i] == ',') ++i;
    }
    ++i;  // }
  }
  try {
    value = std::stod(line.substr(i));
  } catch (...) {
    return false;
  }
  return true;
}

template <typename Fn>
void for_matching(const std::string& text, const std::string& name,
                  const std::map<std::string, std::string>& want, Fn&& fn) {
  std::istringstream in(text);
  std::string line, n;
  std::map<std::string, std::string> labels;
  double v = 0;
  while (std::getline(in, line)) {
    if (!parse_series(line, n, labels, v) || n != name) continue;
    bool match = std::all_of(want.begin(), want.end(), [&](const auto& kv) {
      auto it = labels.find(kv.first);
      return it != labels.end() && it->second == kv.second;
    });
    if (match && fn(labels, v)) return;
  }
}

}  // namespace

std::optional<double> metric_value(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  std::optional<double> out;
  for_matching(text, name, labels, [&](const auto&, double v) {
    out = v;
    return true;
  });
  return out;
}

std::optional<std::string> label_value(const std::string& text, const std::string& name,
                                       const std::map<std::string, std::string>& labels,
                                       const std::string& label) {
  std::optional<std::string> out;
  for_matching(text, name, labels, [&](const std::map<std::string, std::string>& l, double) {
    auto it = l.find(label);
    if (it == l.end()) return false;
    out = it->second;
    return true;
  });
  return out;
}

std::string probe_result(const std::string& text, const std::string& target, const std::string& probe) {
  return label_value(text, "smtp_probe_result_info", {{"target", target}, {"probe", probe}}, "result")
      .value_or("<absent>");
}

bool probes_decided(const std::string& text, const std::vector<std::string>& targets,
                    const std::string& probe) {
  for (const auto& t : targets) {
    auto r = probe_result(text, t, probe);
    if (r == "pending" || r == "<absent>") return false;
  }
  return true;
}

}  // namespace smtp_test
