# Sourced by the benches that measure a STARTTLS session against a real server
# (compare_blackbox.sh, compare_releases.sh): a PKI of the tests' shape (EC P-256 root ->
# intermediate -> leaf mx.test, made with the openssl command) and a postfix on loopback
# (tests/peers/postfix_peer.sh: STARTTLS, TLS 1.3, session tickets on, the chain of two).
#
#   start_starttls_peer WORK   makes WORK/pki and starts WORK/postfix; sets peer_port (STARTTLS)
#                              and peer_pki (root.pem is the CA to verify with)
#   stop_starttls_peer WORK    stops that postfix (idempotent; for the caller's EXIT trap)
# Needs root (postfix). WORK must be readable by the postfix user.

starttls_peer_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

start_starttls_peer() {
  local work=$1 attempt p1 rc ready
  peer_pki=$work/pki
  mkdir -p "$peer_pki"
  (
    cd "$peer_pki"
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
    p1=$((20000 + RANDOM % 20000))
    set +e
    ready=$("$starttls_peer_root/tests/peers/postfix_peer.sh" start "$work/postfix" \
      --cert "$peer_pki/chain.pem" --key "$peer_pki/leaf.key" --starttls-port "$p1" --implicit-port "$((p1 + 1))")
    rc=$?
    set -e
    if ((rc == 0)); then
      peer_port=$p1
      echo "postfix: $ready"
      return 0
    fi
    ((rc == 3)) || break
  done
  echo "postfix did not start" >&2
  return 1
}

stop_starttls_peer() {
  "$starttls_peer_root/tests/peers/postfix_peer.sh" stop "$1/postfix" >/dev/null 2>&1 || true
}
