// probes/imap against a real Dovecot on loopback (tests/support/dovecot.*), started per test in a
// temp dir with the test's own PKI; mail arrives over LMTP, or through a real postfix relaying to
// Dovecot's LMTP. The client runs in-process on a test io_context.
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "probes/imap/auth_results.hpp"
#include "probes/imap/client.hpp"
#include "probes/oauth/token_cache.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/token_endpoint.hpp"

namespace smtp_exporter::probes::imap {
void PrintTo(imap_error error, std::ostream* os) { *os << imap_error_name(error); }
}  // namespace smtp_exporter::probes::imap

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace imap = smtp_exporter::probes::imap;
using imap::imap_error;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view probe_header = "X-SMTP-Exporter-Probe";
// If this shows up in an error text, the password leaked.
constexpr std::string_view canary_password = "CANARY-IMAP-PASSWORD-7c1e93";


std::string message(const std::string& from, const std::string& probe_id,
                    const std::string& extra_header = "") {
  return extra_header + "From: <" + from + ">\r\nTo: <probe@mx.test>\r\nSubject: smtp_exporter probe\r\n"
         "Date: Mon, 07 Dec 2026 13:00:00 +0000\r\nMessage-ID: <" + probe_id + "@probe.test>\r\n" +
         std::string(probe_header) + ": " + probe_id + "\r\n\r\nA probe message.\r\n";
}

std::shared_ptr<boost::asio::ssl::context> context_for(const fs::path& ca_file) {
  std::string error;
  auto ctx = smtp_exporter::probes::make_client_context({ca_file.string(), "", ""}, error);
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

// Client options for `dovecot`'s account (as mx.test on 127.0.0.1), trusting `pki`'s root.
imap::imap_options options_for(const dovecot_server& dovecot, const test_pki& pki,
                               imap::tls_mode mode = imap::tls_mode::implicit) {
  imap::imap_options o;
  o.host = "mx.test";
  o.address = "127.0.0.1";
  o.tls = mode;
  o.port = mode == imap::tls_mode::implicit ? dovecot.imaps_port() : dovecot.imap_port();
  o.tls_context = context_for(pki.root_file);
  o.username = dovecot.options().user;
  o.password = std::make_shared<const smtp_exporter::secret_string>(dovecot.options().password);
  return o;
}

class imap_client_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dovecot_server::available()) GTEST_SKIP() << "needs root, dovecot and swaks";
    pki_ = std::make_unique<test_pki>(dir_.path() / "pki");
    dovecot_ = std::make_unique<dovecot_server>(dir_, pki_->valid.chain_file, pki_->valid.key_file);
    ASSERT_TRUE(dovecot_->started()) << dovecot_->log();
  }

  imap::imap_options options(imap::tls_mode mode = imap::tls_mode::implicit) const {
    return options_for(*dovecot_, *pki_, mode);
  }

  void deliver(const std::string& from, const std::string& id, const std::string& extra = "") {
    std::string transcript;
    ASSERT_TRUE(dovecot_->deliver_lmtp(from, message(from, id, extra), &transcript))
        << transcript << dovecot_->log();
  }

  static clock_type::time_point in(std::chrono::milliseconds d) { return clock_type::now() + d; }

  temp_dir dir_;
  std::unique_ptr<test_pki> pki_;
  std::unique_ptr<dovecot_server> dovecot_;
  asio::io_context io_;
};

TEST_F(imap_client_test, finds_fetches_and_deletes_an_inbox_message_over_one_connection) {
  deliver("sender@example.test", "id-inbox-1");
  deliver("sender@example.test", "id-other");
  imap::imap_client client(io_.get_executor(), options());

  auto t0 = clock_type::now();
  auto found = run(io_, client.search_header("INBOX", std::string(probe_header), "id-inbox-1",
                                             in(5s)));
  auto t1 = clock_type::now();
  ASSERT_TRUE(found.ok()) << found.status.detail;
  ASSERT_EQ(found.value.size(), 1u);
  auto headers = run(io_, client.fetch_headers("INBOX", found.value[0],
                                               {"Authentication-Results", "Date", "Message-ID",
                                                std::string(probe_header)},
                                               in(5s)));
  auto t2 = clock_type::now();
  ASSERT_TRUE(headers.ok()) << headers.status.detail;
  EXPECT_EQ(imap::header_values(headers.value.headers, probe_header),
            std::vector<std::string>{"id-inbox-1"});
  EXPECT_EQ(imap::header_values(headers.value.headers, "message-id"),
            std::vector<std::string>{"<id-inbox-1@probe.test>"});
  EXPECT_TRUE(imap::header_values(headers.value.headers, "Subject").empty());  // not asked for
  std::printf("[ measure ] first search (connect, TLS, login, select): %.1f ms; fetch: %.1f ms\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count());

  // Once logged in: the cost of one poll of the delivery probe (search + fetch).
  constexpr int rounds = 20;
  auto r0 = clock_type::now();
  for (int i = 0; i < rounds; ++i) {
    auto again = run(io_, client.search_header("INBOX", std::string(probe_header), "id-inbox-1",
                                               in(5s)));
    ASSERT_TRUE(again.ok());
    auto h = run(io_, client.fetch_headers("INBOX", again.value.at(0), {"Date"}, in(5s)));
    ASSERT_TRUE(h.ok());
  }
  std::printf("[ measure ] search+fetch on the open connection: %.2f ms each (%d rounds)\n",
              std::chrono::duration<double, std::milli>(clock_type::now() - r0).count() / rounds,
              rounds);

  auto deleted = run(io_, client.delete_messages("INBOX", found.value, in(5s)));
  ASSERT_TRUE(deleted.ok()) << deleted.detail;
  auto after = run(io_, client.search_header("INBOX", std::string(probe_header), "id-inbox-1",
                                             in(5s)));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after.value.empty());
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 1u);  // only the other message is left
  EXPECT_EQ(client.connections_opened(), 1u);        // libcurl reused the logged-in connection
}

// Threads of this process now (/proc/self/status).
int thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// This machine's name when it resolves to loopback addresses only (as /etc/hosts usually makes
// it), else "": a name libcurl must look up with its resolver without leaving loopback.
std::string loopback_hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || std::string(name) == "localhost") return "";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0) return "";
  bool loopback_only = found != nullptr;
  for (auto* a = found; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      auto ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr);
      loopback_only = loopback_only && (ip >> 24) == 127;
    } else if (a->ai_family == AF_INET6) {
      loopback_only = loopback_only &&
                      IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    } else {
      loopback_only = false;
    }
  }
  freeaddrinfo(found);
  return loopback_only ? name : "";
}

// With an address given, nothing runs off the loop: a sampler on the same loop sees no thread
// appear while the client connects, logs in and searches.
TEST_F(imap_client_test, no_thread_when_the_address_is_given) {
  deliver("sender@example.test", "id-threads");
  imap::imap_client client(io_.get_executor(), options());
  const int before = thread_count();
  int most = before;
  bool done = false;
  asio::steady_timer sampler(io_);
  std::function<void()> sample = [&] {
    most = std::max(most, thread_count());
    if (done) return;
    sampler.expires_after(std::chrono::microseconds(200));
    sampler.async_wait([&](boost::system::error_code) { sample(); });
  };
  sample();
  auto search = [&]() -> asio::awaitable<imap::imap_result<std::vector<std::uint32_t>>> {
    auto r = co_await client.search_header("INBOX", std::string(probe_header), "id-threads", in(5s));
    done = true;
    co_return r;
  };
  auto r = run(io_, search());
  ASSERT_TRUE(r.ok()) << r.status.detail;
  EXPECT_EQ(r.value.size(), 1u);
  EXPECT_EQ(most, before) << "a thread appeared during the operation";
}

// Without an address, libcurl resolves the name on a thread of its own and wakes the loop
// through a socketpair the client watches but does not own. The machine's own name (loopback in
// /etc/hosts) takes that path; it is not on the test certificate, so the answer is
// tls_certificate: the lookup, the wake-up and the connect worked.
TEST_F(imap_client_test, a_name_resolved_by_libcurl_wakes_the_loop) {
  const std::string name = loopback_hostname();
  if (name.empty()) GTEST_SKIP() << "this machine's name does not resolve to loopback only";
  auto o = options();
  o.host = name;
  o.address.clear();
  imap::imap_client client(io_.get_executor(), std::move(o));
  auto r = run(io_, client.list(in(5s)));
  EXPECT_EQ(r.status.error, imap_error::tls_certificate) << name << ": " << r.status.detail;
}

double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

// What the delivery probe's read-back will cost, measured: a fresh client per run doing LIST,
// SEARCH in INBOX and Junk, FETCH of the headers, STORE + EXPUNGE (wall time and this process's
// CPU; Dovecot's own CPU is not counted).
TEST_F(imap_client_test, measure_one_read_back_run) {
  constexpr int runs = 10;
  double wall_ms = 0, cpu = 0;
  for (int i = 0; i < runs; ++i) {
    const std::string id = "id-measure-" + std::to_string(i);
    deliver("sender@example.test", id);
    const double cpu0 = cpu_ms();
    const auto t0 = clock_type::now();
    imap::imap_client client(io_.get_executor(), options());
    auto boxes = run(io_, client.list(in(5s)));
    ASSERT_TRUE(boxes.ok()) << boxes.status.detail;
    auto junk = imap::choose_junk_mailbox(boxes.value, imap::default_junk_names());
    ASSERT_TRUE(junk);
    auto found = run(io_, client.search_header("INBOX", std::string(probe_header), id, in(5s)));
    ASSERT_TRUE(found.ok() && found.value.size() == 1u) << found.status.detail;
    auto in_junk = run(io_, client.search_header(*junk, std::string(probe_header), id, in(5s)));
    ASSERT_TRUE(in_junk.ok() && in_junk.value.empty());
    auto headers = run(io_, client.fetch_headers("INBOX", found.value[0],
                                                 {"Authentication-Results", "Date", "Message-ID",
                                                  std::string(probe_header)},
                                                 in(5s)));
    ASSERT_TRUE(headers.ok());
    ASSERT_TRUE(run(io_, client.delete_messages("INBOX", found.value, in(5s))).ok());
    wall_ms += std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    cpu += cpu_ms() - cpu0;
  }
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
  std::printf("[ measure ] one read-back run (connect, login, LIST, 2 SEARCH, FETCH, delete): "
              "%.1f ms wall, %.2f ms CPU (mean of %d)\n", wall_ms / runs, cpu / runs, runs);
}

TEST_F(imap_client_test, starttls_finds_a_message_too) {
  deliver("sender@example.test", "id-starttls");
  imap::imap_client client(io_.get_executor(), options(imap::tls_mode::starttls));
  auto found = run(io_, client.search_header("INBOX", std::string(probe_header), "id-starttls",
                                             in(5s)));
  ASSERT_TRUE(found.ok()) << found.status.detail;
  EXPECT_EQ(found.value.size(), 1u);
}

TEST_F(imap_client_test, sieve_filed_message_is_found_in_the_junk_special_use_mailbox) {
  deliver(dovecot_->options().junk_sender, "id-junk");
  imap::imap_client client(io_.get_executor(), options());
  auto boxes = run(io_, client.list(in(5s)));
  ASSERT_TRUE(boxes.ok()) << boxes.status.detail;
  auto junk = imap::choose_junk_mailbox(boxes.value, imap::default_junk_names());
  ASSERT_EQ(junk, "Junk");
  auto in_junk = run(io_, client.search_header(*junk, std::string(probe_header), "id-junk", in(5s)));
  ASSERT_TRUE(in_junk.ok()) << in_junk.status.detail;
  EXPECT_EQ(in_junk.value.size(), 1u);
  auto in_inbox = run(io_, client.search_header("INBOX", std::string(probe_header), "id-junk",
                                                in(5s)));
  ASSERT_TRUE(in_inbox.ok());
  EXPECT_TRUE(in_inbox.value.empty());
  ASSERT_TRUE(run(io_, client.delete_messages(*junk, in_junk.value, in(5s))).ok());
  EXPECT_EQ(dovecot_->count_messages("Junk"), 0u);
}

// Mailbox names as providers spell them (brackets, a hierarchy separator, a space) reach the
// server intact through libcurl's URL: found, fetched and deleted there.
TEST(imap_client_names, gmail_and_outlook_style_mailbox_names) {
  if (!dovecot_server::available()) GTEST_SKIP() << "needs root, dovecot and swaks";
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  dovecot_options accounts;
  accounts.extra_mailboxes = {{"[Gmail]/Spam", "gmail@junk.test"},
                              {"Junk E-mail", "outlook@junk.test"}};
  dovecot_server dovecot(dir, pki.valid.chain_file, pki.valid.key_file, accounts);
  ASSERT_TRUE(dovecot.started()) << dovecot.log();
  asio::io_context io;
  imap::imap_client client(io.get_executor(), options_for(dovecot, pki));
  for (const auto& [mailbox, sender] : accounts.extra_mailboxes) {
    const std::string id = "id-" + sender.substr(0, sender.find('@'));
    std::string transcript;
    ASSERT_TRUE(dovecot.deliver_lmtp(sender, message(sender, id), &transcript)) << transcript;
    auto boxes = run(io, client.list(clock_type::now() + 5s));
    ASSERT_TRUE(boxes.ok()) << boxes.status.detail;
    // Without \Junk, the configured names decide.
    std::vector<imap::mailbox_info> plain;
    for (const auto& b : boxes.value)
      if (!b.has_flag("\\Junk")) plain.push_back(b);
    EXPECT_EQ(imap::choose_junk_mailbox(plain, imap::default_junk_names()), "[Gmail]/Spam");
    auto found = run(io, client.search_header(mailbox, std::string(probe_header), id,
                                              clock_type::now() + 5s));
    ASSERT_TRUE(found.ok()) << mailbox << ": " << found.status.detail;
    ASSERT_EQ(found.value.size(), 1u) << mailbox << dovecot.log();
    auto headers = run(io, client.fetch_headers(mailbox, found.value[0], {std::string(probe_header)},
                                                clock_type::now() + 5s));
    ASSERT_TRUE(headers.ok()) << headers.status.detail;
    EXPECT_EQ(imap::header_values(headers.value.headers, probe_header).at(0), id);
    ASSERT_TRUE(run(io, client.delete_messages(mailbox, found.value, clock_type::now() + 5s)).ok());
    EXPECT_EQ(dovecot.count_messages(mailbox), 0u) << mailbox;
  }
  // A mailbox that does not exist: SELECT fails, which is the server's "no", not a timeout.
  auto missing = run(io, client.search_header("No Such/Box", std::string(probe_header), "x",
                                              clock_type::now() + 5s));
  EXPECT_EQ(missing.status.error, imap_error::protocol_error) << missing.status.detail;
}

TEST_F(imap_client_test, stale_probe_messages_are_found_by_arrival_time) {
  deliver("sender@example.test", "id-stale-1");
  deliver("sender@example.test", "id-stale-2");
  imap::imap_client client(io_.get_executor(), options());
  auto now = std::chrono::system_clock::now();
  auto older = run(io_, client.search_stale("INBOX", std::string(probe_header), now + 1h, in(5s)));
  ASSERT_TRUE(older.ok()) << older.status.detail;
  EXPECT_EQ(older.value.size(), 2u);
  auto none = run(io_, client.search_stale("INBOX", std::string(probe_header), now - 1h, in(5s)));
  ASSERT_TRUE(none.ok()) << none.status.detail;
  EXPECT_TRUE(none.value.empty());
}

TEST_F(imap_client_test, wrong_password_is_auth_rejected_without_the_password_in_the_error) {
  auto o = options();
  o.password = std::make_shared<const smtp_exporter::secret_string>(canary_password);
  imap::imap_client client(io_.get_executor(), std::move(o));
  auto r = run(io_, client.list(in(5s)));
  EXPECT_EQ(r.status.error, imap_error::auth_rejected) << r.status.detail;
  EXPECT_EQ(r.status.detail.find(canary_password), std::string::npos) << r.status.detail;
  EXPECT_FALSE(r.status.detail.empty());
}

TEST_F(imap_client_test, untrusted_certificate_is_a_tls_certificate_error_for_imaps_and_starttls) {
  test_pki other(dir_.path() / "other_pki");
  for (auto mode : {imap::tls_mode::implicit, imap::tls_mode::starttls}) {
    auto o = options(mode);
    o.tls_context = context_for(other.root_file);
    imap::imap_client client(io_.get_executor(), std::move(o));
    auto r = run(io_, client.list(in(5s)));
    EXPECT_EQ(r.status.error, imap_error::tls_certificate)
        << (mode == imap::tls_mode::implicit ? "imaps: " : "starttls: ") << r.status.detail;
  }
  // Trusted chain, but the name asked for is not on the certificate.
  auto o = options();
  o.host = "imap.other.test";
  imap::imap_client client(io_.get_executor(), std::move(o));
  auto r = run(io_, client.list(in(5s)));
  EXPECT_EQ(r.status.error, imap_error::tls_certificate) << r.status.detail;
}

TEST_F(imap_client_test, answers_over_the_cap_are_a_protocol_error) {
  auto o = options();
  o.max_response_bytes = 40;  // the LIST answer is ~80 bytes
  imap::imap_client client(io_.get_executor(), std::move(o));
  auto r = run(io_, client.list(in(5s)));
  EXPECT_EQ(r.status.error, imap_error::protocol_error) << r.status.detail;
  EXPECT_NE(r.status.detail.find("max_response_bytes"), std::string::npos) << r.status.detail;
}

// The pids whose parent is `parent` (Dovecot's imap and login processes under its master).
std::vector<int> children_of(int parent) {
  std::vector<int> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    char state = 0;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.push_back(std::stoi(name));
  }
  return out;
}

// A server that stops answering after login: the next command ends at its deadline, and closing
// the client does not wait for the server either (libcurl's LOGOUT at close is a blocking wait,
// which the client avoids by shutting its sockets down first).
TEST_F(imap_client_test, a_server_that_stops_answering_never_holds_the_loop) {
  deliver("sender@example.test", "id-stop");
  imap::imap_client a(io_.get_executor(), options());
  auto b = std::make_unique<imap::imap_client>(io_.get_executor(), options());
  ASSERT_TRUE(run(io_, a.search_header("INBOX", std::string(probe_header), "id-stop", in(5s))).ok());
  ASSERT_TRUE(run(io_, b->search_header("INBOX", std::string(probe_header), "id-stop", in(5s))).ok());
  auto stopped = children_of(dovecot_->master_pid());
  ASSERT_FALSE(stopped.empty());
  for (int pid : stopped) kill(pid, SIGSTOP);
  // Logged in, then silence: the command ends at its deadline.
  auto start = clock_type::now();
  auto r = run(io_, a.search_header("INBOX", std::string(probe_header), "id-stop", in(1s)));
  auto took = clock_type::now() - start;
  EXPECT_EQ(r.status.error, imap_error::timeout) << r.status.detail;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 1600ms);
  // Closing a client with a logged-in connection to the silent server returns at once.
  start = clock_type::now();
  b.reset();
  io_.restart();
  io_.poll();
  EXPECT_LT(clock_type::now() - start, 100ms);
  for (int pid : stopped) kill(pid, SIGCONT);
}

// A server that accepts and never says a word: the deadline ends the operation, on time.
TEST(imap_client_peers, silent_server_times_out_within_the_deadline) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 16), 0);  // the kernel completes the handshake; nobody ever answers
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  test_pki pki;
  for (auto mode : {imap::tls_mode::implicit, imap::tls_mode::starttls}) {
    asio::io_context io;
    imap::imap_options o;
    o.host = "127.0.0.1";
    o.port = ntohs(a.sin_port);
    o.tls = mode;
    o.tls_context = context_for(pki.root_file);
    o.username = "probe@mx.test";
    o.password = std::make_shared<const smtp_exporter::secret_string>(canary_password);
    imap::imap_client client(io.get_executor(), std::move(o));
    auto start = clock_type::now();
    auto r = run(io, client.list(start + 1s));
    auto took = clock_type::now() - start;
    EXPECT_EQ(r.status.error, imap_error::timeout) << r.status.detail;
    EXPECT_GE(took, 900ms);
    EXPECT_LT(took, 1600ms);
  }
  close(fd);
}

// A scripted IMAP server (Debian's python3): greets with `greeting`, answers every tagged command
// with `capability` lines and OK; prints "READY <port>".
std::unique_ptr<child_process> scripted_imap(const temp_dir& dir, const std::string& greeting,
                                             std::uint16_t& port) {
  static const char* script = R"(
import socket, sys
greeting = sys.argv[1].encode() + b"\r\n"
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print("READY %d" % s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(greeting)
    f = c.makefile("rb")
    for line in f:
        tag = line.split(b" ", 1)[0]
        c.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
    c.close()
)";
  auto p = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/bin/python3", "-c", script, greeting},
      dir.path() / "scripted_imap.log");
  port = p->wait_ready(10s);
  return p;
}

TEST(imap_client_peers, starttls_not_offered_is_tls_failed_and_garbage_is_a_protocol_error) {
  temp_dir dir;
  test_pki pki;
  struct peer_case {
    std::string greeting;
    imap::tls_mode mode;
    imap_error expected;
  };
  for (const auto& c : std::vector<peer_case>{
           {"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no STARTTLS here", imap::tls_mode::starttls,
            imap_error::tls_failed},
           {"220 mx.test ESMTP (an SMTP server on the IMAP port)", imap::tls_mode::starttls,
            imap_error::protocol_error}}) {
    std::uint16_t port = 0;
    auto peer = scripted_imap(dir, c.greeting, port);
    ASSERT_NE(port, 0) << peer->log();
    asio::io_context io;
    imap::imap_options o;
    o.host = "127.0.0.1";
    o.port = port;
    o.tls = c.mode;
    o.tls_context = context_for(pki.root_file);
    o.username = "probe@mx.test";
    o.password = std::make_shared<const smtp_exporter::secret_string>(canary_password);
    imap::imap_client client(io.get_executor(), std::move(o));
    auto r = run(io, client.list(clock_type::now() + 3s));
    EXPECT_EQ(r.status.error, c.expected) << c.greeting << ": " << r.status.detail;
    EXPECT_EQ(r.status.detail.find(canary_password), std::string::npos);
  }
}

TEST(imap_client_peers, refused_port_is_connect_failed) {
  asio::io_context io;
  test_pki pki;
  imap::imap_options o;
  o.host = "127.0.0.1";
  o.port = unused_port();
  o.tls_context = context_for(pki.root_file);
  o.username = "u";
  imap::imap_client client(io.get_executor(), std::move(o));
  auto r = run(io, client.list(clock_type::now() + 2s));
  EXPECT_EQ(r.status.error, imap_error::connect_failed) << r.status.detail;
}

TEST(imap_client_peers, dropped_syns_are_connect_timeout) {
  asio::io_context io;
  test_pki pki;
  blackhole_listener blackhole;
  imap::imap_options o;
  o.host = "127.0.0.1";
  o.port = blackhole.port();
  o.tls_context = context_for(pki.root_file);
  o.username = "u";
  imap::imap_client client(io.get_executor(), std::move(o));
  auto start = clock_type::now();
  auto r = run(io, client.list(start + 1s));
  EXPECT_EQ(r.status.error, imap_error::connect_timeout) << r.status.detail;
  EXPECT_LT(clock_type::now() - start, 1600ms);
}

// XOAUTH2 and OAUTHBEARER with a token from probes/oauth's token_source (the same source SMTP
// uses). Dovecot takes the bearer token as the passwd-file password: the endpoint's first token
// ("at-1") is accepted, a later one is refused, and no token shows up in the error.
TEST(imap_client_oauth, bearer_token_logins_and_a_refused_token_never_in_the_error) {
  if (!dovecot_server::available()) GTEST_SKIP() << "needs root, dovecot and swaks";
  temp_dir dir;
  test_pki pki(dir.path() / "pki");
  dovecot_options accounts;
  accounts.password = "at-1";
  dovecot_server dovecot(dir, pki.valid.chain_file, pki.valid.key_file, accounts);
  ASSERT_TRUE(dovecot.started()) << dovecot.log();
  token_endpoint endpoint(dir, pki.valid, R"({"mode":"ok","expires_in":3600})");
  namespace oauth = smtp_exporter::probes::oauth;
  asio::io_context io;
  oauth::token_cache cache(io.get_executor());
  auto credential = [&](std::string refresh) {
    oauth::credential c;
    c.flow = oauth::grant_kind::refresh_token;
    c.token_url = endpoint.url();
    c.client_id = "client-1";
    c.refresh_token = smtp_exporter::secret_string(refresh);
    c.scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";
    c.ca_file = pki.root_file.string();
    return c;
  };
  auto options = [&](std::shared_ptr<oauth::token_source> source, imap::sasl_bearer mechanism) {
    auto o = options_for(dovecot, pki);
    o.password.reset();
    o.token_source = std::move(source);
    o.bearer_mechanism = mechanism;
    return o;
  };
  auto source = cache.source(credential("refresh-1"));
  for (auto mechanism : {imap::sasl_bearer::xoauth2, imap::sasl_bearer::oauthbearer}) {
    imap::imap_client client(io.get_executor(), options(source, mechanism));
    auto r = run(io, client.list(clock_type::now() + 5s));
    EXPECT_TRUE(r.ok()) << r.status.detail << dovecot.log();
  }
  EXPECT_EQ(endpoint.count(), 1u);  // one token served both logins

  // Another credential gets the endpoint's next token, "at-2", which Dovecot refuses.
  imap::imap_client refused(io.get_executor(),
                            options(cache.source(credential("refresh-2")), imap::sasl_bearer::xoauth2));
  auto r = run(io, refused.list(clock_type::now() + 5s));
  EXPECT_EQ(r.status.error, imap_error::auth_rejected) << r.status.detail;
  EXPECT_EQ(r.status.detail.find("at-2"), std::string::npos) << r.status.detail;
  EXPECT_EQ(r.status.detail.find("refresh-2"), std::string::npos) << r.status.detail;
}

// The whole path the delivery probe will read: postfix accepts the message, prepends an
// Authentication-Results header (as a receiving provider does), and hands it to Dovecot over LMTP.
TEST_F(imap_client_test, message_through_postfix_arrives_with_its_authentication_results) {
  if (!postfix_peer::available()) GTEST_SKIP() << "needs postfix";
  lmtp_relay_options relay;
  relay.lmtp_port = dovecot_->lmtp_port();
  relay.prepend_header =
      "Authentication-Results: mx.test; spf=fail smtp.mailfrom=probe@sender.test; dkim=none; "
      "dmarc=fail (p=reject) header.from=sender.test";
  postfix_peer postfix(dir_, pki_->valid.chain_file, pki_->valid.key_file, std::nullopt, "mx.test",
                       "", relay);
  ASSERT_TRUE(postfix.started()) << postfix.log();
  auto data = dir_.write("via_postfix.eml", message("probe@sender.test", "id-postfix"));
  child_process swaks({"/usr/bin/swaks", "--server", "127.0.0.1:" + std::to_string(postfix.starttls_port()),
                       "--from", "probe@sender.test", "--to", "probe@mx.test", "--data",
                       "@" + data.string(), "--timeout", "10"},
                      dir_.path() / "swaks_postfix.log");
  ASSERT_EQ(swaks.wait_exit(20s), 0) << swaks.log() << postfix.log();

  imap::imap_client client(io_.get_executor(), options());
  std::vector<std::uint32_t> uids;
  auto until = clock_type::now() + 20s;
  while (uids.empty() && clock_type::now() < until) {
    auto r = run(io_, client.search_header("INBOX", std::string(probe_header), "id-postfix", in(5s)));
    ASSERT_TRUE(r.ok()) << r.status.detail;
    uids = r.value;
    if (uids.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(uids.size(), 1u) << postfix.log() << dovecot_->log();
  auto headers = run(io_, client.fetch_headers("INBOX", uids[0], {"Authentication-Results"}, in(5s)));
  ASSERT_TRUE(headers.ok()) << headers.status.detail;
  auto values = imap::header_values(headers.value.headers, "Authentication-Results");
  ASSERT_EQ(values.size(), 1u);
  auto verdict = imap::parse_authentication_results(values[0]);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->authserv_id, "mx.test");
  ASSERT_NE(imap::find_method(*verdict, "spf"), nullptr);
  EXPECT_EQ(imap::find_method(*verdict, "spf")->result, "fail");
  EXPECT_EQ(imap::find_method(*verdict, "dkim")->result, "none");
  EXPECT_EQ(imap::find_method(*verdict, "dmarc")->result, "fail");
  ASSERT_TRUE(run(io_, client.delete_messages("INBOX", uids, in(5s))).ok());
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
}

}  // namespace
}  // namespace smtp_test
