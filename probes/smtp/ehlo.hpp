// Parses an EHLO reply's lines into the bounded capability set the exporter reports.
#pragma once

#include "probes/core/result.hpp"
#include "probes/smtp/reply.hpp"

namespace smtp_exporter::probes {

// The first line is the server's greeting name; each following line is "KEYWORD [params]".
// "AUTH PLAIN LOGIN", the obsolete "AUTH=PLAIN LOGIN" and "SIZE 35882577" are understood.
// Keywords are matched case-insensitively, anywhere in the reply (including the last "250 " line).
capabilities parse_ehlo(const smtp_reply& reply);

}  // namespace smtp_exporter::probes
