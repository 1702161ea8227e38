#include "exporter/render/metrics.hpp"

#include <malloc.h>

#include <algorithm>
#include <charconv>

#include "exporter/render/exposition_text.hpp"
#include "exporter/render/process_metrics.hpp"
#include "probes/smtp/stages.hpp"
#include "probes/tls/facts.hpp"
#include "exporter/runtime/version.hpp"

namespace smtp_exporter::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using snapshot = std::vector<std::shared_ptr<const target_status>>;

constexpr const char* from_last_run =
    " From the last completed run; scrapes never trigger probes, which run on each target's own "
    "interval.";

using label = std::pair<const char*, std::string_view>;

// Where a family's series go: text straight into the scrape (render), or prometheus-cpp objects
// (Collect, the reference the text is checked against). One definition per family feeds both.
class series_sink {
 public:
  // One series of target `s`: labels target, then ip_family for one family of a target with
  // ip_protocol = "both" (no such label otherwise), then `extra`, then the target's own labels.
  virtual void add(const target_status& s, std::initializer_list<label> extra, double value) = 0;

 protected:
  ~series_sink() = default;
};

// Builds a MetricFamily, as prometheus-cpp would hold it.
class family_sink final : public series_sink {
 public:
  explicit family_sink(MetricFamily& family) : family_(family) {}
  void add(const target_status& s, std::initializer_list<label> extra, double value) override {
    std::vector<ClientMetric::Label> labels;
    labels.reserve(2 + extra.size() + s.config->labels.size());
    labels.push_back({"target", s.config->name});
    if (s.config->family != config::ip_family::none) {
      labels.push_back({"ip_family", std::string(config::to_string(s.config->family))});
    }
    for (const auto& [k, v] : extra) labels.push_back({k, std::string(v)});
    for (const auto& [k, v] : s.config->labels) labels.push_back({k, v});
    add_series(family_, std::move(labels), value);
  }

 private:
  MetricFamily& family_;
};

// Writes the text exposition format into `out`, byte for byte what TextSerializer writes for the
// MetricFamily that family_sink builds (tests/unit/exposition_text_test.cpp). HELP and TYPE are
// written with the first series: a family without series writes nothing.
class text_sink final : public series_sink {
 public:
  text_sink(std::string& out, std::string_view name, std::string_view help, MetricType type)
      : out_(out), name_(name), help_(help), type_(type) {}
  void add(const target_status& s, std::initializer_list<label> extra, double value) override {
    if (!header_written_) {
      append_family_header(out_, name_, help_, type_);
      header_written_ = true;
    }
    out_ += name_;
    out_ += "{target=\"";
    append_label_value(out_, s.config->name);
    out_ += '"';
    if (s.config->family != config::ip_family::none) {
      append_label("ip_family", config::to_string(s.config->family));
    }
    for (const auto& [k, v] : extra) append_label(k, v);
    for (const auto& [k, v] : s.config->labels) append_label(k, v);
    out_ += "} ";
    append_value(out_, value);
    out_ += '\n';
  }

 private:
  void append_label(std::string_view name, std::string_view value) {
    out_ += ',';
    out_ += name;
    out_ += "=\"";
    append_label_value(out_, value);
    out_ += '"';
  }

  std::string& out_;
  std::string_view name_;
  std::string_view help_;
  MetricType type_;
  bool header_written_ = false;
};

// Calls fn(status, probe_kind, probe_status) for every probe a target has enabled.
template <typename Fn>
void for_each_probe(const snapshot& snap, Fn&& fn) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
      if (!s.config->probes[i]) continue;
      fn(s, static_cast<probes::probe_kind>(i), s.probes[i]);
    }
  }
}

// TLS facts come from the last run in which a handshake completed, verified or not.
template <typename Fn>
void for_each_tls(const snapshot& snap, Fn&& fn) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.tls_seen) fn(s, *s.tls);
  }
}

void write_probe_success(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    out.add(s, {{"probe", probes::to_string(p)}},
            ps.reason == probes::failure_reason::none ? 1 : 0);
  });
}

void write_probe_result_info(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    std::string_view result = ps.has_result ? probes::to_string(ps.reason) : "pending";
    out.add(s, {{"probe", probes::to_string(p)}, {"result", result}}, 1);
  });
}

void write_probe_duration(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.last_duration_seconds >= 0) out.add(s, {}, s.last_duration_seconds);
  }
}

void write_phase_duration(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    for (std::size_t i = 0; i < probes::phase_count; ++i) {
      if (s.phase_seconds[i] < 0) continue;
      out.add(s, {{"phase", probes::to_string(static_cast<probes::phase>(i))}}, s.phase_seconds[i]);
    }
  }
}

void write_failures_total(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    for (std::size_t r = 1; r < probes::failure_reason_count; ++r) {
      if (ps.failures_total[r] == 0) continue;
      out.add(s,
              {{"probe", probes::to_string(p)},
               {"reason", probes::to_string(static_cast<probes::failure_reason>(r))}},
              ps.failures_total[r]);
    }
  });
}

void write_runs_total(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    out.add(s, {{"probe", probes::to_string(p)}}, static_cast<double>(ps.runs_total));
  });
}

void write_consecutive_failures(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    out.add(s, {{"probe", probes::to_string(p)}}, static_cast<double>(ps.consecutive_failures));
  });
}

void write_last_run(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    out.add(s, {{"probe", probes::to_string(p)}}, ps.last_run_timestamp);
  });
}

void write_reply_code(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    out.add(s, {{"probe", probes::to_string(p)}}, ps.reply_code);
  });
}

void write_reply_enhanced_status(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result || ps.enhanced_code.empty()) return;
    out.add(s, {{"probe", probes::to_string(p)}, {"code", ps.enhanced_code}}, 1);
  });
}

void write_policy_rejected(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    out.add(s, {{"probe", probes::to_string(p)}}, ps.policy_rejected ? 1 : 0);
  });
}

void write_probe_interval(const snapshot& snap, series_sink& out) {
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status&) {
    auto interval = s.config->probe_interval[static_cast<std::size_t>(p)];
    out.add(s, {{"probe", probes::to_string(p)}}, std::chrono::duration<double>(interval).count());
  });
}

void write_ehlo_extensions(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (!s.ehlo_seen) continue;
    for (std::size_t i = 0; i < probes::extension_count; ++i) {
      auto e = static_cast<probes::extension>(i);
      if (s.ehlo.has(e)) out.add(s, {{"extension", probes::to_string(e)}}, 1);
    }
  }
}

void write_auth_mechanisms(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (!s.ehlo_seen) continue;
    for (std::size_t i = 0; i < probes::auth_mechanism_count; ++i) {
      auto m = static_cast<probes::auth_mechanism>(i);
      if (s.ehlo.has(m)) out.add(s, {{"mechanism", probes::to_string(m)}}, 1);
    }
  }
}

void write_ip_protocol(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.ip_protocol != 0) out.add(s, {}, s.ip_protocol);
  }
}

void write_target_info(const snapshot& snap, series_sink& out) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    const auto& c = *s.config;
    char port[8];
    const auto port_end = std::to_chars(port, port + sizeof port, c.port).ptr;
    out.add(s,
            {{"host", c.host},
             {"port", std::string_view(port, static_cast<std::size_t>(port_end - port))},
             {"tls", config::to_string(c.tls)},
             {"provider", c.provider}},
            1);
  }
}

// The delivery probe's facts (issue 21): present for targets whose probe sent a message.
template <typename Fn>
void for_each_delivery(const snapshot& snap, Fn&& fn) {
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.delivery) fn(s, *s.delivery);
  }
}

void write_delivery_sent(const snapshot& snap, series_sink& out) {
  for_each_delivery(snap, [&](const target_status& s, const delivery_facts& d) {
    out.add(s, {}, static_cast<double>(d.messages_sent));
  });
}

void write_delivery_latency(const snapshot& snap, series_sink& out) {
  for_each_delivery(snap, [&](const target_status& s, const delivery_facts& d) {
    if (d.latency_seconds >= 0) out.add(s, {}, d.latency_seconds);
  });
}

void write_delivery_folder(const snapshot& snap, series_sink& out) {
  for_each_delivery(snap, [&](const target_status& s, const delivery_facts& d) {
    if (!d.folder.empty()) out.add(s, {{"folder", d.folder}}, 1);
  });
}

void write_delivery_auth_results(const snapshot& snap, series_sink& out) {
  for_each_delivery(snap, [&](const target_status& s, const delivery_facts& d) {
    for (const auto& [method, result] : d.auth_results) {
      out.add(s, {{"method", method}, {"result", result}}, 1);
    }
  });
}

void write_tls_not_after(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    if (!t.chain.empty()) out.add(s, {}, t.chain.front().not_after);
  });
}

void write_tls_not_before(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    if (!t.chain.empty()) out.add(s, {}, t.chain.front().not_before);
  });
}

void write_tls_chain_earliest(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    if (!t.chain.empty()) out.add(s, {}, t.earliest_not_after());
  });
}

void write_tls_chain_certs(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    for (const auto& c : t.chain) {
      char depth[16];
      const auto depth_end = std::to_chars(depth, depth + sizeof depth, c.depth).ptr;
      out.add(s,
              {{"depth", std::string_view(depth, static_cast<std::size_t>(depth_end - depth))},
               {"subject_cn", c.subject_cn},
               {"issuer_cn", c.issuer_cn}},
              c.not_after);
    }
  });
}

void write_tls_chain_length(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {}, static_cast<double>(t.chain_length));
  });
}

void write_tls_verified(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {}, t.verified ? 1 : 0);
  });
}

void write_tls_hostname_match(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {}, t.hostname_match ? 1 : 0);
  });
}

void write_tls_version(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {{"version", t.version}}, 1);
  });
}

void write_tls_cipher(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {{"cipher", t.cipher}}, 1);
  });
}

void write_tls_ocsp_stapled(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    out.add(s, {}, t.ocsp_stapled ? 1 : 0);
  });
}

void write_tls_ocsp_status(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    if (t.ocsp_stapled) out.add(s, {{"status", to_string(t.ocsp)}}, 1);
  });
}

void write_tls_ocsp_next_update(const snapshot& snap, series_sink& out) {
  for_each_tls(snap, [&](const target_status& s, const probes::tls_facts& t) {
    if (t.ocsp_stapled && t.ocsp_next_update > 0) out.add(s, {}, t.ocsp_next_update);
  });
}

// smtp_reply_code's help names, per stage, the reply that decides its probe (the stage table's
// deciding_reply), so a new stage needs no edit here.
std::string_view reply_code_help() {
  static const std::string help = [] {
    std::string text = "The SMTP reply code that decided the probe (";
    std::string_view separator;
    for (const auto& stage : probes::stage_table()) {
      text.append(separator).append(stage.deciding_reply).append(" for ");
      text.append(probes::to_string(stage.probe));
      separator = ", ";
    }
    return text + "); 0 when no reply was received.";
  }();
  return help;
}

// A per-target family: its name, help, type and the function that writes its series.
struct target_family {
  const char* name;
  std::string_view help;
  MetricType type;
  bool from_last_run;  // /metrics adds from_last_run to the help
  bool per_run;        // meaningful for one /probe run (render_probe_run)
  void (*write)(const snapshot&, series_sink&);

  // A /probe run was made for its request: "scrapes never trigger probes" is not true there.
  std::string help_text(bool probe_run) const {
    return from_last_run && !probe_run ? std::string(help) + exporter::from_last_run
                                       : std::string(help);
  }
};

constexpr MetricType gauge = MetricType::Gauge;
constexpr MetricType counter = MetricType::Counter;

// Not constexpr: smtp_reply_code's help is made from the stage table at start-up.
const target_family target_families[] = {
    {"smtp_probe_success", "1 if the probe succeeded, 0 if it failed; absent while pending.", gauge,
     true, true, write_probe_success},
    {"smtp_probe_result_info",
     "Always 1; result is \"success\", the failure reason, or \"pending\" until the target's "
     "first run ends.",
     gauge, true, true, write_probe_result_info},
    {"smtp_probe_duration_seconds", "Duration of the whole SMTP session.", gauge, true, true,
     write_probe_duration},
    {"smtp_probe_phase_duration_seconds",
     "Duration of each phase, from the last run in which that phase ran.", gauge, true, true,
     write_phase_duration},
    {"smtp_probe_failures_total",
     "Probe runs that failed, by reason; a reason's series appears with its first failure.",
     counter, false, false, write_failures_total},
    {"smtp_probe_runs_total", "Completed runs that included the probe.", counter, false, false,
     write_runs_total},
    {"smtp_probe_consecutive_failures",
     "Runs of the probe that failed in a row, 0 after a success; absent while pending. Alert on "
     "N of these to page on a lasting failure, not a blip.",
     gauge, true, false, write_consecutive_failures},
    {"smtp_probe_last_run_timestamp_seconds",
     "Unix time at which the last run that included the probe ended; absent while pending.", gauge,
     false, true, write_last_run},
    {"smtp_reply_code", reply_code_help(), gauge, true, true, write_reply_code},
    {"smtp_probe_interval_seconds", "The configured interval of the probe; for staleness alerts.",
     gauge, false, false, write_probe_interval},
    {"smtp_ehlo_extension_info",
     "1 for each known EHLO extension the server advertised (after TLS when TLS ran).", gauge,
     true, true, write_ehlo_extensions},
    {"smtp_auth_mechanism_info",
     "1 for each AUTH mechanism the server offered (after TLS when TLS ran).", gauge, true, true,
     write_auth_mechanisms},
    {"smtp_probe_ip_protocol",
     "4 or 6: the address family of the last connection made (DNS order, first address that "
     "answered); absent until a connection succeeds.",
     gauge, true, true, write_ip_protocol},
    {"smtp_target_info", "Always 1; the target's host, port, TLS mode and provider preset.", gauge,
     false, true, write_target_info},
    {"smtp_tls_cert_not_after_timestamp_seconds", "NotAfter of the leaf certificate, Unix seconds.",
     gauge, true, true, write_tls_not_after},
    {"smtp_tls_cert_not_before_timestamp_seconds",
     "NotBefore of the leaf certificate, Unix seconds.", gauge, true, true, write_tls_not_before},
    {"smtp_tls_chain_earliest_expiry_timestamp_seconds",
     "Earliest NotAfter over every certificate the server sent, Unix seconds.", gauge, true, true,
     write_tls_chain_earliest},
    {"smtp_tls_chain_cert_not_after_timestamp_seconds",
     "NotAfter of each certificate the server sent (depth 0 = leaf; at most 10 per chain).", gauge,
     true, true, write_tls_chain_certs},
    {"smtp_tls_chain_certificates",
     "Certificates the server sent, including any beyond the 10 reported.", gauge, true, true,
     write_tls_chain_length},
    {"smtp_tls_verified", "1 if the chain and host name verified against the trust store, else 0.",
     gauge, true, true, write_tls_verified},
    {"smtp_tls_hostname_match", "1 if the leaf certificate covers server_name (or host), else 0.",
     gauge, true, true, write_tls_hostname_match},
    {"smtp_tls_version_info", "Always 1; the negotiated TLS version.", gauge, true, true,
     write_tls_version},
    {"smtp_tls_cipher_info", "Always 1; the negotiated cipher suite.", gauge, true, true,
     write_tls_cipher},
    {"smtp_tls_ocsp_stapled", "1 if the server stapled an OCSP response, else 0.", gauge, true,
     true, write_tls_ocsp_stapled},
    {"smtp_tls_ocsp_status_info",
     "Always 1 when stapled; status is good, revoked or unknown (the response's signature is not "
     "checked).",
     gauge, true, true, write_tls_ocsp_status},
    {"smtp_tls_ocsp_next_update_timestamp_seconds",
     "nextUpdate of the stapled OCSP response, Unix seconds.", gauge, true, true,
     write_tls_ocsp_next_update},
    {"smtp_reply_enhanced_status_info",
     "Always 1; code is the RFC 3463 enhanced status code (\"5.7.1\") of the reply that decided "
     "the probe. Absent when that reply carried none.",
     gauge, true, true, write_reply_enhanced_status},
    {"smtp_delivery_messages_sent_total",
     "Messages the delivery probe sent that the server accepted with 250 at end of data.", counter,
     false, false, write_delivery_sent},
    {"smtp_delivery_latency_seconds",
     "Seconds from the 250 after the delivery probe's message to the IMAP search that found it "
     "(late by at most the poll gap); absent until a message is found, and after one is not.",
     gauge, true, false, write_delivery_latency},
    {"smtp_delivery_folder_info",
     "Always 1; folder is inbox or junk: where the last message the read-back found had landed.",
     gauge, true, false, write_delivery_folder},
    {"smtp_delivery_auth_result_info",
     "Always 1; the receiving side's verdict (method spf, dkim or dmarc; result pass, fail, "
     "none, ...) from the trusted Authentication-Results of the last message found.",
     gauge, true, false, write_delivery_auth_results},
    {"smtp_probe_policy_rejected",
     "1 when the reply that decided the probe refused this client by policy (a 554 greeting, or "
     "an x.7.x enhanced code at greeting, AUTH, MAIL or RCPT: IP blacklisted, sender not "
     "allowed), else 0; absent while pending.",
     gauge, true, true, write_policy_rejected},
};

MetricFamily single(std::string name, std::string help_text, double value,
                    std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f{std::move(name), std::move(help_text), MetricType::Gauge, {}};
  add_series(f, std::move(labels), value);
  return f;
}

std::vector<MetricFamily> exporter_families(const snapshot& snap, const exporter_state& state) {
  std::vector<MetricFamily> out;
  out.push_back(single("smtp_exporter_build_info",
                       "Always 1; the version, revision and compiler smtp_exporter was built with.",
                       1,
                       {{"version", version()}, {"revision", revision()}, {"compiler", compiler()}}));
  out.push_back(single("smtp_exporter_config_last_reload_successful",
                       "1 if the last configuration load or reload succeeded.",
                       state.config_last_reload_successful.load() ? 1 : 0));
  out.push_back(single("smtp_exporter_config_last_reload_success_timestamp_seconds",
                       "Unix time of the last successful configuration load or reload.",
                       state.config_last_reload_success_timestamp.load()));
  // A target with ip_protocol = "both" has a record per family and counts once.
  const auto targets = std::count_if(snap.begin(), snap.end(), [](const auto& s) {
    return s->config->family != config::ip_family::ipv6;
  });
  out.push_back(single("smtp_exporter_targets", "Targets in the running configuration.",
                       static_cast<double>(targets)));
  out.push_back(single("smtp_exporter_configured_targets",
                       "Targets in the configuration file, before sharding keeps this replica's "
                       "share (smtp_exporter_targets).",
                       static_cast<double>(state.configured_targets.load())));
  out.push_back(single("smtp_exporter_shard_info",
                       "Always 1; which share of the configured targets this replica probes "
                       "(--shard.index of --shard.count; 0 of 1 when not sharded).",
                       1,
                       {{"index", std::to_string(state.shard_index)},
                        {"count", std::to_string(state.shard_count)}}));
  out.push_back(single("smtp_exporter_probes_in_flight",
                       "Checks running right now: SMTP sessions and DNSBL lookups.",
                       static_cast<double>(state.probes_in_flight())));
  const auto web = state.web_connections();
  out.push_back(single("smtp_exporter_http_connections", "Open connections to the web port.",
                       web.open));
  MetricFamily dropped{"smtp_exporter_http_connections_dropped_total",
                       "Connections to the web port the server closed or refused to keep scrapes "
                       "getting through, by reason (docs/security.md).",
                       MetricType::Counter, {}};
  add_series(dropped, {{"reason", "evicted"}}, web.evicted);
  add_series(dropped, {{"reason", "slow_reader"}}, web.slow_reader);
  add_series(dropped, {{"reason", "header_timeout"}}, web.header_timeouts);
  add_series(dropped, {{"reason", "refused"}}, web.refused);
  out.push_back(std::move(dropped));
  return out;
}

}  // namespace

void add_series(MetricFamily& family, std::vector<ClientMetric::Label> labels, double value) {
  // In place: a ClientMetric is large (every metric type's fields).
  ClientMetric& m = family.metric.emplace_back();
  m.label = std::move(labels);
  (family.type == MetricType::Counter ? m.counter.value : m.gauge.value) = value;
}

std::string render_probe_run(const target_status& run) {
  return render_probe_run(std::vector<const target_status*>{&run});
}

std::string render_probe_run(const std::vector<const target_status*>& runs) {
  // Points at the runs without owning them: the families only read the records, no copy is needed.
  snapshot snap;
  snap.reserve(runs.size());
  for (const target_status* run : runs) {
    snap.push_back(std::shared_ptr<const target_status>(std::shared_ptr<void>(), run));
  }
  std::string text;
  for (const auto& family : target_families) {
    if (!family.per_run) continue;
    const std::string help = family.help_text(true);
    text_sink sink(text, family.name, help, family.type);
    family.write(snap, sink);
  }
  return text;
}

metrics_collector::metrics_collector(const status_store& store, const exporter_state& state)
    : store_(store), state_(state) {}

std::vector<MetricFamily> metrics_collector::Collect() const {
  auto snap = store_.shared_snapshot();
  std::vector<MetricFamily> out;
  for (const auto& family : target_families) {
    MetricFamily& f = out.emplace_back(MetricFamily{family.name, family.help_text(false), family.type, {}});
    family_sink sink(f);
    family.write(snap, sink);
  }
  for (auto& f : state_.check_families()) out.push_back(std::move(f));
  for (auto& f : exporter_families(snap, state_)) out.push_back(std::move(f));
  for (auto& f : collect_process_metrics()) out.push_back(std::move(f));
  return out;
}

void metrics_collector::render(std::ostream& out) const {
  render_pieces([&](std::string_view piece) { out << piece; });
}

std::string metrics_collector::render() const {
  std::string out;
  // Sized like the last scrape, with room to grow: growing a 30 MB string by doubling costs
  // copies, page faults and, while it copies, both buffers at once (that was the bench's peak
  // RSS while targets got their first results). Pages reserved but never written cost no RSS.
  const std::size_t last = last_size_.load(std::memory_order_relaxed);
  out.reserve(last + last / 4 + 4096);
  render_into(out, [](std::string&) {});
  return out;
}

void metrics_collector::render_pieces(const std::function<void(std::string_view)>& write) const {
  // One buffer that keeps its capacity: only one family's text is ever held here.
  std::string piece;
  render_into(piece, [&](std::string& text) {
    write(text);
    text.clear();
  });
}

void metrics_collector::render_into(std::string& out,
                                    const std::function<void(std::string&)>& family_done) const {
  auto snap = store_.shared_snapshot();
  std::size_t total = 0;  // `out` is the whole scrape (render) or one piece (render_pieces)
  auto write = [&](const MetricFamily& family) {
    const std::size_t before = out.size();
    append_exposition_text(out, family);
    total += out.size() - before;
  };
  for (const auto& family : target_families) {
    // Straight from the records into the text: no MetricFamily, so a scrape holds no series
    // objects (at 10,000 TLS targets the largest family was ~40 MB of them). A family without
    // series writes nothing: HELP and TYPE alone are noise.
    const std::size_t before = out.size();
    const std::string help = family.help_text(false);
    text_sink sink(out, family.name, help, family.type);
    family.write(snap, sink);
    total += out.size() - before;
    if (out.size() == before) continue;
    family_done(out);
  }
  for (const auto& f : state_.check_families()) write(f);
  for (const auto& f : exporter_families(snap, state_)) write(f);
  for (const auto& f : collect_process_metrics()) write(f);
  family_done(out);
  last_size_.store(total, std::memory_order_relaxed);
  // The families of a 10,000-target scrape pass through tens of MB that malloc would otherwise
  // keep (large blocks come from the heap once glibc has raised its mmap threshold): give the
  // free pages back, so the exporter's steady state is its records, not its last scrape.
  malloc_trim(0);
}

}  // namespace smtp_exporter::exporter
