#!/usr/bin/env bash
# The right basic-auth password under a flood of wrong ones (issue 24, finding 1): 16 clients on
# 16 loopback addresses (127.0.0.2-17) send wrong passwords as fast as the exporter answers while
# a Prometheus-like client on 127.0.0.1 asks for /metrics with the right one every 250 ms; halfway
# the web config is replaced (the verified credentials are forgotten). Prints the right password's
# success rate. ctest runs the same test with 6 s halves.
# Usage: bench/web_auth_flood.sh [BUILD_DIR] [SECONDS_PER_HALF] [EXPORTER_BINARY]
#   EXPORTER_BINARY: another build to measure (e.g. one from before the fix); default the build's.
set -euo pipefail
build=${1:-build}
SMTP_EXPORTER_AUTH_FLOOD_SECONDS=${2:-30} SMTP_EXPORTER_BINARY_UNDER_TEST=${3:-} \
  "$build/tests/integration_tests" \
  --gtest_filter=web_auth_flood.the_right_password_gets_through_a_flood_of_wrong_ones
