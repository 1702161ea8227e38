// Wall-clock helpers shared by the scheduler, the pages and diagnose.
#pragma once

#include <string>

namespace smtp_exporter::exporter {

double unix_now();                        // seconds since the epoch, with fractions
std::string utc_text(double unix_seconds);  // "2026-11-28 21:39:09 UTC"
long days_left(double not_after, double now);  // whole days, rounded down; negative once expired

}  // namespace smtp_exporter::exporter
