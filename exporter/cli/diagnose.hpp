// `smtp_exporter diagnose TARGET`: the seed's diagnosis checklist as one command. Runs the
// exporter's own session code (probes::run_session) once per port, prints each step as it
// completes, and on failure the reason and what to do about it (exporter/views/advice.hpp).
//
// `smtp_exporter providers`: the presets, with host, ports and TLS mode.
//
// Output, flags and exit codes: docs/diagnose.md.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace smtp_exporter::exporter {

struct diagnose_options {
  // A provider preset ("gmail"), "host:port" ("[v6]:port"), a bare host (with `ports`), or the
  // name of a target in `config_file`.
  std::string target;
  std::string config_file;                 // empty: no config file is read
  std::string host;                        // overrides the preset's or the config's host
  std::vector<std::uint16_t> ports;        // replaces the ports to try
  std::string tls;                         // "none" | "starttls" | "implicit"; empty: per port
  std::string server_name;
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::string ehlo_name;
  // Credentials come from a file or the environment, never from the command line.
  std::string username;
  std::string password_file;
  std::string password_env;
  std::string token_file;
  std::string auth_mechanism;              // "auto", "PLAIN", …; empty: the config's or auto
  bool allow_plaintext = false;
  // Credentials and the envelope to a server whose certificate did not verify.
  bool allow_unverified_credentials = false;
  // The envelope probe: MAIL FROM, RCPT TO, RSET; never DATA. mail_from defaults to the username
  // when it is an address.
  std::string mail_from;
  std::string rcpt_to;
  std::string timeout;                     // per port, a duration ("10s"); empty: the default
  // "any", "ip4", "ip6" or "both" (each port once per family); empty: the config target's, or any
  std::string ip_protocol;
  // The delivery probe, an explicit opt-in (it sends one message, even when the config target
  // has [target.delivery]): MAIL FROM, RCPT TO:<deliver_to>, DATA, then the read-back over IMAP
  // from `imap` or the config target's [target.delivery.imap]. One port only.
  std::string deliver_to;
  std::string imap;                        // "host:port" ("[v6]:port"); 993 when no port
  std::string imap_tls;                    // "implicit" | "starttls"; empty: by port (143: starttls)
  std::string imap_username;               // default: deliver_to
  std::string imap_password_file;
  std::string imap_password_env;
  std::string imap_ca_file;
  std::string delivery_deadline;           // how long the message may take; default 5m
  bool json = false;
  bool verbose = false;                    // text output: print each port's transcript too
};

// Runs the diagnosis; returns the exit code (exporter/views/advice.hpp, exit_code). Results go to
// `out`, usage and configuration errors to `err`.
int run_diagnose(const diagnose_options& options, std::ostream& out, std::ostream& err);

// Lists the provider presets; returns 0.
int run_providers(bool json, std::ostream& out);

}  // namespace smtp_exporter::exporter
