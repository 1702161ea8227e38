#!/usr/bin/env bash
# Copies the repository's alert rules and Grafana dashboards into the chart, which renders its
# PrometheusRule, Grafana alert rule and dashboard ConfigMaps from them with .Files (a chart can
# only read files inside its own directory, and symlinks do not survive `helm package`).
#
#   dashboards/smtp_exporter.rules.yml -> helm/smtp-exporter/files/smtp_exporter.rules.yml
#   dashboards/smtp_exporter.grafana-alerts.yml (scripts/grafana_alerts.py makes it from the rules)
#                                      -> helm/smtp-exporter/files/smtp_exporter.grafana-alerts.yml
#   dashboards/*.json                  -> helm/smtp-exporter/files/dashboards/*.json
#   docs/runbook.md                    -> helm/smtp-exporter/files/runbook.md (the alerts' runbook,
#                                         shipped with the chart that ships the alerts)
#
# Run it after changing those files, before committing; tests/helm/run.sh fails while the copies
# differ from the sources. With --check it changes nothing and exits 1 if they differ.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/dashboards"
dst="$root/helm/smtp-exporter/files"
check=0
[[ "${1:-}" == "--check" ]] && check=1

rules="$src/smtp_exporter.rules.yml"
grafana_alerts="$src/smtp_exporter.grafana-alerts.yml"
shopt -s nullglob
sources=("$src"/*.json)

if [[ ! -f "$rules" && ${#sources[@]} -eq 0 ]]; then
  echo "sync-files: dashboards/ has no rules or dashboards yet; $dst keeps what it has" >&2
  exit 0
fi

status=0
differ() {  # differ SRC DST: report, and copy unless checking
  if ! cmp -s "$1" "$2"; then
    if ((check)); then
      echo "sync-files: ${2#"$root"/} differs from ${1#"$root"/}" >&2
      status=1
    else
      install -D -m 0644 "$1" "$2"
      echo "sync-files: ${1#"$root"/} -> ${2#"$root"/}"
    fi
  fi
}

if [[ -f "$rules" ]]; then
  differ "$rules" "$dst/smtp_exporter.rules.yml"
fi
if [[ -f "$grafana_alerts" ]]; then
  differ "$grafana_alerts" "$dst/smtp_exporter.grafana-alerts.yml"
fi
if [[ -f "$root/docs/runbook.md" ]]; then
  differ "$root/docs/runbook.md" "$dst/runbook.md"
fi
if ((${#sources[@]})); then
  for f in "${sources[@]}"; do
    differ "$f" "$dst/dashboards/$(basename "$f")"
  done
  # Copies whose source is gone.
  for f in "$dst"/dashboards/*.json; do
    if [[ ! -f "$src/$(basename "$f")" ]]; then
      if ((check)); then
        echo "sync-files: ${f#"$root"/} has no source in dashboards/" >&2
        status=1
      else
        rm -f "$f"
        echo "sync-files: removed ${f#"$root"/}"
      fi
    fi
  done
fi
exit $status
