// diagnose, reporting: the plan and each port's run as text (printed as the steps complete) or as
// one JSON document. Display wording shared with the status page comes from exporter/views/display.hpp.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "exporter/cli/diagnose_plan.hpp"
#include "exporter/cli/diagnose_run.hpp"
#include "exporter/views/report.hpp"  // print_line

namespace smtp_exporter::exporter {

std::string port_label(const port_plan& p);  // "587 (starttls)"
std::string probes_text(const port_run& run);  // the probes that ran: "banner, tls, auth"
void print_header(std::ostream& out, const plan& p);
void print_step(std::ostream& out, const probes::session_event& e);
// After a port's run: TLS facts, the transcript (verbose), the outcome and what to do.
void print_port_result(std::ostream& out, const plan& p, const port_run& run, bool verbose,
                       double now);
boost::json::object port_json(const plan& p, const port_run& run, double now);

}  // namespace smtp_exporter::exporter
