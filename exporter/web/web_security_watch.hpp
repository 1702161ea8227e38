// The web config's files looked at on a timer: cert-manager rotates a certificate, an operator
// edits the users, and the next connection or request sees it without a restart. Each look
// (web_security::refresh, file I/O) runs on `files`, off the event loop; what changed is logged.
//
// Thread-safety: spawn on the event loop; it runs until its timer is cancelled with the loop.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "exporter/web/web_security.hpp"

namespace smtp_exporter::exporter {

// `file` names the web config in log lines.
boost::asio::awaitable<void> watch_web_security(std::shared_ptr<web_security> security,
                                                boost::asio::any_io_executor files,
                                                std::chrono::seconds interval, std::string file);

}  // namespace smtp_exporter::exporter
