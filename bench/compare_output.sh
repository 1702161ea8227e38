#!/usr/bin/env bash
# Runs two smtp_exporter binaries on the same fixture and compares what they serve: /metrics,
# /probe, /-/healthy, a 404. The fixture: the bundled config's targets (failing at resolve on a
# machine without DNS), a loopback aiosmtpd peer (banner succeeds), a loopback peer greeting with
# 554 (banner_rejected), a closed port (connect_refused), and a /probe module. Values that are
# times (durations, timestamps, process and build figures) are masked; everything else — names,
# HELP, TYPE, labels, reasons, counts, order — must be byte-identical.
#
#   bench/compare_output.sh OLD_BINARY NEW_BINARY
# Exit 0 when identical after masking; 1 with the diff.
set -euo pipefail
old=$1 new=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_peer() {  # prints the port
  local out=$work/peer.$RANDOM
  "$@" >"$out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 100); do grep -q READY "$out" && break; sleep 0.05; done
  awk '/READY/{print $2; exit}' "$out"
}
ok_port=$(start_peer /usr/bin/python3 "$root/tests/peers/aiosmtpd_server.py")
rejecting_port=$(start_peer /usr/bin/python3 "$root/tests/peers/fake_smtp.py" \
  --script-inline '[{"send":"554 5.7.1 Service unavailable; client host blocked\r\n"},{"close":true}]')
closed_port=$(free_port)

{
  grep -v '^\s*#' "$root/config/smtp_exporter.toml" | sed -n '/^\[defaults\]/,$p' |
    sed 's/^interval = .*/interval = "1h"/'
  cat <<TOML
[[target]]
name = "loopback-ok"
host = "127.0.0.1"
port = $ok_port
tls = "none"
probes = ["banner"]

[[target]]
name = "loopback-554"
host = "127.0.0.1"
port = $rejecting_port
tls = "none"
probes = ["banner"]

[[target]]
name = "loopback-closed"
host = "127.0.0.1"
port = $closed_port
tls = "none"
probes = ["banner"]

[module.lab]
tls = "none"
probes = ["banner"]
allowed_hosts = ["127.0.0.1"]
allowed_ports = [$ok_port, $rejecting_port]
TOML
} >"$work/fixture.toml"

mask() {
  # Times and process figures change run to run; the rest must not.
  sed -E \
    -e '/^(process_|smtp_exporter_build_info|smtp_exporter_web_|smtp_exporter_config_last_reload_success_timestamp)/d' \
    -e 's/^([a-z_]*(seconds|timestamp|_time)[a-z_]*(\{[^}]*\})?) .*/\1 MASKED/' \
    -e 's/(duration|elapsed|age)[^,}]*/\1 MASKED/g'
}

capture() {  # binary, output dir
  local bin=$1 dir=$2 port
  port=$(free_port)
  mkdir -p "$dir"
  "$bin" --config.file="$work/fixture.toml" --web.listen-address="127.0.0.1:$port" \
    >"$dir/log" 2>&1 &
  local pid=$!
  pids+=($pid)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
  # Every target's first run falls in the 10 s start-up window.
  sleep 12
  curl -s "http://127.0.0.1:$port/metrics" | mask >"$dir/metrics"
  curl -s "http://127.0.0.1:$port/probe?module=lab&target=127.0.0.1:$ok_port" | mask >"$dir/probe_ok"
  curl -s "http://127.0.0.1:$port/probe?module=lab&target=127.0.0.1:$rejecting_port" | mask >"$dir/probe_554"
  curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$port/probe?module=lab&target=10.0.0.1:25" >"$dir/probe_refused"
  curl -s "http://127.0.0.1:$port/probe?module=lab&target=10.0.0.1:25" >>"$dir/probe_refused"
  curl -s -i "http://127.0.0.1:$port/-/healthy" | grep -iv '^date:' >"$dir/healthy"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

capture "$old" "$work/old" &
capture "$new" "$work/new" &
wait %1 %2 2>/dev/null || true
wait
[[ -n "${KEEP:-}" ]] && cp -r "$work" "$KEEP"
status=0
for f in metrics probe_ok probe_554 probe_refused healthy; do
  lines=$(wc -l <"$work/new/$f")
  if diff -u "$work/old/$f" "$work/new/$f" >"$work/$f.diff"; then
    echo "identical: $f ($lines lines after masking)"
  else
    echo "DIFFERENT: $f"; cat "$work/$f.diff"; status=1
  fi
done
exit $status
