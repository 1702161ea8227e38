#!/usr/bin/env bash
# Side by side: smtp_exporter and prometheus-blackbox-exporter (Debian's 0.23) probing the same
# local postfix (STARTTLS, TLS 1.3, session tickets on, EC P-256 chain of two) at the same paced
# rate for the same time. Prints, for each: CPU per session, peak RSS, wall p50/p99 per session,
# and the ratios; plus a sequential Python `ssl` client as the floor. Loopback only. Needs root
# (postfix). Figures only; it asserts nothing. See bench/README.md.
#
#   bench/compare_blackbox.sh [--rate 50] [--seconds 20] [--exporter build/smtp_exporter]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rate=50 seconds=20 exporter=$root/build/smtp_exporter
while (($#)); do
  case $1 in
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --exporter) exporter=$2; shift 2 ;;
    *) echo "usage: $0 [--rate N] [--seconds S] [--exporter PATH]" >&2; exit 2 ;;
  esac
done
[[ -x $exporter ]] || { echo "no exporter binary at $exporter (build first)" >&2; exit 2; }
if [[ ! -x /usr/bin/prometheus-blackbox-exporter ]]; then
  # A bench may install what it compares against; the test suite does not need it.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    prometheus-blackbox-exporter >/dev/null
fi

source "$root/bench/starttls_peer.sh"
work=$(mktemp -d /tmp/compare_blackbox.XXXXXX)
chmod 755 "$work"  # postfix runs as its own user
cleanup() {
  stop_starttls_peer "$work"
  rm -rf "$work"
}
trap cleanup EXIT
start_starttls_peer "$work"

nice -n 0 /usr/bin/python3 "$root/bench/compare_blackbox.py" --rate "$rate" --seconds "$seconds" \
  --exporter "$exporter" --port "$peer_port" --pki "$peer_pki" --work "$work"
