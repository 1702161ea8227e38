// Test support: run a command to completion with a deadline, its stdout and stderr in files (never
// an unread pipe), in its own process group so that whatever it spawns (Chromium's helpers) is
// killed with it. Header-only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace smtp_test {

struct command_result {
  std::optional<int> status;  // exit status, or -signal; nullopt when the deadline passed
  std::string out;
  std::string err;
  double seconds = 0;
};

inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs `argv` (argv[0] a path) with stdout/stderr to `dir`/<name>.out/.err; kills the whole process
// group at the deadline. `env` entries are set in the child only.
inline command_result run_command(const std::vector<std::string>& argv,
                                  const std::filesystem::path& dir, const std::string& name,
                                  std::chrono::milliseconds timeout,
                                  const std::vector<std::pair<std::string, std::string>>& env = {}) {
  using clock = std::chrono::steady_clock;
  const auto out_file = dir / (name + ".out");
  const auto err_file = dir / (name + ".err");
  const auto start = clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  command_result result;
  if (pid < 0) return result;
  setpgid(pid, pid);  // also from here: no race with the child's own call
  const auto deadline = start + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      break;
    }
    if (clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid, SIGKILL);  // helpers left behind by a command that exited (ESRCH when none)
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  result.out = read_text_file(out_file);
  result.err = read_text_file(err_file);
  return result;
}

}  // namespace smtp_test
