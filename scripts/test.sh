#!/usr/bin/env bash
# Fresh Debian 12 or 13 machine to a full test run: installs build and test dependencies (SMTP peers,
# swaks, prometheus/promtool), builds everything, runs every test with ctest.
set -euo pipefail
# CI gives one run 90 minutes; the tests must be done 10 minutes before, whatever the install and
# the build took.
deadline=$(date -d '+80 min' +%H:%M:%S)
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" -DSMTP_EXPORTER_BUILD_TESTS=ON -DSMTP_EXPORTER_BUILD_BENCH=ON
cd "${BUILD_DIR:-$root/build}"
# Every test has its own TIMEOUT; the whole run is bounded too, inside CI's 90 minutes. The image
# and package tests (tests/image) take the longest, up to about 10 minutes cold (debootstrap,
# the image's dependencies and compile); ctest starts them first (COST).
ctest --output-on-failure --timeout 300 -j2 --stop-time "$deadline"
