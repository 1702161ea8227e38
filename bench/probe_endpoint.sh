#!/bin/sh
# /probe figures: the real binary against aiosmtpd and a tarpit (tests/peers), all on loopback.
# Prints: sequential /probe latency, a concurrent burst, the per-module cap under 60 concurrent
# tarpit sessions, and /metrics latency while those sessions are in flight. Asserts nothing.
# Usage: bench/probe_endpoint.sh [BUILD_DIR]   (default: build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(cd "${1:-$root/build}" && pwd)/smtp_exporter
work=$(mktemp -d)
cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

peer() {  # peer NAME ARGS...: starts a peer, waits for its READY line, sets peer_port
  name=$1; shift
  : >"$work/$name.out"  # exists before the first read below, whenever the child opens it
  /usr/bin/python3 "$@" >>"$work/$name.out" 2>"$work/$name.err" &
  echo $! >"$work/$name.pid"
  for _ in $(seq 100); do
    peer_port=$(awk '/^READY/ {print $2}' "$work/$name.out")
    [ -n "$peer_port" ] && return
    sleep 0.1
  done
  echo "peer $name did not start" >&2; exit 1
}
# Not in $(...): a subshell would run the EXIT trap and clean up under the running script.
peer aiosmtpd "$root/tests/peers/aiosmtpd_server.py"
smtp=$peer_port
peer tarpit "$root/tests/peers/fake_smtp.py" --script "$root/tests/peers/scripts/tarpit.json"
tarpit=$peer_port

cat >"$work/config.toml" <<TOML
[module.plain]
tls = "none"
probes = ["banner"]
timeout = "5s"
allowed_hosts = ["127.0.0.1"]
allowed_ports = [$smtp, $tarpit]
max_concurrent = 50
TOML
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$binary" --config.file "$work/config.toml" --web.listen-address "127.0.0.1:$port" 2>"$work/exporter.err" &
echo $! >"$work/exporter.pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"

summary() {  # reads seconds, one a line
  sort -n | awk -v what="$1" '{a[NR]=$1} END {printf "%s: n=%d p50=%.2f ms p90=%.2f ms max=%.2f ms\n", what, NR, a[int(NR*0.5)]*1000, a[int(NR*0.9)]*1000, a[NR]*1000}'
}

for _ in $(seq 200); do
  curl -s -o /dev/null -w '%{time_total}\n' "$url/probe?target=127.0.0.1:$smtp&module=plain"
done | summary "sequential /probe (aiosmtpd, banner)"

start=$(date +%s.%N)
codes=$(seq 500 | xargs -P 20 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
  "$url/probe?target=127.0.0.1:$smtp&module=plain" | sort | uniq -c | tr -s ' \n' ' ')
end=$(date +%s.%N)
echo "500 /probe, 20 clients at once: $(echo "$end - $start" | bc) s (curl processes included); status counts:$codes"

seq 60 | xargs -P 60 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
  "$url/probe?target=127.0.0.1:$tarpit&module=plain" >"$work/cap.txt" &
burst=$!
sleep 1.5
for _ in $(seq 50); do
  curl -s -o /dev/null -w '%{time_total}\n' "$url/metrics"
done | summary "/metrics while /probe sessions sit in the tarpit"
wait "$burst"
echo "60 concurrent tarpit /probe, max_concurrent = 50: status counts: $(sort "$work/cap.txt" | uniq -c | tr -s ' \n' ' ')"
