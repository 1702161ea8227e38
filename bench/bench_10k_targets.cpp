// Benchmark for the claim "a config with 10,000 targets loads and schedules on one 2-core machine;
// scrapes stay cheap". Prints figures; asserts nothing.
//
// - generates a TOML config with N targets, all pointing at an in-process SMTP responder on
//   127.0.0.1 (loopback only, its own thread and io_context), and times config::load_string;
// - applies the targets to an exporter::scheduler on a one-thread io_context (the exporter's
//   model) and runs that loop in the main thread for one interval + 3 s;
// - meanwhile a helper thread renders a scrape every 2 s with metrics_collector::render, as the
//   exporter's HTTP handler does on its helper thread;
// - prints a summary: sessions, results by reason, scrape cost, RSS, CPU.
//
// Usage: bench_10k_targets [--targets N] [--interval 20s] [--max-in-flight 512] [--seconds S]
//                          [--log-level warn]

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "config/config.hpp"
#include "exporter/log.hpp"
#include "exporter/metrics.hpp"
#include "exporter/scheduler.hpp"
#include "exporter/target_status.hpp"
#include "probes/result.hpp"

namespace asio = boost::asio;
namespace config = smtp_exporter::config;
namespace exporter = smtp_exporter::exporter;
namespace probes = smtp_exporter::probes;

using steady = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------
// Measurement helpers

double ms_since(steady::time_point start) {
  return std::chrono::duration<double, std::milli>(steady::now() - start).count();
}

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

struct memory_figures {
  double rss_mib = -1;  // VmRSS
  double hwm_mib = -1;  // VmHWM: peak RSS
};

memory_figures read_memory() {
  memory_figures m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto value_of = [&](std::string_view key) -> std::optional<double> {
      if (!std::string_view(line).starts_with(key)) return std::nullopt;
      return std::strtod(line.c_str() + key.size(), nullptr) / 1024.0;  // kB -> MiB
    };
    if (auto v = value_of("VmRSS:")) m.rss_mib = *v;
    if (auto v = value_of("VmHWM:")) m.hwm_mib = *v;
  }
  return m;
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line.empty() ? std::string("?") : line;
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

std::mutex print_mutex;

// printf to stdout under a lock: the scrape thread prints while the main thread may.
template <typename... Args>
void out(const char* format, Args... args) {
  std::lock_guard lock(print_mutex);
  std::printf(format, args...);
  std::fflush(stdout);
}

void out_line(const std::string& text) {
  std::lock_guard lock(print_mutex);
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Flags

struct bench_options {
  std::size_t targets = 10000;
  std::string interval = "20s";
  std::size_t max_in_flight = 512;
  double seconds = -1;  // <0: one interval + 3 s
  std::string log_level = "warn";
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--targets N] [--interval 20s] [--max-in-flight 512] [--seconds S] "
               "[--log-level debug|info|warn|error]\n",
               argv0);
  std::exit(code);
}

bench_options parse_flags(int argc, char** argv) {
  bench_options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage(argv[0], 0);
    if (i + 1 >= argc) usage(argv[0], 2);
    std::string value = argv[++i];
    char* end = nullptr;
    if (flag == "--targets") {
      o.targets = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || o.targets == 0) usage(argv[0], 2);
    } else if (flag == "--interval") {
      o.interval = value;
    } else if (flag == "--max-in-flight") {
      o.max_in_flight = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || o.max_in_flight == 0) usage(argv[0], 2);
    } else if (flag == "--seconds") {
      o.seconds = std::strtod(value.c_str(), &end);
      if (*end != '\0' || o.seconds <= 0) usage(argv[0], 2);
    } else if (flag == "--log-level") {
      o.log_level = value;
    } else {
      usage(argv[0], 2);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The in-process SMTP responder: 127.0.0.1 only, its own thread and io_context.

class smtp_responder {
 public:
  smtp_responder() : acceptor_(io_) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] {
      io_.run();
      cpu_seconds_ = cpu_seconds(RUSAGE_THREAD);
    });
  }
  ~smtp_responder() { stop(); }
  smtp_responder(const smtp_responder&) = delete;
  smtp_responder& operator=(const smtp_responder&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t quits() const { return quits_.load(); }
  std::uint64_t accept_errors() const { return accept_errors_.load(); }
  std::size_t max_open() const { return max_open_.load(); }
  std::string last_accept_error() const {
    std::lock_guard lock(error_mutex_);
    return last_accept_error_;
  }
  double cpu() const { return cpu_seconds_; }  // valid after stop()

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) {
        // EMFILE/ENFILE and the like: count, report, back off briefly.
        ++accept_errors_;
        {
          std::lock_guard lock(error_mutex_);
          last_accept_error_ = ec.message();
        }
        asio::steady_timer pause(io_, std::chrono::milliseconds(10));
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      ++accepted_;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  static bool starts_with_command(std::string_view line, std::string_view command) {
    if (line.size() < command.size()) return false;
    for (std::size_t i = 0; i < command.size(); ++i) {
      char c = line[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != command[i]) return false;
    }
    return line.size() == command.size() || line[command.size()] == ' ';
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    static constexpr std::string_view greeting = "220 bench.test ESMTP\r\n";
    static constexpr std::string_view ehlo_reply =
        "250-bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
    static constexpr std::string_view quit_reply = "221 bye\r\n";
    static constexpr std::string_view ok_reply = "250 ok\r\n";

    const std::size_t open = ++open_;
    for (std::size_t seen = max_open_.load(); open > seen;) {
      if (max_open_.compare_exchange_weak(seen, open)) break;
    }
    {
      error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    std::string buffer;
    auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(greeting), use_nothrow);
    (void)written;
    while (!write_ec) {
      auto [read_ec, length] = co_await asio::async_read_until(
          socket, asio::dynamic_buffer(buffer, 4096), "\r\n", use_nothrow);
      if (read_ec) break;
      const std::string_view line(buffer.data(), length - 2);
      std::string_view reply = ok_reply;
      bool quit = false;
      if (starts_with_command(line, "EHLO")) {
        reply = ehlo_reply;
      } else if (starts_with_command(line, "QUIT")) {
        reply = quit_reply;
        quit = true;
      }
      buffer.erase(0, length);
      std::tie(write_ec, written) = co_await asio::async_write(socket, asio::buffer(reply), use_nothrow);
      if (quit) {
        if (!write_ec) ++quits_;
        break;
      }
    }
    error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    --open_;
  }

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> quits_{0};
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> max_open_{0};
  mutable std::mutex error_mutex_;
  std::string last_accept_error_;
  double cpu_seconds_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Config text

std::string target_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench-%05zu", i);
  return buf;
}

std::string generate_config(std::size_t targets, const std::string& interval, std::uint16_t port) {
  std::string text;
  text.reserve(targets * 150 + 128);
  text += "[defaults]\ninterval = \"" + interval + "\"\ntimeout = \"5s\"\n\n";
  const std::string port_text = std::to_string(port);
  for (std::size_t i = 0; i < targets; ++i) {
    text += "[[target]]\nname = \"";
    text += target_name(i);
    text += "\"\nhost = \"127.0.0.1\"\nport = ";
    text += port_text;
    text += "\ntls = \"none\"\nprobes = [\"banner\"]\nlabels = { team = \"t";
    text += std::to_string(i % 10);
    text += "\" }\n\n";
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Scrapes

struct scrape_figures {
  double at_seconds = 0;        // since apply()
  std::uint64_t runs = 0;       // sum of banner runs_total
  std::size_t in_flight = 0;
  double snapshot_ms = 0;       // the extra snapshot taken to count runs
  double render_ms = 0;
  std::size_t bytes = 0;
  std::size_t series = 0;       // lines not starting with '#'
  memory_figures memory;
};

std::uint64_t banner_runs(const std::vector<exporter::target_status>& snap) {
  std::uint64_t runs = 0;
  for (const auto& s : snap) runs += s.probes[0].runs_total;
  return runs;
}

std::size_t count_series(const std::string& text) {
  std::size_t series = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos && text[pos] != '#') ++series;
    pos = end + 1;
  }
  return series;
}

scrape_figures take_scrape(const exporter::status_store& store,
                           const exporter::metrics_collector& collector,
                           const exporter::scheduler& sched, steady::time_point origin) {
  scrape_figures f;
  f.at_seconds = seconds_since(origin);
  f.in_flight = sched.in_flight();
  auto t = steady::now();
  f.runs = banner_runs(store.snapshot());
  f.snapshot_ms = ms_since(t);
  std::ostringstream text;
  t = steady::now();
  collector.render(text);
  f.render_ms = ms_since(t);
  const std::string body = std::move(text).str();
  f.bytes = body.size();
  f.series = count_series(body);
  f.memory = read_memory();
  return f;
}

void print_scrape(const scrape_figures& f) {
  out("scrape t=%6.2fs runs=%-7llu in_flight=%-4zu snapshot_ms=%6.2f render_ms=%7.2f "
      "bytes=%-9zu series=%-7zu rss_mib=%.1f\n",
      f.at_seconds, static_cast<unsigned long long>(f.runs), f.in_flight, f.snapshot_ms,
      f.render_ms, f.bytes, f.series, f.memory.rss_mib);
}

// Runs due in [0, window] after apply(), from the scheduler's own start offsets: what a scheduler
// that keeps up would have started by then.
std::uint64_t expected_runs(std::size_t targets, std::chrono::milliseconds interval,
                            std::chrono::milliseconds window) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < targets; ++i) {
    auto offset = exporter::start_offset(target_name(i), interval);
    if (offset > window) continue;
    n += 1 + static_cast<std::uint64_t>((window - offset) / interval);
  }
  return n;
}

// Timer lateness of the exporter's loop, sampled every 100 ms.
struct loop_lag {
  double max_ms = 0;
  double sum_ms = 0;
  std::uint64_t samples = 0;
  std::uint64_t over_50ms = 0;
};

// `timer` belongs to the caller, which cancels it to stop the sampler at once.
asio::awaitable<void> sample_loop_lag(loop_lag& lag, asio::steady_timer& timer, const bool& stopping) {
  constexpr auto period = std::chrono::milliseconds(100);
  auto due = steady::now() + period;
  while (!stopping) {
    timer.expires_at(due);
    co_await timer.async_wait(use_nothrow);
    if (stopping) break;
    const double late = std::chrono::duration<double, std::milli>(steady::now() - due).count();
    lag.max_ms = std::max(lag.max_ms, late);
    lag.sum_ms += late;
    ++lag.samples;
    if (late > 50) ++lag.over_50ms;
    due = std::max(due + period, steady::now());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bench_options opt = parse_flags(argc, argv);
  const auto interval = config::parse_duration(opt.interval);
  if (!interval || interval->count() <= 0) {
    std::fprintf(stderr, "bad --interval %s\n", opt.interval.c_str());
    return 2;
  }
  const double run_seconds =
      opt.seconds > 0 ? opt.seconds : std::chrono::duration<double>(*interval).count() + 3.0;

  std::string log_error;
  if (!smtp_exporter::log::setup(opt.log_level, "logfmt", log_error)) {
    std::fprintf(stderr, "bad --log-level: %s\n", log_error.c_str());
    return 2;
  }

  // Many concurrent sockets: raise the soft fd limit to the hard one.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const auto soft_before = nofile.rlim_cur;
  nofile.rlim_cur = nofile.rlim_max;
  const bool raised = setrlimit(RLIMIT_NOFILE, &nofile) == 0;
  getrlimit(RLIMIT_NOFILE, &nofile);

  out("== bench_10k_targets ==\n");
  out("machine: cpus_online=%ld  RLIMIT_NOFILE soft %llu -> %llu (hard %llu)%s\n",
      sysconf(_SC_NPROCESSORS_ONLN), static_cast<unsigned long long>(soft_before),
      static_cast<unsigned long long>(nofile.rlim_cur),
      static_cast<unsigned long long>(nofile.rlim_max), raised ? "" : "  [setrlimit failed]");
  out("machine: ip_local_port_range=\"%s\" tcp_tw_reuse=%s somaxconn=%s\n",
      read_first_line("/proc/sys/net/ipv4/ip_local_port_range").c_str(),
      read_first_line("/proc/sys/net/ipv4/tcp_tw_reuse").c_str(),
      read_first_line("/proc/sys/net/core/somaxconn").c_str());
  out("flags: targets=%zu interval=%s timeout=5s max_in_flight=%zu run_seconds=%.1f log_level=%s\n",
      opt.targets, opt.interval.c_str(), opt.max_in_flight, run_seconds, opt.log_level.c_str());

  smtp_responder responder;
  out("responder: 127.0.0.1:%u (own thread, own io_context)\n",
      static_cast<unsigned>(responder.port()));

  // 1-2. Config text and load.
  const memory_figures mem_start = read_memory();
  auto t = steady::now();
  std::string text = generate_config(opt.targets, opt.interval, responder.port());
  const double generate_ms = ms_since(t);
  const memory_figures mem_before_load = read_memory();
  t = steady::now();
  auto loaded = config::load_string(text, "bench.toml");
  const double load_ms = ms_since(t);
  const memory_figures mem_after_load = read_memory();
  if (!loaded.ok()) {
    out("config::load_string failed with %zu errors; first ones:\n", loaded.errors.size());
    for (std::size_t i = 0; i < loaded.errors.size() && i < 5; ++i) out_line(loaded.errors[i]);
    return 1;
  }
  const std::size_t text_bytes = text.size();
  std::string().swap(text);
  const memory_figures mem_after_text_freed = read_memory();
  out("config: generated %zu bytes in %.1f ms\n", text_bytes, generate_ms);
  out("config: load_string %.1f ms, %zu targets, %zu warnings\n", load_ms,
      loaded.config->targets.size(), loaded.config->warnings.size());
  out("memory: rss_mib start=%.1f before_load=%.1f after_load=%.1f after_text_freed=%.1f "
      "hwm_mib=%.1f\n",
      mem_start.rss_mib, mem_before_load.rss_mib, mem_after_load.rss_mib,
      mem_after_text_freed.rss_mib, mem_after_load.hwm_mib);

  // 3-4. The exporter's model: one io_context, one thread (this one).
  asio::io_context io(1);
  exporter::status_store store;
  exporter::exporter_state state;
  exporter::scheduler sched(io.get_executor(), store, exporter::scheduler::settings{opt.max_in_flight});
  state.probes_in_flight = [&sched] { return sched.in_flight(); };
  state.config_last_reload_successful = true;
  exporter::metrics_collector collector(store, state);

  // apply() must run on the scheduler's executor; nothing runs the loop yet, so this thread is it.
  t = steady::now();
  sched.apply(loaded.config->targets, {});
  const double apply_ms = ms_since(t);
  const steady::time_point origin = steady::now();
  const memory_figures mem_after_apply = read_memory();
  out("scheduler: apply %.1f ms, %zu targets scheduled, rss_mib=%.1f\n", apply_ms,
      sched.target_count(), mem_after_apply.rss_mib);

  // Stop after the run window: stop the scheduler (on its executor), then wait for the sessions in
  // flight to finish; io.run() returns once nothing is left.
  loop_lag lag;
  bool lag_stopping = false;
  std::atomic<bool> draining{false};
  std::atomic<bool> io_forced_stop{false};
  steady::time_point stop_at{};
  std::uint64_t runs_at_stop = 0;
  std::size_t in_flight_at_stop = 0;
  double drain_ms = -1;
  asio::steady_timer lag_timer(io);
  asio::co_spawn(io, sample_loop_lag(lag, lag_timer, lag_stopping), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, std::chrono::duration_cast<steady::duration>(
                                         std::chrono::duration<double>(run_seconds)));
        co_await timer.async_wait(use_nothrow);
        stop_at = steady::now();
        in_flight_at_stop = sched.in_flight();
        sched.stop();
        lag_stopping = true;
        lag_timer.cancel();
        draining = true;
        // Results of runs in flight at stop() are dropped, so this is the final count.
        runs_at_stop = banner_runs(store.snapshot());
        // Wait for the sessions in flight to end (each has a 5 s deadline).
        while (sched.in_flight() > 0 && seconds_since(stop_at) < 10) {
          timer.expires_after(std::chrono::milliseconds(5));
          co_await timer.async_wait(use_nothrow);
        }
        if (sched.in_flight() == 0) drain_ms = ms_since(stop_at);
      },
      asio::detached);

  // Scrapes every 2 s from a helper thread, concurrently with the loop. Also a watchdog: if the
  // loop does not run out of work within 15 s of stop(), something leaked; stop it by force.
  std::mutex scrape_mutex;
  std::condition_variable scrape_cv;
  bool scrape_done = false;
  std::vector<scrape_figures> scrapes;
  double scrape_thread_cpu = 0;
  std::thread scraper([&] {
    auto next = origin + std::chrono::seconds(2);
    std::optional<steady::time_point> drain_seen;
    std::unique_lock lock(scrape_mutex);
    for (;;) {
      const auto wake = std::min(next, steady::now() + std::chrono::milliseconds(250));
      if (scrape_cv.wait_until(lock, wake, [&] { return scrape_done; })) break;
      lock.unlock();
      if (draining && !drain_seen) drain_seen = steady::now();
      if (drain_seen && steady::now() - *drain_seen > std::chrono::seconds(15) && !io_forced_stop) {
        io_forced_stop = true;
        out("watchdog: io_context still has work 15 s after scheduler.stop(); stopping it\n");
        io.stop();
      }
      if (steady::now() >= next && !draining) {
        auto f = take_scrape(store, collector, sched, origin);
        print_scrape(f);
        scrapes.push_back(f);
        next += std::chrono::seconds(2);
      }
      lock.lock();
    }
    scrape_thread_cpu = cpu_seconds(RUSAGE_THREAD);
  });

  const double loop_cpu_before = cpu_seconds(RUSAGE_THREAD);
  io.run();
  const double loop_cpu = cpu_seconds(RUSAGE_THREAD) - loop_cpu_before;
  const double wall_seconds = std::chrono::duration<double>(stop_at - origin).count();
  const double io_exit_ms = ms_since(stop_at);

  {
    std::lock_guard lock(scrape_mutex);
    scrape_done = true;
  }
  scrape_cv.notify_all();
  scraper.join();

  // A last scrape with the loop stopped, then the final state.
  const scrape_figures final_scrape = take_scrape(store, collector, sched, origin);
  const auto snap = store.snapshot();
  responder.stop();

  // 5. Summary.
  std::uint64_t runs = 0;
  std::array<std::uint64_t, probes::failure_reason_count> failures{};
  std::map<std::string, std::size_t> last_results;
  std::vector<double> durations;
  for (const auto& s : snap) {
    const auto& banner = s.probes[0];
    runs += banner.runs_total;
    for (std::size_t r = 1; r < probes::failure_reason_count; ++r) failures[r] += banner.failures_total[r];
    last_results[banner.has_result ? std::string(probes::to_string(banner.reason)) : "pending"]++;
    if (s.last_duration_seconds >= 0) durations.push_back(s.last_duration_seconds * 1000);
  }
  std::uint64_t failed = 0;
  for (auto n : failures) failed += n;
  std::sort(durations.begin(), durations.end());
  auto percentile = [&](double p) {
    if (durations.empty()) return -1.0;
    auto i = static_cast<std::size_t>(p * static_cast<double>(durations.size() - 1));
    return durations[i];
  };

  double max_render_ms = 0, sum_render_ms = 0;
  for (const auto& f : scrapes) {
    max_render_ms = std::max(max_render_ms, f.render_ms);
    sum_render_ms += f.render_ms;
  }
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(stop_at - origin);
  const std::uint64_t due = expected_runs(opt.targets, *interval, window);
  const memory_figures mem_end = read_memory();
  const double process_cpu = cpu_seconds(RUSAGE_SELF);

  out("== summary ==\n");
  out("targets                  %zu\n", opt.targets);
  out("interval / timeout       %s / 5s, max_in_flight %zu\n", opt.interval.c_str(), opt.max_in_flight);
  out("config load_string       %.1f ms (%zu bytes of TOML)\n", load_ms, text_bytes);
  out("scheduler apply          %.1f ms\n", apply_ms);
  out("run window               %.2f s (apply -> stop)\n", wall_seconds);
  out("sessions completed       %llu (due by the scheduler's offsets in the window: %llu)\n",
      static_cast<unsigned long long>(runs_at_stop), static_cast<unsigned long long>(due));
  out("sessions/s               %.1f\n", wall_seconds > 0 ? static_cast<double>(runs_at_stop) / wall_seconds : 0.0);
  out("success (result none)    %llu\n", static_cast<unsigned long long>(runs - failed));
  out("failures                 %llu\n", static_cast<unsigned long long>(failed));
  for (std::size_t r = 1; r < probes::failure_reason_count; ++r) {
    if (failures[r] == 0) continue;
    out("  %-22s %llu\n", std::string(probes::to_string(static_cast<probes::failure_reason>(r))).c_str(),
        static_cast<unsigned long long>(failures[r]));
  }
  std::string last_line = "last result per target   ";
  for (const auto& [result, n] : last_results) last_line += result + "=" + std::to_string(n) + " ";
  out_line(last_line);
  out("session duration ms      p50=%.2f p99=%.2f max=%.2f (last run of each target)\n",
      percentile(0.5), percentile(0.99), percentile(1.0));
  out("in flight at stop        %zu; in_flight 0 after %s ms; io.run() returned %.1f ms after stop%s\n",
      in_flight_at_stop, drain_ms >= 0 ? format_ms(drain_ms).c_str() : "(never)",
      io_exit_ms, io_forced_stop ? " [forced by watchdog]" : "");
  out("loop lag (100 ms timer)  max=%.1f ms mean=%.2f ms samples=%llu over_50ms=%llu\n", lag.max_ms,
      lag.samples ? lag.sum_ms / static_cast<double>(lag.samples) : 0.0,
      static_cast<unsigned long long>(lag.samples), static_cast<unsigned long long>(lag.over_50ms));
  out("scrapes during run       %zu, render ms max=%.2f mean=%.2f\n", scrapes.size(), max_render_ms,
      scrapes.empty() ? 0.0 : sum_render_ms / static_cast<double>(scrapes.size()));
  out("final scrape             render %.2f ms, %zu bytes, %zu series\n", final_scrape.render_ms,
      final_scrape.bytes, final_scrape.series);
  out("responder                accepted=%llu quit=%llu max_open=%zu accept_errors=%llu%s%s\n",
      static_cast<unsigned long long>(responder.accepted()),
      static_cast<unsigned long long>(responder.quits()), responder.max_open(),
      static_cast<unsigned long long>(responder.accept_errors()),
      responder.accept_errors() ? " last: " : "", responder.last_accept_error().c_str());
  out("RSS after load           %.1f MiB\n", mem_after_load.rss_mib);
  out("RSS after apply          %.1f MiB\n", mem_after_apply.rss_mib);
  out("RSS at end               %.1f MiB\n", mem_end.rss_mib);
  out("peak RSS (VmHWM)         %.1f MiB\n", mem_end.hwm_mib);
  out("CPU seconds (process)    %.2f (user+sys, all threads, whole run incl. config)\n", process_cpu);
  out("CPU seconds by thread    exporter loop %.2f, responder %.2f, scrape thread %.2f\n", loop_cpu,
      responder.cpu(), scrape_thread_cpu);
  return 0;
}
