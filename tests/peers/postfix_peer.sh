#!/usr/bin/env bash
# A real postfix (Debian's package) as an SMTP test peer, with its own private directory.
#
#   postfix_peer.sh start DIR --cert CHAIN --key KEY --starttls-port P1 --implicit-port P2
#                   [--hostname mx.test]
#                   [--sasl-user U --sasl-password PW [--sasl-realm R]]
#                   [--accept-rcpt ADDRESS]
#                   [--lmtp-port P3 --relay-domain DOMAIN [--prepend-header 'Name: value']
#                    [--hold-sender ADDRESS]]
#   postfix_peer.sh release DIR
#   postfix_peer.sh stop DIR
#
# start: writes DIR/etc/{main.cf,master.cf}, starts postfix and returns (status 0) only once
#   127.0.0.1:P1 (plain, offers STARTTLS) and 127.0.0.1:P2 (implicit TLS) both greet; it then
#   prints "READY P1 P2" on stdout. On failure (20 s deadline) it prints the postfix log on stderr,
#   stops what it started and exits 1, or 3 if a port was already in use. Bad usage: exit 2.
# release: releases the messages on hold (--hold-sender) and flushes the queue: they are delivered.
# stop: stops that postfix and makes sure no process of it remains. Idempotent.
#
# Without --lmtp-port, postfix delivers nothing: every transport is `error`, mydestination is
# empty and the relay restrictions reject every recipient (554 5.7.1), except ADDRESS with
# --accept-rcpt, whose RCPT TO gets 250 (for envelope probes; a message to it would be
# discarded). With --lmtp-port, mail to any address @DOMAIN is accepted from 127.0.0.1 and
# delivered over LMTP to 127.0.0.1:P3 (a Dovecot of tests/support/dovecot.*), with
# --prepend-header's field added on top of its header (header_checks PREPEND); mail from
# --hold-sender's ADDRESS is accepted (250) and put on hold (a delivery that never comes, until
# `release`). Listeners are on
# 127.0.0.1 only. Needs root (postfix starts as root and drops to the `postfix` user).
# /etc/postfix/main.cf is never read or written.
#
# Layout of DIR: etc/ (config_directory: main.cf, master.cf, sasl/smtpd.conf, sasl/sasldb2),
# queue/ (queue_directory), data/ (data_directory), maillog (the postfix log; no syslog needed),
# postfix.out (output of the postfix command).
set -euo pipefail

die_usage() {
  echo "postfix_peer.sh: $*" >&2
  exit 2
}

POSTFIX=/usr/sbin/postfix
POSTSUPER=/usr/sbin/postsuper
POSTQUEUE=/usr/sbin/postqueue
DAEMON_DIR=/usr/lib/postfix/sbin
PYTHON=/usr/bin/python3
# postfix -c sets this for its own processes; an inherited one must not leak into them.
unset MAIL_CONFIG

conf_dir() { echo "$1/etc"; }

# The master's pid, if a master for this instance is running (checked through /proc so that a
# stale pid file or a reused pid is never taken for ours).
instance_master_pid() {
  local dir=$1 pid
  local pidfile="$dir/queue/pid/master.pid"
  [[ -r $pidfile ]] || return 1
  pid=$(tr -d ' \n' <"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  belongs_to_instance "$pid" "$dir" || return 1
  echo "$pid"
}

# True if process $1 is a postfix process of instance $2 (its MAIL_CONFIG is DIR/etc).
belongs_to_instance() {
  local pid=$1 dir=$2
  # Only postfix programs (not a shell that happens to export MAIL_CONFIG). Kernel threads,
  # zombies and vanished processes have no readable exe or environment: not ours.
  local exe
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $exe == "$DAEMON_DIR"/* ]] || return 1
  grep -qzxF "MAIL_CONFIG=$(conf_dir "$dir")" "/proc/$pid/environ" 2>/dev/null
}

# Every remaining process of the instance: the master passes MAIL_CONFIG=DIR/etc to all its
# children, so the environment tells ours from any other postfix (the system's, other peers').
instance_pids() {
  local dir=$1 p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    belongs_to_instance "$p" "$dir" && echo "$p"
  done
  return 0
}

show_log() {
  local dir=$1
  echo "---- $dir/postfix.out ----" >&2
  cat "$dir/postfix.out" >&2 2>/dev/null || true
  echo "---- $dir/maillog ----" >&2
  cat "$dir/maillog" >&2 2>/dev/null || true
  echo "---- end of postfix log ----" >&2
}

cmd_stop() {
  local dir=$1 pid i
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd -P)
  local conf
  conf=$(conf_dir "$dir")
  if pid=$(instance_master_pid "$dir"); then
    # postfix-script waits up to 5 s for the master, then kills its process group.
    "$POSTFIX" -c "$conf" stop >>"$dir/postfix.out" 2>&1 </dev/null || true
  fi
  # Whatever is left (a master that never wrote its pid, a child that outlived it): SIGKILL by pid,
  # only processes whose environment names this instance.
  for i in $(seq 1 50); do
    local left
    left=$(instance_pids "$dir")
    [[ -z $left ]] && return 0
    if ((i > 20)); then
      # shellcheck disable=SC2086
      kill -9 $left 2>/dev/null || true
    fi
    sleep 0.1
  done
  echo "postfix_peer.sh: processes of $dir still running: $(instance_pids "$dir" | tr '\n' ' ')" >&2
  return 1
}

# Waits until both ports greet (and P1 offers STARTTLS, P2 completes a TLS handshake).
wait_greetings() {
  local p1=$1 p2=$2 seconds=$3
  "$PYTHON" - "$p1" "$p2" "$seconds" <<'EOF'
import socket, ssl, sys, time

p1, p2, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds

def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines

def check_starttls_port():
    with socket.create_connection(("127.0.0.1", p1), timeout=2) as s:
        f = s.makefile("rb")
        greeting = reply(f)
        if not greeting[-1].startswith("220 "):
            raise RuntimeError(f"port {p1} greeted {greeting!r}")
        s.sendall(b"EHLO ready.check\r\n")
        ehlo = reply(f)
        if not any(l[4:].upper().startswith("STARTTLS") for l in ehlo):
            raise RuntimeError(f"port {p1} offers no STARTTLS: {ehlo!r}")
        s.sendall(b"QUIT\r\n")
        reply(f)

def check_implicit_port():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", p2), timeout=2) as raw:
        with ctx.wrap_socket(raw) as s:
            f = s.makefile("rb")
            greeting = reply(f)
            if not greeting[-1].startswith("220 "):
                raise RuntimeError(f"port {p2} greeted {greeting!r}")
            s.sendall(b"QUIT\r\n")
            reply(f)

# Refused connections are normal while postfix starts. A server that answers but is wrong (no
# STARTTLS, a failed handshake: bad certificate or key) will not get better: give up after a few.
last = "no attempt"
wrong = 0
while time.monotonic() < deadline:
    try:
        check_starttls_port()
        check_implicit_port()
        sys.exit(0)
    except (RuntimeError, ssl.SSLError) as e:
        last = f"{type(e).__name__}: {e}"
        wrong += 1
        if wrong >= 3:
            break
    except OSError as e:
        last = f"{type(e).__name__}: {e}"
    time.sleep(0.1)
print(f"postfix_peer.sh: ports {p1}/{p2} not ready; last error: {last}", file=sys.stderr)
sys.exit(1)
EOF
}

cmd_start() {
  local dir=$1
  shift
  local cert="" key="" p1="" p2="" user="" password="" realm="" hostname="mx.test" accept=""
  local lmtp_port="" relay_domain="" prepend="" hold_sender=""
  while (($#)); do
    [[ $# -ge 2 ]] || die_usage "option $1 needs a value"
    case $1 in
      --cert) cert=$2 ;;
      --key) key=$2 ;;
      --starttls-port) p1=$2 ;;
      --implicit-port) p2=$2 ;;
      --sasl-user) user=$2 ;;
      --sasl-password) password=$2 ;;
      --sasl-realm) realm=$2 ;;
      --hostname) hostname=$2 ;;
      --accept-rcpt) accept=$2 ;;
      --lmtp-port) lmtp_port=$2 ;;
      --relay-domain) relay_domain=$2 ;;
      --prepend-header) prepend=$2 ;;
      --hold-sender) hold_sender=$2 ;;
      *) die_usage "unknown option $1" ;;
    esac
    shift 2
  done
  [[ $(id -u) -eq 0 ]] || die_usage "must run as root (postfix starts as root)"
  [[ -x $POSTFIX ]] || die_usage "$POSTFIX missing: run scripts/install-deps.sh --test"
  [[ -n $cert && -r $cert ]] || die_usage "--cert CHAIN (readable PEM: leaf first) is required"
  [[ -n $key && -r $key ]] || die_usage "--key KEY (readable PEM) is required"
  [[ $p1 =~ ^[0-9]+$ && $p2 =~ ^[0-9]+$ && $p1 != "$p2" ]] ||
    die_usage "--starttls-port and --implicit-port must be two different port numbers"
  [[ $hostname =~ ^[A-Za-z0-9.-]+$ ]] || die_usage "bad --hostname"
  [[ -z $accept || $accept =~ ^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$ ]] || die_usage "bad --accept-rcpt"
  [[ -z $lmtp_port || ($lmtp_port =~ ^[0-9]+$ && $relay_domain =~ ^[A-Za-z0-9.-]+$) ]] ||
    die_usage "--lmtp-port needs a port number and --relay-domain a domain"
  [[ -z $prepend || ($prepend =~ ^[A-Za-z0-9-]+:\ [[:print:]]+$ && -n $lmtp_port) ]] ||
    die_usage "bad --prepend-header (Name: printable value; with --lmtp-port)"
  [[ -z $hold_sender || ($hold_sender =~ ^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$ && -n $lmtp_port) ]] ||
    die_usage "bad --hold-sender (an address; with --lmtp-port)"
  local rcpt_restrictions=reject transport_maps=""
  if [[ -n $accept ]]; then
    rcpt_restrictions="check_recipient_access inline:{ $accept=OK }, reject"
    # smtpd refuses at RCPT an address routed to the error transport; route this one to discard
    # (a message sent to it, which the envelope probe never sends, would vanish).
    transport_maps="inline:{ $accept=discard: }"
  fi
  if [[ -n $user || -n $password ]]; then
    [[ -n $user && -n $password ]] || die_usage "--sasl-user and --sasl-password go together"
    [[ -z $realm ]] && realm=$hostname
    [[ $user =~ ^[A-Za-z0-9._@+-]+$ && $realm =~ ^[A-Za-z0-9.-]+$ ]] ||
      die_usage "bad --sasl-user or --sasl-realm"
    [[ -x /usr/sbin/saslpasswd2 ]] || die_usage "saslpasswd2 missing: install sasl2-bin"
  fi

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  cert=$(realpath "$cert")
  key=$(realpath "$key")
  # Postfix's config parser splits on whitespace and commas; keep paths simple.
  [[ $dir$cert$key =~ ^[A-Za-z0-9._/+-]+$ ]] || die_usage "paths must not contain spaces or commas"
  if instance_master_pid "$dir" >/dev/null; then
    die_usage "a postfix peer already runs in $dir"
  fi

  local conf
  conf=$(conf_dir "$dir")
  mkdir -p "$conf" "$dir/queue" "$dir/data"
  chown root:root "$conf" "$dir/queue"
  chmod 755 "$dir" "$conf" "$dir/queue"
  chown postfix: "$dir/data"
  chmod 700 "$dir/data"
  : >"$dir/maillog"
  : >"$dir/postfix.out"

  local sasl_enable=no
  if [[ -n $user ]]; then
    sasl_enable=yes
    mkdir -p "$conf/sasl"
    chmod 755 "$conf/sasl"
    rm -f "$conf/sasl/sasldb2"
    # -p: password from stdin, no prompt. Cyrus stores it in clear (CRAM-MD5 needs that).
    printf '%s' "$password" | /usr/sbin/saslpasswd2 -p -f "$conf/sasl/sasldb2" -c -u "$realm" "$user"
    chown root:postfix "$conf/sasl/sasldb2"
    chmod 640 "$conf/sasl/sasldb2"
    # Debian's postfix reads the Cyrus config from $config_directory/sasl/smtpd.conf.
    cat >"$conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $conf/sasl/sasldb2
mech_list: PLAIN LOGIN CRAM-MD5
EOF
  fi

  cat >"$conf/main.cf" <<EOF
# Written by tests/peers/postfix_peer.sh: a loopback SMTP test peer that delivers nothing.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = $hostname
mydomain = $hostname
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP Postfix test peer
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.1/32

# Nothing is ever delivered: no local domains, no relaying, every transport fails.
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.7.1 test peer delivers nothing
virtual_transport = error:5.7.1 test peer delivers nothing
relay_transport = error:5.7.1 test peer delivers nothing
default_transport = error:5.7.1 test peer delivers nothing
smtpd_relay_restrictions = $rcpt_restrictions
smtpd_recipient_restrictions = $rcpt_restrictions
transport_maps = $transport_maps
biff = no

# TLS: STARTTLS offered on the plain port; the implicit port overrides in master.cf.
smtpd_tls_chain_files = $key, $cert
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = no

# SASL through Cyrus (sasldb), only if enabled on a port in master.cf.
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain = ${realm}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_auth_enable = no
EOF

  # chroot column "n": no copies of /etc files into a jail. The postlog service is what
  # maillog_file needs (postfix >= 3.4).
  if [[ -n $lmtp_port ]]; then
    # Delivery to the test's Dovecot: every address @DOMAIN is a virtual mailbox handed to LMTP
    # (Dovecot decides whether the user exists).
    cat >>"$conf/main.cf" <<EOF

# --lmtp-port: deliver @$relay_domain to Dovecot over LMTP.
virtual_mailbox_domains = $relay_domain
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:inet:127.0.0.1:$lmtp_port
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
EOF
    if [[ -n $hold_sender ]]; then
      echo "smtpd_sender_restrictions = check_sender_access inline:{ $hold_sender=HOLD }" \
        >>"$conf/main.cf"
    fi
    if [[ -n $prepend ]]; then
      printf '/^Subject:/ PREPEND %s\n' "$prepend" >"$conf/header_checks"
      echo "header_checks = regexp:$conf/header_checks" >>"$conf/main.cf"
    fi
  fi

  cat >"$conf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$p1 inet n    -       n       -       -       smtpd
  -o syslog_name=postfix/starttls
  -o smtpd_sasl_auth_enable=$sasl_enable
  -o smtpd_tls_auth_only=yes
127.0.0.1:$p2 inet n    -       n       -       -       smtpd
  -o syslog_name=postfix/implicit
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=$sasl_enable
cleanup   unix  n       -       n       -       0       cleanup
pickup    unix  n       -       n       60      1       pickup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
lmtp      unix  -       -       n       -       -       lmtp
EOF

  # Postfix will not load a config file changed within the last 1-2 s (it re-reads it every
  # 300 ms until it is older, in case an editor is still writing it): that costs ~2.4 s per start.
  # The files are complete, so date them back.
  touch -d "@$(($(date +%s) - 10))" "$conf/main.cf" "$conf/master.cf"
  [[ -f $conf/header_checks ]] && touch -d "@$(($(date +%s) - 10))" "$conf/header_checks"
  [[ -f $conf/sasl/smtpd.conf ]] && touch -d "@$(($(date +%s) - 10))" "$conf/sasl/smtpd.conf"

  local started=0
  if "$POSTFIX" -c "$conf" start >>"$dir/postfix.out" 2>&1 </dev/null; then
    started=1
  fi
  if ((started)) && wait_greetings "$p1" "$p2" 20; then
    echo "READY $p1 $p2"
    return 0
  fi
  echo "postfix_peer.sh: postfix in $dir did not come up on 127.0.0.1:$p1 and :$p2" >&2
  show_log "$dir"
  cmd_stop "$dir" || true
  # A port taken since the caller picked it: worth a retry on other ports; anything else is not.
  if grep -q "fatal: bind 127.0.0.1 port .*: Address already in use" "$dir/maillog"; then
    exit 3
  fi
  exit 1
}

(($# >= 2)) || die_usage "usage: postfix_peer.sh start DIR OPTIONS... | release DIR | stop DIR"
case $1 in
  start)
    shift
    cmd_start "$@"
    ;;
  release)
    "$POSTSUPER" -c "$2/etc" -H ALL
    "$POSTQUEUE" -c "$2/etc" -f
    ;;
  stop)
    cmd_stop "$2"
    ;;
  *) die_usage "unknown command $1" ;;
esac
