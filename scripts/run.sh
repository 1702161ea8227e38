#!/usr/bin/env bash
# Fresh Debian 12 or 13 machine to a running exporter: installs the build dependencies, builds, and starts
# smtp_exporter on the bundled config (config/smtp_exporter.toml). Extra arguments go to the
# exporter, e.g. ./scripts/run.sh --web.listen-address=127.0.0.1:9465 --log.level=debug
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" -DSMTP_EXPORTER_BUILD_TESTS=OFF -DSMTP_EXPORTER_BUILD_BENCH=OFF
exec "${BUILD_DIR:-$root/build}/smtp_exporter" --config.file "$root/config/smtp_exporter.toml" "$@"
