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

work=$(mktemp -d /tmp/compare_blackbox.XXXXXX)
chmod 755 "$work"  # postfix runs as its own user
cleanup() {
  "$root/tests/peers/postfix_peer.sh" stop "$work/postfix" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same shape of PKI as the tests: EC P-256 root -> intermediate -> leaf (mx.test).
pki=$work/pki
mkdir -p "$pki"
(
  cd "$pki"
  ec() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }
  ec root.key; ec int.key; ec leaf.key
  openssl req -x509 -new -key root.key -subj "/CN=bench root CA" -days 2 -out root.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
  openssl req -new -key int.key -subj "/CN=bench intermediate CA" |
    openssl x509 -req -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile int.ext -out int.pem
  printf 'subjectAltName=DNS:mx.test\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >leaf.ext
  openssl req -new -key leaf.key -subj "/CN=mx.test" |
    openssl x509 -req -CA int.pem -CAkey int.key -CAcreateserial -days 2 -extfile leaf.ext -out leaf.pem
  cat leaf.pem int.pem >chain.pem
) 2>/dev/null

for attempt in 1 2 3 4 5; do
  p1=$((20000 + RANDOM % 20000)); p2=$((p1 + 1))
  set +e
  ready=$("$root/tests/peers/postfix_peer.sh" start "$work/postfix" --cert "$pki/chain.pem" \
    --key "$pki/leaf.key" --starttls-port "$p1" --implicit-port "$p2")
  rc=$?
  set -e
  ((rc == 0)) && break
  ((rc == 3)) || { echo "postfix did not start" >&2; exit 1; }
done
echo "postfix: $ready"

nice -n 0 /usr/bin/python3 "$root/bench/compare_blackbox.py" --rate "$rate" --seconds "$seconds" \
  --exporter "$exporter" --port "$p1" --pki "$pki" --work "$work"
