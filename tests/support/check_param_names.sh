#!/bin/sh
# Fails when a test binary lists a parameter as raw bytes ("32-byte object <D7-0A ...>"): every
# parameter struct needs a PrintTo beside it, so a failing case reads as its name.
# Usage: check_param_names.sh TEST_BINARY...
status=0
for binary in "$@"; do
  list=$("$binary" --gtest_list_tests) || { echo "$binary --gtest_list_tests failed"; exit 2; }
  if printf '%s\n' "$list" | grep -e '-byte object'; then
    echo "$binary: the parameters above print as bytes; give their struct a PrintTo"
    status=1
  fi
done
exit $status
