#include "tests/support/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <thread>

#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

constexpr const char* ip_binary = "/usr/sbin/ip";
constexpr const char* nft_binary = "/usr/sbin/nft";
constexpr const char* prefix = "smtpx";
const fs::path netns_dir = "/run/netns";
const fs::path etc_netns = "/etc/netns";

std::atomic<int> pairs_made{0};

// The directory for the commands' output files (run_command writes NAME.out and NAME.err).
const fs::path& scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / "smtp_exporter_tests" / ("netns" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Runs a command with a deadline; its stderr (or a note on the deadline) on failure, else empty.
std::string run(const std::vector<std::string>& argv) {
  auto r = run_command(argv, scratch(), "cmd", 10s);
  if (r.status == 0) return "";
  std::string what;
  for (const auto& a : argv) what += a + " ";
  if (!r.status) return what + ": no exit within 10 s";
  return what + ": exit " + std::to_string(*r.status) + ": " + r.err + r.out;
}

void delete_namespace(const std::string& name) {
  run({ip_binary, "netns", "delete", name});
  std::error_code ec;
  fs::remove_all(etc_netns / name, ec);
}

// Pairs whose process is gone (killed before its destructor ran) are deleted: names are
// "smtpx<pid>n<k>c" and "...s".
void delete_orphans() {
  std::error_code ec;
  if (!fs::is_directory(netns_dir, ec)) return;
  for (const auto& entry : fs::directory_iterator(netns_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(std::string(prefix).size());
    const auto n = rest.find('n');
    if (n == std::string::npos || n == 0) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, n)));
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    delete_namespace(name);
  }
}

}  // namespace

netns_pair::netns_pair() {
  delete_orphans();
  const std::string base =
      std::string(prefix) + std::to_string(getpid()) + "n" + std::to_string(++pairs_made);
  client_ = base + "c";
  server_ = base + "s";
  const std::vector<std::vector<std::string>> steps{
      {ip_binary, "netns", "add", client_},
      {ip_binary, "netns", "add", server_},
      // Each end is made inside its namespace: the root namespace never holds either.
      {ip_binary, "link", "add", "veth0", "netns", client_, "type", "veth", "peer", "name", "veth0",
       "netns", server_},
      {ip_binary, "-n", client_, "addr", "add", std::string(client_v4) + "/24", "dev", "veth0"},
      {ip_binary, "-n", server_, "addr", "add", std::string(server_v4) + "/24", "dev", "veth0"},
      // nodad: usable at once, not "tentative" for the second duplicate address detection takes.
      {ip_binary, "-n", client_, "addr", "add", std::string(client_v6) + "/64", "dev", "veth0",
       "nodad"},
      {ip_binary, "-n", server_, "addr", "add", std::string(server_v6) + "/64", "dev", "veth0",
       "nodad"},
      {ip_binary, "-n", client_, "link", "set", "lo", "up"},
      {ip_binary, "-n", server_, "link", "set", "lo", "up"},
      {ip_binary, "-n", client_, "link", "set", "veth0", "up"},
      {ip_binary, "-n", server_, "link", "set", "veth0", "up"},
  };
  for (const auto& step : steps) {
    error_ = run(step);
    if (!error_.empty()) return;
  }
}

netns_pair::~netns_pair() {
  // The veth goes with either namespace; whatever still runs inside keeps a namespace alive only
  // until it exits (the peers are child_process objects of the test, stopped before this).
  delete_namespace(client_);
  delete_namespace(server_);
}

std::string netns_pair::nft(side s, const std::string& ruleset) const {
  const fs::path file = scratch() / (name(s) + ".nft");
  std::ofstream(file) << ruleset;
  return run({ip_binary, "netns", "exec", name(s), nft_binary, "-f", file.string()});
}

std::string netns_pair::ruleset(side s) const {
  auto r = run_command({ip_binary, "netns", "exec", name(s), nft_binary, "list", "ruleset"},
                       scratch(), "ruleset", 10s);
  return r.out + r.err;
}

void netns_pair::set_client_hosts(const std::vector<std::string>& lines) const {
  const fs::path dir = etc_netns / client_;
  fs::create_directories(dir);
  std::ofstream out(dir / "hosts");
  out << "127.0.0.1 localhost\n::1 localhost\n";
  for (const auto& line : lines) out << line << '\n';
}

std::vector<std::string> netns_pair::exec_in(side s, std::vector<std::string> argv) const {
  std::vector<std::string> out{ip_binary, "netns", "exec", name(s)};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

bool netns_pair::run_in(side s, const std::function<void()>& fn) const {
  bool entered = false;
  std::thread t([&] {
    // setns(CLONE_NEWNET) changes the calling thread only; the thread ends with the function.
    const int fd = open((netns_dir / name(s)).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    entered = setns(fd, CLONE_NEWNET) == 0;
    close(fd);
    if (entered) fn();
  });
  t.join();
  return entered;
}

std::unique_ptr<child_process> start_peer_in(const netns_pair& pair, netns_pair::side side,
                                             const temp_dir& dir, const std::string& script,
                                             const std::vector<std::string>& args,
                                             const std::string& log_name, std::uint16_t& port) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                (source_dir() / "tests/peers" / script).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<child_process>(pair.exec_in(side, std::move(argv)),
                                           dir.path() / log_name);
  port = p->wait_ready(15s);
  return p;
}

}  // namespace smtp_test
