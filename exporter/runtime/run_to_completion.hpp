// Runs one awaitable on an io_context until it completes, for sequential callers (the diagnose
// command runs one step after the other).
//
// Thread-safety: call on the thread that may run `io`, with nothing else running it.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace smtp_exporter::exporter {

// Returns the awaitable's result; rethrows its exception. run_one rather than run: a resolver may
// keep its own timers armed between steps, so the context never runs out of work by itself.
template <typename T>
T run_to_completion(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  io.restart();  // the previous step may have left the context stopped (out of work)
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T r) {
    if (e) {
      failure = e;
    } else {
      result = std::move(r);
    }
  });
  while (!result && !failure && io.run_one() > 0) {
  }
  if (failure) std::rethrow_exception(failure);
  if (!result) throw std::runtime_error("a diagnose step did not complete");
  return std::move(*result);
}

}  // namespace smtp_exporter::exporter
