#include "exporter/metrics.hpp"

#include <malloc.h>

#include "exporter/exposition_text.hpp"
#include "exporter/process_metrics.hpp"
#include "probes/tls_facts.hpp"
#include "exporter/version.hpp"

namespace smtp_exporter::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using snapshot = std::vector<std::shared_ptr<const target_status>>;

constexpr const char* from_last_run =
    " From the last completed run; scrapes never trigger probes, which run on each target's own "
    "interval.";

std::string help(const char* text) { return std::string(text) + from_last_run; }

// Labels of a target's series: target, then the caller's, then the target's own labels.
std::vector<ClientMetric::Label> labels_for(
    const target_status& s, std::initializer_list<std::pair<const char*, std::string_view>> extra) {
  std::vector<ClientMetric::Label> labels;
  labels.reserve(1 + extra.size() + s.config->labels.size());
  labels.push_back({"target", s.config->name});
  for (const auto& [k, v] : extra) labels.push_back({k, std::string(v)});
  for (const auto& [k, v] : s.config->labels) labels.push_back({k, v});
  return labels;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  // In place: a ClientMetric is large (every metric type's fields), and a scrape adds ~36 per
  // TLS target.
  ClientMetric& m = f.metric.emplace_back();
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
}

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

using family_builder = MetricFamily (*)(const snapshot&, const exporter_state&);

MetricFamily probe_success(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_success",
                 help("1 if the probe succeeded, 0 if it failed; absent while pending."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}),
        ps.reason == probes::failure_reason::none ? 1 : 0);
  });
  return f;
}

MetricFamily probe_result_info(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_result_info",
                 help("Always 1; result is \"success\", the failure reason, or \"pending\" until "
                      "the target's first run ends."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    std::string_view result = ps.has_result ? probes::to_string(ps.reason) : "pending";
    add(f, labels_for(s, {{"probe", probes::to_string(p)}, {"result", result}}), 1);
  });
  return f;
}

MetricFamily probe_duration(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_duration_seconds", help("Duration of the whole SMTP session."),
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.last_duration_seconds >= 0) add(f, labels_for(s, {}), s.last_duration_seconds);
  }
  return f;
}

MetricFamily phase_duration(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_phase_duration_seconds",
                 help("Duration of each phase, from the last run in which that phase ran."),
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    for (std::size_t i = 0; i < probes::phase_count; ++i) {
      if (s.phase_seconds[i] < 0) continue;
      add(f, labels_for(s, {{"phase", probes::to_string(static_cast<probes::phase>(i))}}),
          s.phase_seconds[i]);
    }
  }
  return f;
}

MetricFamily failures_total(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_failures_total",
                 "Probe runs that failed, by reason; a reason's series appears with its first "
                 "failure.",
                 MetricType::Counter, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    for (std::size_t r = 1; r < probes::failure_reason_count; ++r) {
      if (ps.failures_total[r] == 0) continue;
      add(f,
          labels_for(s, {{"probe", probes::to_string(p)},
                         {"reason", probes::to_string(static_cast<probes::failure_reason>(r))}}),
          ps.failures_total[r]);
    }
  });
  return f;
}

MetricFamily runs_total(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_runs_total", "Completed runs that included the probe.",
                 MetricType::Counter, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}), static_cast<double>(ps.runs_total));
  });
  return f;
}

MetricFamily consecutive_failures(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_consecutive_failures",
                 help("Runs of the probe that failed in a row, 0 after a success; absent while "
                      "pending. Alert on N of these to page on a lasting failure, not a blip."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}),
        static_cast<double>(ps.consecutive_failures));
  });
  return f;
}

MetricFamily last_run(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_last_run_timestamp_seconds",
                 "Unix time at which the last run that included the probe ended; absent while "
                 "pending.",
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}), ps.last_run_timestamp);
  });
  return f;
}

MetricFamily reply_code(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_reply_code",
                 help("The SMTP reply code that decided the probe (greeting for banner, STARTTLS "
                      "for tls, the final AUTH reply for auth, RCPT TO (or a refused MAIL FROM) "
                      "for envelope); 0 when no reply was received."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}), ps.reply_code);
  });
  return f;
}

MetricFamily reply_enhanced_status(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_reply_enhanced_status_info",
                 help("Always 1; code is the RFC 3463 enhanced status code (\"5.7.1\") of the reply "
                      "that decided the probe. Absent when that reply carried none."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result || ps.enhanced_code.empty()) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}, {"code", ps.enhanced_code}}), 1);
  });
  return f;
}

MetricFamily policy_rejected(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_policy_rejected",
                 help("1 when the reply that decided the probe refused this client by policy (a 554 "
                      "greeting, or an x.7.x enhanced code at greeting, AUTH, MAIL or RCPT: IP "
                      "blacklisted, sender not allowed), else 0; absent while pending."),
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status& ps) {
    if (!ps.has_result) return;
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}), ps.policy_rejected ? 1 : 0);
  });
  return f;
}

MetricFamily probe_interval(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_interval_seconds",
                 "The configured interval of the probe; for staleness alerts.",
                 MetricType::Gauge, {}};
  for_each_probe(snap, [&](const target_status& s, probes::probe_kind p, const probe_status&) {
    auto interval = s.config->probe_interval[static_cast<std::size_t>(p)];
    add(f, labels_for(s, {{"probe", probes::to_string(p)}}),
        std::chrono::duration<double>(interval).count());
  });
  return f;
}

MetricFamily ehlo_extensions(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_ehlo_extension_info",
                 help("1 for each known EHLO extension the server advertised (after TLS when "
                      "TLS ran)."),
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (!s.ehlo_seen) continue;
    for (std::size_t i = 0; i < probes::extension_count; ++i) {
      auto e = static_cast<probes::extension>(i);
      if (s.ehlo.has(e)) add(f, labels_for(s, {{"extension", probes::to_string(e)}}), 1);
    }
  }
  return f;
}

MetricFamily auth_mechanisms(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_auth_mechanism_info",
                 help("1 for each AUTH mechanism the server offered (after TLS when TLS ran)."),
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (!s.ehlo_seen) continue;
    for (std::size_t i = 0; i < probes::auth_mechanism_count; ++i) {
      auto m = static_cast<probes::auth_mechanism>(i);
      if (s.ehlo.has(m)) add(f, labels_for(s, {{"mechanism", probes::to_string(m)}}), 1);
    }
  }
  return f;
}

MetricFamily ip_protocol(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_probe_ip_protocol",
                 help("4 or 6: the address family of the last connection made (DNS order, first "
                      "address that answered); absent until a connection succeeds."),
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.ip_protocol != 0) add(f, labels_for(s, {}), s.ip_protocol);
  }
  return f;
}

MetricFamily target_info(const snapshot& snap, const exporter_state&) {
  MetricFamily f{"smtp_target_info",
                 "Always 1; the target's host, port, TLS mode and provider preset.",
                 MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    const auto& c = *s.config;
    add(f,
        labels_for(s, {{"host", c.host},
                       {"port", std::to_string(c.port)},
                       {"tls", config::to_string(c.tls)},
                       {"provider", c.provider}}),
        1);
  }
  return f;
}

// TLS facts come from the last run in which a handshake completed, verified or not.
template <typename Fn>
MetricFamily tls_family(const snapshot& snap, std::string name, std::string help_text, Fn&& fn) {
  MetricFamily f{std::move(name), help(help_text.c_str()), MetricType::Gauge, {}};
  for (const auto& record : snap) {
    const target_status& s = *record;
    if (s.tls_seen) fn(f, s, s.tls);
  }
  return f;
}

MetricFamily tls_not_after(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_cert_not_after_timestamp_seconds",
                    "NotAfter of the leaf certificate, Unix seconds.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      if (!t.chain.empty()) add(f, labels_for(s, {}), t.chain.front().not_after);
                    });
}

MetricFamily tls_not_before(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_cert_not_before_timestamp_seconds",
                    "NotBefore of the leaf certificate, Unix seconds.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      if (!t.chain.empty()) add(f, labels_for(s, {}), t.chain.front().not_before);
                    });
}

MetricFamily tls_chain_earliest(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_chain_earliest_expiry_timestamp_seconds",
                    "Earliest NotAfter over every certificate the server sent, Unix seconds.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      if (!t.chain.empty()) add(f, labels_for(s, {}), t.earliest_not_after());
                    });
}

MetricFamily tls_chain_certs(const snapshot& snap, const exporter_state&) {
  return tls_family(
      snap, "smtp_tls_chain_cert_not_after_timestamp_seconds",
      "NotAfter of each certificate the server sent (depth 0 = leaf; at most 10 per chain).",
      [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
        for (const auto& c : t.chain) {
          add(f,
              labels_for(s, {{"depth", std::to_string(c.depth)},
                             {"subject_cn", c.subject_cn},
                             {"issuer_cn", c.issuer_cn}}),
              c.not_after);
        }
      });
}

MetricFamily tls_chain_length(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_chain_certificates",
                    "Certificates the server sent, including any beyond the 10 reported.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {}), static_cast<double>(t.chain_length));
                    });
}

MetricFamily tls_verified(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_verified",
                    "1 if the chain and host name verified against the trust store, else 0.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {}), t.verified ? 1 : 0);
                    });
}

MetricFamily tls_hostname_match(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_hostname_match",
                    "1 if the leaf certificate covers server_name (or host), else 0.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {}), t.hostname_match ? 1 : 0);
                    });
}

MetricFamily tls_version(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_version_info", "Always 1; the negotiated TLS version.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {{"version", t.version}}), 1);
                    });
}

MetricFamily tls_cipher(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_cipher_info", "Always 1; the negotiated cipher suite.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {{"cipher", t.cipher}}), 1);
                    });
}

MetricFamily tls_ocsp_stapled(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_ocsp_stapled",
                    "1 if the server stapled an OCSP response, else 0.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      add(f, labels_for(s, {}), t.ocsp_stapled ? 1 : 0);
                    });
}

MetricFamily tls_ocsp_status(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_ocsp_status_info",
                    "Always 1 when stapled; status is good, revoked or unknown (the response's "
                    "signature is not checked).",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      if (t.ocsp_stapled) add(f, labels_for(s, {{"status", to_string(t.ocsp)}}), 1);
                    });
}

MetricFamily tls_ocsp_next_update(const snapshot& snap, const exporter_state&) {
  return tls_family(snap, "smtp_tls_ocsp_next_update_timestamp_seconds",
                    "nextUpdate of the stapled OCSP response, Unix seconds.",
                    [](MetricFamily& f, const target_status& s, const probes::tls_facts& t) {
                      if (t.ocsp_stapled && t.ocsp_next_update > 0) {
                        add(f, labels_for(s, {}), t.ocsp_next_update);
                      }
                    });
}

MetricFamily single(std::string name, std::string help_text, double value,
                    std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f{std::move(name), std::move(help_text), MetricType::Gauge, {}};
  add(f, std::move(labels), value);
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
  out.push_back(single("smtp_exporter_targets", "Targets in the running configuration.",
                       static_cast<double>(snap.size())));
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
  add(dropped, {{"reason", "evicted"}}, web.evicted);
  add(dropped, {{"reason", "slow_reader"}}, web.slow_reader);
  add(dropped, {{"reason", "header_timeout"}}, web.header_timeouts);
  add(dropped, {{"reason", "refused"}}, web.refused);
  out.push_back(std::move(dropped));
  return out;
}

constexpr family_builder target_builders[] = {
    probe_success,  probe_result_info, probe_duration, phase_duration,  failures_total,
    runs_total,     consecutive_failures, last_run,          reply_code,     probe_interval,  ehlo_extensions,
    auth_mechanisms, ip_protocol,    target_info,    tls_not_after,     tls_not_before, tls_chain_earliest,
    tls_chain_certs, tls_chain_length, tls_verified,   tls_hostname_match, tls_version,
    tls_cipher,      tls_ocsp_stapled, tls_ocsp_status, tls_ocsp_next_update,
    reply_enhanced_status, policy_rejected,
};

}  // namespace

void render_probe_run(std::ostream& out, const target_status& run) {
  const snapshot snap{std::make_shared<const target_status>(run)};
  const exporter_state no_state;
  std::string text;
  for (auto build : target_builders) {
    if (build == runs_total || build == failures_total || build == consecutive_failures ||
        build == probe_interval)
      continue;
    MetricFamily family = build(snap, no_state);
    if (family.metric.empty()) continue;
    // This run was made for this request: "scrapes never trigger probes" is not true here.
    if (family.help.ends_with(from_last_run))
      family.help.resize(family.help.size() - std::string_view(from_last_run).size());
    append_exposition_text(text, family);
  }
  out << text;
}

metrics_collector::metrics_collector(const status_store& store, const exporter_state& state)
    : store_(store), state_(state) {}

std::vector<MetricFamily> metrics_collector::Collect() const {
  auto snap = store_.shared_snapshot();
  std::vector<MetricFamily> out;
  for (auto build : target_builders) out.push_back(build(snap, state_));
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
  // Sized like the last scrape: growing a 30 MB string by doubling costs copies and page faults.
  out.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
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
  for (auto build : target_builders) {
    // One family at a time: only one family's series are ever held in memory.
    MetricFamily family = build(snap, state_);
    // An empty family would still print HELP and TYPE lines; promtool accepts that, but it is noise.
    if (family.metric.empty()) continue;
    write(family);
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
