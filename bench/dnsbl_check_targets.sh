#!/usr/bin/env bash
# DNSBL checks at scale: the real smtp_exporter binary with N targets (distinct loopback
# addresses, so N distinct IPs) and `check_targets = true`, one zone answered by
# tests/peers/fake_dns.py on loopback. Prints how long the first round of N lookups took, the
# exporter's CPU seconds and RSS, and a scrape's size and time. Loopback only; asserts nothing.
#
#   bench/dnsbl_check_targets.sh [BUILD_DIR] [N] [MAX_IN_FLIGHT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-10000}
in_flight=${3:-16}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo '[{"name":"*.bl.test","rcode":"NXDOMAIN"}]' > "$work/rules.json"
/usr/bin/python3 "$root/tests/peers/fake_dns.py" --rules "$work/rules.json" > "$work/dns.out" 2> /dev/null &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/dns.out" ]] && break; sleep 0.1; done
dns_port=$(awk '{print $2}' "$work/dns.out")

closed_port=9   # discard: nothing listens on loopback; the SMTP runs fail fast as refused
{
  printf '[defaults]\ninterval = "1h"\ntimeout = "5s"\nprobes = ["banner"]\n\n'
  printf '[dnsbl]\nenabled = true\ncheck_targets = true\nmax_target_ips = 1\n'
  printf 'max_in_flight = %d\nservers = ["127.0.0.1:%s"]\ninterval = "1h"\ntimeout = "5s"\n' "$in_flight" "$dns_port"
  printf '[[dnsbl.zone]]\nname = "bl.test"\n\n'
  for ((i = 0; i < n; i++)); do
    printf '[[target]]\nname = "t%05d"\nhost = "127.%d.%d.%d"\nport = %d\ntls = "none"\n' \
      "$i" $((1 + i / 65536)) $(((i / 256) % 256)) $((1 + i % 250)) "$closed_port"
  done
} > "$work/config.toml"

port=$((20000 + RANDOM % 20000))
start=$(date +%s.%N)
"$build/smtp_exporter" --config.file "$work/config.toml" --web.listen-address "127.0.0.1:$port" \
  --log.level warn 2> "$work/exporter.log" &
pids+=($!)
exporter=$!

count() {
  curl -s "http://127.0.0.1:$port/metrics" | grep -c '^smtp_dnsbl_lookup_result_info{' || true
}
seen=0
for _ in $(seq 1200); do
  seen=$(count)
  [[ "$seen" -ge "$n" ]] && break
  sleep 0.25
done
end=$(date +%s.%N)
results=$(curl -s "http://127.0.0.1:$port/metrics" | grep '^smtp_dnsbl_lookup_result_info{' |
  sed 's/.*result="\([a-z_]*\)".*/\1/' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
scrape_start=$(date +%s.%N)
bytes=$(curl -s "http://127.0.0.1:$port/metrics" | wc -c)
scrape_end=$(date +%s.%N)
ticks=$(getconf CLK_TCK)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$exporter/stat")
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$exporter/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$exporter/status")

echo "targets (distinct IPs):        $n"
echo "max_in_flight:                 $in_flight"
echo "lookups with a result:         $seen (${results%, })"
printf 'first round done after:        %.1f s (from exporter start, incl. config load)\n' "$(echo "$end - $start" | bc)"
printf 'lookups per second:            %.0f\n' "$(echo "$seen / ($end - $start)" | bc -l)"
printf 'exporter CPU (user+sys):       %.2f s\n' "$(echo "($utime + $stime) / $ticks" | bc -l)"
echo "exporter RSS / peak:           $((rss_kb / 1024)) MiB / $((hwm_kb / 1024)) MiB"
printf 'scrape:                        %d bytes in %.2f s\n' "$bytes" "$(echo "$scrape_end - $scrape_start" | bc)"
