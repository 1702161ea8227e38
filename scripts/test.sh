#!/usr/bin/env bash
# Fresh Debian 12 machine to a full test run: installs build and test dependencies (SMTP peers,
# swaks, prometheus/promtool), builds everything, runs every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" -DSMTP_EXPORTER_BUILD_TESTS=ON -DSMTP_EXPORTER_BUILD_BENCH=ON
cd "${BUILD_DIR:-$root/build}"
# Every test has its own TIMEOUT; the whole run is bounded too, far inside CI's 90 minutes.
ctest --output-on-failure --timeout 300 -j2 --stop-time "$(date -d '+45 min' +%H:%M:%S)"
