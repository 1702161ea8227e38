// Test support: runs an awaitable on a test's io_context until the context has no work left (so
// whatever the task started in the background, a token refresh or an IMAP connection's close,
// ends too), returning the task's value or rethrowing its exception. Header-only.
// (exporter/runtime/run_to_completion.hpp stops at the task's end instead: diagnose's steps.)
#pragma once

#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace smtp_test {

template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

}  // namespace smtp_test
