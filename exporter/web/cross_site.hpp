// Whether a request that changes state (POST /-/reload) came from another site: a page elsewhere
// that makes the operator's browser submit a form to the exporter (which carries the browser's
// cached basic-auth credentials with it), or a page on a name the attacker points at the
// exporter afterwards (DNS rebinding: to the browser that page is the exporter's own origin).
// Browsers mark the first with Sec-Fetch-Site and Origin, and give the second away by its Host
// header, which names the attacker's domain; curl, Prometheus' tooling and kubectl
// port-forward send neither mark and name the exporter, and are not affected.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "exporter/web/http_server.hpp"

namespace smtp_exporter::exporter {

// Whether `host` (a Host header's value: "name", "name:port", "[v6]:port") names this exporter:
// an IP address (what the client connected to; no name is involved, so nothing was rebound),
// "localhost" or a name under ".localhost" (RFC 6761: never sent to DNS), or one of `names`
// (--web.host-name: the names the exporter is reached by, case-insensitive, port ignored).
bool host_names_this_exporter(std::string_view host, const std::vector<std::string>& names);

// Empty when the request may proceed; else why it is refused (for the 403 body). `names`: as
// above. A request without a Host header (HTTP/1.0 tools) is not a browser's and passes.
std::string cross_site_refusal(const http_request& request,
                               const std::vector<std::string>& names = {});

}  // namespace smtp_exporter::exporter
