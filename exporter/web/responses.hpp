// Every answer the exporter writes is made here, so that every one carries the same safety
// headers: X-Content-Type-Options: nosniff on all of them (a 404 or a 400 quotes the request, and
// a browser must never sniff such a body into HTML), and on the HTML pages a Content-Security-
// Policy that lets nothing load. A handler that builds its answer by hand skips them: don't.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http/status.hpp>

#include "exporter/web/http_server.hpp"

namespace smtp_exporter::exporter {

// What /metrics and /probe answer: the Prometheus text format.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// An answer of `content_type` with the safety headers and an empty body.
http_response make_response(boost::beast::http::status status, std::string_view content_type);
// Plain text; `body` as given (callers end it with "\n").
http_response text_response(boost::beast::http::status status, std::string body);
// A 200 page.
http_response html_response(std::string body);
// 405: what a route answers to a method it does not take; `allow` is the Allow header's value.
http_response method_not_allowed(std::string_view allow);
http_response not_found();

}  // namespace smtp_exporter::exporter
