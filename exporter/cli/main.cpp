// smtp_exporter: tells an operator that their application can no longer send mail, and why.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <tuple>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "exporter/views/advice.hpp"
#include "exporter/app/app.hpp"
#include "exporter/cli/diagnose.hpp"
#include "exporter/cli/terminal_output.hpp"
#include "exporter/runtime/fd_limit.hpp"
#include "exporter/runtime/no_core_dumps.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/runtime/shutdown_watchdog.hpp"
#include "exporter/runtime/malloc_tuning.hpp"
#include "exporter/runtime/version.hpp"
#include "exporter/web/web_security.hpp"

namespace {

using namespace smtp_exporter;

// The web config too, when one is given: its YAML and the files it names.
int check_web_config(const std::string& file) {
  std::vector<std::string> errors;
  auto web = exporter::web_security::load(file, errors);
  if (!web) {
    for (const auto& e : errors) std::cerr << e << "\n";
    std::cerr << file << ": web configuration is invalid (" << errors.size() << " errors)\n";
    return 1;
  }
  auto state = (*web)->current();
  if (!state->cost_warning.empty()) std::cerr << "warning: " << state->cost_warning << "\n";
  std::cout << file << ": web configuration is valid (TLS " << (state->tls ? "on" : "off") << ", "
            << state->config.users.size() << " basic auth users)\n";
  return 0;
}

// Everything start-up does short of the network: parse, validate, load the TLS files.
int check_config(const std::string& file) {
  auto loaded = exporter::prepare_config(file);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e << "\n";
    std::cerr << file << ": configuration is invalid (" << loaded.errors.size() << " errors)\n";
    return 1;
  }
  for (const auto& w : loaded.config->warnings) std::cerr << "warning: " << w << "\n";
  std::cout << file << ": configuration is valid (" << loaded.config->targets.size()
            << " targets";
  if (!loaded.config->modules.empty())
    std::cout << ", " << loaded.config->modules.size() << " /probe modules";
  std::cout << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  exporter::tune_malloc();  // before any thread starts
  // Secrets live in this process's memory: never in a core file (every subcommand reads some).
  const std::string core_dump_error = exporter::disable_core_dumps();
  exporter::app_options options;
  options.config_file = "smtp_exporter.toml";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool check = false;
  bool show_version = false;

  CLI::App cli{"smtp_exporter: Prometheus exporter that probes SMTP endpoints (banner, TLS, auth)",
               "smtp_exporter"};
  cli.add_option("--config.file", options.config_file, "Configuration file (TOML).")
      ->capture_default_str();
  cli.add_flag("--config.check", check,
               "Validate the configuration file (and --web.config.file, if given) and exit (0 "
               "valid, 1 not).");
  cli.add_option("--web.config.file", options.web_config_file,
                 "Exporter-toolkit web configuration (YAML): TLS, basic auth, headers "
                 "(docs/security.md).");
  cli.add_option("--web.listen-address", options.listen_address,
                 "Address to listen on for metrics and the web interface.")
      ->capture_default_str();
  cli.add_option("--web.host-name", options.web_host_names,
                 "A name this exporter is reached by (repeat for more): POST /-/reload accepts "
                 "a Host header with it, an IP address or localhost, and refuses any other name "
                 "(DNS rebinding; docs/security.md).")
      ->check([](const std::string& name) -> std::string {
        const bool ok = !name.empty() && name.size() <= 253 &&
                        std::all_of(name.begin(), name.end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                 c == '_' || c == '.';
                        });
        return ok ? "" : "want a host name without a port, e.g. smtp-exporter.monitoring.svc";
      });
  cli.add_option("--web.telemetry-path", options.telemetry_path,
                 "Path under which to expose metrics.")
      ->capture_default_str();
  cli.add_option("--probe.max-in-flight", options.max_in_flight,
                 "Most SMTP sessions running at once; runs over the cap wait for a slot.")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  // The web server's limits (docs/security.md): a client cannot keep a scraper out.
  std::string header_timeout = "5s", idle_timeout = "1m", write_timeout = "30s";
  cli.add_option("--web.max-connections", options.http_limits.max_connections,
                 "Most open HTTP connections; when full, an idle one, else a slow sender, else a stalled reader, else one whose answer has been waited for 1 s is closed to make room (docs/security.md).")
      ->capture_default_str()
      ->check(CLI::Range(4, 1000000));
  cli.add_option("--web.read-header-timeout", header_timeout,
                 "Deadline for a request's headers (and TLS handshake), from the connection or the "
                 "request's first byte.")
      ->capture_default_str();
  cli.add_option("--web.idle-timeout", idle_timeout,
                 "How long a kept-alive connection may wait for its next request.")
      ->capture_default_str();
  cli.add_option("--web.write-timeout", write_timeout,
                 "Deadline for writing one response; a client that does not read is cut off.")
      ->capture_default_str();
  std::string startup_window = "10s";
  cli.add_option("--probe.startup-window", startup_window,
                 "Every target's first run starts within this long after start or reload, spread "
                 "over it (at most 250 a second); later runs keep their stable offset in the "
                 "interval. 0s: first runs wait for that offset too.")
      ->capture_default_str();
  bool shard_from_hostname = false;
  auto* shard_count = cli.add_option("--shard.count", options.shard.count,
                                     "Replicas sharing the configured targets; each probes about "
                                     "1/N of them (rendezvous hashing of the target name).")
                          ->capture_default_str()
                          ->check(CLI::Range(1, 10000));
  auto* shard_index = cli.add_option("--shard.index", options.shard.index,
                                     "This replica's share, 0 to --shard.count - 1.")
                          ->capture_default_str();
  auto* shard_hostname = cli.add_flag(
      "--shard.index-from-hostname", shard_from_hostname,
      "Take --shard.index from the ordinal at the end of the host name (a StatefulSet pod, "
      "\"smtp-exporter-2\" is 2).");
  shard_hostname->excludes(shard_index);
  shard_index->needs(shard_count);
  shard_hostname->needs(shard_count);
  cli.add_option("--log.level", log_level, "Only log messages with the given severity or above.")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cli.add_option("--log.format", log_format, "Output format of log messages.")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));
  cli.add_flag("--version", show_version, "Show the version and exit.");

  // Subcommands: without one, the exporter runs exactly as before.
  exporter::diagnose_options diagnose;
  std::string diagnose_output = "text";
  auto* diagnose_cmd = cli.add_subcommand(
      "diagnose",
      "Probe one target now, step by step, with what to do about a failure (docs/diagnose.md).");
  diagnose_cmd->add_option("target", diagnose.target,
                           "A provider (see `providers`), host:port, or a target in --config.file.")
      ->required();
  diagnose_cmd->add_option("--config.file", diagnose.config_file,
                           "Look TARGET up among this file's targets first.");
  diagnose_cmd->add_option("--host", diagnose.host, "Connect to this host instead.");
  diagnose_cmd->add_option("--port", diagnose.ports, "Port(s) to try, e.g. 465,587 (default: all "
                                                     "of the provider's, or the target's).")
      ->delimiter(',')
      ->check(CLI::Range(1, 65535));
  diagnose_cmd->add_option("--tls", diagnose.tls, "TLS mode for every port (default: per port).")
      ->check(CLI::IsMember({"none", "starttls", "implicit"}));
  diagnose_cmd->add_option("--server-name", diagnose.server_name,
                           "SNI and the name the certificate must cover (default: the host).");
  diagnose_cmd->add_option("--ca-file", diagnose.ca_file, "PEM file of trusted CAs (default: the "
                                                          "system CA store).");
  diagnose_cmd->add_flag("--insecure-skip-verify", diagnose.insecure_skip_verify,
                         "Report certificate problems without failing on them.");
  diagnose_cmd->add_option("--ehlo-name", diagnose.ehlo_name,
                           "Name sent in EHLO (default: this machine's host name).");
  diagnose_cmd->add_option("--username", diagnose.username, "Run AUTH as this user.");
  auto* password_file = diagnose_cmd->add_option("--password-file", diagnose.password_file,
                                                 "File holding the password.");
  auto* password_env = diagnose_cmd->add_option("--password-env", diagnose.password_env,
                                                "Environment variable holding the password.");
  auto* token_file = diagnose_cmd->add_option("--token-file", diagnose.token_file,
                                              "File holding an OAuth 2.0 token (XOAUTH2).");
  password_file->excludes(password_env)->excludes(token_file);
  password_env->excludes(token_file);
  // Not an option: a password on the command line ends up in the shell history and in `ps`.
  std::string refused_password;
  auto* password_flag = diagnose_cmd->add_option("--password", refused_password)->group("");
  diagnose_cmd->add_option("--auth-mechanism", diagnose.auth_mechanism,
                           "auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or OAUTHBEARER.");
  diagnose_cmd->add_flag("--allow-plaintext", diagnose.allow_plaintext,
                         "Allow AUTH and the envelope over an unencrypted connection.");
  diagnose_cmd->add_flag("--allow-unverified-credentials", diagnose.allow_unverified_credentials,
                         "Send AUTH and the envelope even when the certificate did not verify "
                         "(with --insecure-skip-verify).");
  diagnose_cmd->add_option("--mail-from", diagnose.mail_from,
                           "Envelope probe sender (default: --username when an address).");
  diagnose_cmd->add_option("--rcpt-to", diagnose.rcpt_to,
                           "Envelope probe recipient: MAIL FROM, RCPT TO, RSET; never DATA.");
  diagnose_cmd->add_option("--deliver-to", diagnose.deliver_to,
                           "Send one tagged message to this address (DATA) and read it back over "
                           "IMAP: Inbox or Junk, latency, SPF/DKIM/DMARC. Explicit opt-in.");
  diagnose_cmd->add_option("--imap", diagnose.imap,
                           "IMAP server to read the message back from, HOST[:PORT] (993).");
  diagnose_cmd->add_option("--imap-tls", diagnose.imap_tls,
                           "implicit or starttls (default: starttls on 143, else implicit).");
  diagnose_cmd->add_option("--imap-username", diagnose.imap_username,
                           "IMAP login (default: --deliver-to).");
  diagnose_cmd->add_option("--imap-password-file", diagnose.imap_password_file,
                           "File holding the IMAP password.");
  diagnose_cmd->add_option("--imap-password-env", diagnose.imap_password_env,
                           "Environment variable holding the IMAP password.");
  diagnose_cmd->add_option("--imap-ca-file", diagnose.imap_ca_file,
                           "PEM file of CAs trusted for the IMAP server (default: the system's).");
  diagnose_cmd->add_option("--delivery-deadline", diagnose.delivery_deadline,
                           "How long the message may take to arrive (default 5m).");
  diagnose_cmd->add_option("--timeout", diagnose.timeout, "Deadline per port (default 10s).");
  diagnose_cmd->add_option("--ip-protocol", diagnose.ip_protocol,
                           "any, ip4, ip6, or both: each port once per address family.");
  diagnose_cmd->add_option("--output", diagnose_output, "text or json.")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  diagnose_cmd->add_flag("--verbose", diagnose.verbose, "Print each port's SMTP transcript too.");

  std::string providers_output = "text";
  auto* providers_cmd =
      cli.add_subcommand("providers", "List the provider presets: host, ports, TLS mode.");
  providers_cmd->add_option("--output", providers_output, "text or json.")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cli.require_subcommand(0, 1);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int status = cli.exit(e);
    // The subcommands document their own usage status; the exporter keeps CLI11's.
    if (status != 0 && (diagnose_cmd->parsed() || providers_cmd->parsed())) {
      return exporter::exit_code::usage;
    }
    return status;
  }

  if (*providers_cmd) {
    const exporter::terminal_output filtered;  // no control character reaches the terminal
    return exporter::run_providers(providers_output == "json", std::cout);
  }
  if (*diagnose_cmd) {
    // Everything diagnose prints, stdout and stderr, passes one filter (terminal_output.hpp):
    // servers choose much of it (certificate names, greetings, replies).
    const exporter::terminal_output filtered;
    if (password_flag->count() > 0) {
      std::cerr << "smtp_exporter diagnose: no password on the command line (it ends up in the "
                   "shell history and in `ps`): use --password-file or --password-env\n";
      return exporter::exit_code::usage;
    }
    diagnose.json = diagnose_output == "json";
    // --config.file given before the subcommand counts too; the exporter's default file does not.
    if (diagnose.config_file.empty() && cli.get_option("--config.file")->count() > 0) {
      diagnose.config_file = options.config_file;
    }
    return exporter::run_diagnose(diagnose, std::cout, std::cerr);
  }

  if (show_version) {
    std::printf("smtp_exporter, version %s (revision: %s)\n  compiler: %s\n", version(),
                revision(), compiler());
    return 0;
  }
  if (!options.telemetry_path.starts_with("/")) {
    std::cerr << "--web.telemetry-path must start with /\n";
    return 1;
  }
  if (auto window = config::parse_duration(startup_window)) {
    options.startup_window = *window;
  } else {
    std::cerr << "--probe.startup-window: invalid duration \"" << startup_window
              << "\" (want e.g. \"10s\", or \"0s\" to turn it off)\n";
    return 1;
  }
  for (auto [flag, text, out] :
       {std::tuple{"--web.read-header-timeout", &header_timeout, &options.http_limits.header_timeout},
        std::tuple{"--web.idle-timeout", &idle_timeout, &options.http_limits.idle_timeout},
        std::tuple{"--web.write-timeout", &write_timeout, &options.http_limits.write_timeout}}) {
    auto d = config::parse_duration(*text);
    if (!d || d->count() <= 0) {
      std::cerr << flag << ": \"" << *text << "\" is not a positive duration (e.g. 5s, 1m)\n";
      return 1;
    }
    *out = *d;
  }
  if (check) {
    int status = check_config(options.config_file);
    if (!options.web_config_file.empty()) status |= check_web_config(options.web_config_file);
    return status;
  }
  if (shard_from_hostname) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) {
      std::cerr << "--shard.index-from-hostname: cannot read the host name\n";
      return 1;
    }
    auto ordinal = exporter::ordinal_from_hostname(host);
    if (!ordinal) {
      std::cerr << "--shard.index-from-hostname: the host name \"" << host
                << "\" does not end in -<ordinal> (a StatefulSet pod's name does)\n";
      return 1;
    }
    options.shard.index = *ordinal;
  }
  if (auto error = exporter::validate(options.shard)) {
    std::cerr << *error << "\n";
    return 1;
  }

  std::string error;
  if (!log::setup(log_level, log_format, error)) {
    std::cerr << error << "\n";
    return 1;
  }
  log::info("starting smtp_exporter", {{"version", version()}, {"revision", revision()},
                                       {"shard", std::to_string(options.shard.index) + "/" +
                                                     std::to_string(options.shard.count)}});
  if (!core_dump_error.empty()) {
    log::warn("cannot disable core dumps", {{"err", core_dump_error}});
  }
  {
    const auto limit = exporter::raise_nofile_limit();
    if (!limit.error.empty()) {
      log::warn("cannot raise the descriptor limit",
                {{"soft", std::to_string(limit.soft)}, {"err", limit.error}});
    } else {
      log::info("descriptor limit", {{"soft", std::to_string(limit.soft)},
                                     {"was", std::to_string(limit.before)}});
    }
  }
  exporter::app app(options);
  if (!app.start()) return 1;
  app.run();
  // Joining the worker threads could wait for ever on a read from a hung mount: bounded.
  exporter::arm_shutdown_watchdog(std::chrono::seconds(3));
  log::info("stopped");
  return app.exit_code();
}
