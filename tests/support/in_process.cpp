#include "tests/support/in_process.hpp"

#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace smtp_test {

std::optional<smtp_exporter::probes::session_result> run_in_process(
    const smtp_exporter::probes::session_options& options, std::chrono::seconds limit) {
  namespace asio = boost::asio;
  asio::io_context io;
  smtp_exporter::probes::dns_resolver resolver(io.get_executor());
  auto future = asio::co_spawn(io, smtp_exporter::probes::run_session(options, resolver), asio::use_future);
  io.run_for(limit);
  if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
  return future.get();
}

}  // namespace smtp_test
