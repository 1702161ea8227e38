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
// --tls starttls|implicit: the responder speaks TLS with a certificate from the test PKI
// (tests/support/certs.hpp, made at start in a temp dir), every target runs the banner and tls
// probes against it with server_name "localhost" and ca_file root.pem, and all targets share one
// client context (probes::make_client_context), as the exporter shares one per CA file.
//
// Usage: bench_10k_targets [--targets N] [--interval 20s] [--max-in-flight 512] [--seconds S]
//                          [--log-level warn] [--tls none|starttls|implicit]
//                          [--responder-threads 1]

#include <malloc.h>
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
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/crypto.h>

#include "config/config.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/runtime/malloc_tuning.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/schedule/scheduler.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/core/result.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"

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
  double rss_mib = -1;   // VmRSS
  double hwm_mib = -1;   // VmHWM: peak RSS
  double heap_mib = -1;  // malloc's bytes in use, every arena (mallinfo2: uordblks + hblkhd)
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
  const auto info = mallinfo2();
  m.heap_mib = static_cast<double>(info.uordblks + info.hblkhd) / (1024.0 * 1024.0);
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
  config::tls_mode tls = config::tls_mode::none;  // of the responder and every target
  std::size_t responder_threads = 1;
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--targets N] [--interval 20s] [--max-in-flight 512] [--seconds S] "
               "[--log-level debug|info|warn|error] [--tls none|starttls|implicit] "
               "[--responder-threads 1]\n",
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
    } else if (flag == "--tls") {
      const auto mode = config::parse_tls_mode(value);
      if (!mode) usage(argv[0], 2);
      o.tls = *mode;
    } else if (flag == "--responder-threads") {
      o.responder_threads = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || o.responder_threads == 0 || o.responder_threads > 16) usage(argv[0], 2);
    } else {
      usage(argv[0], 2);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The in-process SMTP responder: 127.0.0.1 only, its own thread(s) and io_context.
//
// With a server TLS context it speaks STARTTLS (advertised in EHLO, "220 ready", then the
// server-side handshake and the rest of the dialogue inside TLS) or implicit TLS (handshake right
// after accept, greeting inside TLS).

constexpr std::string_view greeting = "220 bench.test ESMTP\r\n";
constexpr std::string_view ehlo_reply =
    "250-bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
constexpr std::string_view ehlo_starttls_reply =
    "250-bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
constexpr std::string_view starttls_reply = "220 ready\r\n";
constexpr std::string_view quit_reply = "221 bye\r\n";
constexpr std::string_view ok_reply = "250 ok\r\n";

class smtp_responder {
 public:
  // `tls_context` nullptr: plain SMTP (`mode` is ignored).
  smtp_responder(config::tls_mode mode = config::tls_mode::none,
                 std::shared_ptr<asio::ssl::context> tls_context = nullptr, std::size_t threads = 1)
      : io_(static_cast<int>(threads)),
        accept_strand_(asio::make_strand(io_)),
        acceptor_(io_),
        mode_(tls_context ? mode : config::tls_mode::none),
        tls_context_(std::move(tls_context)),
        thread_cpu_(threads, 0.0) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    // The acceptor is touched only on its strand (accept loop, close), even with several threads.
    asio::co_spawn(accept_strand_, accept_loop(), asio::detached);
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] {
        io_.run();
        thread_cpu_[i] = cpu_seconds(RUSAGE_THREAD);
      });
    }
  }
  ~smtp_responder() { stop(); }
  smtp_responder(const smtp_responder&) = delete;
  smtp_responder& operator=(const smtp_responder&) = delete;

  void stop() {
    if (threads_.empty()) return;
    asio::post(accept_strand_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      io_.stop();
    });
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::uint16_t port() const { return port_; }
  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t quits() const { return quits_.load(); }
  std::uint64_t accept_errors() const { return accept_errors_.load(); }
  std::uint64_t handshakes() const { return handshakes_.load(); }
  std::uint64_t handshake_errors() const { return handshake_errors_.load(); }
  std::size_t max_open() const { return max_open_.load(); }
  std::string last_accept_error() const {
    std::lock_guard lock(error_mutex_);
    return last_accept_error_;
  }
  std::string last_handshake_error() const {
    std::lock_guard lock(error_mutex_);
    return last_handshake_error_;
  }
  // Valid after stop(): the sum over the responder's threads, and each thread's.
  double cpu() const {
    double sum = 0;
    for (double c : thread_cpu_) sum += c;
    return sum;
  }
  const std::vector<double>& thread_cpu() const { return thread_cpu_; }

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
      if (mode_ == config::tls_mode::none) {
        asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(io_, serve_tls(std::move(socket)), asio::detached);
      }
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

  void count_open() {
    const std::size_t open = ++open_;
    for (std::size_t seen = max_open_.load(); open > seen;) {
      if (max_open_.compare_exchange_weak(seen, open)) break;
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    count_open();
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

  enum class dialogue_end { quit, starttls, closed };

  // Answers commands on `stream` until QUIT, STARTTLS (when `starttls_allowed`) or an error.
  template <typename Stream>
  asio::awaitable<dialogue_end> answer_commands(Stream& stream, std::string& buffer,
                                                std::string_view ehlo, bool starttls_allowed) {
    for (;;) {
      auto [read_ec, length] = co_await asio::async_read_until(
          stream, asio::dynamic_buffer(buffer, 4096), "\r\n", use_nothrow);
      if (read_ec) co_return dialogue_end::closed;
      const std::string_view line(buffer.data(), length - 2);
      std::string_view reply = ok_reply;
      std::optional<dialogue_end> end;
      if (starts_with_command(line, "EHLO")) {
        reply = ehlo;
      } else if (starts_with_command(line, "QUIT")) {
        reply = quit_reply;
        end = dialogue_end::quit;
      } else if (starttls_allowed && starts_with_command(line, "STARTTLS")) {
        reply = starttls_reply;
        end = dialogue_end::starttls;
      }
      buffer.erase(0, length);
      auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(reply), use_nothrow);
      (void)written;
      if (write_ec) co_return dialogue_end::closed;
      if (end) co_return *end;
    }
  }

  asio::awaitable<bool> server_handshake(asio::ssl::stream<asio::ip::tcp::socket&>& tls) {
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    if (ec) {
      ++handshake_errors_;
      std::lock_guard lock(error_mutex_);
      last_handshake_error_ = ec.message();
      co_return false;
    }
    ++handshakes_;
    co_return true;
  }

  // The TLS dialogue. After QUIT the connection is closed without close_notify (the probe does
  // not wait for one either).
  asio::awaitable<void> serve_tls(asio::ip::tcp::socket socket) {
    count_open();
    {
      error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    asio::ssl::stream<asio::ip::tcp::socket&> tls(socket, *tls_context_);
    std::string buffer;
    bool encrypted = false;
    if (mode_ == config::tls_mode::implicit) {
      if (co_await server_handshake(tls)) {
        auto [write_ec, written] = co_await asio::async_write(tls, asio::buffer(greeting), use_nothrow);
        (void)written;
        encrypted = !write_ec;
      }
    } else {
      auto [write_ec, written] = co_await asio::async_write(socket, asio::buffer(greeting), use_nothrow);
      (void)written;
      if (!write_ec) {
        switch (co_await answer_commands(socket, buffer, ehlo_starttls_reply, true)) {
          case dialogue_end::quit:
            ++quits_;
            break;
          case dialogue_end::starttls:
            // Plaintext pipelined after STARTTLS must not leak into the TLS dialogue.
            buffer.clear();
            encrypted = co_await server_handshake(tls);
            break;
          case dialogue_end::closed:
            break;
        }
      }
    }
    // RFC 3207: no STARTTLS in EHLO once TLS is on.
    if (encrypted && co_await answer_commands(tls, buffer, ehlo_reply, false) == dialogue_end::quit) {
      ++quits_;
    }
    error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    --open_;
  }

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> accept_strand_;
  asio::ip::tcp::acceptor acceptor_;
  config::tls_mode mode_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::vector<double> thread_cpu_;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> quits_{0};
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::uint64_t> handshakes_{0};
  std::atomic<std::uint64_t> handshake_errors_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> max_open_{0};
  mutable std::mutex error_mutex_;
  std::string last_accept_error_;
  std::string last_handshake_error_;
};

// ---------------------------------------------------------------------------------------------
// Config text

std::string target_name(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench-%05zu", i);
  return buf;
}

// A TOML basic string.
std::string toml_quote(const std::string& value) {
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// tls none: `tls = "none"`, banner probe only. starttls/implicit: banner and tls probes and a
// [target.tls] table with the mode, server_name "localhost" and `ca_file`.
std::string generate_config(std::size_t targets, const std::string& interval, std::uint16_t port,
                            config::tls_mode tls = config::tls_mode::none,
                            const std::string& ca_file = {}) {
  const bool plain = tls == config::tls_mode::none;
  const std::string tls_table =
      plain ? std::string()
            : "[target.tls]\nmode = \"" + std::string(config::to_string(tls)) +
                  "\"\nserver_name = \"localhost\"\nca_file = " + toml_quote(ca_file) + "\n";
  std::string text;
  text.reserve(targets * (150 + tls_table.size()) + 128);
  text += "[defaults]\ninterval = \"" + interval + "\"\ntimeout = \"5s\"\n\n";
  const std::string port_text = std::to_string(port);
  for (std::size_t i = 0; i < targets; ++i) {
    text += "[[target]]\nname = \"";
    text += target_name(i);
    text += "\"\nhost = \"127.0.0.1\"\nport = ";
    text += port_text;
    text += plain ? "\ntls = \"none\"\nprobes = [\"banner\"]\nlabels = { team = \"t"
                  : "\nprobes = [\"banner\", \"tls\"]\nlabels = { team = \"t";
    text += std::to_string(i % 10);
    text += "\" }\n";
    text += tls_table;
    text += "\n";
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Scrapes

struct scrape_figures {
  double at_seconds = 0;        // since apply()
  std::uint64_t runs = 0;       // sum of banner runs_total
  std::size_t pending = 0;      // targets whose first run has not ended
  std::size_t in_flight = 0;
  double snapshot_ms = 0;       // the extra snapshot taken to count runs
  double render_ms = 0;
  std::size_t bytes = 0;
  std::size_t series = 0;       // lines not starting with '#'
  memory_figures memory;        // with the scrape's text still held
  memory_figures after;         // once the text is freed: the exporter between scrapes
};

// From the shared records (pointers, as a scrape takes them): a copy of every record would be
// the bench's own memory, not the exporter's.
std::uint64_t banner_runs(const exporter::status_store& store, std::size_t* pending = nullptr) {
  std::uint64_t runs = 0;
  for (const auto& s : store.shared_snapshot()) {
    runs += s->probes[0].runs_total;
    if (pending && !s->probes[0].has_result) ++*pending;
  }
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
  f.runs = banner_runs(store, &f.pending);
  f.snapshot_ms = ms_since(t);
  {
    t = steady::now();
    const std::string body = collector.render();  // as the exporter's /metrics handler renders
    f.render_ms = ms_since(t);
    f.bytes = body.size();
    f.series = count_series(body);
    f.memory = read_memory();
  }
  f.after = read_memory();
  return f;
}

void print_scrape(const scrape_figures& f) {
  out("scrape t=%6.2fs runs=%-7llu in_flight=%-4zu snapshot_ms=%6.2f render_ms=%7.2f "
      "bytes=%-9zu series=%-7zu rss_mib=%.1f after=%.1f heap_mib=%.1f\n",
      f.at_seconds, static_cast<unsigned long long>(f.runs), f.in_flight, f.snapshot_ms,
      f.render_ms, f.bytes, f.series, f.memory.rss_mib, f.after.rss_mib, f.after.heap_mib);
}

// Runs due in [0, window] after apply(), from the scheduler's own offsets (the first run within
// the default start-up window, then the stable spread): what a scheduler that keeps up would have
// started by then.
std::uint64_t expected_runs(std::size_t targets, std::chrono::milliseconds interval,
                            std::chrono::milliseconds window) {
  const auto startup_window =
      exporter::startup_window_for(targets, exporter::scheduler::settings{}.startup_window);
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < targets; ++i) {
    if (exporter::first_run_offset(target_name(i), interval, startup_window) > window) continue;
    ++n;
    auto second = exporter::second_run_offset(target_name(i), interval, interval, startup_window);
    if (second <= window) n += 1 + static_cast<std::uint64_t>((window - second) / interval);
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
  // As the exporter's main() does; GLIBC_TUNABLES set (even empty) leaves malloc as it is.
  const bool malloc_tuned = exporter::tune_malloc();
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
  out("malloc: %s\n", malloc_tuned ? "tuned as the exporter does (M_MMAP_THRESHOLD 128 KiB, "
                                    "M_ARENA_MAX 2)"
                                  : "as the environment leaves it (GLIBC_TUNABLES set)");
  out("flags: targets=%zu interval=%s timeout=5s max_in_flight=%zu run_seconds=%.1f log_level=%s\n",
      opt.targets, opt.interval.c_str(), opt.max_in_flight, run_seconds, opt.log_level.c_str());

  // --tls: a certificate from the test PKI for the responder, root.pem as every target's ca_file.
  const bool use_tls = opt.tls != config::tls_mode::none;
  std::unique_ptr<smtp_test::test_pki> pki;
  std::shared_ptr<asio::ssl::context> server_context;
  if (use_tls) {
    try {
      auto t0 = steady::now();
      pki = std::make_unique<smtp_test::test_pki>();
      const double pki_ms = ms_since(t0);
      server_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
      server_context->use_certificate_chain_file(pki->valid.chain_file.string());
      server_context->use_private_key_file(pki->valid.key_file.string(), asio::ssl::context::pem);
      out("flags: tls=%s responder_threads=%zu (server: leaf \"valid\" + intermediate, EC P-256, "
          "OpenSSL defaults; %s)\n",
          std::string(config::to_string(opt.tls)).c_str(), opt.responder_threads,
          OpenSSL_version(OPENSSL_VERSION));
      out("tls: test PKI made in %.1f ms, ca_file %s\n", pki_ms, pki->root_file.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tls setup failed: %s\n", e.what());
      return 1;
    }
  }

  smtp_responder responder(opt.tls, server_context, opt.responder_threads);
  if (opt.responder_threads == 1) {
    out("responder: 127.0.0.1:%u (own thread, own io_context)%s\n",
        static_cast<unsigned>(responder.port()),
        !use_tls ? "" : opt.tls == config::tls_mode::starttls ? ", STARTTLS" : ", implicit TLS");
  } else {
    out("responder: 127.0.0.1:%u (%zu threads, own io_context)%s\n",
        static_cast<unsigned>(responder.port()), opt.responder_threads,
        !use_tls ? "" : opt.tls == config::tls_mode::starttls ? ", STARTTLS" : ", implicit TLS");
  }

  // 1-2. Config text and load.
  const memory_figures mem_start = read_memory();
  auto t = steady::now();
  std::string text = generate_config(opt.targets, opt.interval, responder.port(), opt.tls,
                                     pki ? pki->root_file.string() : std::string());
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
  out("memory: heap_mib before_load=%.1f after_load=%.1f after_text_freed=%.1f\n",
      mem_before_load.heap_mib, mem_after_load.heap_mib, mem_after_text_freed.heap_mib);

  // 3-4. The exporter's model: one io_context, one thread (this one).
  asio::io_context io(1);
  exporter::status_store store;
  exporter::exporter_state state;
  exporter::scheduler sched(io.get_executor(), store, exporter::scheduler::settings{opt.max_in_flight});
  state.probes_in_flight = [&sched] { return sched.in_flight(); };
  state.config_last_reload_successful = true;
  exporter::metrics_collector collector(store, state);

  // TLS: ONE client context for all targets, as the exporter builds one per distinct CA file.
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts;
  if (use_tls) {
    t = steady::now();
    std::string context_error;
    auto client_context = probes::make_client_context({pki->root_file.string(), "", ""}, context_error);
    if (!client_context) {
      std::fprintf(stderr, "make_client_context: %s\n", context_error.c_str());
      return 1;
    }
    for (const auto& target : loaded.config->targets) tls_contexts.emplace(target.name, client_context);
    out("tls: one client context (make_client_context, ca_file root.pem) for %zu targets in %.1f ms\n",
        tls_contexts.size(), ms_since(t));
  }

  // apply() must run on the scheduler's executor; nothing runs the loop yet, so this thread is it.
  t = steady::now();
  sched.apply(loaded.config->targets, std::move(tls_contexts));
  const double apply_ms = ms_since(t);
  const steady::time_point origin = steady::now();
  const memory_figures mem_after_apply = read_memory();
  // The exporter drops the loaded config once applied (exporter/app/app.cpp): the scheduler and the
  // status store keep their own shared copy of each target.
  loaded = {};
  const memory_figures mem_config_dropped = read_memory();
  out("scheduler: apply %.1f ms, %zu targets scheduled, rss_mib=%.1f heap_mib=%.1f; loaded config "
      "dropped: rss_mib=%.1f heap_mib=%.1f\n",
      apply_ms, sched.target_count(), mem_after_apply.rss_mib, mem_after_apply.heap_mib,
      mem_config_dropped.rss_mib, mem_config_dropped.heap_mib);

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
        runs_at_stop = banner_runs(store);
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
  const steady::time_point io_started = steady::now();
  io.run();
  const double loop_cpu = cpu_seconds(RUSAGE_THREAD) - loop_cpu_before;
  const double io_run_seconds = seconds_since(io_started);
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
  const auto snap = store.shared_snapshot();
  responder.stop();

  // 5. Summary.
  std::uint64_t runs = 0;
  std::array<std::uint64_t, probes::failure_reason_count> failures{};
  std::map<std::string, std::size_t> last_results;
  std::vector<double> durations;
  for (const auto& record : snap) {
    const exporter::target_status& s = *record;
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
  if (use_tls) {
    // The tls probe's own counters, the phases of the last run, and what the handshakes agreed.
    constexpr auto tls_probe = static_cast<std::size_t>(probes::probe_kind::tls);
    std::uint64_t tls_runs = 0;
    std::array<std::uint64_t, probes::failure_reason_count> tls_failures{};
    std::map<std::string, std::size_t> tls_last;
    std::map<std::string, std::size_t> negotiated;
    std::size_t verified = 0, hostname_match = 0, chain2 = 0;
    std::array<std::vector<double>, probes::phase_count> phases;
    for (const auto& record : snap) {
      const exporter::target_status& s = *record;
      const auto& p = s.probes[tls_probe];
      tls_runs += p.runs_total;
      for (std::size_t r = 1; r < probes::failure_reason_count; ++r) tls_failures[r] += p.failures_total[r];
      tls_last[p.has_result ? std::string(probes::to_string(p.reason)) : "pending"]++;
      for (std::size_t ph = 0; ph < probes::phase_count; ++ph) {
        if (s.phase_seconds[ph] >= 0) phases[ph].push_back(s.phase_seconds[ph] * 1000);
      }
      if (!s.tls_seen) continue;
      negotiated[s.tls->version + " " + s.tls->cipher]++;
      verified += s.tls->verified;
      hostname_match += s.tls->hostname_match;
      chain2 += s.tls->chain_length == 2;
    }
    std::uint64_t tls_failed = 0;
    for (auto n : tls_failures) tls_failed += n;
    out("tls probe                runs=%llu success=%llu failures=%llu\n",
        static_cast<unsigned long long>(tls_runs), static_cast<unsigned long long>(tls_runs - tls_failed),
        static_cast<unsigned long long>(tls_failed));
    for (std::size_t r = 1; r < probes::failure_reason_count; ++r) {
      if (tls_failures[r] == 0) continue;
      out("  %-22s %llu\n",
          std::string(probes::to_string(static_cast<probes::failure_reason>(r))).c_str(),
          static_cast<unsigned long long>(tls_failures[r]));
    }
    std::string tls_line = "tls last result/target   ";
    for (const auto& [result, n] : tls_last) tls_line += result + "=" + std::to_string(n) + " ";
    out_line(tls_line);
    auto phase_percentile = [&](probes::phase ph, double p) {
      auto& v = phases[static_cast<std::size_t>(ph)];
      if (v.empty()) return -1.0;
      std::sort(v.begin(), v.end());
      return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
    };
    out("tls_handshake phase ms   p50=%.2f p99=%.2f max=%.2f (last run of each target, "
        "phase_seconds)\n",
        phase_percentile(probes::phase::tls_handshake, 0.5),
        phase_percentile(probes::phase::tls_handshake, 0.99),
        phase_percentile(probes::phase::tls_handshake, 1.0));
    std::string phase_line = "phases ms p50/p99        ";
    for (std::size_t ph = 0; ph < probes::phase_count; ++ph) {
      const auto phase = static_cast<probes::phase>(ph);
      if (phases[ph].empty()) continue;
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s=%.2f/%.2f ", std::string(probes::to_string(phase)).c_str(),
                    phase_percentile(phase, 0.5), phase_percentile(phase, 0.99));
      phase_line += buf;
    }
    out_line(phase_line);
    std::string seen_line = "TLS seen (last run)      ";
    for (const auto& [what, n] : negotiated) seen_line += what + " x" + std::to_string(n) + "; ";
    out_line(seen_line);
    out("certificate (last run)   verified=%zu hostname_match=%zu chain_length_2=%zu\n", verified,
        hostname_match, chain2);
  }
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
  if (use_tls) {
    out("responder TLS            handshakes=%llu handshake_errors=%llu%s%s\n",
        static_cast<unsigned long long>(responder.handshakes()),
        static_cast<unsigned long long>(responder.handshake_errors()),
        responder.handshake_errors() ? " last: " : "", responder.last_handshake_error().c_str());
  }
  out("RSS after load           %.1f MiB\n", mem_after_load.rss_mib);
  out("RSS after apply          %.1f MiB\n", mem_after_apply.rss_mib);
  out("RSS at end               %.1f MiB (heap in use %.1f MiB; the scheduler is stopped)\n",
      mem_end.rss_mib, mem_end.heap_mib);
  out("peak RSS (VmHWM)         %.1f MiB\n", mem_end.hwm_mib);
  // Steady state: the last scrape of the run taken once every target had run (its text freed),
  // against the RSS before the config was loaded (bench/README.md).
  const scrape_figures* round = nullptr;
  for (const auto& f : scrapes) {
    if (f.pending == 0) round = &f;
  }
  if (round) {
    out("RSS after a full round   %.1f MiB (heap in use %.1f MiB; scrape at t=%.0f s, text freed)\n",
        round->after.rss_mib, round->after.heap_mib, round->at_seconds);
    out("steady state per target  %.2f KiB ((RSS after a full round - RSS before load %.1f MiB) / "
        "%zu targets); heap in use %.2f KiB\n",
        (round->after.rss_mib - mem_before_load.rss_mib) * 1024 / static_cast<double>(opt.targets),
        mem_before_load.rss_mib, opt.targets,
        (round->after.heap_mib - mem_before_load.heap_mib) * 1024 / static_cast<double>(opt.targets));
  } else {
    out("RSS after a full round   (no scrape after every target had run: lengthen --seconds)\n");
  }
  out("CPU seconds (process)    %.2f (user+sys, all threads, whole run incl. config)\n", process_cpu);
  out("CPU seconds by thread    exporter loop %.2f, responder %.2f, scrape thread %.2f\n", loop_cpu,
      responder.cpu(), scrape_thread_cpu);
  if (use_tls) {
    if (responder.thread_cpu().size() > 1) {
      std::string line = "responder threads CPU    ";
      for (double c : responder.thread_cpu()) line += format_ms(c * 1000) + " ms ";
      out_line(line);
    }
    // Per session: every accepted connection is one session the loop ran (those in flight at stop
    // finish during the drain; their results are dropped, their CPU is in loop_cpu).
    const double sessions = static_cast<double>(std::max<std::uint64_t>(responder.accepted(), 1));
    out("CPU per TLS session      exporter loop %.3f ms, responder %.3f ms (CPU-s / %llu sessions "
        "accepted)\n",
        loop_cpu * 1000 / sessions, responder.cpu() * 1000 / sessions,
        static_cast<unsigned long long>(responder.accepted()));
    out("busy during io.run()     exporter loop %.1f%% of one core, responder %.1f%% of its %zu "
        "thread(s) (%.2f s)\n",
        io_run_seconds > 0 ? 100 * loop_cpu / io_run_seconds : 0.0,
        io_run_seconds > 0
            ? 100 * responder.cpu() / (io_run_seconds * static_cast<double>(opt.responder_threads))
            : 0.0,
        opt.responder_threads, io_run_seconds);
    out("note                     the responder's CPU is the server side of every handshake (key "
        "exchange, signing, tickets); it is not the exporter's cost. The exporter's is the loop's.\n");
  }
  return 0;
}
