#!/usr/bin/env bash
# The Helm chart test (ctest: helm_chart). No helm binary is packaged for Debian, so render.go
# renders the chart with Go's text/template and sprig as Helm does, and validate.mjs checks what
# comes out. Steps:
#   1. helm/smtp-exporter/files/ holds identical copies of dashboards/ (helm/sync-files.sh);
#   2. render the chart with its default values, with each helm/smtp-exporter/ci/*.yaml, and the
#      sidecar example helm/examples/shop-with-smtp-exporter;
#   3. validate every object (Kubernetes and prometheus-operator schemas, unknown fields rejected),
#      the values against values.schema.json, and the chart's promises (validate.mjs);
#   4. every rendered exporter config passes `smtp_exporter --config.check`, and the binary accepts
#      the rendered container arguments;
#   5. every rendered PrometheusRule passes `promtool check rules`, and every Grafana alert rule
#      ConfigMap holds the committed Grafana rules with the values applied
#      (tests/e2e/check_grafana_alerts.py --rendered);
#   6. bad values (tests/helm/bad-values/) are rejected with the expected message;
#   7. Dockerfile: its runtime packages provide every shared library the binary links;
#   8. packaging/smtp_exporter.service passes systemd-analyze verify.
#
# Usage: run.sh SMTP_EXPORTER_BINARY   (work files go to $HELM_TEST_WORK_DIR, default ./helm-test)
# Needs: golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev, node and npm
# (npm ci fetches package-lock.json's packages once into the work dir), promtool, and
# python3-yaml python3-jsonschema (tests/e2e/check_grafana_alerts.py).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-${SMTP_EXPORTER_BINARY:-}}
[[ -n "$binary" && -x "$binary" ]] || { echo "usage: run.sh SMTP_EXPORTER_BINARY (got '${binary}')" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
work=${HELM_TEST_WORK_DIR:-$PWD/helm-test}
mkdir -p "$work"
work=$(cd "$work" && pwd)
chart="$root/helm/smtp-exporter"

passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
relay() {  # relay LOG STATUS NAME: counts LOG's "ok:" and "FAIL:" lines; a failure without one too
  while IFS= read -r line; do
    case "$line" in
      ok:*) ok "${line#ok: }" ;;
      FAIL:*) fail "${line#FAIL: }" ;;
      *) echo "$line" ;;
    esac
  done <"$1"
  (($2 == 0)) || grep -q '^FAIL' "$1" || fail "$3 exited non-zero"
}

for tool in go node npm promtool; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found; run scripts/install-deps.sh --test" >&2; exit 1; }
done

# 1. The chart's copies of the rules and dashboards.
if [[ -f "$root/dashboards/smtp_exporter.rules.yml" ]] || compgen -G "$root/dashboards/*.json" >/dev/null; then
  if "$root/helm/sync-files.sh" --check; then
    ok "helm/smtp-exporter/files/ matches dashboards/"
  else
    fail "helm/smtp-exporter/files/ differs from dashboards/: run helm/sync-files.sh"
  fi
else
  echo "SKIP: dashboards/smtp_exporter.rules.yml and dashboards/*.json do not exist yet;" \
    "helm/smtp-exporter/files/ holds placeholders, and the rules checked below are those placeholders"
fi

# 2. Build the renderer and render.
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" GOFLAGS=
go build -o "$work/render" "$here/render.go"
render() {  # render NAME ARGS...: writes NAME.yaml (the stream) and NAME.json
  local name=$1
  shift
  "$work/render" "$@" >"$work/$name.yaml" && "$work/render" -o json "$@" >"$work/$name.json"
}
pairs=()
render default -name smtp "$chart" && pairs+=("default=$work/default.json") || fail "render default values"
for f in "$chart"/ci/*.yaml; do
  name=$(basename "$f" .yaml)
  render "$name" -name smtp -namespace monitoring -f "$f" "$chart" && pairs+=("$name=$work/$name.json") \
    || fail "render with ci/$name.yaml"
done
render example-shop -name prod -namespace shop "$root/helm/examples/shop-with-smtp-exporter" \
  && pairs+=("example-shop=$work/example-shop.json") || fail "render helm/examples/shop-with-smtp-exporter"

# 3. Validate.
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
node_dir="$work/node"
if [[ "$(cat "$node_dir/.lock-sum" 2>/dev/null)" != "$lock_sum" ]]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  # kubernetes-models declares node >= 22; its validators work on the Node 20 we have.
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error --cache "$work/npm-cache") >"$work/npm.log" 2>&1 \
    || { cat "$work/npm.log"; echo "run.sh: npm ci failed" >&2; exit 1; }
  echo "$lock_sum" >"$node_dir/.lock-sum"
fi
cp "$here/validate.mjs" "$node_dir/validate.mjs"  # resolves its packages from $node_dir/node_modules
out="$work/out"
rm -rf "$out"
mkdir -p "$out"
"$work/render" -yaml2json "$chart/files/smtp_exporter.rules.yml" >"$work/rules-source.json"
export SMTP_CHART_RULES_JSON="$work/rules-source.json" SMTP_CHART_DASHBOARDS_DIR="$chart/files/dashboards"
if node "$node_dir/validate.mjs" "$out" "${pairs[@]}" >"$work/validate.log" 2>&1; then
  status=0
else
  status=1
fi
relay "$work/validate.log" $status validate.mjs

# The default image tag is the chart's appVersion (sidecar mode cannot read the subchart's
# .Chart, so values.yaml spells it out).
app_version=$("$work/render" -yaml2json "$chart/Chart.yaml" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).appVersion))')
image_tag=$("$work/render" -yaml2json "$chart/values.yaml" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).image.tag))')
if [[ "$app_version" == "$image_tag" ]]; then
  ok "values.yaml image.tag equals Chart.yaml appVersion ($app_version)"
else
  fail "values.yaml image.tag ($image_tag) differs from Chart.yaml appVersion ($app_version)"
fi
# The version has one source, CMake's project(VERSION); the binary reports it and the chart
# deploys it.
binary_version=$("$binary" --version | sed -n '1s/^smtp_exporter, version \([^ ]*\) .*/\1/p')
if [[ "$app_version" == "$binary_version" ]]; then
  ok "Chart.yaml appVersion equals the binary's version ($binary_version)"
else
  fail "Chart.yaml appVersion ($app_version) differs from smtp_exporter --version ($binary_version)"
fi

# 4. Rendered configs. --config.check loads the TLS files a config names, as start-up does; in the
# pod they come from mounted volumes. Stand-ins go under $work/podfs (a certificate for ca_file and
# cert_file, its key for key_file), and each config is checked as a copy that points there.
shopt -s nullglob
podfs="$work/podfs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=stand-in \
  -keyout "$work/stand-in.key" -out "$work/stand-in.pem" 2>/dev/null
pod_config() {  # pod_config FILE: prints the path of FILE's copy with its TLS files in $podfs
  local copy="$work/$(basename "$1" .toml).pod.toml" key path
  while read -r key path; do
    mkdir -p "$(dirname "$podfs$path")"
    if [[ $key == key_file ]]; then cp "$work/stand-in.key" "$podfs$path"; else cp "$work/stand-in.pem" "$podfs$path"; fi
  done < <(sed -nE 's/^[[:space:]]*(ca_file|cert_file|key_file)[[:space:]]*=[[:space:]]*"(\/[^"]*)".*/\1 \2/p' "$1")
  sed -E 's#^([[:space:]]*(ca_file|cert_file|key_file)[[:space:]]*=[[:space:]]*")/#\1'"$podfs"'/#' "$1" >"$copy"
  echo "$copy"
}
configs=("$out"/*.toml)
((${#configs[@]})) || fail "no exporter config was rendered"
for f in "${configs[@]}"; do
  if msg=$("$binary" --config.check --config.file "$(pod_config "$f")" 2>&1); then
    ok "config.check $(basename "$f"): $msg"
  else
    fail "config.check $(basename "$f"): $msg"
  fi
done

# The exporter containers' arguments, parsed by the binary itself (the image's entrypoint adds
# --config.file): a repeated or invalid flag would make the container exit.
for f in "$out"/*.args; do
  mapfile -t lines <"$f"
  config=$(pod_config "${lines[0]:-$root/config/smtp_exporter.toml}")
  # The web config the container reads: the rendered web.yml (validate.mjs wrote it), moved with
  # a fresh certificate into a directory standing in for the mount, so --config.check checks it.
  variant=$(basename "$f" .args)
  variant=${variant%%--*}
  for i in "${!lines[@]}"; do
    [[ "${lines[$i]}" == --web.config.file=* ]] || continue
    mount=$(dirname "${lines[$i]#--web.config.file=}")
    webroot="$work/webroot-$variant"
    rm -rf "$webroot"
    mkdir -p "$webroot/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=smtp-exporter \
      -keyout "$webroot/tls/tls.key" -out "$webroot/tls/tls.crt" 2>/dev/null
    cp "$webroot/tls/tls.crt" "$webroot/tls/ca.crt"
    if [[ -f "$out/$variant--web.yml" ]]; then
      sed "s#$mount#$webroot#g" "$out/$variant--web.yml" >"$webroot/web.yml"
    else  # from an existing Secret: stand in a web config that uses the mounted TLS Secret
      printf 'tls_server_config:\n  cert_file: %s/tls/tls.crt\n  key_file: %s/tls/tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s/tls/ca.crt\n' \
        "$webroot" "$webroot" "$webroot" >"$webroot/web.yml"
    fi
    lines[$i]="--web.config.file=$webroot/web.yml"
  done
  if msg=$("$binary" --config.file="$config" "${lines[@]:1}" --config.check 2>&1); then
    ok "container args of $(basename "$f" .args) accepted: ${lines[*]:1}"
  else
    fail "container args of $(basename "$f" .args): ${lines[*]:1}: $msg"
  fi
done

# 5. Rendered rules.
rules=("$out"/*.rules.json)
((${#rules[@]})) || fail "no PrometheusRule was rendered"
for f in "${rules[@]}"; do
  if msg=$(promtool check rules "$f" 2>&1); then
    ok "promtool check rules $(basename "$f"): $(echo "$msg" | tail -1)"
  else
    fail "promtool check rules $(basename "$f"): $msg"
  fi
done

# The Grafana-managed alert rules: rendered exactly when enabled, labelled for the sidecar, the
# committed file with the values applied, valid for Grafana (schema, references, templates).
rendered_json=()
for pair in "${pairs[@]}"; do rendered_json+=("${pair#*=}"); done
status=0
/usr/bin/python3 "$root/tests/e2e/check_grafana_alerts.py" "$root" --rendered "${rendered_json[@]}" \
  >"$work/grafana-alerts.log" 2>&1 || status=$?
relay "$work/grafana-alerts.log" $status check_grafana_alerts.py

# 6. Bad values are rejected, by the templates or by the schema. Each file's first line is
# "# expect: TEXT", a part of the expected message.
for f in "$here"/bad-values/*.yaml; do
  name=$(basename "$f" .yaml)
  expect=$(sed -n '1s/^# expect: //p' "$f")
  if "$work/render" -o json -f "$f" "$chart" >"$work/bad-$name.json" 2>"$work/bad-$name.err"; then
    if msg=$(SMTP_CHART_RULES_JSON= SMTP_CHART_DASHBOARDS_DIR= node "$node_dir/validate.mjs" --expect-invalid "$expect" "$work/bad-$name.json"); then
      ok "bad-values/$name.yaml: ${msg#ok: }"
    else
      fail "bad-values/$name.yaml: $msg"
    fi
  elif grep -qF -- "$expect" "$work/bad-$name.err"; then
    ok "bad-values/$name.yaml: render failed as expected: $(tail -1 "$work/bad-$name.err")"
  else
    fail "bad-values/$name.yaml: render failed without \"$expect\": $(cat "$work/bad-$name.err")"
  fi
done

# 7. The Dockerfile's runtime stage installs, for this release, the packages that provide the
# libraries the binary links directly (tests/image/runtime_packages.sh).
if msg=$("$root/tests/image/runtime_packages.sh" "$root/Dockerfile" "$binary"); then
  ok "$msg"
else
  fail "$msg"
fi

# 8. The systemd unit, with the paths of the binary under test (systemd-analyze works offline).
if command -v systemd-analyze >/dev/null; then
  unit_dir="$work/unit"
  mkdir -p "$unit_dir"
  sed -e "s#/usr/local/bin/smtp_exporter#$binary#g" -e "s#/usr/local/etc/#$root/config/../#g" \
    "$root/packaging/smtp_exporter.service" >"$unit_dir/smtp_exporter.service"
  if msg=$(cd "$unit_dir" && systemd-analyze verify ./smtp_exporter.service 2>&1) && [[ -z "$msg" ]]; then
    exposure=$(cd "$unit_dir" && systemd-analyze security --offline=yes ./smtp_exporter.service 2>/dev/null | tail -1)
    ok "systemd-analyze verify packaging/smtp_exporter.service (${exposure#→ })"
  else
    fail "systemd-analyze verify packaging/smtp_exporter.service: $msg"
  fi
else
  echo "SKIP: systemd-analyze not found; packaging/smtp_exporter.service not checked"
fi

echo "helm_chart: $passed passed, $failed failed"
((failed == 0))
