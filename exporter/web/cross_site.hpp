// Whether a request that changes state (POST /-/reload) came from another site: a page elsewhere
// that makes the operator's browser submit a form to the exporter (which carries the browser's
// cached basic-auth credentials with it). Browsers mark such requests with Sec-Fetch-Site and
// Origin; curl, Prometheus' tooling and kubectl port-forward send neither and are not affected.
//
// Thread-safety: pure function.
#pragma once

#include <string>

#include "exporter/web/http_server.hpp"

namespace smtp_exporter::exporter {

// Empty when the request may proceed; else why it is refused (for the 403 body).
std::string cross_site_refusal(const http_request& request);

}  // namespace smtp_exporter::exporter
