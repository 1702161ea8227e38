// smtp_exporter: tells an operator that their application can no longer send mail, and why.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "exporter/app.hpp"
#include "exporter/log.hpp"
#include "exporter/version.hpp"

namespace {

using namespace smtp_exporter;

int check_config(const std::string& file) {
  auto loaded = config::load_file(file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << e << "\n";
    std::cerr << file << ": configuration is invalid (" << loaded.errors.size() << " errors)\n";
    return 1;
  }
  for (const auto& w : loaded.config->warnings) std::cerr << "warning: " << w << "\n";
  std::cout << file << ": configuration is valid (" << loaded.config->targets.size()
            << " targets)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  cli.add_flag("--config.check", check, "Validate the configuration file and exit (0 valid, 1 not).");
  cli.add_option("--web.listen-address", options.listen_address,
                 "Address to listen on for metrics and the web interface.")
      ->capture_default_str();
  cli.add_option("--web.telemetry-path", options.telemetry_path,
                 "Path under which to expose metrics.")
      ->capture_default_str();
  cli.add_option("--probe.max-in-flight", options.max_in_flight,
                 "Most SMTP sessions running at once; runs over the cap wait for a slot.")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cli.add_option("--log.level", log_level, "Only log messages with the given severity or above.")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cli.add_option("--log.format", log_format, "Output format of log messages.")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));
  cli.add_flag("--version", show_version, "Show the version and exit.");
  CLI11_PARSE(cli, argc, argv);

  if (show_version) {
    std::printf("smtp_exporter, version %s (revision: %s)\n  compiler: %s\n", version(),
                revision(), compiler());
    return 0;
  }
  if (!options.telemetry_path.starts_with("/")) {
    std::cerr << "--web.telemetry-path must start with /\n";
    return 1;
  }
  if (check) return check_config(options.config_file);

  std::string error;
  if (!log::setup(log_level, log_format, error)) {
    std::cerr << error << "\n";
    return 1;
  }
  log::info("starting smtp_exporter", {{"version", version()}, {"revision", revision()}});
  exporter::app app(options);
  if (!app.start()) return 1;
  app.run();
  log::info("stopped");
  return 0;
}
