// Concurrent requests share one render; a later request gets a fresh one; gzip and plain are
// separate; a failed render fails every request that shared it.
#include "exporter/render/shared_render.hpp"

#include <atomic>
#include <future>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct fixture {
  asio::io_context loop;
  // Keeps run_one_for() from finding the loop out of work (and stopped) between requests.
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(loop);
  asio::thread_pool worker{1};
  std::atomic<int> calls{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  bool fail = false;
  shared_render render{loop.get_executor(), worker.get_executor(), [this](bool gzip) {
                         int n = ++calls;
                         released.wait_for(10s);  // hold the render until the test lets it go
                         if (fail) throw std::runtime_error("render failed");
                         return std::string(gzip ? "gz#" : "text#") + std::to_string(n);
                       }};

  // Starts a request; its body (or "error") lands in `out`.
  void request(bool gzip, std::string& out) {
    asio::co_spawn(loop, [this, gzip, &out]() -> asio::awaitable<void> {
      try {
        out = *co_await render.get(gzip);
      } catch (const std::exception&) {
        out = "error";
      }
    }, asio::detached);
  }
  void run_until(const std::function<bool()>& done) {
    auto end = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < end) loop.run_one_for(10ms);
  }
  ~fixture() { worker.join(); }
};

TEST(shared_render, concurrent_requests_share_one_render) {
  fixture f;
  std::vector<std::string> bodies(5);
  for (auto& b : bodies) f.request(false, b);
  f.run_until([&] { return f.calls == 1; });
  f.loop.run_for(50ms);  // every request has joined by now
  f.release.set_value();
  f.run_until([&] { return std::all_of(bodies.begin(), bodies.end(), [](auto& b) { return !b.empty(); }); });
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(f.render.renders(), 1u);
  for (const auto& b : bodies) EXPECT_EQ(b, "text#1");

  // Finished renders are not reused: the next request renders again.
  std::string later;
  f.request(false, later);
  f.run_until([&] { return !later.empty(); });
  EXPECT_EQ(later, "text#2");
}

TEST(shared_render, requests_that_share_a_render_hold_one_copy_of_its_text) {
  fixture f;
  std::vector<std::shared_ptr<const std::string>> bodies(3);
  for (auto& b : bodies) {
    asio::co_spawn(f.loop, [&f, &b]() -> asio::awaitable<void> {
      b = co_await f.render.get(false);
    }, asio::detached);
  }
  f.run_until([&] { return f.calls == 1; });
  f.loop.run_for(50ms);
  f.release.set_value();
  f.run_until([&] { return std::all_of(bodies.begin(), bodies.end(), [](auto& b) { return b != nullptr; }); });
  ASSERT_NE(bodies[0], nullptr);
  EXPECT_EQ(*bodies[0], "text#1");
  // The same buffer, not equal copies: N slow readers of one render cost one text in memory.
  EXPECT_EQ(bodies[0].get(), bodies[1].get());
  EXPECT_EQ(bodies[0].get(), bodies[2].get());
  EXPECT_EQ(bodies[0].use_count(), 3);  // the render keeps nothing once it is handed out
}

TEST(shared_render, gzip_and_plain_are_separate_renders) {
  fixture f;
  std::string plain, gzip, gzip2;
  f.request(false, plain);
  f.request(true, gzip);
  f.request(true, gzip2);
  f.run_until([&] { return f.calls == 1; });
  f.release.set_value();
  f.run_until([&] { return !plain.empty() && !gzip.empty() && !gzip2.empty(); });
  EXPECT_EQ(f.calls, 2);
  EXPECT_TRUE(plain.starts_with("text#"));
  EXPECT_TRUE(gzip.starts_with("gz#"));
  EXPECT_EQ(gzip, gzip2);
}

TEST(shared_render, a_failed_render_fails_every_request_that_shared_it) {
  fixture f;
  f.fail = true;
  std::string a, b;
  f.request(false, a);
  f.request(false, b);
  f.run_until([&] { return f.calls == 1; });
  f.loop.run_for(50ms);
  f.release.set_value();
  f.run_until([&] { return !a.empty() && !b.empty(); });
  EXPECT_EQ(a, "error");
  EXPECT_EQ(b, "error");
  EXPECT_EQ(f.calls, 1);
}

}  // namespace
}  // namespace smtp_exporter::exporter
