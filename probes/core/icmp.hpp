// What an ICMP error said about a connection attempt, in words and in the terms the verdicts use.
//
// Why: the kernel folds different answers into one errno. IPv4's "communication administratively
// prohibited" (a firewall's `reject with icmp admin-prohibited`) and "host unreachable" both fail
// connect() with EHOSTUNREACH; only the ICMP message itself, which Linux queues on the socket
// with IP_RECVERR / IPV6_RECVERR, tells a firewall's "no" from a missing route. The connection
// (probes/smtp/connection.cpp) reads that queue; this file only interprets what it read.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>

namespace smtp_exporter::probes {

// One ICMP (or ICMPv6) error the kernel queued for a socket.
struct icmp_report {
  int family = 0;         // 4 (ICMP) or 6 (ICMPv6); 0: no ICMP error was queued
  std::uint8_t type = 0;  // ICMP type: 3 destination unreachable (v4), 1 (v6)
  std::uint8_t code = 0;
  std::string sender;     // the host or router that sent it, as text; empty if unknown
  bool present() const { return family != 0; }
  bool operator==(const icmp_report&) const = default;
};

// What the message means for a connection attempt.
enum class icmp_meaning : std::uint8_t {
  none,         // no report, or not a destination-unreachable message
  unreachable,  // no route to the network or host (v4 codes 0, 1, 6, 7, 11, 12; v6 0, 3)
  prohibited,   // a filter said no (v4 9, 10, 13; v6 1, 5, 6)
  refused,      // port unreachable (v4 3, v6 4): nothing listens, as a reset would say
  other,        // another destination-unreachable code (protocol, fragmentation, source route)
};
icmp_meaning meaning_of(const icmp_report& report);

// "ICMP host unreachable", "ICMPv6 administratively prohibited", "ICMP type 3 code 14": the
// message as a detail line names it (without the sender).
std::string describe(const icmp_report& report);

}  // namespace smtp_exporter::probes
