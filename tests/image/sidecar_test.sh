#!/usr/bin/env bash
# ctest image.sidecar: the chart's sidecar mode, run for real with `podman kube play`.
#
# The chart's sidecar example (helm/examples/shop-with-smtp-exporter, rendered by tests/helm's
# renderer with sidecar-values.yaml) becomes one pod (sidecar_pod.py): the application container
# (a sleep loop), the exporter container exactly as the chart renders it (security context,
# probes, config volume, the application's Secret mounted), and a scripted SMTP peer
# (smtp_peer.pl) that accepts AUTH PLAIN only with the password in that Secret. The pod has no
# network but its own loopback (--network none). The test shows:
#   - the exporter probes the peer over the pod's loopback and /metrics says auth succeeded (and
#     the peer refuses another password, so that success means something);
#   - the chart's liveness and readiness requests answer on the port they name, from the pod's
#     network namespace (nsenter);
#   - the password comes from the mounted Secret and appears in no container's log, nor in
#     /metrics or the status page;
#   - from inside, the root file systems are read-only and the users are not root;
#   - `podman kill` of the exporter leaves the application running, and it comes back.
# Always torn down: kube down, the podman secret, the secret file.
#
# Usage: sidecar_test.sh SOURCE_DIR IMAGE   (work files in $IMAGE_TEST_WORK_DIR/sidecar)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root image.sidecar
use_podman
need_tools go swaks flock

source_dir=$(cd "${1:?usage: sidecar_test.sh SOURCE_DIR IMAGE}" && pwd)
image=${2:?usage: sidecar_test.sh SOURCE_DIR IMAGE}
work=${IMAGE_TEST_WORK_DIR:-$PWD/image-work}/sidecar
mkdir -p "$work"
# The application and the peer run on the image's own base (minbase has perl-base for the peer).
base_image=docker.io/library/debian:$(dockerfile_release "$source_dir")-slim
peer_port=2525
pod=smtp-ci-shop-pod-0
secret=shop-smtp
for i in "$image" "$base_image"; do
  podman image exists "$i" || { fail "image $i does not exist (image.build failed?)"; summary image.sidecar; exit 1; }
done

# One such pod per machine at a time: its names are fixed, so a killed run's leftovers are found
# and removed by the next.
exec 8>/run/lock/smtp_exporter-sidecar-test.lock
flock 8

# 1. Render the chart and make the pod.
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" GOFLAGS=
go build -o "$work/render" "$source_dir/tests/helm/render.go"
"$work/render" -o json -name smtp-ci -namespace shop -f "$image_tests_dir/sidecar-values.yaml" \
  "$source_dir/helm/examples/shop-with-smtp-exporter" >"$work/rendered.json"
/usr/bin/python3 "$image_tests_dir/sidecar_pod.py" "$work/rendered.json" "$base_image" \
  "$image_tests_dir/smtp_peer.pl" "$peer_port" "$work/probes.txt" >"$work/pod.yaml"

# The exporter's image as the chart names it (image.repository:image.tag; podman looks for a
# short name under localhost/).
chart_image=$(/usr/bin/python3 -c '
import json, sys
for d in json.load(open(sys.argv[1]))["documents"]:
    if d["object"]["kind"] == "Deployment":
        print(next(c["image"] for c in d["object"]["spec"]["template"]["spec"]["containers"] if c["name"] == "smtp-exporter"))
' "$work/rendered.json")
[[ "$chart_image" == */* ]] || chart_image="localhost/$chart_image"
[[ "$chart_image" == "$image" ]] || podman tag "$image" "$chart_image"

# kube play keeps a volume per Secret and ConfigMap (named after them) after kube down; the next
# play rewrites their keys, but a key no longer there would stay: they go with the pod.
volumes=$(/usr/bin/python3 -c '
import json, sys
for text in open(sys.argv[1]).read().split("\n---\n"):
    obj = json.loads(text)
    if obj["kind"] == "Deployment":
        for v in obj["spec"]["template"]["spec"].get("volumes", []):
            if "secret" in v: print(v["secret"]["secretName"])
            if "configMap" in v: print(v["configMap"]["name"])
' "$work/pod.yaml" | sort -u)
teardown() {
  podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true
  podman pod rm -f "$pod" >/dev/null 2>&1 || true
  podman secret rm "$secret" >/dev/null 2>&1 || true
  local volume
  for volume in $volumes; do podman volume rm -f "$volume" >/dev/null 2>&1 || true; done
  rm -f "$work/secret.yaml"
}
teardown  # what a killed run left
trap teardown EXIT

# 2. The Secret: a password made for this run, known to nothing but the Secret and this script.
password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
plain_blob=$(printf '\0shop\0%s' "$password" | base64 -w0)
# podman 4.3 reads a Secret with a YAML decoder that keeps `data` values as written (Kubernetes
# base64-decodes them) and ignores `stringData`: the value goes in `data` as it is, so that the
# mounted file holds the password, as in a cluster. Check 6 fails if a podman decodes it.
umask 077
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\ndata:\n  password: %s\n' \
  "$secret" "$password" >"$work/secret.yaml"
umask 022

podman secret create "$secret" "$work/secret.yaml" >/dev/null
# podman cannot reach systemd here to schedule healthcheck timers and says so; harmless.
if ! podman kube play --network none "$work/pod.yaml" >"$work/play.log" 2>&1; then
  cat "$work/play.log"
  fail "podman kube play --network none $work/pod.yaml"
  summary image.sidecar
  exit 1
fi
ok "podman kube play started pod $pod from the chart's sidecar example"

app=$pod-shop
exporter=$pod-smtp-exporter
peer=$pod-smtp-peer
running() { [[ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }
for c in "$app" "$exporter" "$peer"; do
  running "$c" || fail "container $c is not running: $(podman logs "$c" 2>&1 | tail -5)"
done
infra=$(podman pod inspect "$pod" --format '{{.InfraContainerID}}')
netns=$(netns_of "$infra")

# 3. The peer is a real check: another password is refused.
deadline=$((SECONDS + 20))
until nsenter --net="$netns" swaks --server 127.0.0.1:$peer_port --quit-after CONNECT --timeout 5 >/dev/null 2>&1; do
  ((SECONDS < deadline)) || break
  sleep 0.5
done
if out=$(nsenter --net="$netns" swaks --server 127.0.0.1:$peer_port --auth PLAIN --auth-user shop \
    --auth-password "not-$password" --quit-after AUTH --timeout 5 2>&1); grep -qE '^<[-~*]+ +535 ' <<<"$out"; then
  ok "the scripted peer refuses AUTH PLAIN with another password (535)"
else
  fail "the scripted peer did not refuse a wrong password: $(tail -5 <<<"$out")"
fi

# 4. The exporter probes the peer over the pod's loopback, with the password of the Secret.
auth_ok='^smtp_probe_success\{[^}]*target="pod-peer"[^}]*probe="auth"[^}]*\} 1$'
deadline=$((SECONDS + 60))
metrics=""
while ((SECONDS < deadline)); do
  metrics=$(http_in "$netns" http://127.0.0.1:9465/metrics 2>/dev/null || true)
  grep -qE "$auth_ok" <<<"$metrics" && break
  sleep 1
done
if grep -qE "$auth_ok" <<<"$metrics"; then
  ok "/metrics from the pod's netns: $(grep -E "$auth_ok" <<<"$metrics")"
else
  fail "no successful auth probe of pod-peer within 60 s: $(grep -E '^smtp_probe_(success|failure_reason_info)\{' <<<"$metrics" | tr '\n' ' ') $(podman logs "$exporter" 2>&1 | tail -5)"
fi
if podman logs "$peer" 2>&1 | grep -q "AUTH PLAIN accepted for user 'shop'"; then
  ok "the peer's log shows the exporter's AUTH PLAIN accepted"
else
  fail "the peer never accepted the exporter's AUTH: $(podman logs "$peer" 2>&1 | tail -5)"
fi

# 5. The chart's probes, requested as the kubelet would (path and named port from the chart).
while read -r kind path port; do
  if code=$(http_in "$netns" "http://127.0.0.1:$port$path" -o /dev/null -w '%{http_code}'); then
    ok "$kind probe GET $path on port $port answers $code"
  else
    fail "$kind probe GET $path on port $port: ${code:-no answer}"
  fi
done <"$work/probes.txt"
[[ -s "$work/probes.txt" ]] || fail "the rendered exporter container has no HTTP liveness or readiness probe"
health=$(podman inspect --format '{{json .Config.Healthcheck.Test}}' "$exporter")
echo "note: podman made the liveness probe a healthcheck it cannot run here (curl in the image, systemd timers): $health"

# 6. The password: from the mounted Secret, and in no log.
mounted=$(podman exec "$exporter" cat /run/secrets/smtp_exporter/password 2>&1 || true)
if [[ "$mounted" == "$password" ]]; then
  ok "the exporter reads the password from the mounted Secret (/run/secrets/smtp_exporter/password)"
else
  fail "the exporter's /run/secrets/smtp_exporter/password does not hold the Secret's password" \
    "(a podman that base64-decodes a Secret's data needs it encoded in secret.yaml)"
fi
leaks=()
for c in "$infra" "$app" "$exporter" "$peer"; do
  log=$(podman logs "$c" 2>&1 || true)
  for needle in "$password" "$plain_blob"; do
    grep -qF -- "$needle" <<<"$log" && leaks+=("$(podman inspect --format '{{.Name}}' "$c")")
  done
done
status_page=$(http_in "$netns" http://127.0.0.1:9465/ 2>/dev/null || true)
for needle in "$password" "$plain_blob"; do
  grep -qF -- "$needle" <<<"$metrics" && leaks+=("/metrics")
  grep -qF -- "$needle" <<<"$status_page" && leaks+=("status page")
done
if ((${#leaks[@]} == 0)); then
  ok "the password (plain or in its AUTH PLAIN blob) is in no container's log, nor in /metrics or the status page"
else
  fail "the password appears in: ${leaks[*]}"
fi

# 7. From inside: read-only root file systems, users that are not root.
for c in "$exporter" "$app" "$peer"; do
  out=$(podman exec "$c" sh -c 'echo "uid=$(id -u) gid=$(id -g)"; grep -E "^(NoNewPrivs|CapEff):" /proc/1/status | tr -s "\t" " " | tr "\n" " "; echo; touch /.write-probe 2>&1' 2>&1 || true)
  uid=$(sed -n 's/^uid=\([0-9]*\) .*/\1/p' <<<"$out")
  if [[ -n "$uid" && "$uid" != 0 ]] && grep -q 'Read-only file system' <<<"$out"; then
    ok "$c: $(head -1 <<<"$out"), read-only root file system, $(sed -n 2p <<<"$out")"
  else
    fail "$c: expected a non-root user and a read-only root file system: $out"
  fi
done
exporter_ids=$(podman exec "$exporter" sh -c 'echo "$(id -u):$(id -g)"' 2>&1 || true)
[[ "$exporter_ids" == "65532:65532" ]] || fail "the exporter runs as $exporter_ids, not the chart's 65532:65532"

# 8. Killing the exporter leaves the application alone; restarted, it is ready again.
podman kill "$exporter" >/dev/null
deadline=$((SECONDS + 15))
while running "$exporter" && ((SECONDS < deadline)); do sleep 0.2; done
sleep 2  # would the application go down with it?
if ! running "$exporter" && running "$app" && running "$peer"; then
  ok "podman kill of the exporter: exporter $(podman inspect --format '{{.State.Status}}' "$exporter"), application and peer still running (pod $(podman pod inspect "$pod" --format '{{.State}}'))"
else
  fail "after podman kill of the exporter: exporter running=$(running "$exporter" && echo yes || echo no), application running=$(running "$app" && echo yes || echo no), peer running=$(running "$peer" && echo yes || echo no)"
fi
podman start "$exporter" >/dev/null
if wait_http "$netns" http://127.0.0.1:9465/-/ready 20; then
  ok "the exporter, started again in the same pod, is ready"
else
  fail "the restarted exporter is not ready within 20 s: $(podman logs "$exporter" 2>&1 | tail -3)"
fi

summary image.sidecar
