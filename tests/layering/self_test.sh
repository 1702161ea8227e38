#!/usr/bin/env bash
# The include-direction check must fail on each forbidden edge the architecture names: a copy of
# the sources with one forbidden include added must be refused, naming the file and the include.
set -euo pipefail
src=$1
check="$src/tests/layering/check_includes.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# file that gains the include | the include | why it is forbidden
cases=(
  "probes/core/result.hpp|exporter/runtime/log.hpp|probes never include exporter"
  "probes/smtp/session.cpp|config/config.hpp|probes never include config"
  "config/presets.cpp|probes/smtp/session.hpp|config never includes probes"
  "config/loader.cpp|exporter/runtime/clock.hpp|config never includes exporter"
  "exporter/web/http_server.cpp|exporter/schedule/scheduler.hpp|web never includes schedule"
  "exporter/app/app.cpp|exporter/cli/diagnose.hpp|nothing includes cli"
  "common/host_port.hpp|config/config.hpp|common includes no layer"
  "probes/imap/client.cpp|probes/smtp/session.hpp|IMAP never includes the SMTP session"
)

"$check" "$src" >/dev/null || { echo "FAIL: the unmodified tree does not pass"; exit 1; }
for c in "${cases[@]}"; do
  IFS='|' read -r file include why <<<"$c"
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  for top in common config probes exporter; do cp -r "$src/$top" "$work/tree/"; done
  [[ -f "$work/tree/$file" ]] || { echo "FAIL: $file does not exist (update this test)"; exit 1; }
  printf '#include "%s"\n' "$include" >>"$work/tree/$file"
  if out=$("$check" "$work/tree"); then
    echo "FAIL: $file including $include passed ($why)"
    exit 1
  fi
  grep -q "^$file:[0-9]*: .* may not include $include\$" <<<"$out" ||
    { echo "FAIL: no line naming $file and $include in:"; echo "$out"; exit 1; }
  echo "refused as it should be: $file -> $include ($why)"
done
