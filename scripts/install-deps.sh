#!/usr/bin/env bash
# Installs the Debian packages the build needs; with --unit also what the unit tests need (the
# unit_tests binary: GoogleTest), with --test everything the whole test suite needs.
# Supported: Debian 12 (bookworm) and Debian 13 (trixie), told apart by /etc/os-release.
# Idempotent: skips apt-get when everything is already present.
set -euo pipefail

usage="usage: install-deps.sh [--unit|--test]"
mode=${1:-}
case "$mode" in
  "" | --unit | --test) ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

# The names that differ between the releases; everything else is named the same in both.
#   boost: 1.81 on Debian 12 (libboost-dev there is 1.74, which lacks the awaitable operators
#          and conflicts with 1.81's headers), 1.83 on Debian 13 (libboost-dev's version there).
#   clang_rt: the sanitizer runtimes of the release's default clang (14 and 19), for tests/fuzz.
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
case "$codename" in
  bookworm) boost=libboost1.81-dev clang_rt=libclang-rt-14-dev ;;
  trixie) boost=libboost1.83-dev clang_rt=libclang-rt-19-dev ;;
  *)
    echo "install-deps.sh: Debian 12 (bookworm) or 13 (trixie) expected; /etc/os-release says '${codename:-nothing}'" >&2
    exit 1
    ;;
esac

build_pkgs=(
  build-essential cmake pkg-config
  "$boost" libssl-dev openssl
  prometheus-cpp-dev libtomlplusplus-dev zlib1g-dev libcli11-dev libspdlog-dev libfmt-dev libc-ares-dev
  # --web.config.file: the exporter-toolkit YAML (yaml-cpp) and its bcrypt hashes (libxcrypt)
  libyaml-cpp-dev libcrypt-dev
  # probes/imap: libcurl's IMAP (the delivery probe's read-back), with OpenSSL like the rest
  libcurl4-openssl-dev
  # probes/dns: DMARC's organizational domain from the Public Suffix List (libpsl over the list
  # Debian keeps current in the publicsuffix package, read at run time)
  libpsl-dev publicsuffix
)
unit_pkgs=(
  googletest libgtest-dev
)
test_pkgs=(
  python3 python3-aiosmtpd swaks libnet-ssleay-perl libio-socket-ssl-perl prometheus
  iproute2 procps
  # tests/integration/stuck_read_test.cpp: a hung mount simulated by delaying openat(2)
  strace
  # tests/support/netns.*: firewall rules between network namespaces (issue 24)
  nftables
  # tests/peers/fake_dns.py, zone_dns.py: the scripted DNS servers of the DNSBL and SPF tests
  python3-dnslib python3-yaml
  # tests/peers/pyspf_check.py: pyspf, the reference of the SPF differential test
  python3-spf python3-dns
  # scripts/grafana_alerts.py and tests/e2e/check_grafana_alerts.py (with python3-yaml): the
  # Grafana alert rules generated from the Prometheus rules, and their schema check
  python3-jsonschema
  # tests/peers/token_endpoint.py: the scripted OAuth token endpoint verifies RS256 assertions
  python3-jwt python3-cryptography
  postfix sasl2-bin libsasl2-modules
  # tests/support/dovecot.*: the IMAP server (and LMTP, sieve) the delivery tests read back from
  dovecot-imapd dovecot-lmtpd dovecot-sieve
  chromium
  # tests/fuzz: libFuzzer with ASan and UBSan
  clang "$clang_rt"
  # tests/helm: render.go (Go + sprig + yaml.v3), validate.mjs (node; npm ci from the npm
  # registry). npm ships inside the nodejs package where that comes from NodeSource.
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev
  nodejs $(command -v npm >/dev/null 2>&1 || echo npm)
  # tests/image: the base image and the package's test root from debootstrap; the image built and
  # run, and the sidecar pod played, with podman (runc: crun fails on this kind of machine;
  # catatonit: the pod's pause image); requests into container namespaces with curl; the .deb
  # from cpack with computed dependencies (dpkg-shlibdeps in dpkg-dev, file); systemd-analyze.
  debootstrap podman runc catatonit curl dpkg-dev file systemd
)

want=("${build_pkgs[@]}")
[[ -z "$mode" ]] || want+=("${unit_pkgs[@]}")
[[ "$mode" != --test ]] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # postfix is a test peer run with private config directories (tests/peers/postfix_peer.sh):
  # preseed so the package writes no system main.cf and sets up no system mail service.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  # dovecot is a test peer too (tests/support/dovecot.cpp, private config in a temp dir): no
  # system certificate is made at install.
  echo "dovecot-core dovecot-core/create-ssl-cert boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -q
  # On Debian 12, libboost1.81-dev conflicts with the default 1.74 headers; apt removes those.
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian package may start the system postfix (on port 25); the tests never want it.
# "postfix status" fails when there is no system config (the preseed above) or it is not running.
if [[ -x /usr/sbin/postfix ]]; then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  if $SUDO /usr/sbin/postfix status >/dev/null 2>&1; then
    $SUDO /usr/sbin/postfix stop >/dev/null 2>&1 || $SUDO service postfix stop >/dev/null 2>&1 || true
  fi
fi
