// [target.delivery] and [target.delivery.imap]: the opt-in delivery probe (issue 21). The message
// it sends, where it reads it back, and with which credentials (the auth table's rules, reused).
#include <chrono>

#include "config/detail/loader.hpp"

namespace smtp_exporter::config::detail {
namespace {

using namespace std::chrono_literals;
using toml::node_type;

constexpr std::string_view delivery_keys[] = {"to", "from", "interval", "deadline",
                                              "delete_after", "trusted_authserv_id", "imap"};
constexpr std::string_view imap_keys[] = {"host", "port", "tls", "ca_file", "server_name",
                                          "auth", "junk_folders"};
constexpr std::string_view imap_tls_modes[] = {"implicit", "starttls"};

}  // namespace

std::optional<delivery_settings> loader::parse_delivery(const toml::table& table,
                                                        std::string_view base, target& out,
                                                        bool interval_key_written) {
  check_keys(table, delivery_keys, base);
  const std::size_t errors_before = errors_.size();
  delivery_settings d;

  if (const toml::node* node = find(table, "to", node_type::string, base)) {
    d.to = node->as_string()->get();
    if (const auto problem = address_problem(d.to)) error(*node, join(base, "to"), *problem);
  } else if (!table.contains("to")) {
    error(table.source().begin, join(base, "to"), "to is required (a mailbox you own)");
  }
  if (const toml::node* node = find(table, "from", node_type::string, base)) {
    d.from = node->as_string()->get();
    if (const auto problem = address_problem(d.from)) error(*node, join(base, "from"), *problem);
  } else if (out.envelope) {
    d.from = out.envelope->mail_from;
  } else if (out.auth && !address_problem(out.auth->username)) {
    d.from = out.auth->username;
  } else if (!table.contains("from")) {
    error(table.source().begin, join(base, "from"),
          "from is required (no [target.envelope] mail_from, and the auth username is not an "
          "address)");
  }

  // The interval lives with the probe's other settings; delivery_interval says the same.
  if (const toml::node* node = table.get("interval")) {
    duration value{};
    if (read_duration(table, "interval", base, value)) {
      if (interval_key_written) {
        error(*node, join(base, "interval"), "conflicts with delivery_interval; set one of them");
      }
      out.probe_interval[static_cast<std::size_t>(probe::delivery)] = value;
    }
  }
  const duration interval = out.probe_interval[static_cast<std::size_t>(probe::delivery)];
  if (interval < 10min) {
    const toml::node* node = table.get("interval");
    error(node != nullptr ? node->source().begin : table.source().begin, join(base, "interval"),
          "the delivery probe runs at most every 10m (got " + format_duration(interval) +
              "): providers limit what an account sends, and mail to oneself costs reputation");
  }
  read_duration(table, "deadline", base, d.deadline);
  if (d.deadline > interval) {
    error(table.get("deadline") != nullptr ? table.get("deadline")->source().begin
                                           : table.source().begin,
          join(base, "deadline"),
          "deadline " + format_duration(d.deadline) + " exceeds the interval " +
              format_duration(interval) + " (one message in flight per target)");
  }
  read_bool(table, "delete_after", base, d.delete_after);
  read_string(table, "trusted_authserv_id", base, d.trusted_authserv_id);

  const std::string imap_base = join(base, "imap");
  if (const toml::node* node = find(table, "imap", node_type::table, base)) {
    const toml::table& imap = *node->as_table();
    check_keys(imap, imap_keys, imap_base);
    if (const toml::node* host = find(imap, "host", node_type::string, imap_base)) {
      d.imap.host = host->as_string()->get();
      if (const auto problem = hostname_problem(d.imap.host))
        error(*host, join(imap_base, "host"), *problem);
    } else if (!imap.contains("host")) {
      error(imap.source().begin, join(imap_base, "host"), "host is required");
    }
    std::string mode = "implicit";
    read_choice(imap, "tls", imap_base, imap_tls_modes, "IMAP tls mode", mode);
    d.imap.tls = mode == "starttls" ? tls_mode::starttls : tls_mode::implicit;
    d.imap.port = d.imap.tls == tls_mode::starttls ? 143 : 993;
    if (const toml::node* port = find(imap, "port", node_type::integer, imap_base)) {
      const std::int64_t value = port->as_integer()->get();
      if (value >= 1 && value <= 65535) {
        d.imap.port = static_cast<std::uint16_t>(value);
      } else {
        error(*port, join(imap_base, "port"),
              "port must be between 1 and 65535, got " + std::to_string(value));
      }
    }
    read_string(imap, "ca_file", imap_base, d.imap.ca_file);
    read_string(imap, "server_name", imap_base, d.imap.server_name);
    if (const toml::node* folders = find(imap, "junk_folders", node_type::array, imap_base)) {
      d.imap.junk_folders.clear();
      for (const toml::node& f : *folders->as_array()) {
        if (!f.is_string() || f.as_string()->get().empty()) {
          error(f, join(imap_base, "junk_folders"), "must be a list of mailbox names");
          continue;
        }
        d.imap.junk_folders.push_back(f.as_string()->get());
      }
    }
    // The auth table's rules as they are (a password source, token_file or oauth2). No preset:
    // an IMAP token needs the IMAP scope, which the SMTP presets do not give.
    if (const toml::node* auth = find(imap, "auth", node_type::table, imap_base)) {
      oauth2_file_sources files;
      auto parsed = parse_auth(*auth->as_table(), join(imap_base, "auth"), out.name, nullptr, files);
      if (parsed) d.imap.auth = std::move(*parsed);
    } else if (!imap.contains("auth")) {
      error(imap.source().begin, join(imap_base, "auth"),
            "auth is required (the mailbox's user and a password source or oauth2)");
    }
  } else if (!table.contains("imap")) {
    error(table.source().begin, imap_base,
          "imap is required: the probe reads its message back to see where it landed");
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return d;
}

}  // namespace smtp_exporter::config::detail
