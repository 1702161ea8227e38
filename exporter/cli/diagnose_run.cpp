#include "exporter/cli/diagnose_run.hpp"

#include <exception>
#include <optional>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>

#include "exporter/cli/diagnose_report.hpp"
#include "exporter/runtime/run_to_completion.hpp"
#include "exporter/schedule/session_options.hpp"
#include "probes/smtp/credentials.hpp"
#include "probes/smtp/stages.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

bool prepare_plan(plan& p, std::string& error) {
  const config::target& t = p.target;
  if (t.auth) {
    auto credentials = probes::load_credentials({t.auth->username, t.auth->password_file,
                                                 t.auth->password_env, t.auth->password,
                                                 t.auth->token_file});
    if (!credentials.ok()) {
      error = credentials.error;
      return false;
    }
  }
  if (std::any_of(p.ports.begin(), p.ports.end(),
                  [](const port_plan& x) { return x.mode != config::tls_mode::none; })) {
    std::string context_error;
    p.tls_context = probes::make_client_context(
        {t.tls_config->ca_file, t.tls_config->cert_file, t.tls_config->key_file}, context_error);
    if (!p.tls_context) {
      error = context_error;
      return false;
    }
  }
  return true;
}

port_run run_port(asio::io_context& io, probes::dns_resolver& resolver, const plan& p,
                  const port_plan& port, std::ostream* live) {
  port_run run;
  run.port = port;
  auto options = session_options_for(port_target(p, port));
  const bool tls = port.mode != config::tls_mode::none;
  if (tls) options.tls_context = p.tls_context;
  options.due = probes::applicable_probes(options);
  options.on_event = [&run, live](const probes::session_event& e) {
    run.events.push_back(e);
    if (live) print_step(*live, e);
  };

  run.result = run_to_completion(io, probes::run_session(options, resolver));
  if (auto failed = display::first_failure(run.result)) {
    run.failure = *failed;
    run.cls = class_of(failed->reason, failed->probe);
  }
  return run;
}

}  // namespace smtp_exporter::exporter
